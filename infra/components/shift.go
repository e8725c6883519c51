package components

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodedeploy"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// Shifts move live aliases to new versions gradually, through CodeDeploy
// (one application and one service role per stack), and roll them back on
// their alarms. CodeDeploy for Lambda has no charge.
type Shifts interface {
	constructs.Construct
	// Add shifts fn's live alias: CanaryPercent of the traffic for
	// IntervalMinutes, then the rest (0: all at once), rolled back when
	// the alias's own errors, or any of the guards' alarms, fire during
	// the shift, and stopped before any traffic when the guards' pre-traffic
	// hook fails.
	Add(fn GoFunction, shift Shift, guards Guards) awscodedeploy.LambdaDeploymentGroup
}

// Guards are what else stops a shift of one function, besides the live
// alias's invocation errors.
type Guards struct {
	// Alarms also roll the shift back (the checkout SLO's fast burn).
	Alarms []awscloudwatch.IAlarm
	// Answers: the function answers requests, and its new version's own
	// 5xx answers (contract.MetricFailedAnswers for that version) roll
	// the shift back.
	Answers bool
	// Denials: the function is an authorizer, and its new version denying
	// a larger share of its requests than every version together does
	// (contract.MetricDenied) rolls the shift back. Both versions see the
	// same traffic, so a flood of bad tokens raises both alike.
	Denials bool
	// PreTraffic, when set, is the BeforeAllowTraffic hook: it checks the
	// new version before the alias moves at all.
	PreTraffic awslambda.IFunction
}

// Rollback alarms' settings. A failed answer is logged at once; CloudWatch
// Logs extracts an embedded metric within about a minute (not settled
// offline: docs/stages.md), and the alarm evaluates one-minute periods.
const (
	// DenialRateMargin is how much more often, as a share of its
	// decisions, the new authorizer version may deny than all versions do.
	DenialRateMargin = 0.3
	// DenialMinDecisions: fewer decisions of the new version in a minute
	// say nothing (a rate of 1 deny in 2 is noise).
	DenialMinDecisions = 20
)

// Shift is how a new version takes the traffic.
type Shift struct {
	CanaryPercent   float64
	IntervalMinutes float64
}

// String names the shift as review and the docs do.
func (s Shift) String() string {
	if s.CanaryPercent == 0 {
		return "all at once"
	}
	return fmt.Sprintf("canary %v%% for %v min", s.CanaryPercent, s.IntervalMinutes)
}

type shifts struct {
	constructs.Construct
	this    constructs.Construct // the scope of what Add defines (jsii knows the struct only by it)
	app     awscodedeploy.LambdaApplication
	role    awsiam.Role
	configs map[Shift]awscodedeploy.ILambdaDeploymentConfig
}

// NewShifts defines the stack's CodeDeploy application and service role.
func NewShifts(scope constructs.Construct, id string) Shifts {
	this := constructs.NewConstruct(scope, &id)
	role := awsiam.NewRole(this, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy:       awsiam.NewServicePrincipal(jsii.String("codedeploy.amazonaws.com"), nil),
		Description:     jsii.String("CodeDeploy shifts the functions' live aliases"),
		ManagedPolicies: &[]awsiam.IManagedPolicy{awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("service-role/AWSCodeDeployRoleForLambdaLimited"))},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM4"),
		Reason:    jsii.String("AWS's limited policy for CodeDeploy on Lambda: it updates aliases and reads the alarms it is given, nothing else"),
		AppliesTo: &[]interface{}{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited"},
	}}, jsii.Bool(true))
	return &shifts{Construct: this, this: this, app: awscodedeploy.NewLambdaApplication(this, jsii.String("Application"), nil), role: role,
		configs: map[Shift]awscodedeploy.ILambdaDeploymentConfig{}}
}

func (s *shifts) config(shift Shift) awscodedeploy.ILambdaDeploymentConfig {
	if c, ok := s.configs[shift]; ok {
		return c
	}
	c := awscodedeploy.LambdaDeploymentConfig_ALL_AT_ONCE()
	if shift.CanaryPercent > 0 {
		c = awscodedeploy.NewLambdaDeploymentConfig(s.this, jsii.String(fmt.Sprintf("Canary%vPercent%vMinutes", shift.CanaryPercent, shift.IntervalMinutes)), &awscodedeploy.LambdaDeploymentConfigProps{
			TrafficRouting: awscodedeploy.TrafficRouting_TimeBasedCanary(&awscodedeploy.TimeBasedCanaryTrafficRoutingProps{
				Percentage: jsii.Number(shift.CanaryPercent), Interval: awscdk.Duration_Minutes(jsii.Number(shift.IntervalMinutes)),
			}),
		})
	}
	s.configs[shift] = c
	return c
}

