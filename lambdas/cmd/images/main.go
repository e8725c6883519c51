// Command images is the Lambda the images bucket invokes when an object is
// created under products/: it checks the upload and links it to its product.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/go-cdk-shop/shop/lambdas/internal/dynamo"
	"github.com/go-cdk-shop/shop/lambdas/internal/wire"
)

func main() {
	log := wire.Logger()
	cfg := wire.FromEnv()
	awsCfg, err := wire.AWS()
	if err != nil {
		wire.Fatal(log, err)
	}
	storage, err := wire.Bucket(cfg, awsCfg)
	if err != nil {
		wire.Fatal(log, err)
	}
	svc, err := wire.Images(cfg, dynamo.NewClient(awsCfg, cfg.DynamoEndpoint), storage, log)
	if err != nil {
		wire.Fatal(log, err)
	}
	lambda.Start(svc.HandleS3Event)
}
