package stacks

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// Catalogue writes and image uploads take only staff tokens: their routes
// have the staff pool's JWT authorizer.
func TestStaffRoutesUseTheStaffAuthorizer(t *testing.T) {
	stack := "Shop-dev-test-Api"
	staffAuth := ""
	for id, a := range ofType(stack, "AWS::ApiGatewayV2::Authorizer") {
		if strings.Contains(js(get(a.Properties, "JwtConfiguration", "Issuer")), "IdentityStaff") {
			staffAuth = id
		}
	}
	if staffAuth == "" {
		t.Fatal("no JWT authorizer for the staff pool")
	}
	staff := map[string]bool{}
	for _, r := range contract.Routes() {
		if r.Access == contract.Staff {
			staff[r.Key()] = true
		}
	}
	if len(staff) != 4 {
		t.Fatalf("%d staff routes, want the 3 catalogue writes and the image upload", len(staff))
	}
	for id, r := range ofType(stack, "AWS::ApiGatewayV2::Route") {
		key := fmt.Sprint(r.Properties["RouteKey"])
		usesStaff := js(r.Properties["AuthorizerId"]) == `{"Ref":"`+staffAuth+`"}`
		if staff[key] != usesStaff {
			t.Errorf("%s (%s): staff authorizer %v, want %v", id, key, usesStaff, staff[key])
		}
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

// Least privilege: no managed policies; logs only to the function's own group;
// each function's DynamoDB actions only on its own tables, with key reads only
// for the cart; the ENI actions only for the functions in the VPC; cache
// connect only for those; no action wildcards.
func TestFunctionRolesAreLeastPrivilege(t *testing.T) {
	ours := regexp.MustCompile(`^(Catalog|Cart|Orders|Authorizer|Images|Expiry)Role`)
	tables := map[string]string{"Catalog": "ProductsTable", "Cart": "ProductsTable", "Orders": "ProductsTable|CheckoutOrders|CheckoutCustomers", "Images": "ProductsTable",
		"Expiry": "ProductsTable|CheckoutOrders|CheckoutCustomers"}
	seen := map[string]map[string]bool{}
	granted := map[string]map[string][]string{} // function -> contract resource -> actions
	add := func(fn, resource, actions string) {
		if granted[fn] == nil {
			granted[fn] = map[string][]string{}
		}
		granted[fn][resource] = append(granted[fn][resource], strings.Fields(strings.Trim(actions, "[]"))...)
	}
	for _, stack := range []string{"Shop-dev-test-Api", "Shop-dev-test-Media"} {
		for id, r := range ofType(stack, "AWS::IAM::Role") {
			if ours.MatchString(id) && r.Properties["ManagedPolicyArns"] != nil {
				t.Errorf("%s: managed policies %s", id, js(r.Properties["ManagedPolicyArns"]))
			}
		}
		// Statements of the role's own inline policies and of its separate
		// AWS::IAM::Policy (CDK's default policy), by role.
		statements := map[string][]any{}
		for id, r := range ofType(stack, "AWS::IAM::Role") {
			pols, _ := r.Properties["Policies"].([]any)
			for _, p := range pols {
				stmts, _ := get(p, "PolicyDocument", "Statement").([]any)
				statements[id] = append(statements[id], stmts...)
			}
		}
		for id, pol := range ofType(stack, "AWS::IAM::Policy") {
			stmts, _ := get(pol.Properties, "PolicyDocument", "Statement").([]any)
			statements[id] = append(statements[id], stmts...)
		}
		for id, stmts := range statements {
			if !ours.MatchString(id) {
				continue // CDK's own custom resource handlers
			}
			fn := id[:strings.Index(id, "Role")]
			if seen[fn] == nil {
				seen[fn] = map[string]bool{}
			}
			for _, s := range stmts {
				actions := fmt.Sprint(get(s, "Action"))
				res := js(get(s, "Resource"))
				switch {
				case strings.Contains(actions, ":*") || actions == "*":
					t.Errorf("%s: wildcard action %s", id, actions)
				case strings.Contains(actions, "logs:"):
					ref, _ := get(s, "Resource", "Fn::GetAtt", 0).(string)
					if tpl[stack].Resources[ref].Type != "AWS::Logs::LogGroup" {
						t.Errorf("%s: logs actions on %s, want one log group of this stack", id, res)
					}
				case strings.Contains(actions, "xray:"), strings.Contains(actions, "ec2:"):
					for _, a := range strings.Fields(strings.Trim(actions, "[]")) {
						service := a[:strings.Index(a, ":")]
						seen[fn][service] = true
						if service != "xray" && service != "ec2" {
							t.Errorf("%s: %s on every resource", id, a)
						}
					}
					if res != `"*"` {
						t.Errorf("%s: %s on %s", id, actions, res)
					}
				case strings.Contains(actions, "dynamodb:"):
					seen[fn]["dynamodb"] = true
					if tables[fn] == "" || !regexp.MustCompile(tables[fn]).MatchString(res) {
						t.Errorf("%s: DynamoDB actions on %s", id, res)
					}
					// A statement may name several tables (the policy is minimized).
					for table, resource := range map[string]string{"ProductsTable": contract.ResourceProducts,
						"CheckoutOrders": contract.ResourceOrders, "CheckoutCustomers": contract.ResourceCustomers} {
						if strings.Contains(res, table) {
							add(fn, resource, actions)
						}
					}
				case strings.Contains(actions, "s3:"):
					seen[fn]["s3"] = true
					want := map[string]string{"Catalog": "[s3:DeleteObject s3:PutObject]", "Images": "[s3:DeleteObject s3:GetObject]"}[fn]
					if actions == "s3:ListBucket" {
						add(fn, contract.ResourceImagesIndex, actions)
					} else {
						add(fn, contract.ResourceImages, actions)
					}
					switch {
					case actions == "s3:ListBucket":
						if js(get(s, "Condition")) != `{"StringLike":{"s3:prefix":"products/*"}}` {
							t.Errorf("%s: ListBucket beyond products/: %s", id, js(get(s, "Condition")))
						}
					case actions != want || !strings.Contains(res, `"/products/*"`):
						t.Errorf("%s: %s on %s, want %s on products/*", id, actions, res, want)
					}
				case strings.Contains(actions, "sqs:"):
					seen[fn]["sqs"] = true
					if fn != "Images" || actions != "[sqs:GetQueueAttributes sqs:GetQueueUrl sqs:SendMessage]" || !strings.Contains(res, "ImagesFailures") {
						t.Errorf("%s: %s on %s, want only the images function sending to its failure queue", id, actions, res)
					}
				case actions == "elasticache:Connect":
					seen[fn]["elasticache"] = true
					// Prod: its own cache, as its function's own user; a
					// development stage: the account's cache, as the stage's user.
					own := strings.Contains(res, "CartCache") && strings.Contains(res, "CartCache"+fn+"User")
					shared := strings.Contains(res, DevCacheExports.ARN) && strings.Contains(res, "DevCacheUser")
					if !own && !shared {
						t.Errorf("%s: connect on %s, want the cache and the function's (or the stage's) user", id, res)
					}
				default:
					t.Errorf("%s: unexpected %s on %s", id, actions, res)
				}
			}
		}
	}
	for fn, want := range map[string]string{
		"Catalog": "dynamodb ec2 elasticache s3 xray", "Cart": "dynamodb ec2 elasticache xray", "Orders": "dynamodb ec2 elasticache xray", "Authorizer": "xray",
		"Expiry": "dynamodb ec2 elasticache xray",
		"Images": "dynamodb ec2 elasticache s3 sqs xray",
	} {
		var got []string
		for k := range seen[fn] {
			got = append(got, k)
		}
		sort.Strings(got)
		if strings.Join(got, " ") != want {
			t.Errorf("%s may use %v, want %s", fn, got, want)
		}
	}
	// Each role holds exactly the DynamoDB and S3 actions its code calls.
	for _, fn := range []contract.Function{contract.Catalog, contract.Cart, contract.Orders, contract.Authorizer, contract.Images, contract.Expiry} {
		got := map[string][]string{}
		for resource, actions := range granted[strings.ToUpper(string(fn[:1]))+string(fn[1:])] {
			got[resource] = slices.Compact(slices.Sorted(slices.Values(actions)))
		}
		if want := contract.Grants(fn); js(got) != js(want) {
			t.Errorf("%s: role grants %s\ncontract.Grants %s", fn, js(got), js(want))
		}
	}
}

// A function in the VPC cannot be created before its role may create network
// interfaces: those actions are inline in the role itself, never in a
// separate AWS::IAM::Policy that CloudFormation may attach later.
func TestNetworkInterfaceRightsAreInTheRole(t *testing.T) {
	for _, stage := range []string{"dev-test", "prod"} {
		for part, fns := range vpcFunctions {
			stack := "Shop-" + stage + "-" + part
			for id, pol := range ofType(stack, "AWS::IAM::Policy") {
				if strings.Contains(js(pol.Properties), "ec2:CreateNetworkInterface") {
					t.Errorf("%s/%s: network interface rights in a separate policy", stack, id)
				}
			}
			for _, fn := range fns {
				found := false
				for id, r := range ofType(stack, "AWS::IAM::Role") {
					if strings.HasPrefix(id, fn+"Role") && strings.Contains(js(r.Properties["Policies"]), "ec2:CreateNetworkInterface") {
						found = true
					}
				}
				if !found {
					t.Errorf("%s: the %s role has no inline network interface rights", stack, fn)
				}
			}
		}
	}
}

// Exactly the shop's functions that use the cache run in the VPC, in its
// isolated subnets, with the cache's client security group; the authorizer
// and CDK's own handlers do not.
func TestFunctionsInTheVpc(t *testing.T) {
	for _, stage := range []string{"dev-test", "prod"} {
		for part, fns := range vpcFunctions {
			stack := "Shop-" + stage + "-" + part
			found := map[string]bool{}
			for id, fn := range ofType(stack, "AWS::Lambda::Function") {
				vpc := js(get(fn.Properties, "VpcConfig"))
				inVpc := slices.ContainsFunc(fns, func(f string) bool { return strings.HasPrefix(id, f) })
				switch {
				case !inVpc && vpc != "null":
					t.Errorf("%s/%s runs in the VPC: %s", stack, id, vpc)
				case inVpc && (!strings.Contains(vpc, map[string]string{"prod": "ClientSecurityGroup", "dev-test": DevCacheExports.ClientsSG}[stage]) || !inIsolatedSubnets(stage, vpc)):
					t.Errorf("%s/%s: VpcConfig %s, want the client security group and both isolated subnets", stack, id, vpc)
				case inVpc:
					found[id] = true
				}
			}
			if len(found) != len(fns) {
				t.Errorf("%s: %d functions in the VPC (%v), want %v", stack, len(found), found, fns)
			}
		}
	}
}

// Every function of every stage is told exactly the variables its code reads
// (contract.Env, which the lambdas module's wire test holds the code to): none
// missing, none stray. CDK's own functions (custom resource handlers) are not
// the shop's and are left out.
func TestFunctionEnvironmentIsTheContract(t *testing.T) {
	ours := regexp.MustCompile(`^(Catalog|Cart|Orders|Authorizer|Images|Reaper|Expiry|Events|CacheUsers)Function[0-9A-F]{8}$`)
	seen := map[string]map[contract.Function]bool{} // by stage (Account for the account stack)
	for stack, tp := range tpl {
		for id, fn := range tp.Resources {
			m := ours.FindStringSubmatch(id)
			if fn.Type != "AWS::Lambda::Function" || m == nil {
				continue
			}
			name := contract.Function(strings.ToLower(m[1]))
			if seen[stageOf(stack)] == nil {
				seen[stageOf(stack)] = map[contract.Function]bool{}
			}
			seen[stageOf(stack)][name] = true
			vars, _ := get(fn.Properties, "Environment", "Variables").(map[string]any)
			var got []string
			for k := range vars {
				got = append(got, k)
			}
			slices.Sort(got)
			if want := contract.Env(name); !slices.Equal(got, want) {
				t.Errorf("%s/%s: environment %v\ncontract.Env(%s) %v", stack, id, got, name, want)
			}
		}
	}
	for _, fn := range contract.Functions() {
		where := []string{"dev-test", "prod"}
		if fn == contract.Reaper || fn == contract.CacheUsers {
			where = []string{"Account"}
		}
		for _, stage := range where {
			if !seen[stage][fn] {
				t.Errorf("%s: no function %s in the templates", stage, fn)
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
	if err := json.Unmarshal([]byte(fmt.Sprint(get(st, "AccessLogSettings", "Format"))), &format); err != nil || format["requestId"] != "$context.requestId" ||
		format["sub"] != "$context.authorizer.claims.sub" || format["authorizerSub"] != "$context.authorizer.sub" {
		t.Errorf("access log format is not JSON with the request id: %v (%v)", get(st, "AccessLogSettings", "Format"), err)
	}
	if get(st, "AccessLogSettings", "DestinationArn") == nil {
		t.Error("access logs have no destination")
	}
	auths := ofType(stack, "AWS::ApiGatewayV2::Authorizer")
	if len(auths) != 4 {
		t.Fatalf("%d authorizers, want the customers', the staff's and the payment client's JWT ones and the guest-or-user Lambda one", len(auths))
	}
	for id, a := range auths {
		auth := a.Properties
		switch auth["AuthorizerType"] {
		case "JWT":
			if js(auth["IdentitySource"]) != `["$request.header.Authorization"]` ||
				!strings.Contains(js(get(auth, "JwtConfiguration", "Issuer")), "cognito-idp") || get(auth, "JwtConfiguration", "Audience") == nil {
				t.Errorf("JWT authorizer = %s", js(auth))
			}
		case "REQUEST":
			// No identity source and no cache: it must run for requests without a token.
			if auth["EnableSimpleResponses"] != true || auth["AuthorizerPayloadFormatVersion"] != "2.0" ||
				auth["AuthorizerResultTtlInSeconds"] != 0.0 || auth["IdentitySource"] != nil && js(auth["IdentitySource"]) != "[]" ||
				!strings.Contains(js(auth["AuthorizerUri"]), "Authorizer") {
				t.Errorf("Lambda authorizer = %s", js(auth))
			}
		default:
			t.Errorf("%s: authorizer type %v", id, auth["AuthorizerType"])
		}
	}
}

// Browsers can call the API: the CORS configuration is the contract's, and
// an unauthenticated OPTIONS /{proxy+} route keeps preflights away from the
// $default route (which would otherwise receive them).
func TestCorsPreflight(t *testing.T) {
	for _, stage := range []string{"dev-test", "prod"} {
		stack := "Shop-" + stage + "-Api"
		cors := get(only(t, stack, "AWS::ApiGatewayV2::Api").Properties, "CorsConfiguration")
		want := map[string]string{"dev-test": `["http://localhost:3000"]`, "prod": `["https://shop.example.com"]`}[stage]
		if js(get(cors, "AllowOrigins")) != want || js(get(cors, "AllowMethods")) != js(contract.CORSAllowMethods()) ||
			get(cors, "MaxAge") != float64(contract.CORSMaxAgeSeconds) || !strings.Contains(js(get(cors, "AllowHeaders")), "x-session-id") ||
			!strings.Contains(js(get(cors, "ExposeHeaders")), "etag") {
			t.Errorf("%s: CORS %s", stack, js(cors))
		}
		found := false
		for id, r := range ofType(stack, "AWS::ApiGatewayV2::Route") {
			if r.Properties["RouteKey"] != "OPTIONS /{proxy+}" {
				continue
			}
			found = true
			if at := r.Properties["AuthorizationType"]; at != nil && at != "NONE" {
				t.Errorf("%s/%s: preflight route needs %v", stack, id, at)
			}
			if !strings.Contains(js(r.Properties["Target"]), "DefaultIntegration") {
				t.Errorf("%s/%s: preflight target %s", stack, id, js(r.Properties["Target"]))
			}
		}
		if !found {
			t.Errorf("%s: no OPTIONS /{proxy+} route", stack)
		}
	}
}

// No write is public but starting a guest session: every route without an
// authorizer in the template is a read, POST /sessions, the preflight or
// $default (whose function answers 404 or 405 and reads nothing).
func TestNoPublicWrites(t *testing.T) {
	for _, stage := range []string{"dev-test", "prod"} {
		for id, r := range ofType("Shop-"+stage+"-Api", "AWS::ApiGatewayV2::Route") {
			key := fmt.Sprint(r.Properties["RouteKey"])
			if r.Properties["AuthorizerId"] != nil || strings.HasPrefix(key, "GET ") || strings.HasPrefix(key, "OPTIONS ") ||
				key == "$default" || key == "POST /sessions" {
				continue
			}
			t.Errorf("%s/%s: %s has no authorizer", stage, id, key)
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
	// $default and the CORS preflight route are the API's own, not operations.
	want := map[string]string{"$default": "NONE", "OPTIONS /{proxy+}": "NONE"}
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

// Every function of every stack, CDK's own handlers included, logs into a log
// group of its stack that has the stage's retention and goes with a
// development stage: a destroy leaves no /aws/lambda/* group behind.
func TestEveryFunctionLogsToAGroupOfItsStack(t *testing.T) {
	for name, tp := range tpl {
		prod := strings.HasPrefix(name, "Shop-prod-") || name == "Shop-Account"
		for id, fn := range tp.Resources {
			if fn.Type != "AWS::Lambda::Function" {
				continue
			}
			ref, _ := get(fn.Properties, "LoggingConfig", "LogGroup", "Ref").(string)
			lg, ok := tp.Resources[ref]
			switch {
			case !ok || lg.Type != "AWS::Logs::LogGroup":
				t.Errorf("%s/%s logs to %s, not a log group of its stack", name, id, js(get(fn.Properties, "LoggingConfig")))
			case lg.Properties["RetentionInDays"] != map[string]float64{"dev-test": 7, "prod": 365, "Account": 30}[stageOf(name)]:
				t.Errorf("%s/%s: log retention %v", name, ref, lg.Properties["RetentionInDays"])
			case lg.DeletionPolicy != map[bool]string{false: "Delete", true: "Retain"}[prod]:
				t.Errorf("%s/%s: log group deletion policy %q", name, ref, lg.DeletionPolicy)
			}
		}
	}
}

// The lifecycle's edges: the expiry job every minute; the routes that move
// stock throttled below the catalogue; confirm only for the payment client's
// tokens with the confirm scope; reserved concurrency in prod.
func TestOrderLifecycleInfrastructure(t *testing.T) {
	for _, stage := range []string{"dev-test", "prod"} {
		stack := "Shop-" + stage + "-Api"
		rule := only(t, stack, "AWS::Events::Rule").Properties
		if rule["ScheduleExpression"] != "rate(1 minute)" || !strings.Contains(js(rule["Targets"]), map[string]string{"dev-test": "ExpiryFunction", "prod": "ExpiryLive"}[stage]) {
			t.Errorf("%s: expiry schedule = %s", stack, js(rule))
		}
		st := only(t, stack, "AWS::ApiGatewayV2::Stage").Properties
		want := map[string]string{"dev-test": `{"ThrottlingBurstLimit":10,"ThrottlingRateLimit":5}`, "prod": `{"ThrottlingBurstLimit":40,"ThrottlingRateLimit":20}`}[stage]
		for _, key := range []string{"POST /orders", "POST /orders/{order_id}/cancel", "POST /orders/{order_id}/confirm"} {
			want := want
			if stage == "prod" && key == "POST /orders" { // checkout's SLO reads its route metrics
				want = `{"DetailedMetricsEnabled":true,` + want[1:]
			}
			if got := js(get(st, "RouteSettings", key)); got != want {
				t.Errorf("%s: %s throttle = %s, want %s", stack, key, got, want)
			}
		}
		paymentsAuth := ""
		for id, a := range ofType(stack, "AWS::ApiGatewayV2::Authorizer") {
			if strings.HasPrefix(id, "HttpApiPayments") {
				paymentsAuth = id
				if !strings.Contains(js(get(a.Properties, "JwtConfiguration", "Audience")), "IdentityUsersPayments") {
					t.Errorf("%s: payments authorizer audience = %s", stack, js(get(a.Properties, "JwtConfiguration", "Audience")))
				}
			}
		}
		for id, r := range ofType(stack, "AWS::ApiGatewayV2::Route") {
			isConfirm := r.Properties["RouteKey"] == "POST /orders/{order_id}/confirm"
			usesPayments := paymentsAuth != "" && js(r.Properties["AuthorizerId"]) == `{"Ref":"`+paymentsAuth+`"}`
			if isConfirm != usesPayments {
				t.Errorf("%s/%s (%v): payments authorizer %v", stack, id, r.Properties["RouteKey"], usesPayments)
			}
			if isConfirm && js(r.Properties["AuthorizationScopes"]) != `["`+contract.ScopeConfirmOrders+`"]` {
				t.Errorf("%s: confirm scopes = %s", stack, js(r.Properties["AuthorizationScopes"]))
			}
		}
		for id, fn := range ofType(stack, "AWS::Lambda::Function") {
			rc, has := fn.Properties["ReservedConcurrentExecutions"]
			switch {
			case stage == "dev-test" && has:
				t.Errorf("%s/%s: reserved concurrency %v in a development stage", stack, id, rc)
			case stage == "prod" && (strings.HasPrefix(id, "CatalogFunction") && rc != 200.0 || strings.HasPrefix(id, "ExpiryFunction") && rc != 1.0):
				t.Errorf("%s/%s: reserved concurrency %v", stack, id, rc)
			}
		}
	}
}

// Prod's edge: CloudFront in front of the API with the us-east-1 web ACL (a
// per-IP rate limit, AWS's common and known-bad-inputs groups), nothing
// cached, and the origin-verification header the functions require; a
// development stage has none of it and its functions require nothing.
func TestApiEdge(t *testing.T) {
	acl := only(t, "Shop-prod-Edge", "AWS::WAFv2::WebACL").Properties
	rules := js(acl["Rules"])
	if acl["Scope"] != "CLOUDFRONT" || js(get(acl, "DefaultAction")) != `{"Allow":{}}` ||
		!strings.Contains(rules, `"RateBasedStatement":{"AggregateKeyType":"IP","Limit":2000}`) ||
		!strings.Contains(rules, `"Name":"AWSManagedRulesCommonRuleSet"`) || !strings.Contains(rules, `"Name":"AWSManagedRulesKnownBadInputsRuleSet"`) {
		t.Errorf("web ACL = %s", js(acl))
	}
	var apiCdn map[string]any
	for id, d := range ofType("Shop-prod-Api", "AWS::CloudFront::Distribution") {
		if strings.HasPrefix(id, "ApiCdn") {
			apiCdn = get(d.Properties, "DistributionConfig").(map[string]any)
		}
	}
	if apiCdn == nil {
		t.Fatal("prod: no CDN in front of the API")
	}
	if !strings.Contains(js(apiCdn["WebACLId"]), `"Region":"us-east-1","StackName":"Shop-prod-Edge"`) ||
		!strings.Contains(js(get(apiCdn, "Origins", 0, "OriginCustomHeaders")), `"HeaderName":"X-Origin-Verify"`) ||
		js(get(apiCdn, "DefaultCacheBehavior", "CachePolicyId")) != `"4135ea2d-6df8-44a3-9df3-4b5a84be39ad"` ||
		js(get(apiCdn, "DefaultCacheBehavior", "ViewerProtocolPolicy")) != `"https-only"` {
		t.Errorf("API CDN = %s", js(apiCdn))
	}
	for _, stage := range []string{"dev-test", "prod"} {
		for id, fn := range ofType("Shop-"+stage+"-Api", "AWS::Lambda::Function") {
			v, has := get(fn.Properties, "Environment", "Variables").(map[string]any)["ORIGIN_VERIFY"]
			if !has {
				continue
			}
			if stage == "dev-test" && v != "" || stage == "prod" && !strings.Contains(js(v), "OriginSecret") {
				t.Errorf("%s/%s: %s = %s", stage, id, "ORIGIN_VERIFY", js(v))
			}
		}
	}
	if n := len(ofType("Shop-dev-test-Api", "AWS::CloudFront::Distribution")); n != 0 {
		t.Errorf("a development stage has %d API CDNs", n)
	}
}
