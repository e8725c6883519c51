// Package components holds the shop's L3 constructs. Each is an exported
// interface, an unexported struct and a NewX(scope, id, props) that checks its
// props and exposes what other constructs need.
package components

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/go-cdk-shop/shop/lambdas/contract"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// GoFunctionProps configure a Go Lambda built by `make build` into DistDir/<Name>/bootstrap.
type GoFunctionProps struct {
	Name        contract.Function // the function's directory under lambdas/cmd and DistDir
	DistDir     string
	Description string
	Environment map[string]string
	MemoryMB    float64
	// TimeoutSeconds stays under API Gateway's 29-second integration limit for API functions.
	TimeoutSeconds   float64
	LogRetentionDays int
	Prod             bool
	// Network, when set, runs the function in the network's isolated subnets
	// with the given security group.
	Network       Network
	SecurityGroup awsec2.ISecurityGroup
	// Inputs are the constructs of other stacks whose names and endpoints the
	// function is told: their fingerprint goes into the function's
	// description, so a replaced producer reaches the function on the next
	// deploy (InputsFingerprint).
	Inputs []constructs.IConstruct
	// ReservedConcurrency, when positive, caps the function's concurrency
	// and sets that much aside for it.
	ReservedConcurrency int
	// Live puts the function behind an alias, "live", on its published
	// version: whatever invokes it invokes the alias (Target), and a
	// deployment group can shift the alias from one version to the next.
	Live bool
}

// MaxTimeoutSeconds is the longest timeout fn may have: 28 s for a
// function API Gateway calls (its integrations give up at 29 s), Lambda's
// 900 s for the rest (a custom resource that waits out an asynchronous
// change needs minutes: issue 38).
func MaxTimeoutSeconds(fn contract.Function) float64 {
	if slices.Contains(contract.PreTrafficChecked(), fn) {
		return 28
	}
	return 900
}

// LiveAlias is the alias every caller of a Live function invokes.
const LiveAlias = "live"

// GoFunction is a Go Lambda on provided.al2023 / arm64 with its own log group,
// JSON logs, X-Ray tracing and a role that may write only to that log group.
type GoFunction interface {
	constructs.Construct
	Function() awslambda.Function
	Role() awsiam.IRole
	// Target is what callers invoke: the live alias, or the function
	// ($LATEST) without one.
	Target() awslambda.IFunction
	// Alias is the live alias; nil without one.
	Alias() awslambda.Alias
}

type goFunction struct {
	constructs.Construct
	fn    awslambda.Function
	role  awsiam.Role
	alias awslambda.Alias
}

