// Command cart is the Lambda behind the /cart routes. It runs in the VPC, next
// to the serverless cache, and reads prices from the Products table through the
// DynamoDB gateway endpoint.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/wire"
)

func main() {
	shop, log := wire.Function(contract.Cart)
	lambda.StartHandlerFunc(shop.Router(log, contract.Cart).Serve)
}
