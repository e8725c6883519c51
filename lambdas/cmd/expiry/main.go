// Command expiry is the scheduled job that EventBridge runs every minute: it
// expires pending orders whose hold has ended and returns their units to
// stock, through the sparse index of pending orders, in bounded batches.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/lambdaenv"
	"github.com/go-cdk-shop/shop/lambdas/internal/metrics"
	"github.com/go-cdk-shop/shop/lambdas/internal/orders"
	"github.com/go-cdk-shop/shop/lambdas/internal/wire"
)

func main() {
	fn := lambdaenv.Start(contract.Expiry)
	rdb, err := wire.Cache(fn.Config, fn.AWS, fn.Log)
	fn.Must(err)
	b := wire.Backends{DB: wire.DynamoDB(fn), Cache: rdb, Log: fn.Log}
	lifecycle, err := wire.Expiry(fn.Config, b)
	fn.Must(err)
	wire.WarmFor(fn, b)
	lambda.Start(func(ctx context.Context) error {
		run, err := lifecycle.ExpireDue(ctx, orders.ExpiryBatch, orders.ExpiryWorkers)
		fn.Log.InfoContext(ctx, "expired pending orders", "count", run.Expired, "quarantined", run.Quarantined, "oldest_due_s", run.OldestDue.Seconds())
		// The alarms' signals: a poison order set aside, and the job's lag.
		var m metrics.Set
		m.Put(metrics.OrdersQuarantined, float64(run.Quarantined), metrics.UnitCount)
		m.Put(metrics.OldestDueAge, run.OldestDue.Seconds(), metrics.UnitSeconds)
		m.Emit(ctx, fn.Log, string(contract.Expiry))
		return err
	})
}
