// Command pretraffic is the BeforeAllowTraffic hook of one function's
// deployment (CHECK_FUNCTION): it invokes the new version (CHECK_TARGET)
// with the function's read-only probes and tells CodeDeploy whether the
// shift may begin. It runs outside the VPC: it calls only the Lambda and
// CodeDeploy APIs.
package main

import (
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/lambdaenv"
	"github.com/go-cdk-shop/shop/lambdas/internal/pretraffic"
)

func main() {
	fn := lambdaenv.Start(contract.PreTraffic)
	hook := pretraffic.Hook{
		Probes: pretraffic.Probes(fn.Config.CheckFunction, time.Now()),
		Invoke: pretraffic.LambdaInvoke(awslambda.NewFromConfig(fn.AWS), fn.Config.CheckTarget),
		Report: pretraffic.CodeDeployReport(codedeploy.NewFromConfig(fn.AWS)),
		Log:    fn.Log,
	}
	lambda.Start(hook.Handle)
}
