// Command orders is the Lambda behind /orders and /me. Checkout reads and
// empties the cart, so it runs in the VPC next to the serverless cache; DynamoDB
// is reached through the gateway endpoint.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/lambdaenv"
	"github.com/go-cdk-shop/shop/lambdas/internal/wire"
)

func main() {
	fn := lambdaenv.Start(contract.Orders)
	rdb, err := wire.Cache(fn.Config, fn.AWS, fn.Log)
	fn.Must(err)
	b := wire.Backends{DB: wire.DynamoDB(fn), Cache: rdb, Log: fn.Log}
	orders, err := wire.Orders(fn.Config, b)
	fn.Must(err)
	wire.WarmFor(fn, b)
	lambda.StartHandlerFunc(wire.Router(fn.Config, fn.Log, string(fn.Fn), orders.Routes()...).Serve)
}
