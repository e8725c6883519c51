package stacks

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/go-cdk-shop/shop/lambdas/contract"
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

// Each function that answers API Gateway is guarded by signals of its own
// new version, since the router answers a handler's failure with a 500 and
// Lambda's Errors never see it: its deployment group rolls back on its new
// version's FailedAnswers (the authorizer: on its new version's denial
// rate against every version's), each alarm naming the very version
// resource the alias shifts to; and the alias's update (which starts the
// deployment, AWS::Lambda::Alias UpdatePolicy CodeDeployLambdaAliasUpdate)
// runs the pre-traffic hook, which invokes that version alone, and waits for
// the group and the hook, so both are current when CodeDeploy reads them.
func TestEachReleaseIsGuardedByItsOwnSignals(t *testing.T) {
	const stack = "Shop-prod-Api"
	res := tpl[stack].Resources
	for _, fn := range contract.PreTrafficChecked() {
		id := strings.ToUpper(string(fn[:1])) + string(fn[1:])
		t.Run(id, func(t *testing.T) {
			var aliasID string
			var alias resource
			for aid, a := range ofType(stack, "AWS::Lambda::Alias") {
				if strings.HasPrefix(aid, id+"Live") {
					aliasID, alias = aid, a
				}
			}
			version := fmt.Sprint(get(alias.Properties, "FunctionVersion", "Fn::GetAtt", 0))
			if res[version].Type != "AWS::Lambda::Version" {
				t.Fatalf("alias %s points at %s, not a version", aliasID, js(alias.Properties["FunctionVersion"]))
			}
			upd, _ := get(alias.UpdatePolicy, "CodeDeployLambdaAliasUpdate").(map[string]any)
			group := fmt.Sprint(get(upd, "DeploymentGroupName", "Ref"))
			hook := fmt.Sprint(get(upd, "BeforeAllowTrafficHook", "Ref"))
			if res[group].Type != "AWS::CodeDeploy::DeploymentGroup" || !strings.HasPrefix(hook, "PreTraffic"+id+"Function") {
				t.Fatalf("%s: update policy %s: want its group and its PreTraffic%s hook", aliasID, js(upd), id)
			}
			for _, dep := range []string{group, hook} {
				if !slices.Contains(alias.DependsOn, dep) {
					t.Errorf("%s does not wait for %s: CodeDeploy could read the previous one", aliasID, dep)
				}
			}
			// The hook: told the version, allowed to invoke it alone.
			env := js(get(res[hook].Properties, "Environment", "Variables"))
			if !strings.Contains(env, `"`+contract.EnvCheckTarget+`":{"Ref":"`+version+`"}`) || !strings.Contains(env, `"`+contract.EnvCheckFunction+`":"`+string(fn)+`"`) {
				t.Errorf("%s: environment %s, want %s and the version %s", hook, env, fn, version)
			}
			role := fmt.Sprint(get(res[hook].Properties, "Role", "Fn::GetAtt", 0))
			var invoke []string
			for _, p := range ofType(stack, "AWS::IAM::Policy") {
				if !strings.Contains(js(p.Properties["Roles"]), `"`+role+`"`) {
					continue
				}
				for _, st := range asList(get(p.Properties, "PolicyDocument", "Statement")) {
					if strings.Contains(js(get(st, "Action")), "lambda:InvokeFunction") {
						invoke = append(invoke, js(get(st, "Resource")))
					}
				}
			}
			if len(invoke) != 1 || invoke[0] != `{"Ref":"`+version+`"}` {
				t.Errorf("%s invokes %v, want only the version %s", hook, invoke, version)
			}
			// The group's alarms on the new version's own signals.
			alarms := js(get(res[group].Properties, "AlarmConfiguration", "Alarms"))
			signal := map[bool]string{true: "LiveDenials", false: "LiveFailedAnswers"}[fn == contract.Authorizer]
			var alarmID string
			for aid := range ofType(stack, "AWS::CloudWatch::Alarm") {
				if strings.HasPrefix(aid, "Shifts"+id+signal) {
					alarmID = aid
				}
			}
			if alarmID == "" || !strings.Contains(alarms, `"`+alarmID+`"`) {
				t.Fatalf("%s: alarms %s lack its %s alarm", group, alarms, signal)
			}
			if !slices.Contains(alias.DependsOn, alarmID) && !slices.Contains(res[group].DependsOn, alarmID) && !strings.Contains(js(res[group].Properties), alarmID) {
				t.Errorf("%s: nothing orders the alias after %s", aliasID, alarmID)
			}
			metrics := alarmMetrics(res[alarmID])
			versioned := 0
			for _, m := range metrics {
				dims := map[string]string{}
				for _, d := range asList(m["Dimensions"]) {
					dims[fmt.Sprint(get(d, "Name"))] = js(get(d, "Value"))
				}
				if m["Namespace"] != contract.MetricsNamespace || dims[contract.DimFunctionName] != js(get(res[version].Properties, "FunctionName")) {
					t.Errorf("%s reads %s %s by %v", alarmID, m["Namespace"], m["MetricName"], dims)
				}
				if v, ok := dims[contract.DimVersion]; ok {
					versioned++
					if v != `{"Fn::GetAtt":["`+version+`","Version"]}` {
						t.Errorf("%s reads version %s, not the alias's %s", alarmID, v, version)
					}
				}
			}
			if want := map[bool]int{true: 2, false: 1}[fn == contract.Authorizer]; versioned != want {
				t.Errorf("%s: %d metrics of the new version, want %d", alarmID, versioned, want)
			}
		})
	}
}