// NewGoFunction defines the function. It panics when the binary has not been
// built, with the command that builds it.
func NewGoFunction(scope constructs.Construct, id string, props GoFunctionProps) GoFunction {
	dir := filepath.Join(props.DistDir, string(props.Name))
	if _, err := os.Stat(filepath.Join(dir, "bootstrap")); err != nil {
		panic(fmt.Sprintf("GoFunction %s: %s/bootstrap is missing: run `make build` first", id, dir))
	}
	if max := MaxTimeoutSeconds(props.Name); props.TimeoutSeconds <= 0 || props.TimeoutSeconds > max {
		panic(fmt.Sprintf("GoFunction %s: timeout %vs must be 1..%v (API Gateway gives up at 29 s; Lambda at 900 s)", id, props.TimeoutSeconds, max))
	}
	retention, ok := retentionDays[props.LogRetentionDays]
	if !ok {
		panic(fmt.Sprintf("GoFunction %s: CloudWatch has no retention of %d days", id, props.LogRetentionDays))
	}
	this := constructs.NewConstruct(scope, &id)
	logs := awslogs.NewLogGroup(this, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention:     retention,
		RemovalPolicy: StatefulRemoval(props.Prod),
	})
	// A role of its own, without the AWSLambdaBasicExecutionRole managed policy:
	// that policy may write to every log group in the account.
	roleProps := &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Runs the " + string(props.Name) + " function"),
	}
	if props.Network != nil {
		// Lambda creates and deletes the function's network interfaces with the
		// function's role. CDK adds AWSLambdaVPCAccessExecutionRole only to roles
		// it makes itself, so these are the same actions, inline in the role:
		// in a separate AWS::IAM::Policy they could reach IAM after the
		// function, whose creation then fails ("execution role does not have
		// permissions to call CreateNetworkInterface").
		roleProps.InlinePolicies = &map[string]awsiam.PolicyDocument{"NetworkInterfaces": awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{
			Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions: jsii.Strings("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
					"ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"),
				Resources: jsii.Strings("*"),
			})},
		})}
	}
	role := awsiam.NewRole(this, jsii.String("Role"), roleProps)
	logs.GrantWrite(role)
	env := make(map[string]*string, len(props.Environment))
	for k, v := range props.Environment {
		env[k] = jsii.String(v)
	}
	fnProps := &awslambda.FunctionProps{
		Runtime:          awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:     awslambda.Architecture_ARM_64(),
		Handler:          jsii.String("bootstrap"),
		Code:             awslambda.Code_FromAsset(jsii.String(dir), nil),
		Description:      description(props),
		MemorySize:       jsii.Number(props.MemoryMB),
		Timeout:          awscdk.Duration_Seconds(jsii.Number(props.TimeoutSeconds)),
		Tracing:          awslambda.Tracing_ACTIVE,
		LogGroup:         logs,
		LoggingFormat:    awslambda.LoggingFormat_JSON,
		SystemLogLevelV2: awslambda.SystemLogLevel_WARN,
		Role:             role,
		Environment:      &env,
	}
	if props.Live {
		// Versions are kept, as SAM's AutoPublishAlias keeps them: CodeDeploy
		// may still route to the old one while CloudFormation cleans up, and
		// a rollback needs it (each is a few MB of the account's 75 GB of
		// code storage).
		fnProps.CurrentVersionOptions = &awslambda.VersionOptions{RemovalPolicy: awscdk.RemovalPolicy_RETAIN}
	}
	if props.ReservedConcurrency > 0 {
		fnProps.ReservedConcurrentExecutions = jsii.Number(props.ReservedConcurrency)
	}
	if props.Network != nil {
		fnProps.Vpc, fnProps.VpcSubnets = props.Network.Vpc(), props.Network.Subnets()
		fnProps.SecurityGroups = &[]awsec2.ISecurityGroup{props.SecurityGroup}
	}
	fn := awslambda.NewFunction(this, jsii.String("Function"), fnProps)
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions; the action list is exactly those two. " +
			"In a VPC, Lambda's network interface actions (the AWSLambdaVPCAccessExecutionRole list) likewise take no resource"),
		AppliesTo: &[]interface{}{"Resource::*"},
	}}, jsii.Bool(true))
	g := &goFunction{Construct: this, fn: fn, role: role}
	if props.Live {
		// currentVersion publishes a version whenever the function's code or
		// configuration changes.
		g.alias = awslambda.NewAlias(this, jsii.String("Live"), &awslambda.AliasProps{
			AliasName: jsii.String(LiveAlias), Version: fn.CurrentVersion(),
		})
	}
	return g
}

func description(props GoFunctionProps) *string {
	if len(props.Inputs) == 0 {
		return jsii.String(props.Description)
	}
	return jsii.String(props.Description + " (inputs " + *InputsFingerprint(props.Inputs...) + ")")
}

func (g *goFunction) Function() awslambda.Function { return g.fn }
func (g *goFunction) Role() awsiam.IRole           { return g.role }
func (g *goFunction) Alias() awslambda.Alias       { return g.alias }
func (g *goFunction) Target() awslambda.IFunction {
	if g.alias != nil {
		return g.alias
	}
	return g.fn
}

// retentionDays are the retention periods CloudWatch Logs accepts that a stage may ask for.
var retentionDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS,
	365: awslogs.RetentionDays_ONE_YEAR, 731: awslogs.RetentionDays_TWO_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS,
}
