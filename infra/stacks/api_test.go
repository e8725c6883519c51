package stacks

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// method is one AWS::ApiGateway::Method with its full resource path.
type method struct {
	id    string
	key   string // "POST /orders"
	props map[string]any
}

// restMethods are stack's REST API methods by key ("POST /orders", "ANY
// /{proxy+}", "OPTIONS /cart"), their paths rebuilt from the resources'
// PathPart and ParentId.
func restMethods(stack string) map[string]method {
	resources := ofType(stack, "AWS::ApiGateway::Resource")
	var path func(ref any) string
	path = func(ref any) string {
		id, _ := get(ref, "Ref").(string)
		r, ok := resources[id]
		if !ok {
			return "" // the root (Fn::GetAtt RootResourceId)
		}
		return path(r.Properties["ParentId"]) + "/" + fmt.Sprint(r.Properties["PathPart"])
	}
	out := map[string]method{}
	for id, m := range ofType(stack, "AWS::ApiGateway::Method") {
		p := path(m.Properties["ResourceId"])
		if p == "" {
			p = "/"
		}
		key := fmt.Sprint(m.Properties["HttpMethod"]) + " " + p
		out[key] = method{id: id, key: key, props: m.Properties}
	}
	return out
}

// authorizerOf finds the authorizer whose properties contain marker.
func authorizerOf(t *testing.T, stack, marker string) string {
	t.Helper()
	for id, a := range ofType(stack, "AWS::ApiGateway::Authorizer") {
		if strings.Contains(js(a.Properties), marker) {
			return id
		}
	}
	t.Fatalf("%s: no authorizer with %s", stack, marker)
	return ""
}

