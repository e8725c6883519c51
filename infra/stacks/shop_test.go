package stacks

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/go-cdk-shop/shop/infra/config"
)

var update = flag.Bool("update", false, "rewrite the golden snapshot")

// One synth for the whole package: a development stage and prod side by side in
// one app. Every test reads the templates and the manifest from the assembly.
var (
	assembly string
	tpl      = map[string]template{} // by stack name
)

type template struct {
	Resources map[string]resource `json:"Resources"`
	Outputs   map[string]any      `json:"Outputs"`
}

type resource struct {
	Type           string         `json:"Type"`
	Properties     map[string]any `json:"Properties"`
	DeletionPolicy string         `json:"DeletionPolicy"`
}

const profiles = `{
  "prod": {"prod": true, "logRetentionDays": 365, "throttleRate": 200, "throttleBurst": 400, "currency": "EUR", "lambdaMemoryMb": 512, "corsOrigins": ["https://shop.example.com"]},
  "dev":  {"prod": false, "logRetentionDays": 7, "throttleRate": 20, "throttleBurst": 40, "currency": "EUR", "lambdaMemoryMb": 256, "corsOrigins": ["http://localhost:3000"]}
}`

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "shop-synth-")
	if err != nil {
		panic(err)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		synth(dir)
		return m.Run()
	}()
	os.Exit(code)
}

func synth(dir string) {
	dist := filepath.Join(dir, "dist")
	for _, fn := range []string{"catalog"} {
		must(os.MkdirAll(filepath.Join(dist, fn), 0o755))
		must(os.WriteFile(filepath.Join(dist, fn, "bootstrap"), []byte("fake "+fn), 0o755))
	}
	assembly = filepath.Join(dir, "cdk.out")
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(assembly), BuiltinCloudFormationValidation: jsii.Bool(false)})
	for _, name := range []string{"dev-test", "prod"} {
		stage, err := config.Resolve(name, "tester", []byte(profiles))
		must(err)
		NewShop(app, stage, dist)
	}
	app.Synth(nil)
	files, err := filepath.Glob(filepath.Join(assembly, "*.template.json"))
	must(err)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		must(err)
		var t template
		must(json.Unmarshal(raw, &t))
		tpl[strings.TrimSuffix(filepath.Base(f), ".template.json")] = t
	}
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// only returns the single resource of type in stack.
func only(t *testing.T, stack, typ string) resource {
	t.Helper()
	rs := ofType(stack, typ)
	if len(rs) != 1 {
		t.Fatalf("%s: %d resources of type %s, want 1", stack, len(rs), typ)
	}
	for _, r := range rs {
		return r
	}
	panic("unreachable")
}

func ofType(stack, typ string) map[string]resource {
	out := map[string]resource{}
	for id, r := range tpl[stack].Resources {
		if r.Type == typ {
			out[id] = r
		}
	}
	return out
}

// get walks a path of map keys and list indexes through a template value.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func js(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestNoUnsuppressedNagErrors(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(assembly, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Artifacts map[string]struct {
			Metadata map[string][]struct {
				Type string `json:"type"`
				Data any    `json:"data"`
			} `json:"metadata"`
		} `json:"artifacts"`
	}
	if err := json.Unmarshal(raw, &manifest); err != nil {
		t.Fatal(err)
	}
	stacks := 0
	for name, a := range manifest.Artifacts {
		if !strings.HasPrefix(name, "Shop-") || strings.Contains(name, ".") {
			continue
		}
		stacks++
		for path, entries := range a.Metadata {
			for _, e := range entries {
				if e.Type == "aws:cdk:error" {
					t.Errorf("%s %s: %v", name, path, e.Data)
				}
			}
		}
	}
	if stacks != 4 {
		t.Errorf("found %d shop stacks in the manifest, want 4 (Data and Api of two stages)", stacks)
	}
	// cdk-nag ran: its report exists for every stack.
	for name := range tpl {
		if _, err := os.Stat(filepath.Join(assembly, "AwsSolutions-"+name+"-NagReport.csv")); err != nil {
			// cdk-nag names the report after the stack's display path; accept either spelling.
			if m, _ := filepath.Glob(filepath.Join(assembly, "AwsSolutions-*"+name+"-NagReport.csv")); len(m) == 0 {
				t.Errorf("no cdk-nag report for %s", name)
			}
		}
	}
}

