// Command authorizer is the Lambda authorizer of the cart routes, which guests
// may call without a token. It verifies Cognito ID tokens against the user
// pool's published keys.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/authorizer"
	"github.com/go-cdk-shop/shop/lambdas/internal/lambdaenv"
)

func main() {
	fn := lambdaenv.Start(contract.Authorizer)
	lambda.Start(authorizer.New(fn.AWS.Region, fn.Config.UserPoolID, fn.Config.UserPoolClientID, fn.Log, fn.Config.Release).Handle)
}
