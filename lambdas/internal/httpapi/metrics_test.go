package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/metrics"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// A request's metrics ride on its one request line, which carries the
// request id; a request that counts nothing has no metrics directive; a
// cache outage is counted apart from other outages.
func TestRequestLineCarriesTheMetrics(t *testing.T) {
	var buf bytes.Buffer
	rt := NewRouter(slog.New(slog.NewJSONHandler(&buf, nil)),
		Route{contract.Route{Method: http.MethodPost, Path: "/count", Access: contract.Public}, func(ctx context.Context, _ *Request) (Response, error) {
			metrics.Add(ctx, metrics.OrdersPlaced, 1)
			metrics.Add(ctx, metrics.CacheFallbacks, 1)
			metrics.Add(ctx, metrics.CacheFallbacks, 1)
			return Response{Status: 201}, nil
		}},
		Route{contract.Route{Method: http.MethodGet, Path: "/plain", Access: contract.Public}, func(context.Context, *Request) (Response, error) { return Response{Status: 200}, nil }},
		Route{contract.Route{Method: http.MethodGet, Path: "/cache-down", Access: contract.Public}, func(context.Context, *Request) (Response, error) {
			return Response{}, fmt.Errorf("get cart: %w", shop.ErrCacheUnavailable)
		}},
		Route{contract.Route{Method: http.MethodGet, Path: "/table-down", Access: contract.Public}, func(context.Context, *Request) (Response, error) {
			return Response{}, fmt.Errorf("get product: %w", shop.ErrUnavailable)
		}},
	).Named("orders")
	for _, c := range []struct {
		method, path string
		status       int
		want         map[string]float64 // nil: no metrics on the line
	}{
		{"POST", "/count", 201, map[string]float64{metrics.OrdersPlaced: 1, metrics.CacheFallbacks: 2}},
		{"GET", "/plain", 200, nil},
		{"GET", "/cache-down", 503, map[string]float64{metrics.CacheUnavailable: 1}},
		{"GET", "/table-down", 503, nil},
	} {
		buf.Reset()
		ev := Event{Resource: c.path, HTTPMethod: c.method, Path: c.path}
		ev.RequestContext.RequestID = "req-1"
		resp, _ := rt.Serve(context.Background(), ev)
		if resp.StatusCode != c.status {
			t.Fatalf("%s %s = %d", c.method, c.path, resp.StatusCode)
		}
		var requestLines []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatal(err)
			}
			if m["request_id"] != "req-1" {
				t.Errorf("%s: a line without the request id: %s", c.path, line)
			}
			if m["msg"] == "request" {
				requestLines = append(requestLines, m)
				if c.want != nil {
					if err := metrics.Validate([]byte(line)); err != nil {
						t.Errorf("%s: %v: %s", c.path, err, line)
					}
				}
			}
		}
		if len(requestLines) != 1 {
			t.Fatalf("%s: %d request lines, want 1: %s", c.path, len(requestLines), buf.String())
		}
		line := requestLines[0]
		if _, has := line["_aws"]; has != (c.want != nil) {
			t.Errorf("%s: metrics directive %v, want %v", c.path, has, c.want != nil)
		}
		for name, v := range c.want {
			if line[name] != v || line["Function"] != "orders" {
				t.Errorf("%s: %s = %v (function %v), want %v", c.path, name, line[name], line["Function"], v)
			}
		}
	}
}
