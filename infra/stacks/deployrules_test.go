package stacks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-cdk-shop/shop/infra/config"
	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// Rules a first deploy depends on that no synth checks: each test names the
// AWS documentation page, or the issue where users hit the rule. What only
// an account can answer (quotas, bootstraps, verified identities) is make
// preflight's.

// API Gateway refuses a stage whose RouteSettings name a route that does not
// exist yet: "Unable to find Route by key POST /orders within the provided
// RouteSettings" (aws/serverless-application-model#2479,
// terraform-aws-modules/terraform-aws-apigateway-v2 PR #80). The stage must
// depend on every route it configures.
func TestStageWaitsForTheRoutesItConfigures(t *testing.T) {
	for _, stage := range []string{"dev-test", "prod"} {
		stack := "Shop-" + stage + "-Api"
		routeID := map[string]string{}
		for id, r := range ofType(stack, "AWS::ApiGatewayV2::Route") {
			routeID[fmt.Sprint(r.Properties["RouteKey"])] = id
		}
		var st resource
		for _, r := range ofType(stack, "AWS::ApiGatewayV2::Stage") {
			st = r
		}
		settings, _ := st.Properties["RouteSettings"].(map[string]any)
		if len(settings) == 0 {
			t.Fatalf("%s: the stage has no route settings", stack)
		}
		for key := range settings {
			id, ok := routeID[key]
			if !ok {
				t.Errorf("%s: RouteSettings name %q, which is no route", stack, key)
				continue
			}
			if !slices.Contains(st.DependsOn, id) {
				t.Errorf("%s: the stage configures %s but does not depend on its route %s (DependsOn %v)", stack, key, id, st.DependsOn)
			}
		}
	}
}

// Every function gets the reservation its profile names (the images
// function's was dropped once): Lambda keeps 100 of the account's
// concurrency unreserved, so prod needs an account limit of its total + 100
// (AWS Lambda Developer Guide, "Configuring reserved concurrency"), which
// make preflight checks.
func TestReservedConcurrencyIsTheProfiles(t *testing.T) {
	for _, name := range []string{"dev-test", "prod"} {
		stage := resolve(t, name)
		got := map[string]float64{}
		for _, part := range []string{"Api", "Media"} {
			for id, fn := range ofType("Shop-"+name+"-"+part, "AWS::Lambda::Function") {
				for _, f := range contract.Functions() {
					if strings.HasPrefix(id, strings.ToUpper(string(f)[:1])+string(f)[1:]+"Function") {
						rc, _ := fn.Properties["ReservedConcurrentExecutions"].(float64)
						got[string(f)] = rc
					}
				}
			}
		}
		for f, want := range stage.ReservedConcurrency {
			if got[f] != float64(want) {
				t.Errorf("%s: %s reserves %v, the profile %d", name, f, got[f], want)
			}
		}
		for f, rc := range got {
			if rc != 0 && stage.ReservedConcurrency[f] == 0 {
				t.Errorf("%s: %s reserves %v, the profile nothing", name, f, rc)
			}
		}
	}
}

