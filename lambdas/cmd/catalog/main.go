// Command catalog is the Lambda behind the /products routes, and the HTTP
// API's $default route: unknown paths get a problem+json 404, and known paths
// with a method no route has a 405.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/wire"
)

func main() {
	shop, log := wire.Function(contract.Catalog)
	lambda.StartHandlerFunc(shop.Router(log, contract.Catalog).Serve)
}
