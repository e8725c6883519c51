// Package dynamo keeps the shop's records in DynamoDB: products now, orders and
// customers as they arrive. It turns DynamoDB's answers into the shop's errors.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// API is the part of the DynamoDB client the stores use.
type API interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// NewClient returns a DynamoDB client tuned for a request/response API: each
// attempt bounded, a few quick retries, then an honest "unavailable" or
// "throttled" rather than a wait until the Lambda times out. endpoint, when
// set, points at DynamoDB Local. An HTTP client already in cfg (a canned
// transport in a benchmark) is kept.
func NewClient(cfg aws.Config, endpoint string) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		if cfg.HTTPClient == nil {
			o.HTTPClient = attempts{awshttp.NewBuildableClient().WithDialerOptions(func(d *net.Dialer) {
				d.Timeout = dialTimeout
			})}
		}
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = MaxAttempts
			so.MaxBackoff = retryMaxBackoff
		})
		trim(o)
	})
}

// trim takes off the SDK's per-call work that buys this shop nothing (a
// GET of a product is about 15% cheaper without it; BenchmarkGetProduct):
//   - the endpoint rules run once per table, not once per call (endpoints);
//   - the CRC32 of each response is not checked: TLS already guarantees the
//     bytes arrived as sent;
//   - no amz-sdk-invocation-id header: a random UUID per operation that
//     correlates its attempts in AWS's own logs. The shop's lines carry the
//     request id, and the SDK's errors DynamoDB's.
func trim(o *dynamodb.Options) {
	o.EndpointResolverV2 = &endpoints{next: o.EndpointResolverV2}
	o.DisableValidateResponseChecksum = true
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		_, err := s.Build.Remove("ClientRequestID")
		return err
	})
}

// writeRetryer retries a write only when it certainly did not apply: the
// table refused it for load (a throttling code), or the request never left
// (the dial failed). A write whose attempt timed out may have applied: a
// retry would apply a delta twice, or fail its own condition and report a
// conflict that is not one. That write fails fast instead (a 503: the
// caller retries knowing the outcome is open; conditional writes and
// idempotency keys make their retries safe).
var writeRetryer = func(o *dynamodb.Options) {
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = MaxAttempts
		so.MaxBackoff = retryMaxBackoff
		so.Retryables = []retry.IsErrorRetryable{
			retry.RetryableErrorCode{Codes: retry.DefaultThrottleErrorCodes},
			retry.IsErrorRetryableFunc(notSent),
		}
	})
}

// attempts bounds each attempt by AttemptTimeout, but for the calls of a
// budgeted path (withinBudget), whose attempts may take what is left of
// their context's deadline.
type attempts struct{ next aws.HTTPClient }

func (a attempts) Do(req *http.Request) (*http.Response, error) {
	if req.Context().Value(budgetKey{}) != nil {
		return a.next.Do(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), AttemptTimeout)
	resp, err := a.next.Do(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{resp.Body, cancel}
	return resp, nil
}

// cancelOnClose ends an attempt's context once its body is read and closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

type budgetKey struct{}

// withinBudget marks the calls of a path that has its own deadline and
// whose writes are idempotent (a checkout's claim carries its token, its
// transaction a ClientRequestToken), so that repeating one is safe. A busy
// table's queue is waited out rather than abandoned at AttemptTimeout and
// sent again (an abandoned attempt still runs, and adds to the queue); and
// throttling is retried while time remains, without the client's shared
// retry quota (one process may serve many such paths at once: the local
// API, a flash sale). Without a deadline ctx is left as it is.
func withinBudget(ctx context.Context) (context.Context, func(*dynamodb.Options)) {
	if _, ok := ctx.Deadline(); !ok {
		return ctx, func(*dynamodb.Options) {}
	}
	return context.WithValue(ctx, budgetKey{}, true), budgetRetryer
}

var budgetRetryer = func(o *dynamodb.Options) {
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = budgetAttempts
		so.MaxBackoff = retryMaxBackoff
		so.RateLimiter = ratelimit.None
	})
}

// notSent says whether err is a connection that was never made.
func notSent(err error) aws.Ternary {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
}

// The budget of one DynamoDB call: at most MaxAttempts attempts of at most
// AttemptTimeout each (a key read or write takes a few milliseconds; a
// transaction of 100 items well under 100), with backoffs of at most
// retryMaxBackoff between them: a hung table is a 503 within 3 seconds.
const (
	AttemptTimeout  = 700 * time.Millisecond
	MaxAttempts     = 3
	dialTimeout     = 300 * time.Millisecond
	budgetAttempts  = 8
	retryMaxBackoff = 150 * time.Millisecond
)

// classify turns a DynamoDB failure into the shop's vocabulary, keeping the
// original for the logs.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded":
			return fmt.Errorf("%s: %w: %w", op, shop.ErrThrottled, err)
		case "InternalServerError", "ServiceUnavailable":
			return fmt.Errorf("%s: %w: %w", op, shop.ErrUnavailable, err)
		}
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w: %w", op, shop.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

func isConditionFailed(err error) (*types.ConditionalCheckFailedException, bool) {
	var ccf *types.ConditionalCheckFailedException
	ok := errors.As(err, &ccf)
	return ccf, ok
}

// LocalConfig is the SDK configuration for DynamoDB Local: any static
// credentials and region do.
func LocalConfig() aws.Config {
	return aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}
}
