// Command cacheusers is the custom resource every development stage holds
// (Custom::CacheUserGroupMembership, in Shop-Account): it adds the stage's
// cache user to the shared development cache's user group when the stage is
// deployed, and removes it when the stage is destroyed, waiting out other
// stages' changes (internal/cacheusers).
package main

import (
	"context"
	"fmt"
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
	groups := cacheusers.Groups{API: elasticache.NewFromConfig(fn.AWS)}
	lambda.Start(cfn.LambdaWrap(func(ctx context.Context, ev cfn.Event) (string, map[string]interface{}, error) {
		if d, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, d.Add(-answerMargin))
			defer cancel()
		}
		group, _ := ev.ResourceProperties["UserGroupId"].(string)
		user, _ := ev.ResourceProperties["UserId"].(string)
		id := group + "/" + user
		if group == "" || user == "" {
			return id, nil, fmt.Errorf("UserGroupId and UserId are required")
		}
		if group != fn.Config.CacheUserGroup && ev.RequestType != cfn.RequestDelete {
			// A stage may join the shared cache's group, and no other.
			return id, nil, fmt.Errorf("user group %q is not the shared cache's (%s)", group, fn.Config.CacheUserGroup)
		}
		switch ev.RequestType {
		case cfn.RequestCreate:
			return id, nil, groups.Add(ctx, group, user)
		case cfn.RequestUpdate:
			// The physical id names group and user: when either changed, it
			// is new, and CloudFormation deletes the old membership after.
			return id, nil, groups.Add(ctx, group, user)
		default: // delete
			return ev.PhysicalResourceID, nil, groups.Remove(ctx, group, user)
		}
	}))
}
