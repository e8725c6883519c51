package stacks

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/go-cdk-shop/shop/infra/config"
	"github.com/go-cdk-shop/shop/lambdas/contract"
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

// cdkContext is the context of cdk.json (the feature flags and the stage
// profiles), so that the tests synthesize what `cdk synth` does.
func cdkContext() map[string]any {
	raw, err := os.ReadFile("../../cdk.json")
	must(err)
	var c struct {
		Context map[string]any `json:"context"`
	}
	must(json.Unmarshal(raw, &c))
	return c.Context
}

// functions are the Lambdas `make build` builds: the Makefile's FUNCTIONS,
// which must be the contract's functions.
func functions() []string {
	raw, err := os.ReadFile("../../Makefile")
	must(err)
	m := regexp.MustCompile(`(?m)^FUNCTIONS := (.+)$`).FindSubmatch(raw)
	if m == nil {
		panic("no FUNCTIONS in the Makefile")
	}
	return strings.Fields(string(m[1]))
}

func TestMakefileBuildsEveryFunction(t *testing.T) {
	var want []string
	for _, fn := range contract.Functions() {
		want = append(want, string(fn))
	}
	if got := functions(); !slices.Equal(got, want) {
		t.Errorf("Makefile FUNCTIONS %v, contract %v", got, want)
	}
}

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
	for _, fn := range functions() {
		must(os.MkdirAll(filepath.Join(dist, fn), 0o755))
		must(os.WriteFile(filepath.Join(dist, fn, "bootstrap"), []byte("fake "+fn), 0o755))
	}
	assembly = filepath.Join(dir, "cdk.out")
	ctx := cdkContext()
	profiles, err := json.Marshal(ctx["shop:stages"])
	must(err)
	delete(ctx, "shop:stages")
	account, err := json.Marshal(ctx["shop:account"])
	must(err)
	delete(ctx, "shop:account")
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(assembly), BuiltinCloudFormationValidation: jsii.Bool(false), Context: &ctx})
	acct, err := config.ResolveAccount(account)
	must(err)
	NewAccountStack(app, acct, dist)
	for _, name := range []string{"dev-test", "prod"} {
		stage, err := config.Resolve(name, "tester", profiles)
		must(err)
		NewShop(app, stage, dist)
	}
	Checks(app)
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
	if stacks != 10 {
		t.Errorf("found %d shop stacks in the manifest, want 10 (Data, Network, Media and Api of two stages, prod's Edge, and Shop-Account)", stacks)
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
	want := []string{"Shop-Account", "Shop-dev-test-Api", "Shop-dev-test-Data", "Shop-dev-test-Media", "Shop-dev-test-Network",
		"Shop-prod-Api", "Shop-prod-Data", "Shop-prod-Edge", "Shop-prod-Media", "Shop-prod-Network"}
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
			tables := ofType(tt.stack, "AWS::DynamoDB::Table")
			if len(tables) != 3 {
				t.Errorf("%d tables, want 3 (products, orders, customers)", len(tables))
			}
			for id, table := range tables {
				if table.DeletionPolicy != tt.policy || table.Properties["DeletionProtectionEnabled"] != tt.protect {
					t.Errorf("%s: DeletionPolicy %q DeletionProtectionEnabled %v", id, table.DeletionPolicy, table.Properties["DeletionProtectionEnabled"])
				}
				p := table.Properties
				if js(get(p, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled")) != "true" || js(p["SSESpecification"]) != `{"SSEEnabled":true}` || p["BillingMode"] != "PAY_PER_REQUEST" {
					t.Errorf("%s: PITR %s SSE %s billing %v", id, js(p["PointInTimeRecoverySpecification"]), js(p["SSESpecification"]), p["BillingMode"])
				}
			}
			wantProt := "INACTIVE"
			if tt.protect {
				wantProt = "ACTIVE"
			}
			pools := ofType(tt.stack, "AWS::Cognito::UserPool")
			if len(pools) != 2 {
				t.Errorf("%d user pools, want customers and staff", len(pools))
			}
			for id, pool := range pools {
				if pool.DeletionPolicy != tt.policy || pool.Properties["DeletionProtection"] != wantProt {
					t.Errorf("%s: DeletionPolicy %q DeletionProtection %v", id, pool.DeletionPolicy, pool.Properties["DeletionProtection"])
				}
			}
			for id, s := range ofType(tt.stack, "AWS::SecretsManager::Secret") {
				if s.DeletionPolicy != tt.policy {
					t.Errorf("%s: DeletionPolicy %q", id, s.DeletionPolicy)
				}
			}
		})
	}
}

