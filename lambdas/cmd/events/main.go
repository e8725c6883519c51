// Command events reads the Orders table's change stream (a Lambda event
// source mapping, outside the VPC) and publishes each committed status
// change of an order on the stage's event bus. A record that fails is
// reported as a batch item failure: Lambda retries from it, then sends it to
// the failure queue.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/bus"
	"github.com/go-cdk-shop/shop/lambdas/internal/lambdaenv"
	"github.com/go-cdk-shop/shop/lambdas/internal/orderevents"
)

func main() {
	fn := lambdaenv.Start(contract.Events)
	b := bus.Bus{API: eventbridge.NewFromConfig(fn.AWS), Name: fn.Config.EventBus}
	lambda.Start(orderevents.Handler{Stage: fn.Config.Stage, Publish: b.Publish, Log: fn.Log}.Handle)
}
