// Command authorizer is the Lambda authorizer of the cart routes, which guests
// may call without a token. It verifies Cognito ID tokens against the user
// pool's published keys.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/wire"
)

func main() {
	log := wire.Logger()
	cfg, err := wire.FromEnv(contract.Authorizer)
	if err != nil {
		wire.Fatal(log, err)
	}
	lambda.Start(wire.Authorizer(cfg, os.Getenv("AWS_REGION")).Handle)
}
