package wire

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/go-cdk-shop/shop/lambdas/internal/cache"
	"github.com/go-cdk-shop/shop/lambdas/internal/dynamo"
)

// A backend that cannot be reached at init costs the init at most the
// warm-up's budget, is logged, and is left to the first request: the
// function still starts.
func TestWarmUpFailuresAreLoggedNotFatal(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers: a hung backend
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	var logs bytes.Buffer
	awsCfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	b := Backends{
		DB:    dynamo.NewClient(awsCfg, "http://127.0.0.1:1"), // refused
		Cache: cache.NewClient(cache.Options{Addr: l.Addr().String(), Password: func(context.Context) (string, error) { return "", nil }}),
		Log:   slog.New(slog.NewJSONHandler(&logs, nil)),
	}
	start := time.Now()
	b.Warm(context.Background(), "{product:test/warm-up}")
	if took := time.Since(start); took > warmBudget+200*time.Millisecond {
		t.Errorf("warm-up took %v, over its budget of %v", took, warmBudget)
	}
	for _, backend := range []string{`"backend":"dynamodb"`, `"backend":"cache"`} {
		if !strings.Contains(logs.String(), backend) {
			t.Errorf("no warm-up failure logged for %s: %s", backend, logs.String())
		}
	}
}
