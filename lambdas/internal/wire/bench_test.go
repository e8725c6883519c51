package wire

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/dynamo"
	"github.com/go-cdk-shop/shop/lambdas/internal/httpapi"
	"github.com/go-cdk-shop/shop/lambdas/internal/lambdaenv"
	"github.com/go-cdk-shop/shop/lambdas/internal/testing/memory"
)

// cannedDynamo answers every DynamoDB call with one GetItem response, in memory:
// the benchmark measures our code and the SDK, not a network.
type cannedDynamo struct{ body []byte }

func (c cannedDynamo) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{
		StatusCode: 200, Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
		Body: io.NopCloser(bytes.NewReader(c.body)), ContentLength: int64(len(c.body)), Request: r,
	}, nil
}

const getItemResponse = `{"Item":{"product_id":{"S":"P123"},"name":{"S":"Bluetooth Speaker"},"description":{"S":"Loud"},` +
	`"price":{"N":"4500"},"currency":{"S":"EUR"},"category":{"S":"Electronics"},"quantity":{"N":"10"},"version":{"N":"3"},` +
	`"created_at":{"S":"2026-01-01T00:00:00Z"},"updated_at":{"S":"2026-01-02T00:00:00Z"}}}`

// BenchmarkGetProduct is one GET /products/{product_id} through the router, the
// catalogue, the DynamoDB store and the SDK, with the SDK client built once, as
// in a warm Lambda.
func BenchmarkGetProduct(b *testing.B) {
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "TOKEN"),
		HTTPClient: cannedDynamo{[]byte(getItemResponse)}}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	shopCfg := lambdaenv.Config{ProductsTable: "Products", CursorSecret: strings.Repeat("k", 32), Currency: "EUR", ImagesBaseURL: "https://cdn.invalid"}
	catalog, err := Catalog(shopCfg, Backends{DB: dynamo.NewClient(cfg, ""), Images: memory.NewBucket(), Log: log})
	if err != nil {
		b.Fatal(err)
	}
	rt := Router(shopCfg, log, string(contract.Catalog), catalog.Routes()...)
	ev := httpapi.Event{Resource: "/products/{product_id}", HTTPMethod: "GET", Path: "/products/P123",
		PathParameters: map[string]string{"product_id": "P123"}}
	ev.RequestContext.RequestID = "bench"
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, _ := rt.Serve(ctx, ev)
		if resp.StatusCode != 200 {
			b.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
	}
}
