package components

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodedeploy"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Shifts move live aliases to new versions gradually, through CodeDeploy
// (one application and one service role per stack), and roll them back on
// their alarms. CodeDeploy for Lambda has no charge.
type Shifts interface {
	constructs.Construct
	// Add shifts fn's live alias: CanaryPercent of the traffic for
	// IntervalMinutes, then the rest (0: all at once), rolled back when
	// the alias's own errors or any of alarms fire during the shift.
	Add(fn GoFunction, shift Shift, alarms ...awscloudwatch.IAlarm) awscodedeploy.LambdaDeploymentGroup
}

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

func (s *shifts) Add(fn GoFunction, shift Shift, alarms ...awscloudwatch.IAlarm) awscodedeploy.LambdaDeploymentGroup {
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
	for _, a := range alarms {
		refs = append(refs, a)
	}
	return awscodedeploy.NewLambdaDeploymentGroup(s.this, jsii.String(id), &awscodedeploy.LambdaDeploymentGroupProps{
		Alias: alias, Application: s.app, Role: s.role, DeploymentConfig: s.config(shift), Alarms: &refs,
		AutoRollback: &awscodedeploy.AutoRollbackConfig{FailedDeployment: jsii.Bool(true), StoppedDeployment: jsii.Bool(true), DeploymentInAlarm: jsii.Bool(true)},
	})
}
