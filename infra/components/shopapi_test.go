package components

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/jsii-runtime-go"

	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// MethodSettingPath writes every route's path as the CDK's own
// methodOptions render it (aws-apigateway parseMethodOptionsPath), which is
// the form AWS::ApiGateway::Stage MethodSetting documents: the stage's
// settings are added after the stage exists, so they cannot go through
// methodOptions themselves. Nothing is synthesized: the stage's
// MethodSettings are resolved in place.
func TestMethodSettingPathIsTheCDKs(t *testing.T) {
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Paths"), nil)
	opts := map[string]*awsapigateway.MethodDeploymentOptions{}
	for _, r := range contract.Routes() {
		opts[r.Path+"/"+r.Method] = &awsapigateway.MethodDeploymentOptions{ThrottlingRateLimit: jsii.Number(1)}
	}
	api := awsapigateway.NewRestApi(stack, jsii.String("Api"), &awsapigateway.RestApiProps{
		DeployOptions: &awsapigateway.StageOptions{MethodOptions: &opts},
	})
	api.Root().AddMethod(jsii.String("GET"), nil, nil)
	cfn := api.DeploymentStage().Node().DefaultChild().(awsapigateway.CfnStage)
	raw, err := json.Marshal(stack.Resolve(cfn.MethodSettings()))
	if err != nil {
		t.Fatal(err)
	}
	var settings []map[string]any
	if err := json.Unmarshal(raw, &settings); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	cdk := map[string]string{} // "METHOD path" -> the CDK's ResourcePath
	for _, s := range settings {
		method, _ := s["httpMethod"].(string)
		path, _ := s["resourcePath"].(string)
		if method == "" || path == "" {
			method, _ = s["HttpMethod"].(string)
			path, _ = s["ResourcePath"].(string)
		}
		cdk[method+" "+path] = path
	}
	for _, r := range contract.Routes() {
		if got := MethodSettingPath(r.Path); cdk[r.Method+" "+got] != got {
			t.Errorf("%s: MethodSettingPath %q, which is not among the CDK's %v", r.Key(), got, settings)
		}
	}
	if len(settings) < len(contract.Routes()) {
		t.Errorf("%d settings resolved for %d routes: %s", len(settings), len(contract.Routes()), raw)
	}
}
