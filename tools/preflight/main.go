// Command preflight asks an account, read-only and in seconds, what a
// stage's first deploy would hit: a missing or old CDK bootstrap in a region
// the stage targets, too little Lambda concurrency for its reservations, no
// room for its cache or origin access control, and for prod an alarm topic
// nobody hears and a user pool on Cognito's default sender. It reads what
// the deploy would create from the synthesized cloud assembly. make preflight
// runs it; make deploy runs it first.
//
//	preflight -assembly cdk.out -stage dev-alice
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func main() {
	dir := flag.String("assembly", "cdk.out", "the synthesized cloud assembly")
	stage := flag.String("stage", "", "the stage to deploy")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	os.Exit(run(ctx, os.Stdout, *dir, *stage))
}

func run(ctx context.Context, w io.Writer, dir, stage string) int {
	p, err := ReadPlan(dir, stage)
	if err != nil {
		fmt.Fprintln(w, "preflight:", err)
		return 1
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err == nil {
		_, err = cfg.Credentials.Retrieve(ctx)
	}
	if err != nil {
		fmt.Fprintln(w, "preflight: no AWS credentials: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) for the target account")
		return 1
	}
	if cfg.Region == "" {
		fmt.Fprintln(w, "preflight: no region: set AWS_REGION, or a region in the profile (the region of the stage's stacks that pin none)")
		return 1
	}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		fmt.Fprintln(w, "preflight: the credentials do not work:", err)
		return 1
	}
	a := Account{ID: aws.ToString(id.Account), Region: cfg.Region, Config: func(region string) aws.Config {
		c := cfg.Copy()
		c.Region = region
		return c
	}}
	return Report(w, p, a, Run(ctx, p, a))
}

// Report prints one line per check, and the fix under each failure; it
// returns the exit status (1 when any check failed).
func Report(w io.Writer, p Plan, a Account, results []Result) int {
	fmt.Fprintf(w, "preflight of stage %s in account %s (%d stacks)\n", p.Stage, a.ID, len(p.Stacks))
	failed := 0
	for _, r := range results {
		mark := "ok  "
		if !r.OK {
			mark, failed = "FAIL", failed+1
		}
		fmt.Fprintf(w, "%s %s: %s\n", mark, r.Check, r.Found)
		if !r.OK && r.Fix != "" {
			fmt.Fprintf(w, "     fix: %s\n", r.Fix)
		}
	}
	if failed > 0 {
		fmt.Fprintf(w, "%d of %d checks failed: the deploy would fail or misbehave\n", failed, len(results))
		return 1
	}
	fmt.Fprintf(w, "all %d checks passed\n", len(results))
	return 0
}
