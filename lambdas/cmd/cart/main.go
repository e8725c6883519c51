// Command cart is the Lambda behind guest sessions and the /cart routes. It
// runs in the VPC, next to the serverless cache, and reads prices from the
// Products table through the DynamoDB gateway endpoint.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/lambdaenv"
	"github.com/go-cdk-shop/shop/lambdas/internal/wire"
)

func main() {
	fn := lambdaenv.Start(contract.Cart)
	rdb, err := wire.Cache(fn.Config, fn.AWS, fn.Log)
	fn.Must(err)
	b := wire.Backends{DB: wire.DynamoDB(fn), Cache: rdb, Log: fn.Log}
	cart, err := wire.Cart(fn.Config, b)
	fn.Must(err)
	wire.WarmFor(fn, b)
	lambda.StartHandlerFunc(wire.Router(fn.Config, fn.Log, string(fn.Fn), cart.Routes()...).Serve)
}