func TestStackIdsCarryTheStage(t *testing.T) {
	var names []string
	for n := range tpl {
		names = append(names, n)
	}
	sort.Strings(names)
	want := []string{"Shop-dev-test-Api", "Shop-dev-test-Data", "Shop-prod-Api", "Shop-prod-Data"}
	if js(names) != js(want) {
		t.Errorf("stacks = %v, want %v", names, want)
	}
}

// Physical names would make two stages collide in one account.
func TestNoPhysicalNames(t *testing.T) {
	named := map[string]string{
		"AWS::DynamoDB::Table": "TableName", "AWS::Lambda::Function": "FunctionName", "AWS::IAM::Role": "RoleName",
		"AWS::Logs::LogGroup": "LogGroupName", "AWS::Cognito::UserPool": "UserPoolName", "AWS::SecretsManager::Secret": "Name",
		"AWS::S3::Bucket": "BucketName", "AWS::IAM::Policy": "PolicyName_",
	}
	for stack, tp := range tpl {
		for id, r := range tp.Resources {
			if key, ok := named[r.Type]; ok && r.Properties[key] != nil {
				t.Errorf("%s/%s (%s) sets %s", stack, id, r.Type, key)
			}
		}
	}
}

func TestStatefulResourcesRetainedInProdOnly(t *testing.T) {
	tests := []struct {
		stack, policy string
		protect       bool
	}{{"Shop-prod-Data", "Retain", true}, {"Shop-dev-test-Data", "Delete", false}}
	for _, tt := range tests {
		t.Run(tt.stack, func(t *testing.T) {
			table := only(t, tt.stack, "AWS::DynamoDB::Table")
			if table.DeletionPolicy != tt.policy || table.Properties["DeletionProtectionEnabled"] != tt.protect {
				t.Errorf("table: DeletionPolicy %q DeletionProtectionEnabled %v", table.DeletionPolicy, table.Properties["DeletionProtectionEnabled"])
			}
			pool := only(t, tt.stack, "AWS::Cognito::UserPool")
			wantProt := "INACTIVE"
			if tt.protect {
				wantProt = "ACTIVE"
			}
			if pool.DeletionPolicy != tt.policy || pool.Properties["DeletionProtection"] != wantProt {
				t.Errorf("user pool: DeletionPolicy %q DeletionProtection %v", pool.DeletionPolicy, pool.Properties["DeletionProtection"])
			}
			if s := only(t, tt.stack, "AWS::SecretsManager::Secret"); s.DeletionPolicy != tt.policy {
				t.Errorf("secret: DeletionPolicy %q", s.DeletionPolicy)
			}
		})
	}
}

