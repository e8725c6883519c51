// Command authorizer is the Lambda authorizer of the cart routes, which guests
// may call without a token. It verifies Cognito ID tokens against the user
// pool's published keys (USER_POOL_ID, USER_POOL_CLIENT_ID, AWS_REGION).
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/go-cdk-shop/shop/lambdas/internal/authorizer"
	"github.com/go-cdk-shop/shop/lambdas/internal/idtoken"
	"github.com/go-cdk-shop/shop/lambdas/internal/wire"
)

func main() {
	log := wire.Logger()
	region, pool, client := os.Getenv("AWS_REGION"), os.Getenv("USER_POOL_ID"), os.Getenv("USER_POOL_CLIENT_ID")
	if region == "" || pool == "" || client == "" {
		log.Error("cannot start", "error", "AWS_REGION, USER_POOL_ID and USER_POOL_CLIENT_ID must be set")
		os.Exit(1)
	}
	issuer := idtoken.CognitoIssuer(region, pool)
	keys := &idtoken.JWKS{URL: issuer + "/.well-known/jwks.json"}
	h := authorizer.Handler{Tokens: &idtoken.Verifier{Issuer: issuer, Audience: client, Key: keys.Key}}
	lambda.Start(h.Handle)
}
