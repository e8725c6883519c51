package pretraffic

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// LifecycleEvent is what CodeDeploy sends a lifecycle hook function
// (CodeDeploy User Guide, "AppSpec 'hooks' section for an AWS Lambda
// deployment").
type LifecycleEvent struct {
	DeploymentID string `json:"DeploymentId"`
	ExecutionID  string `json:"LifecycleEventHookExecutionId"`
}

// Report tells CodeDeploy whether the hook passed: until it does, the
// deployment waits (an hour at most, then fails).
type Report func(ctx context.Context, ev LifecycleEvent, passed bool) error

// PerProbe bounds one probe's invocation: a new version's first request
// includes its init.
const PerProbe = 5 * time.Second

// Hook is the BeforeAllowTraffic hook of one function's deployment.
type Hook struct {
	Probes []Probe
	Invoke Invoke
	Report Report
	Log    *slog.Logger
}

// Handle runs the probes against the new version and reports the result.
// It returns an error only when the report fails (Lambda retries the
// hook, and CodeDeploy fails the deployment if no report ever arrives).
func (h Hook) Handle(ctx context.Context, ev LifecycleEvent) error {
	err := Check(ctx, h.Probes, h.Invoke, PerProbe)
	if err != nil {
		h.Log.ErrorContext(ctx, "pre-traffic check failed: the deployment stops before any traffic", "deployment_id", ev.DeploymentID, "error", err.Error())
	} else {
		h.Log.InfoContext(ctx, "pre-traffic check passed", "deployment_id", ev.DeploymentID, "probes", len(h.Probes))
	}
	if rerr := h.Report(ctx, ev, err == nil); rerr != nil {
		return fmt.Errorf("report to CodeDeploy: %w", rerr)
	}
	return nil
}

// LambdaInvoke invokes target (a version's ARN) synchronously.
func LambdaInvoke(c *lambda.Client, target string) Invoke {
	return func(ctx context.Context, payload []byte) ([]byte, string, error) {
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(target), Payload: payload})
		if err != nil {
			return nil, "", err
		}
		return out.Payload, aws.ToString(out.FunctionError), nil
	}
}

// CodeDeployReport reports through PutLifecycleEventHookExecutionStatus.
func CodeDeployReport(c *codedeploy.Client) Report {
	return func(ctx context.Context, ev LifecycleEvent, passed bool) error {
		status := cdtypes.LifecycleEventStatusSucceeded
		if !passed {
			status = cdtypes.LifecycleEventStatusFailed
		}
		_, err := c.PutLifecycleEventHookExecutionStatus(ctx, &codedeploy.PutLifecycleEventHookExecutionStatusInput{
			DeploymentId: aws.String(ev.DeploymentID), LifecycleEventHookExecutionId: aws.String(ev.ExecutionID), Status: status,
		})
		return err
	}
}
