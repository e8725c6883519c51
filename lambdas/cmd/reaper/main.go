// Command reaper runs hourly in the account stack (Shop-Account): it tells
// owners of development stages that expire within a day, and deletes expired
// ones stack by stack (or, in report mode, says what it would delete).
package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/reaper"
	"github.com/go-cdk-shop/shop/lambdas/internal/wire"
)

func main() {
	log := wire.Logger()
	cfg, err := wire.FromEnv(contract.Reaper)
	if err != nil {
		wire.Fatal(log, err)
	}
	awsCfg, err := wire.AWS()
	if err != nil {
		wire.Fatal(log, err)
	}
	rc := reaper.DefaultConfig
	rc.Delete = cfg.ReaperDelete
	r := reaper.Reaper{CFN: cloudformation.NewFromConfig(awsCfg), SNS: sns.NewFromConfig(awsCfg), Topic: cfg.ReaperTopic, Config: rc, Log: log}
	lambda.Start(func(ctx context.Context) error {
		_, err := r.Run(ctx, time.Now().UTC())
		return err
	})
}
