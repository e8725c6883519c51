// Command cart is the Lambda behind the /cart routes. It runs in the VPC, next
// to the serverless cache, and reads prices from the Products table through the
// DynamoDB gateway endpoint.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/go-cdk-shop/shop/lambdas/internal/dynamo"
	"github.com/go-cdk-shop/shop/lambdas/internal/httpapi"
	"github.com/go-cdk-shop/shop/lambdas/internal/rediscart"
	"github.com/go-cdk-shop/shop/lambdas/internal/wire"
)

func main() {
	log := wire.Logger()
	cfg := wire.FromEnv()
	awsCfg, err := wire.AWS()
	if err != nil {
		wire.Fatal(log, err)
	}
	rediscart.SetLogger(log)
	rdb, err := wire.Cache(cfg, awsCfg)
	if err != nil {
		wire.Fatal(log, err)
	}
	svc, err := wire.CartService(cfg, dynamo.NewClient(awsCfg, cfg.DynamoEndpoint), rdb)
	if err != nil {
		wire.Fatal(log, err)
	}
	router := httpapi.NewRouter(log, httpapi.NewCart(svc).Routes()...)
	lambda.StartHandlerFunc(router.Serve)
}
