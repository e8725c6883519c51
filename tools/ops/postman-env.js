// Turns the stack outputs that `cdk deploy --outputs-file` wrote into a Postman
// environment: baseUrl from the Api stack of the stage, the user pool for
// reference, and empty token variables to fill with Cognito ID tokens.
const fs = require("fs");
const [file, stage] = process.argv.slice(2);
const outputs = JSON.parse(fs.readFileSync(file, "utf8"));
const apiStack = Object.keys(outputs).find((k) => k.endsWith("-Api") && (!stage || k === `Shop-${stage}-Api`));
if (!apiStack) {
  console.error(`no Shop-${stage || "<stage>"}-Api stack in ${file}`);
  process.exit(1);
}
const o = outputs[apiStack];
const value = (key, v) => ({ key, value: v || "", enabled: true });
console.log(JSON.stringify({
  name: `shop ${apiStack.replace(/^Shop-|-Api$/g, "")}`,
  values: [
    value("baseUrl", (o.CdnApiUrl || o.ApiUrl || "").replace(/\/$/, "")), // prod admits only its CDN
    value("userPoolId", o.UserPoolId),
    value("userPoolClientId", o.UserPoolClientId),
    value("adminToken", ""),
    value("customerToken", ""),
  ],
  _postman_variable_scope: "environment",
}, null, 2));
