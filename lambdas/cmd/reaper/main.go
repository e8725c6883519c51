// Command reaper runs hourly in the account stack (Shop-Account): it tells
// owners of development stages that expire within a day, and deletes expired
// ones stack by stack (or, in report mode, says what it would delete).
package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/lambdaenv"
	"github.com/go-cdk-shop/shop/lambdas/internal/reaper"
)

func main() {
	fn := lambdaenv.Start(contract.Reaper)
	r := reaper.New(fn.AWS, fn.Config.ReaperTopic, fn.Config.ReaperDelete, fn.Log)
	lambda.Start(func(ctx context.Context) error {
		_, err := r.Run(ctx, time.Now().UTC())
		return err
	})
}
