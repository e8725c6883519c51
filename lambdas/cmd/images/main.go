// Command images is the Lambda the images bucket invokes when an object is
// created under products/: it checks the upload and links it to its product.
// A daily schedule invokes it too: then it sweeps uploads that no product
// links, older than contract.ImagesSweepAfterDays.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/bucket"
	"github.com/go-cdk-shop/shop/lambdas/internal/images"
	"github.com/go-cdk-shop/shop/lambdas/internal/lambdaenv"
	"github.com/go-cdk-shop/shop/lambdas/internal/wire"
)

func main() {
	fn := lambdaenv.Start(contract.Images)
	rdb, err := wire.Cache(fn.Config, fn.AWS, fn.Log)
	fn.Must(err)
	b := wire.Backends{DB: wire.DynamoDB(fn), Cache: rdb, Log: fn.Log,
		Images: bucket.New(bucket.NewClient(fn.AWS, fn.Config.S3Endpoint), fn.Config.ImagesBucket)}
	imgs, err := wire.Images(fn.Config, b)
	fn.Must(err)
	wire.WarmFor(fn, b)
	uploaded := bucket.OnCreated(fn.Log, imgs.Uploaded)
	lambda.Start(func(ctx context.Context, raw json.RawMessage) error {
		var probe struct {
			Records    []json.RawMessage `json:"Records"`
			DetailType string            `json:"detail-type"`
		}
		if err := json.Unmarshal(raw, &probe); err != nil {
			return fmt.Errorf("not an event: %w", err)
		}
		if probe.DetailType == "Scheduled Event" {
			_, err := imgs.Sweep(ctx, images.SweepBefore(time.Now()))
			return err
		}
		var ev events.S3Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			return fmt.Errorf("not an S3 event: %w", err)
		}
		return uploaded(ctx, ev)
	})
}
