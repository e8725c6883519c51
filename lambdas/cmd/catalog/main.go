// Command catalog is the Lambda behind the /products routes, and the HTTP
// API's catch-all methods: unknown paths get a problem+json 404, and known paths
// with a method no route has a 405.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/bucket"
	"github.com/go-cdk-shop/shop/lambdas/internal/lambdaenv"
	"github.com/go-cdk-shop/shop/lambdas/internal/wire"
)

func main() {
	fn := lambdaenv.Start(contract.Catalog)
	rdb, err := wire.Cache(fn.Config, fn.AWS, fn.Log)
	fn.Must(err)
	b := wire.Backends{DB: wire.DynamoDB(fn), Cache: rdb, Log: fn.Log,
		Images: bucket.New(bucket.NewClient(fn.AWS, fn.Config.S3Endpoint), fn.Config.ImagesBucket)}
	catalog, err := wire.Catalog(fn.Config, b)
	fn.Must(err)
	wire.WarmFor(fn, b)
	lambda.StartHandlerFunc(wire.Router(fn.Config, fn.Log, string(fn.Fn), catalog.Routes()...).Serve)
}
