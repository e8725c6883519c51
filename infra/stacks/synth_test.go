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
	DependsOn      []string       `json:"DependsOn"`
	UpdatePolicy   map[string]any `json:"UpdatePolicy"`
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

// byLogicalID is the resource of type typ in stack whose logical id starts with prefix.
func byLogicalID(t *testing.T, stack, typ, prefix string) resource {
	t.Helper()
	for id, r := range ofType(stack, typ) {
		if strings.HasPrefix(id, prefix) {
			return r
		}
	}
	t.Fatalf("%s: no %s %s*", stack, typ, prefix)
	return resource{}
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

// rendered is a template's string value as text: a literal as it is, an
// Fn::Join's literals with each other part written as its JSON.
func rendered(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	parts, ok := get(v, "Fn::Join", 1).([]any)
	if !ok {
		return js(v)
	}
	var b strings.Builder
	for _, p := range parts {
		if s, ok := p.(string); ok {
			b.WriteString(s)
		} else {
			b.WriteString(js(p))
		}
	}
	return b.String()
}

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
			// AWS WAF logs only to groups named aws-waf-logs-*: the stage in
			// the name keeps stages apart, and the stack's own id ends it, so
			// a retained group never blocks the stack's next incarnation
			// (issue 38); a literal name is refused.
			if name := rendered(r.Properties["LogGroupName"]); r.Type == "AWS::Logs::LogGroup" && strings.HasPrefix(name, "aws-waf-logs-shop-"+stageOf(stack)+"-") &&
				strings.HasSuffix(name, `{"Fn::Select":[2,{"Fn::Split":["/",{"Ref":"AWS::StackId"}]}]}`) {
				continue
			}
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

// vpcFunctions are the functions next to the cache, by stack: every one that
// reads or writes products or carts (the product cache hears of every write).
var vpcFunctions = map[string][]string{"Api": {"Catalog", "Cart", "Orders", "Expiry"}, "Media": {"Images"}}

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
