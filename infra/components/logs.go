package components

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// OwnFunctionLogs gives each of CDK's own handler functions in stack (custom
// resource providers: bucket notifications, auto-delete, the VPC's default
// security group) a log group of the stack's, with the stage's retention and
// removal, instead of the /aws/lambda/<name> group Lambda would make on first
// run, which never expires and outlives the stack. The shop's GoFunctions
// have their own log groups already and are left alone.
func OwnFunctionLogs(stack awscdk.Stack, logRetentionDays int, prod bool) {
	retention, ok := retentionDays[logRetentionDays]
	if !ok {
		panic(fmt.Sprintf("OwnFunctionLogs: CloudWatch has no retention of %d days", logRetentionDays))
	}
	for _, c := range *stack.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		if _, lambdaL1 := c.(awslambda.CfnFunction); lambdaL1 {
			continue // an L2 Function's: its LoggingConfig is the construct's business
		}
		res, ok := c.(awscdk.CfnResource)
		if !ok || *res.CfnResourceType() != "AWS::Lambda::Function" || awscdk.Stack_Of(c) != stack {
			continue
		}
		group := awslogs.NewLogGroup(stack, jsii.String(*res.Node().Scope().Node().Id()+"Logs"), &awslogs.LogGroupProps{
			Retention: retention, RemovalPolicy: StatefulRemoval(prod),
		})
		res.AddPropertyOverride(jsii.String("LoggingConfig.LogGroup"), group.LogGroupName())
	}
}
