// Command images is the Lambda the images bucket invokes when an object is
// created under products/: it checks the upload and links it to its product.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/wire"
)

func main() {
	shop, _ := wire.Function(contract.Images)
	lambda.Start(shop.Images.HandleS3Event)
}