// table finds the table of stack whose keys are keySchema.
func table(t *testing.T, stack, keySchema string) map[string]any {
	t.Helper()
	for _, r := range ofType(stack, "AWS::DynamoDB::Table") {
		if js(r.Properties["KeySchema"]) == keySchema {
			return r.Properties
		}
	}
	t.Fatalf("%s: no table with keys %s", stack, keySchema)
	return nil
}

const (
	productKeys  = `[{"AttributeName":"product_id","KeyType":"HASH"}]`
	orderKeys    = `[{"AttributeName":"user_id","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}]`
	customerKeys = `[{"AttributeName":"user_id","KeyType":"HASH"}]`
)

// Orders: a user's partition, sorted by sk; idempotency records expire by
// TTL; the sparse index of pending orders by the end of their hold, keys only.
func TestOrderTables(t *testing.T) {
	o := table(t, "Shop-dev-test-Data", orderKeys)
	if js(o["TimeToLiveSpecification"]) != `{"AttributeName":"expires_at","Enabled":true}` {
		t.Errorf("orders TTL = %s", js(o["TimeToLiveSpecification"]))
	}
	want := `[{"IndexName":"pending-by-expiry","KeySchema":[{"AttributeName":"pending","KeyType":"HASH"},{"AttributeName":"hold_ms","KeyType":"RANGE"}],"Projection":{"ProjectionType":"KEYS_ONLY"}}]`
	if js(o["GlobalSecondaryIndexes"]) != want {
		t.Errorf("orders indexes = %s, want the sparse pending index", js(o["GlobalSecondaryIndexes"]))
	}
	if !strings.Contains(js(o["AttributeDefinitions"]), `{"AttributeName":"hold_ms","AttributeType":"N"}`) {
		t.Errorf("hold_ms is not a number key: %s", js(o["AttributeDefinitions"]))
	}
	table(t, "Shop-dev-test-Data", customerKeys)
}

