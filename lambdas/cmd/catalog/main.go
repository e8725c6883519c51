// Command catalog is the Lambda behind the /products routes (and the HTTP
// API's $default route, so that unknown paths get a problem+json 404).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/go-cdk-shop/shop/lambdas/internal/dynamo"
	"github.com/go-cdk-shop/shop/lambdas/internal/httpapi"
	"github.com/go-cdk-shop/shop/lambdas/internal/wire"
)

func main() {
	log := wire.Logger()
	cfg := wire.FromEnv()
	awsCfg, err := wire.AWS()
	if err != nil {
		wire.Fatal(log, err)
	}
	cat, err := wire.Catalog(cfg, dynamo.NewClient(awsCfg, cfg.DynamoEndpoint))
	if err != nil {
		wire.Fatal(log, err)
	}
	router := httpapi.NewRouter(log, cat.Routes()...)
	lambda.StartHandlerFunc(router.Serve)
}