func (s *shifts) Add(fn GoFunction, shift Shift, guards Guards) awscodedeploy.LambdaDeploymentGroup {
	alias := fn.Alias()
	if alias == nil {
		panic("Shifts: " + *fn.Node().Id() + " has no live alias")
	}
	// The new version's failures, within a minute: the function's own
	// alarms (15 minutes of breaching) are too slow for a 5-minute canary.
	id := *fn.Node().Id()
	errs := awscloudwatch.NewAlarm(s.this, jsii.String(id+"LiveErrors"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("The live alias of " + id + " fails: rolls a shift back"),
		Metric: awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String("AWS/Lambda"), MetricName: jsii.String("Errors"), Statistic: jsii.String("Sum"),
			Period: awscdk.Duration_Minutes(jsii.Number(1)),
			DimensionsMap: &map[string]*string{"FunctionName": fn.Function().FunctionName(),
				"Resource": awscdk.Fn_Join(jsii.String(":"), &[]*string{fn.Function().FunctionName(), jsii.String(LiveAlias)})},
		}),
		Threshold: jsii.Number(1), EvaluationPeriods: jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	refs := []interfacesawscloudwatch.IAlarmRef{errs}
	// The version the shift moves to: the alarms below name it, and are
	// updated with it in the same deploy, before the alias (which waits
	// for the group, which waits for them).
	version := fn.Function().CurrentVersion()
	release := func(name, statistic string, withVersion bool) awscloudwatch.IMetric {
		dims := map[string]*string{contract.DimFunctionName: fn.Function().FunctionName()}
		if withVersion {
			dims[contract.DimVersion] = version.Version()
		}
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(contract.MetricsNamespace), MetricName: jsii.String(name),
			Statistic: jsii.String(statistic), Period: awscdk.Duration_Minutes(jsii.Number(1)), DimensionsMap: &dims,
		})
	}
	if guards.Answers {
		refs = append(refs, awscloudwatch.NewAlarm(s.this, jsii.String(id+"LiveFailedAnswers"), &awscloudwatch.AlarmProps{
			AlarmDescription: jsii.String("The new version of " + id + " answers 5xx (" + contract.MetricFailedAnswers + " of that version): rolls a shift back"),
			Metric:           release(contract.MetricFailedAnswers, "Sum", true),
			Threshold:        jsii.Number(1), EvaluationPeriods: jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		}))
	}
	if guards.Denials {
		denied := func(statistic string, withVersion bool) awscloudwatch.IMetric {
			return release(contract.MetricDenied, statistic, withVersion)
		}
		refs = append(refs, awscloudwatch.NewAlarm(s.this, jsii.String(id+"LiveDenials"), &awscloudwatch.AlarmProps{
			AlarmDescription: jsii.String("The new version of " + id + " denies a larger share of requests than every version does: rolls a shift back"),
			Metric: awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
				Expression: jsii.String(fmt.Sprintf("IF(n >= %d, d / n - ad / an, 0)", DenialMinDecisions)),
				UsingMetrics: &map[string]awscloudwatch.IMetric{
					"n": denied("SampleCount", true), "d": denied("Sum", true),
					"an": denied("SampleCount", false), "ad": denied("Sum", false),
				},
				Label:  jsii.String("Denial rate of the new version above every version's"),
				Period: awscdk.Duration_Minutes(jsii.Number(1)),
			}),
			Threshold: jsii.Number(DenialRateMargin), EvaluationPeriods: jsii.Number(3), DatapointsToAlarm: jsii.Number(2),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		}))
	}
	for _, a := range guards.Alarms {
		refs = append(refs, a)
	}
	group := awscodedeploy.NewLambdaDeploymentGroup(s.this, jsii.String(id), &awscodedeploy.LambdaDeploymentGroupProps{
		Alias: alias, Application: s.app, Role: s.role, DeploymentConfig: s.config(shift), Alarms: &refs,
		AutoRollback: &awscodedeploy.AutoRollbackConfig{FailedDeployment: jsii.Bool(true), StoppedDeployment: jsii.Bool(true), DeploymentInAlarm: jsii.Bool(true)},
		PreHook:      guards.PreTraffic,
	})
	// The alias's update starts the deployment (its UpdatePolicy names the
	// group and the hook): by then the group, its alarms on the new
	// version and the hook that invokes that version must be updated.
	alias.Node().AddDependency(group)
	if guards.PreTraffic != nil {
		alias.Node().AddDependency(guards.PreTraffic)
		// The grant made the role's default policy: suppress on it now.
		cdknag.NagSuppressions_AddResourceSuppressions(s.role, &[]*cdknag.NagPackSuppression{{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String("CodeDeploy invokes each pre-traffic hook by its function name; the CDK's grant names the hook function and its versions (<arn>:*), no other function"),
			AppliesTo: &[]interface{}{&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::<PreTraffic[A-Za-z]+Function[0-9A-F]{8}\.Arn>:\*$/g`)}},
		}}, jsii.Bool(true))
	}
	return group
}