func TestProductsTable(t *testing.T) {
	p := table(t, "Shop-dev-test-Data", productKeys)
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

// poolNamed returns the user pool of stack whose logical id starts with prefix.
func poolNamed(t *testing.T, stack, prefix string) (string, map[string]any) {
	t.Helper()
	for id, r := range ofType(stack, "AWS::Cognito::UserPool") {
		if strings.HasPrefix(id, prefix) {
			return id, r.Properties
		}
	}
	t.Fatalf("%s: no user pool %s*", stack, prefix)
	return "", nil
}

// Customers sign up themselves, with optional TOTP; a changed email counts
// only once verified (keepOriginal). Administrators are invited to the staff
// pool, where TOTP is required and threat protection on; the admin group
// exists there only. Threat protection on the customer pool in prod.
func TestUserPools(t *testing.T) {
	for _, stage := range []string{"dev-test", "prod"} {
		stack := "Shop-" + stage + "-Data"
		_, p := poolNamed(t, stack, "IdentityUsers")
		if js(get(p, "Policies", "PasswordPolicy", "MinimumLength")) != "12" || js(p["UsernameAttributes"]) != `["email"]` ||
			js(get(p, "AdminCreateUserConfig", "AllowAdminCreateUserOnly")) != "false" || p["MfaConfiguration"] != "OPTIONAL" ||
			js(p["UserAttributeUpdateSettings"]) != `{"AttributesRequireVerificationBeforeUpdate":["email"]}` {
			t.Errorf("%s: customer pool = %s", stack, js(p))
		}
		wantMode := map[string]string{"dev-test": "AUDIT", "prod": "ENFORCED"}[stage]
		if got := fmt.Sprint(get(p, "UserPoolAddOns", "AdvancedSecurityMode")); wantMode == "ENFORCED" && got != "ENFORCED" || wantMode == "AUDIT" && got == "ENFORCED" {
			t.Errorf("%s: customer threat protection %s", stack, got)
		}
		staffID, sp := poolNamed(t, stack, "IdentityStaff")
		if sp["MfaConfiguration"] != "ON" || js(sp["EnabledMfas"]) != `["SOFTWARE_TOKEN_MFA"]` ||
			js(get(sp, "AdminCreateUserConfig", "AllowAdminCreateUserOnly")) != "true" ||
			fmt.Sprint(get(sp, "UserPoolAddOns", "AdvancedSecurityMode")) != "ENFORCED" ||
			js(sp["UserAttributeUpdateSettings"]) != `{"AttributesRequireVerificationBeforeUpdate":["email"]}` {
			t.Errorf("%s: staff pool = %s", stack, js(sp))
		}
		g := only(t, stack, "AWS::Cognito::UserPoolGroup").Properties
		if g["GroupName"] != "admin" || js(g["UserPoolId"]) != `{"Ref":"`+staffID+`"}` {
			t.Errorf("%s: admin group = %s, want it in the staff pool", stack, js(g))
		}
		for id, c := range ofType(stack, "AWS::Cognito::UserPoolClient") {
			if strings.HasPrefix(id, "IdentityUsersPayments") {
				// The payment integration: a confidential client, client credentials only, the confirm scope only.
				p := c.Properties
				if p["GenerateSecret"] != true || js(p["AllowedOAuthFlows"]) != `["client_credentials"]` ||
					!strings.Contains(js(p["AllowedOAuthScopes"]), `"/orders.confirm"`) || len(p["AllowedOAuthScopes"].([]any)) != 1 {
					t.Errorf("%s/%s: payments client = %s", stack, id, js(p))
				}
				continue
			}
			if c.Properties["GenerateSecret"] != false || js(c.Properties["ExplicitAuthFlows"]) != `["ALLOW_USER_SRP_AUTH","ALLOW_REFRESH_TOKEN_AUTH"]` ||
				c.Properties["PreventUserExistenceErrors"] != "ENABLED" {
				t.Errorf("%s/%s: client = %s", stack, id, js(c.Properties))
			}
		}
	}
}

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
					if !strings.Contains(res, "CartCache") || !strings.Contains(res, "CartCacheUser") {
						t.Errorf("%s: connect on %s, want the cart cache and its user", id, res)
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

// vpcFunctions are the functions next to the cache, by stack: every one that
// reads or writes products or carts (the product cache hears of every write).
var vpcFunctions = map[string][]string{"Api": {"Catalog", "Cart", "Orders", "Expiry"}, "Media": {"Images"}}

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
				case inVpc && (!strings.Contains(vpc, "ClientSecurityGroup") || !inIsolatedSubnets(stage, vpc)):
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

// stageOf is the stage of a stack name (Shop-<stage>-<part>), or "Account".
func stageOf(stack string) string {
	rest := strings.TrimPrefix(stack, "Shop-")
	if i := strings.LastIndex(rest, "-"); i > 0 {
		return rest[:i]
	}
	return rest
}

// inIsolatedSubnets says whether subnets (a template value as JSON) are the
// stage's two isolated subnets: its own VPC's in prod, the account's shared
// development network's otherwise.
func inIsolatedSubnets(stage, subnets string) bool {
	if stage == "prod" {
		return strings.Count(subnets, "isolatedSubnet") == 2 && !strings.Contains(subnets, "ImportValue")
	}
	return strings.Count(subnets, `{"Fn::ImportValue":"`+DevNetworkExports.SubnetIDs+`"}`) == 2 &&
		strings.Contains(subnets, `"Fn::Select":[0`) && strings.Contains(subnets, `"Fn::Select":[1`)
}

// Development stages run in the account's shared network and define none of
// their own; prod has its own VPC.
func TestDevelopmentStagesShareTheAccountNetwork(t *testing.T) {
	for _, typ := range []string{"AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::VPCEndpoint", "AWS::EC2::FlowLog"} {
		if n := len(ofType("Shop-dev-test-Network", typ)); n != 0 {
			t.Errorf("Shop-dev-test-Network defines %d × %s", n, typ)
		}
	}
	exported := map[string]bool{}
	for _, o := range tpl["Shop-Account"].Outputs {
		if name, ok := get(o, "Export", "Name").(string); ok {
			exported[name] = true
		}
	}
	for _, name := range []string{DevNetworkExports.VpcID, DevNetworkExports.SubnetIDs, DevNetworkExports.AZs} {
		if !exported[name] {
			t.Errorf("Shop-Account does not export %s: %v", name, exported)
		}
	}
	sg := ofType("Shop-dev-test-Network", "AWS::EC2::SecurityGroup")
	for id, g := range sg {
		if js(g.Properties["VpcId"]) != `{"Fn::ImportValue":"`+DevNetworkExports.VpcID+`"}` {
			t.Errorf("%s: security group in %s, want the shared network", id, js(g.Properties["VpcId"]))
		}
	}
	if len(sg) != 2 {
		t.Errorf("%d security groups in the dev stage, want its own cache and client groups", len(sg))
	}
}

func TestNetwork(t *testing.T) {
	for _, stack := range []string{"Shop-Account", "Shop-prod-Network"} {
		testNetwork(t, stack)
	}
}

func testNetwork(t *testing.T, stack string) {
	only(t, stack, "AWS::EC2::VPC")
	for _, typ := range []string{"AWS::EC2::NatGateway", "AWS::EC2::InternetGateway", "AWS::EC2::EIP", "AWS::EC2::VPCEndpoint"} {
		n := len(ofType(stack, typ))
		if want := map[string]int{"AWS::EC2::VPCEndpoint": 2}[typ]; n != want {
			t.Errorf("%d × %s, want %d", n, typ, want)
		}
	}
	var services []string
	for _, ep := range ofType(stack, "AWS::EC2::VPCEndpoint") {
		if ep.Properties["VpcEndpointType"] != "Gateway" {
			t.Errorf("endpoint type %v, want Gateway (free)", ep.Properties["VpcEndpointType"])
		}
		if pol := js(ep.Properties["PolicyDocument"]); !strings.Contains(pol, `"Condition":{"StringEquals":{"aws:ResourceAccount":{"Ref":"AWS::AccountId"}}}`) ||
			strings.Count(pol, `"Effect"`) != 1 {
			t.Errorf("%s: endpoint policy %s, want only this account's resources", stack, pol)
		}
		services = append(services, js(ep.Properties["ServiceName"]))
	}
	sort.Strings(services)
	if !strings.Contains(services[0], ".dynamodb") || !strings.Contains(services[1], ".s3") {
		t.Errorf("endpoints for %v, want DynamoDB and S3", services)
	}
	subnets := ofType(stack, "AWS::EC2::Subnet")
	if len(subnets) != 2 {
		t.Errorf("%d subnets, want 2 (two availability zones)", len(subnets))
	}
	for id, sn := range subnets {
		if sn.Properties["MapPublicIpOnLaunch"] == true {
			t.Errorf("%s maps public IPs", id)
		}
	}
	for id, r := range ofType(stack, "AWS::EC2::Route") {
		t.Errorf("route %s: isolated subnets have no routes out: %s", id, js(r.Properties))
	}
	fl := only(t, stack, "AWS::EC2::FlowLog").Properties
	if fl["TrafficType"] != "ALL" || fl["LogDestinationType"] != "cloud-watch-logs" || fl["ResourceType"] != "VPC" {
		t.Errorf("flow log = %s", js(fl))
	}
}

func TestCartCache(t *testing.T) {
	for _, stage := range []string{"dev-test", "prod"} {
		stack := "Shop-" + stage + "-Network"
		c := only(t, stack, "AWS::ElastiCache::ServerlessCache").Properties
		wantLimits := map[string]string{
			"dev-test": `{"DataStorage":{"Maximum":1,"Unit":"GB"},"ECPUPerSecond":{"Maximum":5000}}`,
			"prod":     `{"DataStorage":{"Maximum":10,"Unit":"GB"},"ECPUPerSecond":{"Maximum":100000}}`,
		}[stage]
		checks := []struct {
			name string
			got  any
			want string
		}{
			{"engine", c["Engine"], `"valkey"`},
			{"name", c["ServerlessCacheName"], `"shop-` + stage + `-cart"`},
			{"limits", c["CacheUsageLimits"], wantLimits},
			{"user group", c["UserGroupId"], `{"Ref":"CartCacheUserGroup` + refSuffix(t, stack, "AWS::ElastiCache::UserGroup") + `"}`},
		}
		for _, ch := range checks {
			if js(ch.got) != ch.want {
				t.Errorf("%s: cache %s = %s, want %s", stack, ch.name, js(ch.got), ch.want)
			}
		}
		if sn := js(c["SubnetIds"]); !inIsolatedSubnets(stage, sn) {
			t.Errorf("%s: cache subnets %s, want the two isolated subnets", stack, sn)
		}
		u := only(t, stack, "AWS::ElastiCache::User").Properties
		if js(u["AuthenticationMode"]) != `{"Type":"iam"}` || u["UserId"] != u["UserName"] || u["Engine"] != "valkey" || u["Passwords"] != nil {
			t.Errorf("%s: user = %s, want IAM authentication, id = name, no password", stack, js(u))
		}
		g := only(t, stack, "AWS::ElastiCache::UserGroup").Properties
		if js(g["UserIds"]) != `[{"Ref":"CartCacheUser`+refSuffix(t, stack, "AWS::ElastiCache::User")+`"}]` {
			t.Errorf("%s: user group holds %s, want the IAM user alone", stack, js(g["UserIds"]))
		}
	}
}

// refSuffix is the hash CDK appends to the logical id of the only resource of typ.
func refSuffix(t *testing.T, stack, typ string) string {
	for id := range ofType(stack, typ) {
		return id[len(id)-8:]
	}
	t.Fatalf("%s: no %s", stack, typ)
	return ""
}

// The cache admits its ports only from the cart functions' security group,
// and those functions may reach only the cache and HTTPS (the endpoints).
func TestCacheSecurityGroups(t *testing.T) {
	stack := "Shop-dev-test-Network"
	var cacheSG, clientSG map[string]any
	for id, sg := range ofType(stack, "AWS::EC2::SecurityGroup") {
		switch {
		case strings.HasPrefix(id, "CartCacheCacheSecurityGroup"):
			cacheSG = sg.Properties
		case strings.HasPrefix(id, "CartCacheClientSecurityGroup"):
			clientSG = sg.Properties
		}
	}
	if cacheSG == nil || clientSG == nil {
		t.Fatal("cache and client security groups not found")
	}
	if cacheSG["SecurityGroupIngress"] != nil || !strings.Contains(js(cacheSG["SecurityGroupEgress"]), "255.255.255.255/32") {
		t.Errorf("cache security group: ingress %s egress %s, want no inline ingress and no egress", js(cacheSG["SecurityGroupIngress"]), js(cacheSG["SecurityGroupEgress"]))
	}
	if eg := js(clientSG["SecurityGroupEgress"]); eg != `[{"CidrIp":"0.0.0.0/0","Description":"DynamoDB and S3 through the gateway endpoints","FromPort":443,"IpProtocol":"tcp","ToPort":443}]` {
		t.Errorf("client egress = %s", eg)
	}
	in := only(t, stack, "AWS::EC2::SecurityGroupIngress").Properties
	if in["FromPort"] != 6379.0 || in["ToPort"] != 6380.0 || !strings.Contains(js(in["SourceSecurityGroupId"]), "ClientSecurityGroup") || !strings.Contains(js(in["GroupId"]), "CacheSecurityGroup") {
		t.Errorf("cache ingress = %s", js(in))
	}
	out := only(t, stack, "AWS::EC2::SecurityGroupEgress").Properties
	if out["FromPort"] != 6379.0 || out["ToPort"] != 6380.0 || !strings.Contains(js(out["DestinationSecurityGroupId"]), "CacheSecurityGroup") {
		t.Errorf("client egress to the cache = %s", js(out))
	}
}

// The cache user's ACL is the contract's, which the local redis-server tests
// run under.
func TestCacheAccessString(t *testing.T) {
	u := only(t, "Shop-dev-test-Network", "AWS::ElastiCache::User").Properties
	if u["AccessString"] != contract.CacheAccessString {
		t.Errorf("user access string = %v, want %q", u["AccessString"], contract.CacheAccessString)
	}
}

// Every function of every stage is told exactly the variables its code reads
// (contract.Env, which the lambdas module's wire test holds the code to): none
// missing, none stray. CDK's own functions (custom resource handlers) are not
// the shop's and are left out.
func TestFunctionEnvironmentIsTheContract(t *testing.T) {
	ours := regexp.MustCompile(`^(Catalog|Cart|Orders|Authorizer|Images|Reaper|Expiry)Function[0-9A-F]{8}$`)
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
		if fn == contract.Reaper {
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

func TestCostAllocationTags(t *testing.T) {
	p := table(t, "Shop-dev-test-Data", productKeys)
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
	for _, stack := range []string{"Shop-Account", "Shop-dev-test-Data", "Shop-dev-test-Network", "Shop-dev-test-Media", "Shop-dev-test-Api"} {
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

// bucketByLogicalID returns the bucket of stack whose logical id starts with prefix.
func bucketByLogicalID(t *testing.T, stack, prefix string) resource {
	t.Helper()
	for id, r := range ofType(stack, "AWS::S3::Bucket") {
		if strings.HasPrefix(id, prefix) {
			return r
		}
	}
	t.Fatalf("%s: no bucket %s*", stack, prefix)
	return resource{}
}

func TestImagesBucket(t *testing.T) {
	for _, stage := range []string{"dev-test", "prod"} {
		stack := "Shop-" + stage + "-Media"
		// Development stages keep no access logs: nothing writes into a bucket
		// that cdk destroy is emptying.
		prefixes := map[string][]string{"dev-test": {"ProductImagesBucket"}, "prod": {"ProductImagesBucket", "ProductImagesAccessLogs"}}[stage]
		if n := len(ofType(stack, "AWS::S3::Bucket")); n != len(prefixes) {
			t.Errorf("%s: %d buckets, want %d", stack, n, len(prefixes))
		}
		for _, prefix := range prefixes {
			b := bucketByLogicalID(t, stack, prefix)
			p := b.Properties
			if js(p["PublicAccessBlockConfiguration"]) != `{"BlockPublicAcls":true,"BlockPublicPolicy":true,"IgnorePublicAcls":true,"RestrictPublicBuckets":true}` {
				t.Errorf("%s/%s: public access %s", stack, prefix, js(p["PublicAccessBlockConfiguration"]))
			}
			if js(get(p, "BucketEncryption", "ServerSideEncryptionConfiguration", 0, "ServerSideEncryptionByDefault", "SSEAlgorithm")) != `"AES256"` {
				t.Errorf("%s/%s: encryption %s", stack, prefix, js(p["BucketEncryption"]))
			}
			if p["BucketName"] != nil {
				t.Errorf("%s/%s has a physical name", stack, prefix)
			}
			if want := map[string]string{"dev-test": "Delete", "prod": "Retain"}[stage]; b.DeletionPolicy != want {
				t.Errorf("%s/%s: DeletionPolicy %q, want %q", stack, prefix, b.DeletionPolicy, want)
			}
		}
		p := bucketByLogicalID(t, stack, "ProductImagesBucket").Properties
		wantVersioning := map[string]string{"dev-test": "null", "prod": `{"Status":"Enabled"}`}[stage]
		checks := []struct {
			name string
			got  any
			want string
		}{
			{"versioning", p["VersioningConfiguration"], wantVersioning},
			{"lifecycle", get(p, "LifecycleConfiguration", "Rules"),
				`[{"AbortIncompleteMultipartUpload":{"DaysAfterInitiation":1},"Id":"abort-incomplete-uploads","Status":"Enabled"},{"Id":"expire-replaced-versions","NoncurrentVersionExpiration":{"NoncurrentDays":30},"Status":"Enabled"}]`},
			{"CORS methods", get(p, "CorsConfiguration", "CorsRules", 0, "AllowedMethods"), `["PUT"]`},
			{"ownership", get(p, "OwnershipControls", "Rules", 0, "ObjectOwnership"), `"BucketOwnerEnforced"`},
		}
		for _, c := range checks {
			if js(c.got) != c.want {
				t.Errorf("%s: %s = %s, want %s", stack, c.name, js(c.got), c.want)
			}
		}
		if stage == "prod" {
			if js(get(p, "LoggingConfiguration", "LogFilePrefix")) != `"s3/"` ||
				js(get(p, "LoggingConfiguration", "DestinationBucketName", "Ref")) != `"`+logicalID(t, stack, "AWS::S3::Bucket", "ProductImagesAccessLogs")+`"` {
				t.Errorf("%s: access logs %s", stack, js(p["LoggingConfiguration"]))
			}
		} else if p["LoggingConfiguration"] != nil {
			t.Errorf("%s: access logs in a development stage", stack)
		}
		if origins := js(get(p, "CorsConfiguration", "CorsRules", 0, "AllowedOrigins")); strings.Contains(origins, "*") {
			t.Errorf("%s: CORS origins %s", stack, origins)
		}
	}
}

func logicalID(t *testing.T, stack, typ, prefix string) string {
	t.Helper()
	for id := range ofType(stack, typ) {
		if strings.HasPrefix(id, prefix) {
			return id
		}
	}
	t.Fatalf("%s: no resource %s*", stack, prefix)
	return ""
}

// The bucket policies deny plain HTTP; the images bucket's allows reads only
// to this stack's distribution, through OAC.
func TestImagesBucketPolicies(t *testing.T) {
	stack := "Shop-dev-test-Media"
	for id, pol := range ofType(stack, "AWS::S3::BucketPolicy") {
		doc := js(get(pol.Properties, "PolicyDocument"))
		if !strings.Contains(doc, `"aws:SecureTransport":"false"`) || !strings.Contains(doc, `"Effect":"Deny"`) {
			t.Errorf("%s: no TLS-only statement: %s", id, doc)
		}
		stmts, _ := get(pol.Properties, "PolicyDocument", "Statement").([]any)
		for _, st := range stmts {
			if p := js(get(st, "Principal")); get(st, "Effect") == "Allow" && (p == `"*"` || p == `{"AWS":"*"}`) {
				t.Errorf("%s: allows anyone: %s", id, js(st))
			}
		}
		if strings.HasPrefix(id, "ProductImagesBucketPolicy") && (!strings.Contains(doc, "cloudfront.amazonaws.com") || !strings.Contains(doc, "AWS:SourceArn")) {
			t.Errorf("%s: reads not limited to the distribution: %s", id, doc)
		}
	}
}

func TestCdn(t *testing.T) {
	for _, stage := range []string{"dev-test", "prod"} {
		stack := "Shop-" + stage + "-Media"
		d := get(only(t, stack, "AWS::CloudFront::Distribution").Properties, "DistributionConfig")
		oac := only(t, stack, "AWS::CloudFront::OriginAccessControl").Properties
		checks := []struct {
			name string
			got  any
			want string
		}{
			{"HTTPS only", get(d, "DefaultCacheBehavior", "ViewerProtocolPolicy"), `"redirect-to-https"`},
			{"read only", get(d, "DefaultCacheBehavior", "AllowedMethods"), `["GET","HEAD"]`},
			{"OAC, no OAI", get(d, "Origins", 0, "S3OriginConfig", "OriginAccessIdentity"), `""`},
			{"OAC signs", get(oac, "OriginAccessControlConfig", "SigningBehavior"), `"always"`},
			{"OAC for S3", get(oac, "OriginAccessControlConfig", "OriginAccessControlOriginType"), `"s3"`},
			// Managed CachingOptimized: no custom cache policy per stage (an account quota).
			{"managed cache policy", get(d, "DefaultCacheBehavior", "CachePolicyId"), `"658327ea-f89d-4fab-a63d-7e88639e58f6"`},
			{"logs", get(d, "Logging", "Prefix"), map[string]string{"dev-test": "null", "prod": `"cdn/"`}[stage]},
		}
		for _, c := range checks {
			if js(c.got) != c.want {
				t.Errorf("%s: %s = %s, want %s", stack, c.name, js(c.got), c.want)
			}
		}
		if !strings.Contains(js(get(d, "Origins", 0, "OriginAccessControlId")), "OriginAccessControl") {
			t.Errorf("%s: origin without OAC: %s", stack, js(get(d, "Origins", 0)))
		}
		if n := len(ofType(stack, "AWS::CloudFront::CachePolicy")); n != 0 {
			t.Errorf("%s: %d custom cache policies", stack, n)
		}
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

// Objects created under products/ invoke the images function.
func TestImageNotification(t *testing.T) {
	stack := "Shop-dev-test-Media"
	n := only(t, stack, "Custom::S3BucketNotifications").Properties
	cfgs, _ := get(n, "NotificationConfiguration", "LambdaFunctionConfigurations").([]any)
	if len(cfgs) != 1 || js(get(cfgs[0], "Events")) != `["s3:ObjectCreated:*"]` ||
		js(get(cfgs[0], "Filter", "Key", "FilterRules")) != `[{"Name":"prefix","Value":"products/"}]` ||
		!strings.HasPrefix(fmt.Sprint(get(cfgs[0], "LambdaFunctionArn", "Fn::GetAtt", 0)), "ImagesFunction") {
		t.Errorf("notification = %s", js(n))
	}
	// Two invokers: the bucket, and the daily sweep's schedule.
	principals := map[string]string{}
	for _, p := range ofType(stack, "AWS::Lambda::Permission") {
		principals[fmt.Sprint(p.Properties["Principal"])] = js(p.Properties["SourceArn"])
	}
	if len(principals) != 2 || !strings.Contains(principals["s3.amazonaws.com"], "ProductImagesBucket") ||
		!strings.Contains(principals["events.amazonaws.com"], "ImagesSweep") {
		t.Errorf("invoke permissions = %v", principals)
	}
	rule := only(t, stack, "AWS::Events::Rule").Properties
	if rule["ScheduleExpression"] != "rate(1 day)" || !strings.Contains(js(rule["Targets"]), "ImagesFunction") {
		t.Errorf("sweep schedule = %s", js(rule))
	}
}

// The reaper runs hourly, reports by default, publishes to an encrypted topic
// over TLS only, and may delete only development stacks of the shop.
func TestReaper(t *testing.T) {
	stack := "Shop-Account"
	rule := only(t, stack, "AWS::Events::Rule").Properties
	if rule["ScheduleExpression"] != "rate(1 hour)" || !strings.Contains(js(rule["Targets"]), "ReaperFunction") {
		t.Errorf("schedule = %s", js(rule))
	}
	var fn resource
	for id, r := range ofType(stack, "AWS::Lambda::Function") {
		if strings.HasPrefix(id, "ReaperFunction") {
			fn = r
		}
	}
	if get(fn.Properties, "Environment", "Variables", contract.EnvReaperMode) != contract.ReaperReport {
		t.Errorf("reaper mode = %v, want report by default", get(fn.Properties, "Environment", "Variables", contract.EnvReaperMode))
	}
	topic := only(t, stack, "AWS::SNS::Topic").Properties
	if !strings.Contains(js(topic["KmsMasterKeyId"]), "alias/aws/sns") {
		t.Errorf("topic key = %s", js(topic["KmsMasterKeyId"]))
	}
	if pol := js(only(t, stack, "AWS::SNS::TopicPolicy").Properties); !strings.Contains(pol, `"aws:SecureTransport":"false"`) {
		t.Errorf("topic policy allows plain HTTP: %s", pol)
	}
	var deletes []any
	for id, pol := range ofType(stack, "AWS::IAM::Policy") {
		if !strings.HasPrefix(id, "ReaperRole") {
			continue
		}
		stmts, _ := get(pol.Properties, "PolicyDocument", "Statement").([]any)
		for _, s := range stmts {
			actions := fmt.Sprint(get(s, "Action"))
			switch {
			case strings.Contains(actions, "cloudformation:DeleteStack"):
				deletes = append(deletes, s)
			case strings.Contains(actions, "cloudformation:") && strings.Trim(strings.ReplaceAll(strings.ReplaceAll(actions, "xray:PutTelemetryRecords", ""), "xray:PutTraceSegments", ""), "[] ") != "cloudformation:DescribeStacks":
				t.Errorf("reaper may %s", actions)
			case strings.Contains(actions, "iam:PassRole") && !strings.Contains(js(s), "cloudformation.amazonaws.com"):
				t.Errorf("reaper passes roles beyond CloudFormation: %s", js(s))
			}
		}
	}
	if len(deletes) != 1 {
		t.Fatalf("%d DeleteStack statements", len(deletes))
	}
	cond := js(get(deletes[0], "Condition"))
	if !strings.Contains(cond, `"StringEquals":{"aws:ResourceTag/project":"shop"}`) ||
		!strings.Contains(cond, `"StringNotEquals":{"aws:ResourceTag/stage":["prod","account"]}`) ||
		!strings.Contains(js(get(deletes[0], "Resource")), ":stack/Shop-*/*") {
		t.Errorf("DeleteStack = %s", js(deletes[0]))
	}
}

// The lifecycle's edges: the expiry job every minute; the routes that move
// stock throttled below the catalogue; confirm only for the payment client's
// tokens with the confirm scope; reserved concurrency in prod.
func TestOrderLifecycleInfrastructure(t *testing.T) {
	for _, stage := range []string{"dev-test", "prod"} {
		stack := "Shop-" + stage + "-Api"
		rule := only(t, stack, "AWS::Events::Rule").Properties
		if rule["ScheduleExpression"] != "rate(1 minute)" || !strings.Contains(js(rule["Targets"]), "ExpiryFunction") {
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
			v, has := get(fn.Properties, "Environment", "Variables").(map[string]any)[contract.EnvOriginVerify]
			if !has {
				continue
			}
			if stage == "dev-test" && v != "" || stage == "prod" && !strings.Contains(js(v), "OriginSecret") {
				t.Errorf("%s/%s: %s = %s", stage, id, contract.EnvOriginVerify, js(v))
			}
		}
	}
	if n := len(ofType("Shop-dev-test-Api", "AWS::CloudFront::Distribution")); n != 0 {
		t.Errorf("a development stage has %d API CDNs", n)
	}
}
