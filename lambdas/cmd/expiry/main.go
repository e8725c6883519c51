// Command expiry is the scheduled job that EventBridge runs every minute: it
// expires pending orders whose hold has ended and returns their units to
// stock, through the sparse index of pending orders, in bounded batches.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/lambdaenv"
	"github.com/go-cdk-shop/shop/lambdas/internal/wire"
)

// batch bounds one query of due orders; the job repeats it while time is left.
const batch = 25

func main() {
	fn := lambdaenv.Start(contract.Expiry)
	rdb, err := wire.Cache(fn.Config, fn.AWS, fn.Log)
	fn.Must(err)
	b := wire.Backends{DB: wire.DynamoDB(fn), Cache: rdb, Log: fn.Log}
	lifecycle, err := wire.Expiry(fn.Config, b)
	fn.Must(err)
	wire.WarmFor(fn, b)
	lambda.Start(func(ctx context.Context) error {
		n, err := lifecycle.ExpireDue(ctx, batch)
		fn.Log.InfoContext(ctx, "expired pending orders", "count", n)
		return err
	})
}
