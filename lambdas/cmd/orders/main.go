// Command orders is the Lambda behind /orders and /me. Checkout reads and
// empties the cart, so it runs in the VPC next to the serverless cache; DynamoDB
// is reached through the gateway endpoint.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/wire"
)

func main() {
	shop, log := wire.Function(contract.Orders)
	lambda.StartHandlerFunc(shop.Router(log, contract.Orders).Serve)
}
