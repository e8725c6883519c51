package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/metrics"
	"github.com/go-cdk-shop/shop/lambdas/internal/orders"
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
		{"GET", "/cache-down", 503, map[string]float64{metrics.CacheUnavailable: 1, contract.MetricFailedAnswers: 1}},
		{"GET", "/table-down", 503, map[string]float64{contract.MetricFailedAnswers: 1}},
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
			if line[name] != v {
				t.Errorf("%s: %s = %v, want %v", c.path, name, line[name], v)
			}
			if name == contract.MetricFailedAnswers && (line[contract.DimFunctionName] != "orders" || line[contract.DimVersion] != "$LATEST") {
				t.Errorf("%s: failed answers of %v version %v, want orders $LATEST (no release named)", c.path, line[contract.DimFunctionName], line[contract.DimVersion])
			}
			if name != contract.MetricFailedAnswers && line["Function"] != "orders" {
				t.Errorf("%s: %s of function %v", c.path, name, line["Function"])
			}
		}
	}
}

// A release whose handler fails on every request, or panics, answers 500
// problems and returns no error to Lambda, so Lambda's Errors never see it:
// each such answer counts one FailedAnswers for the version that ran, which
// is what the deployment's rollback alarm reads (stacks: LiveFailedAnswers).
// An event the router cannot read is an invocation error, which Lambda's
// Errors do count. Each case goes through the real router.
func TestABrokenReleaseIsSeenByItsRollbackSignals(t *testing.T) {
	release := metrics.Release{FunctionName: "Shop-prod-Api-OrdersFunction-ab12", Version: "7"}
	var buf bytes.Buffer
	rt := NewRouter(slog.New(slog.NewJSONHandler(&buf, nil)),
		Route{contract.Route{Method: http.MethodGet, Path: "/fails", Access: contract.Public}, func(context.Context, *Request) (Response, error) {
			return Response{}, fmt.Errorf("decode product: %w", errors.New("unexpected attribute type"))
		}},
		Route{contract.Route{Method: http.MethodGet, Path: "/panics", Access: contract.Public}, func(context.Context, *Request) (Response, error) {
			panic("broken on purpose")
		}},
		Route{contract.Route{Method: http.MethodGet, Path: "/works", Access: contract.Public}, func(context.Context, *Request) (Response, error) {
			return Response{Status: 200, Body: map[string]string{}}, nil
		}},
	).Named("orders").Releasing(release)
	for _, c := range []struct {
		name     string
		ev       Event
		status   int
		invokErr bool
		failed   float64 // FailedAnswers on the request line
	}{
		{"a handler that fails", Event{Resource: "/fails", HTTPMethod: "GET", Path: "/fails"}, 500, false, 1},
		{"a handler that panics", Event{Resource: "/panics", HTTPMethod: "GET", Path: "/panics"}, 500, false, 1},
		{"a handler that works", Event{Resource: "/works", HTTPMethod: "GET", Path: "/works"}, 200, false, 0},
		{"an unknown path", Event{Resource: "/{proxy+}", HTTPMethod: "GET", Path: "/nowhere"}, 404, false, 0},
		{"another payload format's event", Event{Path: "/works"}, 0, true, 0},
		{"no resource", Event{HTTPMethod: "GET", Path: "/works"}, 0, true, 0},
		{"an empty event", Event{}, 0, true, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			buf.Reset()
			resp, err := rt.Serve(context.Background(), c.ev)
			if (err != nil) != c.invokErr || resp.StatusCode != c.status {
				t.Fatalf("status %d, invocation error %v; want %d, error %v", resp.StatusCode, err, c.status, c.invokErr)
			}
			var line map[string]any
			for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				var m map[string]any
				_ = json.Unmarshal([]byte(l), &m)
				if m["msg"] == "request" {
					line = m
					if _, has := m["_aws"]; has {
						if err := metrics.Validate([]byte(l)); err != nil {
							t.Errorf("%v: %s", err, l)
						}
					}
				}
			}
			if c.invokErr {
				if line != nil {
					t.Errorf("an unreadable event wrote a request line: %v", line)
				}
				return
			}
			got, _ := line[contract.MetricFailedAnswers].(float64)
			if got != c.failed {
				t.Fatalf("FailedAnswers %v, want %v: %v", got, c.failed, line)
			}
			if c.failed > 0 && (line[contract.DimFunctionName] != release.FunctionName || line[contract.DimVersion] != release.Version) {
				t.Errorf("counted for %v version %v, want %+v", line[contract.DimFunctionName], line[contract.DimVersion], release)
			}
		})
	}
}

// The token's name claim, which its owner may set to anything, reaches the
// handlers without the characters free text may not hold, and cut to a
// profile name's length (issue 43: a name with U+202E and an escape
// sequence was stored verbatim by checkout and GET /me).
func TestTheNameClaimIsStrippedNotRefused(t *testing.T) {
	var got string
	rt := NewRouter(slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Route{contract.Route{Method: http.MethodGet, Path: "/me", Access: contract.User}, func(_ context.Context, r *Request) (Response, error) {
			got = r.Identity.Name
			return Response{Status: 200}, nil
		}})
	for claim, want := range map[string]string{
		"Zoë Ångström":             "Zoë Ångström",
		"Mallory\u202eevil\x1b[2J": "Malloryevil[2J",
		"  \u3164Eve\u2063  ":      "Eve",
		strings.Repeat("ab", 1024): strings.Repeat("ab", orders.MaxNameLength/2),
		"\u200b\u200b":             "",
	} {
		ev := NewEvent(http.MethodGet, "/me", &contract.Route{Method: http.MethodGet, Path: "/me", Access: contract.User}, nil, time.Now())
		Authorize(&ev, contract.User, map[string]string{"sub": "u1", "token_use": "id", "name": claim})
		if resp, _ := rt.Serve(context.Background(), ev); resp.StatusCode != 200 || got != want {
			t.Errorf("name claim %q: %d, handler saw %q, want %q", claim, resp.StatusCode, got, want)
		}
	}
}
