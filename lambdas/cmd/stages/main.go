// Command stages lists the shop's stages in the account and region of the
// caller's AWS credentials (make stages): owner, last deploy, expiry, status,
// and what the reaper would do with each now.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/go-cdk-shop/shop/lambdas/internal/reaper"
)

func main() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fail(err)
	}
	stacks, err := reaper.Stacks(ctx, cloudformation.NewFromConfig(cfg))
	if err != nil {
		fail(fmt.Errorf("%w (make stages needs AWS credentials for the account: AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)", err))
	}
	if err := reaper.Table(os.Stdout, stacks, time.Now().UTC()); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "stages:", err)
	os.Exit(1)
}
