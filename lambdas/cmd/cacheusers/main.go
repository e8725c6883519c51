// Command cacheusers is the custom resource every development stage holds
// (Custom::CacheUserGroupMembership, in Shop-Account): it adds the stage's
// cache user to the shared development cache's user group when the stage is
// deployed, and removes it when the stage is destroyed, waiting out other
// stages' changes (internal/cacheusers).
package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/cacheusers"
	"github.com/go-cdk-shop/shop/lambdas/internal/lambdaenv"
)

// answerMargin is kept back from the invocation's deadline to answer
// CloudFormation, which otherwise waits an hour for a response.
const answerMargin = 10 * time.Second

func main() {
	fn := lambdaenv.Start(contract.CacheUsers)
	m := cacheusers.Membership{Groups: cacheusers.Groups{API: elasticache.NewFromConfig(fn.AWS)}, Group: fn.Config.CacheUserGroup}
	lambda.Start(cfn.LambdaWrap(func(ctx context.Context, ev cfn.Event) (string, map[string]interface{}, error) {
		if d, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, d.Add(-answerMargin))
			defer cancel()
		}
		return m.Handle(ctx, ev)
	}))
}