func TestProductsTable(t *testing.T) {
	p := only(t, "Shop-dev-test-Data", "AWS::DynamoDB::Table").Properties
	checks := []struct {
		name string
		got  any
		want string
	}{
		{"partition key", p["KeySchema"], `[{"AttributeName":"product_id","KeyType":"HASH"}]`},
		{"on demand", p["BillingMode"], `"PAY_PER_REQUEST"`},
		{"point-in-time recovery", get(p, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled"), `true`},
		{"encryption", p["SSESpecification"], `{"SSEEnabled":true}`},
		{"category index name", get(p, "GlobalSecondaryIndexes", 0, "IndexName"), `"by-category"`},
		{"category index keys", get(p, "GlobalSecondaryIndexes", 0, "KeySchema"), `[{"AttributeName":"category","KeyType":"HASH"},{"AttributeName":"product_id","KeyType":"RANGE"}]`},
	}
	for _, c := range checks {
		if js(c.got) != c.want {
			t.Errorf("%s = %s, want %s", c.name, js(c.got), c.want)
		}
	}
}

func TestUserPool(t *testing.T) {
	p := only(t, "Shop-dev-test-Data", "AWS::Cognito::UserPool").Properties
	if js(get(p, "Policies", "PasswordPolicy", "MinimumLength")) != "12" {
		t.Errorf("password policy = %s", js(get(p, "Policies", "PasswordPolicy")))
	}
	if js(p["UsernameAttributes"]) != `["email"]` {
		t.Errorf("sign-in = %s, want email", js(p["UsernameAttributes"]))
	}
	c := only(t, "Shop-dev-test-Data", "AWS::Cognito::UserPoolClient").Properties
	if c["GenerateSecret"] != false || js(c["ExplicitAuthFlows"]) != `["ALLOW_USER_SRP_AUTH","ALLOW_REFRESH_TOKEN_AUTH"]` ||
		c["PreventUserExistenceErrors"] != "ENABLED" {
		t.Errorf("client = %s", js(c))
	}
	g := only(t, "Shop-dev-test-Data", "AWS::Cognito::UserPoolGroup").Properties
	if g["GroupName"] != "admin" {
		t.Errorf("group = %v, want admin", g["GroupName"])
	}
}

func TestFunctions(t *testing.T) {
	for _, stage := range []string{"dev-test", "prod"} {
		stack := "Shop-" + stage + "-Api"
		fns := ofType(stack, "AWS::Lambda::Function")
		if len(fns) == 0 {
			t.Fatalf("%s: no functions", stack)
		}
		for id, fn := range fns {
			p := fn.Properties
			timeout, _ := p["Timeout"].(float64)
			switch {
			case p["Runtime"] != "provided.al2023", js(p["Architectures"]) != `["arm64"]`, p["Handler"] != "bootstrap":
				t.Errorf("%s/%s: runtime %v %v %v", stack, id, p["Runtime"], p["Architectures"], p["Handler"])
			case timeout < 1 || timeout >= 29:
				t.Errorf("%s/%s: timeout %v, want under API Gateway's 29 s", stack, id, p["Timeout"])
			case get(p, "TracingConfig", "Mode") != "Active":
				t.Errorf("%s/%s: no X-Ray tracing", stack, id)
			case get(p, "LoggingConfig", "LogFormat") != "JSON" || get(p, "LoggingConfig", "LogGroup") == nil:
				t.Errorf("%s/%s: logging %s", stack, id, js(p["LoggingConfig"]))
			}
		}
		wantDays := map[string]float64{"dev-test": 7, "prod": 365}[stage]
		for id, lg := range ofType(stack, "AWS::Logs::LogGroup") {
			if lg.Properties["RetentionInDays"] != wantDays {
				t.Errorf("%s/%s: retention %v, want %v", stack, id, lg.Properties["RetentionInDays"], wantDays)
			}
		}
	}
}

// Least privilege: no managed policies, logs only to the function's own group,
// DynamoDB only on the products table and its indexes, no action wildcards.
func TestFunctionRolesAreLeastPrivilege(t *testing.T) {
	stack := "Shop-dev-test-Api"
	for id, r := range ofType(stack, "AWS::IAM::Role") {
		if r.Properties["ManagedPolicyArns"] != nil {
			t.Errorf("%s: managed policies %s", id, js(r.Properties["ManagedPolicyArns"]))
		}
	}
	for id, pol := range ofType(stack, "AWS::IAM::Policy") {
		stmts, _ := get(pol.Properties, "PolicyDocument", "Statement").([]any)
		for _, s := range stmts {
			actions := fmt.Sprint(get(s, "Action"))
			res := js(get(s, "Resource"))
			if strings.Contains(actions, ":*") || actions == "*" {
				t.Errorf("%s: wildcard action %s", id, actions)
			}
			if res == `"*"` && !strings.Contains(actions, "xray:") {
				t.Errorf("%s: %s on every resource", id, actions)
			}
			if strings.Contains(actions, "logs:") {
				ref, _ := get(s, "Resource", "Fn::GetAtt", 0).(string)
				if tpl[stack].Resources[ref].Type != "AWS::Logs::LogGroup" {
					t.Errorf("%s: logs actions on %s, want one log group of this stack", id, res)
				}
			}
			if strings.Contains(actions, "dynamodb:") && !strings.Contains(res, "ProductsTable") {
				t.Errorf("%s: DynamoDB actions on %s", id, res)
			}
		}
	}
}

func TestHttpApi(t *testing.T) {
	stack := "Shop-dev-test-Api"
	api := only(t, stack, "AWS::ApiGatewayV2::Api").Properties
	if api["ProtocolType"] != "HTTP" {
		t.Errorf("protocol %v, want HTTP", api["ProtocolType"])
	}
	st := only(t, stack, "AWS::ApiGatewayV2::Stage").Properties
	if st["StageName"] != "$default" || st["AutoDeploy"] != true {
		t.Errorf("stage %v autodeploy %v", st["StageName"], st["AutoDeploy"])
	}
	if js(get(st, "DefaultRouteSettings")) != `{"ThrottlingBurstLimit":40,"ThrottlingRateLimit":20}` {
		t.Errorf("throttling = %s", js(get(st, "DefaultRouteSettings")))
	}
	var format map[string]string
	if err := json.Unmarshal([]byte(fmt.Sprint(get(st, "AccessLogSettings", "Format"))), &format); err != nil || format["requestId"] != "$context.requestId" {
		t.Errorf("access log format is not JSON with the request id: %v (%v)", get(st, "AccessLogSettings", "Format"), err)
	}
	if get(st, "AccessLogSettings", "DestinationArn") == nil {
		t.Error("access logs have no destination")
	}
	auth := only(t, stack, "AWS::ApiGatewayV2::Authorizer").Properties
	if auth["AuthorizerType"] != "JWT" || js(auth["IdentitySource"]) != `["$request.header.Authorization"]` ||
		!strings.Contains(js(get(auth, "JwtConfiguration", "Issuer")), "cognito-idp") || get(auth, "JwtConfiguration", "Audience") == nil {
		t.Errorf("authorizer = %s", js(auth))
	}
}

// No write is public.
func TestNoPublicWrites(t *testing.T) {
	for _, r := range CatalogRoutes {
		if r.Method != "GET" && r.Public {
			t.Errorf("%s %s is a public write", r.Method, r.Path)
		}
	}
}

func TestCostAllocationTags(t *testing.T) {
	p := only(t, "Shop-dev-test-Data", "AWS::DynamoDB::Table").Properties
	tags := map[string]any{}
	for _, tg := range p["Tags"].([]any) {
		tags[fmt.Sprint(get(tg, "Key"))] = get(tg, "Value")
	}
	if js(tags) != `{"owner":"tester","project":"shop","stage":"dev-test"}` {
		t.Errorf("tags = %s", js(tags))
	}
}

var assetHash = regexp.MustCompile(`[0-9a-f]{64}`)

// The snapshot guards refactors: any change to a development stage's templates
// shows up here. Asset hashes are blanked: the test binaries are fakes.
// Run `go test ./infra/stacks -run Snapshot -update` to accept a change.
func TestSnapshot(t *testing.T) {
	for _, stack := range []string{"Shop-dev-test-Data", "Shop-dev-test-Api"} {
		raw, err := os.ReadFile(filepath.Join(assembly, stack+".template.json"))
		if err != nil {
			t.Fatal(err)
		}
		got := assetHash.ReplaceAll(raw, []byte("<asset-hash>"))
		golden := filepath.Join("testdata", stack+".golden.json")
		if *update {
			must(os.WriteFile(golden, got, 0o644))
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if string(got) != string(want) {
			t.Errorf("%s differs from %s; if the change is intended, run go test ./infra/stacks -run Snapshot -update", stack, golden)
		}
	}
}

// The API's routes are the served operations of docs/openapi.json (not the
// planned ones, not the local-only ones), with the authorizer exactly where the
// document asks for a token.
func TestRoutesMatchOpenAPI(t *testing.T) {
	raw, err := os.ReadFile("../../docs/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"$default": "NONE"}
	for path, ops := range doc.Paths {
		for method, rawOp := range ops {
			var op struct {
				Security *[]map[string]any `json:"security"`
				Status   string            `json:"x-shop-status"`
				Tags     []string          `json:"tags"`
			}
			if method == "parameters" || json.Unmarshal(rawOp, &op) != nil || op.Status != "" || len(op.Tags) > 0 && op.Tags[0] == "local" {
				continue
			}
			auth := "JWT" // a token is required
			if op.Security != nil && len(*op.Security) == 0 {
				auth = "NONE"
			}
			if op.Security != nil && len(*op.Security) == 2 && len((*op.Security)[1]) == 0 {
				auth = "CUSTOM" // a guest or a token: the shop's Lambda authorizer
			}
			want[strings.ToUpper(method)+" "+path] = auth
		}
	}
	got := map[string]string{}
	for _, r := range ofType("Shop-dev-test-Api", "AWS::ApiGatewayV2::Route") {
		got[fmt.Sprint(r.Properties["RouteKey"])] = fmt.Sprint(r.Properties["AuthorizationType"])
	}
	if js(got) != js(want) {
		t.Errorf("routes on the API and in docs/openapi.json differ:\n api %s\n doc %s", js(got), js(want))
	}
}
