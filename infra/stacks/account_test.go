package stacks

import (
	"fmt"
	"strings"
	"testing"

	"github.com/go-cdk-shop/shop/infra/config"
	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// The reaper runs hourly, reports by default, publishes to an encrypted topic
// over TLS only, and may delete only development stacks of the shop.
func TestReaper(t *testing.T) {
	stack := "Shop-Account"
	var rule map[string]any
	for id, r := range ofType(stack, "AWS::Events::Rule") {
		if strings.HasPrefix(id, "ReaperSchedule") {
			rule = r.Properties
		}
	}
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
	topic := byLogicalID(t, stack, "AWS::SNS::Topic", "ReaperNotices").Properties
	if !strings.Contains(js(topic["KmsMasterKeyId"]), "alias/aws/sns") {
		t.Errorf("topic key = %s", js(topic["KmsMasterKeyId"]))
	}
	if pol := js(byLogicalID(t, stack, "AWS::SNS::TopicPolicy", "ReaperNotices").Properties); !strings.Contains(pol, `"aws:SecureTransport":"false"`) {
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
			case strings.Contains(actions, "iam:"):
				// DeleteStack reuses the stack's own role (CloudFormation
				// User Guide, "CloudFormation service role").
				t.Errorf("reaper may %s: it passes no role", actions)
			}
		}
	}
	if len(deletes) != 1 {
		t.Fatalf("%d DeleteStack statements", len(deletes))
	}
	cond := js(get(deletes[0], "Condition"))
	if !strings.Contains(cond, `"StringEquals":{"aws:ResourceTag/project":"shop"}`) ||
		!strings.Contains(cond, `"StringNotEquals":{"aws:ResourceTag/stage":["prod","staging","account"]}`) ||
		!strings.Contains(js(get(deletes[0], "Resource")), ":stack/Shop-*/*") {
		t.Errorf("DeleteStack = %s", js(deletes[0]))
	}
}

// The shared cache's membership function may change the shared group alone,
// adding or removing only the shop's users; it reads groups, and nothing else
// of ElastiCache.
func TestCacheUsersFunctionKeepsToTheSharedGroup(t *testing.T) {
	stack := config.AccountStackName
	seen := map[string]string{}
	for id, pol := range ofType(stack, "AWS::IAM::Policy") {
		if !strings.HasPrefix(id, "CacheUsersRole") {
			continue
		}
		for _, st := range asList(get(pol.Properties, "PolicyDocument", "Statement")) {
			actions := fmt.Sprint(get(st, "Action"))
			if strings.Contains(actions, "elasticache:") {
				seen[actions] = js(get(st, "Resource"))
			}
		}
	}
	want := map[string]string{
		"elasticache:ModifyUserGroup": `[{"Fn::Sub":"arn:${AWS::Partition}:elasticache:${AWS::Region}:${AWS::AccountId}:user:shop-*"},{"Fn::Sub":"arn:${AWS::Partition}:elasticache:${AWS::Region}:${AWS::AccountId}:usergroup:` + DevCacheName + `"}]`,
		// CDK merges the statements on "*": the read-only tracing and DescribeUserGroups.
		"[elasticache:DescribeUserGroups elasticache:DescribeUsers xray:PutTelemetryRecords xray:PutTraceSegments]": `"*"`,
	}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("the membership function's ElastiCache grants:\n%v\nwant\n%v", seen, want)
	}
	fn := byLogicalID(t, stack, "AWS::Lambda::Function", "CacheUsersFunction").Properties
	if fn["VpcConfig"] != nil || get(fn, "Environment", "Variables", contract.EnvCacheUserGroup) != DevCacheName {
		t.Errorf("the membership function: %s", js(fn))
	}
}

// The membership has minutes (issue 38): a user group stays modifying for a
// while after each change and refuses others meanwhile, so its function
// runs up to Lambda's 15 minutes (not the 28 s an API function gets), and
// CloudFormation waits as long for its answer (the custom resource's
// ServiceTimeout, AWS::CloudFormation::CustomResource).
func TestTheMembershipHasMinutes(t *testing.T) {
	fn := byLogicalID(t, config.AccountStackName, "AWS::Lambda::Function", "CacheUsersFunction").Properties
	timeout, _ := fn["Timeout"].(float64)
	if timeout < 600 {
		t.Errorf("the membership function's timeout is %v s: minutes are needed", timeout)
	}
	members := ofType("Shop-dev-test-Network", "Custom::CacheUserGroupMembership")
	if len(members) != 1 {
		t.Fatalf("%d memberships in the development stage", len(members))
	}
	for id, m := range members {
		if st, _ := m.Properties["ServiceTimeout"].(string); st != fmt.Sprint(timeout) {
			if f, _ := m.Properties["ServiceTimeout"].(float64); f != timeout {
				t.Errorf("%s: ServiceTimeout %v, want the function's %v s", id, m.Properties["ServiceTimeout"], timeout)
			}
		}
	}
}