// Catalogue writes and image uploads take only staff tokens: their methods
// have the staff pool's Cognito authorizer.
func TestStaffRoutesUseTheStaffAuthorizer(t *testing.T) {
	stack := "Shop-dev-test-Api"
	staffAuth := authorizerOf(t, stack, "IdentityStaff")
	staff := map[string]bool{}
	for _, r := range contract.Routes() {
		if r.Access == contract.Staff {
			staff[r.Key()] = true
		}
	}
	if len(staff) != 4 {
		t.Fatalf("%d staff routes, want the 3 catalogue writes and the image upload", len(staff))
	}
	for key, m := range restMethods(stack) {
		usesStaff := js(m.props["AuthorizerId"]) == `{"Ref":"`+staffAuth+`"}`
		if staff[key] != usesStaff {
			t.Errorf("%s (%s): staff authorizer %v, want %v", m.id, key, usesStaff, staff[key])
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
	// Every function of a stage (functions.go's table): one without a row
	// in the expectations below fails.
	specs := append(slices.Clone(apiFunctions), imagesFunction)
	var ids []string
	for _, spec := range specs {
		ids = append(ids, spec.id)
	}
	ours := regexp.MustCompile(`^(` + strings.Join(ids, "|") + `)Role`)
	tables := map[string]string{"Catalog": "ProductsTable", "Cart": "ProductsTable", "Orders": "ProductsTable|CheckoutOrders|CheckoutCustomers", "Images": "ProductsTable",
		"Expiry": "ProductsTable|CheckoutOrders|CheckoutCustomers"}
	// The events function reads the Orders table's change stream (the CDK's
	// grant for its event source mapping): stream reads, not table actions.
	const streamReads = "[dynamodb:DescribeStream dynamodb:GetRecords dynamodb:GetShardIterator]"
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
						// ListStreams takes no resource (DynamoDB's actions
						// table): the stream reader's alone.
						if service != "xray" && service != "ec2" && (a != "dynamodb:ListStreams" || fn != "Events") {
							t.Errorf("%s: %s on every resource", id, a)
						}
					}
					if res != `"*"` {
						t.Errorf("%s: %s on %s", id, actions, res)
					}
				case fn == "Events" && actions == streamReads:
					seen[fn]["dynamodb"] = true
					if !strings.Contains(res, "CheckoutOrders") || !strings.Contains(res, "StreamArn") {
						t.Errorf("%s: stream reads on %s, want the Orders table's stream", id, res)
					}
				case actions == "events:PutEvents":
					seen[fn]["events"] = true
					if fn != "Events" || !strings.Contains(res, "EventBus") {
						t.Errorf("%s: PutEvents on %s, want only the events function on the stage's bus", id, res)
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
					if actions != "[sqs:GetQueueAttributes sqs:GetQueueUrl sqs:SendMessage]" || !strings.Contains(res, fn+"Failures") || (fn != "Images" && fn != "Events") {
						t.Errorf("%s: %s on %s, want only the images and events functions sending to their own failure queues", id, actions, res)
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
	services := map[string]string{
		"Catalog": "dynamodb ec2 elasticache s3 xray", "Cart": "dynamodb ec2 elasticache xray", "Orders": "dynamodb ec2 elasticache xray", "Authorizer": "xray",
		"Expiry": "dynamodb ec2 elasticache xray",
		"Events": "dynamodb events sqs xray",
		"Images": "dynamodb ec2 elasticache s3 sqs xray",
	}
	for _, spec := range specs {
		if _, ok := services[spec.id]; !ok {
			t.Errorf("%s: a function of functions.go whose role this test does not check", spec.id)
		}
	}
	for fn, want := range services {
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
	for _, spec := range specs {
		fn := spec.fn
		got := map[string][]string{}
		for resource, actions := range granted[spec.id] {
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
	// The construct ids of every function: functions.go's table, the
	// account's two and the pre-traffic hooks; a contract function with no
	// id here fails below (no function of it is found).
	byID := map[string]contract.Function{"Reaper": contract.Reaper, "CacheUsers": contract.CacheUsers, "PreTraffic": contract.PreTraffic}
	for _, spec := range append(slices.Clone(apiFunctions), imagesFunction) {
		byID[spec.id] = spec.fn
	}
	ours := regexp.MustCompile(`^(` + strings.Join(slices.Sorted(maps.Keys(byID)), "|") + `)[A-Za-z]*?Function[0-9A-F]{8}$`)
	seen := map[string]map[contract.Function]bool{} // by stage (Account for the account stack)
	for stack, tp := range tpl {
		for id, fn := range tp.Resources {
			m := ours.FindStringSubmatch(id)
			if fn.Type != "AWS::Lambda::Function" || m == nil || (m[1] != "PreTraffic" && !strings.HasPrefix(id, m[1]+"Function")) {
				continue
			}
			name := byID[m[1]]
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
		switch fn {
		case contract.Reaper, contract.CacheUsers:
			where = []string{"Account"}
		case contract.PreTraffic:
			where = []string{"prod"} // a gradual deployment's hook
		}
		for _, stage := range where {
			if !seen[stage][fn] {
				t.Errorf("%s: no function %s in the templates", stage, fn)
			}
		}
	}
}

func TestRestApi(t *testing.T) {
	stack := "Shop-dev-test-Api"
	api := only(t, stack, "AWS::ApiGateway::RestApi").Properties
	if js(get(api, "EndpointConfiguration", "Types")) != `["REGIONAL"]` || api["Name"] != "shop-dev-test" {
		t.Errorf("REST API = %s, want a regional API named after the stage", js(api))
	}
	st := only(t, stack, "AWS::ApiGateway::Stage").Properties
	if st["StageName"] != "shop" {
		t.Errorf("stage %v", st["StageName"])
	}
	stageWide := false
	for _, ms := range asList(st["MethodSettings"]) {
		if get(ms, "ResourcePath") == "/*" && get(ms, "HttpMethod") == "*" {
			stageWide = get(ms, "ThrottlingRateLimit") == 20.0 && get(ms, "ThrottlingBurstLimit") == 40.0
		}
	}
	if !stageWide {
		t.Errorf("stage throttling = %s, want the dev profile's 20/40 for every method", js(st["MethodSettings"]))
	}
	var format map[string]string
	if err := json.Unmarshal([]byte(fmt.Sprint(get(st, "AccessLogSetting", "Format"))), &format); err != nil || format["requestId"] != "$context.requestId" ||
		format["sub"] != "$context.authorizer.claims.sub" || format["principal"] != "$context.authorizer.principalId" {
		t.Errorf("access log format is not JSON with the request id and the caller: %v (%v)", get(st, "AccessLogSetting", "Format"), err)
	}
	if get(st, "AccessLogSetting", "DestinationArn") == nil {
		t.Error("access logs have no destination")
	}
	auths := ofType(stack, "AWS::ApiGateway::Authorizer")
	if len(auths) != 3 {
		t.Fatalf("%d authorizers, want the customers' and the staff's Cognito ones and the guest-or-user Lambda one", len(auths))
	}
	for id, a := range auths {
		auth := a.Properties
		switch auth["Type"] {
		case "COGNITO_USER_POOLS":
			if auth["IdentitySource"] != "method.request.header.Authorization" || len(asList(auth["ProviderARNs"])) != 1 {
				t.Errorf("Cognito authorizer = %s", js(auth))
			}
		case "REQUEST":
			// No identity source and no cache: it must run for requests without a token.
			if auth["AuthorizerResultTtlInSeconds"] != 0.0 || auth["IdentitySource"] != nil && auth["IdentitySource"] != "" ||
				!strings.Contains(js(auth["AuthorizerUri"]), "Authorizer") {
				t.Errorf("Lambda authorizer = %s", js(auth))
			}
		default:
			t.Errorf("%s: authorizer type %v", id, auth["Type"])
		}
	}
	// API Gateway's own answers are the contract's problem+json.
	// Filled in as API Gateway documents its variables ($context.error.
	// messageString is the message with its quotes), each body is JSON.
	fill := strings.NewReplacer("$context.error.messageString", `"Unauthorized"`, "$context.requestId", "r-1")
	problems := map[string]bool{}
	for _, g := range ofType(stack, "AWS::ApiGateway::GatewayResponse") {
		var body struct{ Type string }
		err := json.Unmarshal([]byte(fill.Replace(fmt.Sprint(get(g.Properties, "ResponseTemplates", "application/json")))), &body)
		if err == nil && strings.HasPrefix(body.Type, "/problems/") &&
			js(get(g.Properties, "ResponseParameters", "gatewayresponse.header.Content-Type")) == `"'application/problem+json'"` {
			problems[fmt.Sprint(g.Properties["ResponseType"])] = true
		}
	}
	for _, typ := range []string{"UNAUTHORIZED", "ACCESS_DENIED", "THROTTLED", "WAF_FILTERED", "DEFAULT_4XX", "DEFAULT_5XX"} {
		if !problems[typ] {
			t.Errorf("no problem+json gateway response for %s", typ)
		}
	}
}

// Browsers can call the API: every route's resource answers a preflight
// itself (a mock integration, no authorizer) for the contract's origins.
func TestCorsPreflight(t *testing.T) {
	for _, stage := range []string{"dev-test", "prod"} {
		stack := "Shop-" + stage + "-Api"
		methods := restMethods(stack)
		origin := map[string]string{"dev-test": "http://localhost:3000", "prod": "https://shop.example.com"}[stage]
		for _, r := range contract.Routes() {
			m, ok := methods["OPTIONS "+r.Path]
			if !ok {
				t.Errorf("%s: no preflight on %s", stack, r.Path)
				continue
			}
			if m.props["AuthorizationType"] != "NONE" || get(m.props, "Integration", "Type") != "MOCK" ||
				!strings.Contains(js(get(m.props, "Integration", "IntegrationResponses")), origin) ||
				!strings.Contains(strings.ToLower(js(get(m.props, "Integration", "IntegrationResponses"))), "x-session-id") {
				t.Errorf("%s: preflight of %s = %s", stack, r.Path, js(m.props))
			}
		}
	}
}

// No write is public but starting a guest session: every method without an
// authorizer in the template is a read, POST /sessions, a preflight or a
// catch-all ANY (whose function answers 404 or 405 and reads nothing).
func TestNoPublicWrites(t *testing.T) {
	for _, stage := range []string{"dev-test", "prod"} {
		for key, m := range restMethods("Shop-" + stage + "-Api") {
			if m.props["AuthorizerId"] != nil || strings.HasPrefix(key, "GET ") || strings.HasPrefix(key, "OPTIONS ") ||
				key == "POST /sessions" {
				continue
			}
			fn := string(contract.DefaultRouteFunction)
			if strings.HasPrefix(key, "ANY ") && !strings.Contains(js(get(m.props, "Integration", "Uri")), `"`+strings.ToUpper(fn[:1])+fn[1:]) {
				t.Errorf("%s/%s: catch-all %s reaches %s", stage, m.id, key, js(get(m.props, "Integration", "Uri")))
			}
			if strings.HasPrefix(key, "ANY ") {
				continue
			}
			t.Errorf("%s/%s: %s has no authorizer", stage, m.id, key)
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
	want := map[string]string{}
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
			auth := "COGNITO_USER_POOLS" // a token is required
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
	for key, m := range restMethods("Shop-dev-test-Api") {
		// The preflights and the catch-all methods are the API's own, not operations.
		if !strings.HasPrefix(key, "OPTIONS ") && !strings.HasPrefix(key, "ANY ") {
			got[key] = fmt.Sprint(m.props["AuthorizationType"])
		}
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
		st := only(t, stack, "AWS::ApiGateway::Stage").Properties
		settings := map[string]string{} // by the method each setting reaches, read as API Gateway reads it
		methods := restMethods(stack)
		for _, ms := range asList(st["MethodSettings"]) {
			if get(ms, "ResourcePath") == "/*" {
				continue // the stage's default
			}
			keys, err := methodSettingTarget(fmt.Sprint(get(ms, "ResourcePath")), fmt.Sprint(get(ms, "HttpMethod")), methods)
			if err != nil {
				t.Errorf("%s: %v", stack, err)
			}
			for _, key := range keys {
				settings[key] = fmt.Sprintf("%v/%v metrics %v", get(ms, "ThrottlingRateLimit"), get(ms, "ThrottlingBurstLimit"), get(ms, "MetricsEnabled"))
			}
		}
		want := map[string]string{"dev-test": "5/10", "prod": "20/40"}[stage]
		for _, key := range []string{"POST /orders", "POST /orders/{order_id}/cancel", "POST /orders/{order_id}/confirm"} {
			metrics := "<nil>"
			if stage == "prod" && key == "POST /orders" { // checkout's SLO reads its route metrics
				metrics = "true"
			}
			if got := settings[key]; got != want+" metrics "+metrics {
				t.Errorf("%s: %s settings = %q, want %s metrics %s (all: %v)", stack, key, got, want, metrics, settings)
			}
		}
		users := authorizerOf(t, stack, "IdentityUsers")
		for key, m := range restMethods(stack) {
			isConfirm := key == "POST /orders/{order_id}/confirm"
			scopes := js(m.props["AuthorizationScopes"])
			if isConfirm && (scopes != `["`+contract.ScopeConfirmOrders+`"]` || js(m.props["AuthorizerId"]) != `{"Ref":"`+users+`"}`) {
				t.Errorf("%s: confirm = %s, want the customer pool's authorizer with the confirm scope", stack, js(m.props))
			}
			if !isConfirm && m.props["AuthorizationScopes"] != nil {
				t.Errorf("%s: %s asks for scopes %s", stack, key, scopes)
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

// Prod's edge: CloudFront in front of the API with the us-east-1 web ACL,
// nothing cached, the origin-verification value of the slot the profile
// sends; the stage's regional web ACL blocks everything without an accepted
// value. A development stage has none of it, and no function holds the
// value in its environment.
func TestApiEdge(t *testing.T) {
	var apiCdn map[string]any
	for id, d := range ofType("Shop-prod-Api", "AWS::CloudFront::Distribution") {
		if strings.HasPrefix(id, "ApiCdn") {
			apiCdn = get(d.Properties, "DistributionConfig").(map[string]any)
		}
	}
	if apiCdn == nil {
		t.Fatal("prod: no CDN in front of the API")
	}
	headers := js(get(apiCdn, "Origins", 0, "OriginCustomHeaders"))
	if !strings.Contains(js(apiCdn["WebACLId"]), `"Region":"us-east-1","StackName":"Shop-prod-Edge"`) ||
		!strings.Contains(headers, `"HeaderName":"X-Origin-Verify"`) || !strings.Contains(headers, `RefOriginSecret`) ||
		strings.Contains(headers, "OriginSecretB") || !strings.Contains(js(get(apiCdn, "Origins", 0, "OriginPath")), "RestApiDeploymentStage") ||
		js(get(apiCdn, "DefaultCacheBehavior", "CachePolicyId")) != `"4135ea2d-6df8-44a3-9df3-4b5a84be39ad"` ||
		js(get(apiCdn, "DefaultCacheBehavior", "ViewerProtocolPolicy")) != `"https-only"` {
		t.Errorf("API CDN = %s", js(apiCdn))
	}
	// The gate: block by default, allow only the accepted slot's value.
	gate := only(t, "Shop-prod-Api", "AWS::WAFv2::WebACL").Properties
	rules := asList(gate["Rules"])
	match := get(rules, 0, "Statement", "ByteMatchStatement")
	if gate["Scope"] != "REGIONAL" || js(gate["DefaultAction"]) != `{"Block":{}}` || len(rules) != 1 ||
		js(get(rules, 0, "Action")) != `{"Allow":{}}` || js(get(match, "FieldToMatch")) != `{"SingleHeader":{"Name":"x-origin-verify"}}` ||
		get(match, "PositionalConstraint") != "EXACTLY" || !strings.Contains(js(get(match, "SearchString")), `RefOriginSecret`) ||
		strings.Contains(js(get(match, "SearchString")), `OriginSecretB`) {
		t.Errorf("origin gate = %s", js(gate))
	}
	assoc := only(t, "Shop-prod-Api", "AWS::WAFv2::WebACLAssociation").Properties
	if !strings.Contains(js(assoc["ResourceArn"]), "RestApiDeploymentStage") || !strings.Contains(js(assoc["WebACLArn"]), "OriginGate") {
		t.Errorf("association = %s, want the gate on the API's stage", js(assoc))
	}
	for _, stage := range []string{"dev-test", "prod"} {
		for id, fn := range ofType("Shop-"+stage+"-Api", "AWS::Lambda::Function") {
			if strings.Contains(js(fn.Properties["Environment"]), "OriginSecret") {
				t.Errorf("%s/%s: the origin value is in a function's environment", stage, id)
			}
		}
	}
	for _, typ := range []string{"AWS::CloudFront::Distribution", "AWS::WAFv2::WebACL", "AWS::WAFv2::WebACLAssociation"} {
		if n := len(ofType("Shop-dev-test-Api", typ)); n != 0 {
			t.Errorf("a development stage has %d %s", n, typ)
		}
	}
}

// Both web ACLs log to a CloudWatch group named as AWS WAF requires, kept
// with the stage's retention, with the headers that carry credentials (and
// the origin value) redacted: the viewer's address is recoverable for any
// request, a token is not.
func TestWebACLsLog(t *testing.T) {
	for stack, redacted := range map[string][]string{
		"Shop-prod-Edge": {"authorization", "x-session-id"},
		"Shop-prod-Api":  {"x-origin-verify", "authorization", "x-session-id"},
	} {
		acl := ""
		for id := range ofType(stack, "AWS::WAFv2::WebACL") {
			acl = id
		}
		cfg := only(t, stack, "AWS::WAFv2::LoggingConfiguration").Properties
		if !strings.Contains(js(cfg["ResourceArn"]), acl) {
			t.Errorf("%s: logging configuration of %s", stack, js(cfg["ResourceArn"]))
		}
		for _, h := range redacted {
			if !strings.Contains(js(cfg["RedactedFields"]), `{"SingleHeader":{"Name":"`+h+`"}}`) {
				t.Errorf("%s: %s is not redacted: %s", stack, h, js(cfg["RedactedFields"]))
			}
		}
		dest := js(cfg["LogDestinationConfigs"])
		if strings.Contains(dest, ":*") || !strings.Contains(dest, "log-group:") {
			t.Errorf("%s: log destination %s, want a log group ARN without :*", stack, dest)
		}
		found := false
		for id, g := range ofType(stack, "AWS::Logs::LogGroup") {
			if name := rendered(g.Properties["LogGroupName"]); strings.HasPrefix(name, "aws-waf-logs-shop-prod-") && strings.Contains(dest, `{"Ref":"`+id+`"}`) {
				found = g.Properties["RetentionInDays"] == 365.0 && g.DeletionPolicy == "Retain"
			}
		}
		if !found {
			t.Errorf("%s: no aws-waf-logs-shop-prod-* group with prod's retention behind %s", stack, dest)
		}
	}
}