// Stack tags are set on the stacks, so the cloud assembly carries them (with
// @aws-cdk/core:explicitStackTags, Tags.Of(stack) tags only resources): the
// reaper groups stacks by them and its role may delete only stacks tagged
// project=shop.
func TestStackTagsInTheAssembly(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(assembly, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Artifacts map[string]struct {
			Type       string `json:"type"`
			Properties struct {
				Tags map[string]string `json:"tags"`
			} `json:"properties"`
		} `json:"artifacts"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for name := range tpl {
		tags := m.Artifacts[name].Properties.Tags
		want := map[string]string{contract.TagProject: contract.Project, contract.TagStage: contract.AccountStage}
		if name != "Shop-Account" {
			stage := strings.Split(strings.TrimPrefix(name, "Shop-"), "-")
			want = map[string]string{contract.TagProject: contract.Project, contract.TagStage: strings.Join(stage[:len(stage)-1], "-"), contract.TagOwner: "tester"}
		}
		if js(tags) != js(want) {
			t.Errorf("%s: stack tags %v, want %v", name, tags, want)
		}
	}
}

// CloudWatch alarms can publish only to a topic without SSE or with a
// customer managed key whose policy lets cloudwatch.amazonaws.com use it; a
// topic under the AWS managed aws/sns key drops every notice (Amazon SNS
// Developer Guide, "Configuring AWS KMS permissions").
func TestAlarmsCanPublishToTheirTopic(t *testing.T) {
	for name := range tpl {
		topics := ofType(name, "AWS::SNS::Topic")
		keys := ofType(name, "AWS::KMS::Key")
		for id, alarm := range ofType(name, "AWS::CloudWatch::Alarm") {
			for _, action := range asList(alarm.Properties["AlarmActions"]) {
				ref, _ := get(action, "Ref").(string)
				topic, ok := topics[ref]
				if !ok {
					t.Errorf("%s/%s: alarm action %s is no topic of the stack", name, id, js(action))
					continue
				}
				key := topic.Properties["KmsMasterKeyId"]
				if key == nil {
					continue
				}
				keyID, _ := get(key, "Fn::GetAtt", 0).(string)
				k, ok := keys[keyID]
				if !ok {
					t.Errorf("%s/%s: topic %s is encrypted with %s, not a key of the stack", name, id, ref, js(key))
					continue
				}
				if policy := js(get(k.Properties, "KeyPolicy")); !strings.Contains(policy, `"Service":"cloudwatch.amazonaws.com"`) ||
					!strings.Contains(policy, "kms:GenerateDataKey*") || !strings.Contains(policy, "kms:Decrypt") {
					t.Errorf("%s: key %s does not let CloudWatch publish: %s", name, keyID, policy)
				}
			}
		}
	}
	if len(ofType("Shop-prod-Api", "AWS::KMS::Key")) != 1 {
		t.Error("prod's alarm topic has no key of its own")
	}
}

func asList(v any) []any { l, _ := v.([]any); return l }

// The managed common rule set blocks bodies over 8 KB and requests without
// a User-Agent (AWS WAF Developer Guide, "Core rule set (CRS) managed rule
// group"): the API takes bodies up to 64 KB, and a payment integration may
// send no User-Agent, so both rules only count.
func TestWebACLCountsWhatTheAPIAccepts(t *testing.T) {
	acl := only(t, "Shop-prod-Edge", "AWS::WAFv2::WebACL").Properties
	counted := map[string]bool{}
	for _, r := range asList(acl["Rules"]) {
		if get(r, "Name") != "AWSManagedRulesCommonRuleSet" {
			continue
		}
		for _, o := range asList(get(r, "Statement", "ManagedRuleGroupStatement", "RuleActionOverrides")) {
			if js(get(o, "ActionToUse")) == `{"Count":{}}` {
				counted[fmt.Sprint(get(o, "Name"))] = true
			}
		}
	}
	for _, rule := range []string{"SizeRestrictions_BODY", "NoUserAgent_HEADER"} {
		if !counted[rule] {
			t.Errorf("the common rule set's %s blocks: %v", rule, counted)
		}
	}
}

// AWS::ElastiCache::UserGroup: "A user named default must be included"
// (CreateUserGroup answers DefaultUserRequired otherwise,
// hashicorp/terraform-provider-aws#25593). Every group holds one, and it is
// off, with no key and no command.
func TestEveryUserGroupHasADisabledDefaultUser(t *testing.T) {
	for _, stage := range []string{"dev-test", "prod"} {
		stack := "Shop-" + stage + "-Network"
		users := ofType(stack, "AWS::ElastiCache::User")
		for gid, g := range ofType(stack, "AWS::ElastiCache::UserGroup") {
			found := false
			for _, ref := range asList(g.Properties["UserIds"]) {
				u, ok := users[fmt.Sprint(get(ref, "Ref"))]
				if !ok || u.Properties["UserName"] != "default" {
					continue
				}
				found = true
				if acl := fmt.Sprint(u.Properties["AccessString"]); !strings.HasPrefix(acl, "off ") || !strings.Contains(acl, "-@all") || strings.Contains(acl, "~") {
					t.Errorf("%s: the default user's ACL %q is not off, without keys and commands", stack, acl)
				}
			}
			if !found {
				t.Errorf("%s/%s: no user named default", stack, gid)
			}
		}
	}
}

// resolve is the stage of the test synth.
func resolve(t *testing.T, name string) config.Stage {
	t.Helper()
	profiles, err := json.Marshal(cdkContext()["shop:stages"])
	if err != nil {
		t.Fatal(err)
	}
	s, err := config.Resolve(name, "tester", profiles)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
