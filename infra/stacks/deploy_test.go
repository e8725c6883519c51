package stacks

import (
	"strings"
	"testing"
)

// Prod: every path that sends a function traffic invokes its live alias,
// never $LATEST (the API's integrations and authorizer, the schedules, the
// bucket's notification), and every function's alias shifts through a
// CodeDeploy deployment group that names its rollback alarms.
func TestGradualDeployments(t *testing.T) {
	stacks := []string{"Shop-prod-Api", "Shop-prod-Media"}
	aliases := map[string]bool{}
	for _, stack := range stacks {
		for id := range ofType(stack, "AWS::Lambda::Alias") {
			aliases[id] = true
		}
	}
	if len(aliases) != 7 {
		t.Fatalf("%d live aliases, want one for each of the 7 functions", len(aliases))
	}
	usesAlias := func(v any) bool {
		s := js(v)
		for id := range aliases {
			if strings.Contains(s, `"`+id+`"`) {
				return true
			}
		}
		return false
	}
	for _, c := range []struct{ stack, typ, prop string }{
		{"Shop-prod-Api", "AWS::ApiGateway::Method", "Integration"},
		{"Shop-prod-Api", "AWS::ApiGateway::Authorizer", "AuthorizerUri"},
		{"Shop-prod-Api", "AWS::Events::Rule", "Targets"},
		{"Shop-prod-Media", "AWS::Events::Rule", "Targets"},
		{"Shop-prod-Media", "Custom::S3BucketNotifications", "NotificationConfiguration"},
		{"Shop-prod-Media", "AWS::Lambda::EventInvokeConfig", "Qualifier"},
		{"Shop-prod-Api", "AWS::Lambda::EventSourceMapping", "FunctionName"},
	} {
		found := 0
		for id, r := range ofType(c.stack, c.typ) {
			v := r.Properties[c.prop]
			if c.typ == "AWS::ApiGateway::Authorizer" && r.Properties["Type"] != "REQUEST" ||
				c.typ == "AWS::ApiGateway::Method" && get(r.Properties, "Integration", "Type") != "AWS_PROXY" {
				continue // the Cognito authorizers and the preflights invoke nothing
			}
			found++
			if !usesAlias(v) {
				t.Errorf("%s/%s: %s = %s invokes no live alias", c.stack, id, c.prop, js(v))
			}
		}
		if found == 0 {
			t.Errorf("%s: no %s", c.stack, c.typ)
		}
	}
	groups := 0
	for _, stack := range stacks {
		for id, g := range ofType(stack, "AWS::CodeDeploy::DeploymentGroup") {
			groups++
			alarms := js(get(g.Properties, "AlarmConfiguration", "Alarms"))
			rollback := js(get(g.Properties, "AutoRollbackConfiguration"))
			if get(g.Properties, "AlarmConfiguration", "Enabled") != true || !strings.Contains(alarms, "LiveErrors") ||
				!strings.Contains(rollback, "DEPLOYMENT_STOP_ON_ALARM") || !strings.Contains(rollback, `"Enabled":true`) {
				t.Errorf("%s/%s: alarms %s, rollback %s", stack, id, alarms, rollback)
			}
			api := strings.HasPrefix(id, "ShiftsCatalog") || strings.HasPrefix(id, "ShiftsCart") || strings.HasPrefix(id, "ShiftsOrders") || strings.HasPrefix(id, "ShiftsAuthorizer")
			if api != strings.Contains(alarms, "CheckoutBurn") {
				t.Errorf("%s/%s: the checkout SLO's burn alarm in its rollback alarms: %v, want %v", stack, id, !api, api)
			}
			config := js(g.Properties["DeploymentConfigName"])
			allAtOnce := strings.HasPrefix(id, "ShiftsExpiry") || strings.HasPrefix(id, "ShiftsEvents")
			if allAtOnce != strings.Contains(config, "AllAtOnce") {
				t.Errorf("%s/%s: deployment config %s", stack, id, config)
			}
		}
	}
	if groups != 7 {
		t.Errorf("%d deployment groups, want 7", groups)
	}
	canary := only(t, "Shop-prod-Api", "AWS::CodeDeploy::DeploymentConfig").Properties
	if js(get(canary, "TrafficRoutingConfig")) != `{"TimeBasedCanary":{"CanaryInterval":5,"CanaryPercentage":10},"Type":"TimeBasedCanary"}` {
		t.Errorf("canary = %s", js(canary))
	}
}

// Development stages deploy all at once: no alias, no version, no
// CodeDeploy, nothing that costs at idle or slows a developer down.
func TestDevelopmentStagesShiftNothing(t *testing.T) {
	for name := range tpl {
		if strings.HasPrefix(name, "Shop-prod-") {
			continue
		}
		for _, typ := range []string{"AWS::Lambda::Alias", "AWS::Lambda::Version", "AWS::CodeDeploy::Application", "AWS::CodeDeploy::DeploymentGroup"} {
			if n := len(ofType(name, typ)); n > 0 {
				t.Errorf("%s: %d %s", name, n, typ)
			}
		}
	}
}
