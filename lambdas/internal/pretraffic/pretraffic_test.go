package pretraffic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/authorizer"
	"github.com/go-cdk-shop/shop/lambdas/internal/httpapi"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

var quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

// fakeAWS answers the two APIs the hook calls, as the real SDK sends them:
// Lambda's Invoke (REST-JSON) runs handle on the payload, CodeDeploy's
// PutLifecycleEventHookExecutionStatus (JSON 1.1) records the status.
type fakeAWS struct {
	handle     func(payload []byte) ([]byte, error)
	mu         sync.Mutex
	statuses   []string
	reportFail bool
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	switch {
	case strings.HasPrefix(r.URL.Path, "/2015-03-31/functions/") && strings.HasSuffix(r.URL.Path, "/invocations"):
		reply, err := f.handle(body)
		if err != nil {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			reply, _ = json.Marshal(map[string]string{"errorMessage": err.Error(), "errorType": "errorString"})
		}
		w.Header().Set("X-Amz-Executed-Version", "7")
		_, _ = w.Write(reply)
	case r.Header.Get("X-Amz-Target") == "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus":
		if f.reportFail {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(400)
			_, _ = io.WriteString(w, `{"__type":"LifecycleEventAlreadyCompletedException","message":"already completed"}`)
			return
		}
		var in struct{ DeploymentId, LifecycleEventHookExecutionId, Status string }
		_ = json.Unmarshal(body, &in)
		f.mu.Lock()
		f.statuses = append(f.statuses, in.DeploymentId+"/"+in.LifecycleEventHookExecutionId+" "+in.Status)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = io.WriteString(w, `{"lifecycleEventHookExecutionId":"`+in.LifecycleEventHookExecutionId+`"}`)
	default:
		http.Error(w, "unexpected "+r.URL.Path, 404)
	}
}

// hookAgainst is the hook of fn as cmd/pretraffic wires it, with the real
// SDK clients pointed at f.
func hookAgainst(t *testing.T, fn contract.Function, f *fakeAWS) Hook {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), RetryMaxAttempts: 1}
	lc := lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	cd := codedeploy.NewFromConfig(cfg, func(o *codedeploy.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	return Hook{Probes: Probes(fn, time.Now()), Invoke: LambdaInvoke(lc, "arn:aws:lambda:eu-west-1:1:function:f:7"), Report: CodeDeployReport(cd), Log: quiet}
}

// routerOf serves fn's routes of the table through the real router; each
// handler answers as a working release does (an empty list, or 404 for an
// id), unless broken names it.
func routerOf(fn contract.Function, broken map[string]httpapi.HandlerFunc) func([]byte) ([]byte, error) {
	var routes []httpapi.Route
	for _, r := range contract.RoutesOf(fn) {
		h := func(_ context.Context, req *httpapi.Request) (httpapi.Response, error) {
			if len(req.Params) > 0 {
				return httpapi.Response{}, errNotFound
			}
			return httpapi.Response{Status: 200, Body: map[string]any{"items": []any{}}}, nil
		}
		if b, ok := broken[r.Key()]; ok {
			h = b
		}
		routes = append(routes, httpapi.Route{Route: r, Handle: h})
	}
	rt := httpapi.NewRouter(quiet, routes...).Named(string(fn))
	return func(payload []byte) ([]byte, error) {
		var ev httpapi.Event
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, err
		}
		reply, err := rt.Serve(context.Background(), ev)
		if err != nil {
			return nil, err
		}
		return json.Marshal(reply)
	}
}

var errNotFound = fmt.Errorf("get: %w", shop.ErrNotFound)

func failing(context.Context, *httpapi.Request) (httpapi.Response, error) {
	return httpapi.Response{}, errors.New("decode: unexpected attribute")
}

func panicking(context.Context, *httpapi.Request) (httpapi.Response, error) {
	panic("broken on purpose")
}

// The hook reports Succeeded for a working release and Failed for one whose
// handler fails, panics, refuses the synthetic caller, or whose invocation
// fails: through the real SDK clients and the real router.
func TestTheHookStopsABrokenRelease(t *testing.T) {
	for _, c := range []struct {
		name   string
		fn     contract.Function
		handle func([]byte) ([]byte, error)
		want   string
	}{
		{"orders, working", contract.Orders, routerOf(contract.Orders, nil), "Succeeded"},
		{"orders, GET /orders fails", contract.Orders, routerOf(contract.Orders, map[string]httpapi.HandlerFunc{"GET /orders": failing}), "Failed"},
		{"orders, GET /orders/{order_id} panics", contract.Orders, routerOf(contract.Orders, map[string]httpapi.HandlerFunc{"GET /orders/{order_id}": panicking}), "Failed"},
		{"cart, working", contract.Cart, routerOf(contract.Cart, nil), "Succeeded"},
		{"cart, refuses every caller", contract.Cart, routerOf(contract.Cart, map[string]httpapi.HandlerFunc{"GET /cart": func(context.Context, *httpapi.Request) (httpapi.Response, error) {
			return httpapi.Response{}, shop.ErrUnauthenticated
		}}), "Failed"},
		{"catalog, working", contract.Catalog, routerOf(contract.Catalog, nil), "Succeeded"},
		{"catalog, GET /trending fails", contract.Catalog, routerOf(contract.Catalog, map[string]httpapi.HandlerFunc{"GET /trending": failing}), "Failed"},
		{"catalog, an answer that is not JSON", contract.Catalog, func([]byte) ([]byte, error) { return []byte(`{"statusCode":200,"body":"<html>"}`), nil }, "Failed"},
		{"an invocation that fails", contract.Catalog, func([]byte) ([]byte, error) { return nil, errors.New("init failed") }, "Failed"},
		{"authorizer, working", contract.Authorizer, authorizerOf(authorizer.Handler{Tokens: refuseAll{}}), "Succeeded"},
		{"authorizer, denies everyone", contract.Authorizer, authorizerOf(denyAll{}), "Failed"},
		{"authorizer, allows every token", contract.Authorizer, authorizerOf(authorizer.Handler{Tokens: acceptAll{}}), "Failed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeAWS{handle: c.handle}
			if err := hookAgainst(t, c.fn, f).Handle(context.Background(), LifecycleEvent{DeploymentID: "d-1", ExecutionID: "e-1"}); err != nil {
				t.Fatal(err)
			}
			if len(f.statuses) != 1 || f.statuses[0] != "d-1/e-1 "+c.want {
				t.Errorf("reported %v, want d-1/e-1 %s", f.statuses, c.want)
			}
		})
	}
}

// A report CodeDeploy refuses is the hook's error: Lambda retries it, and
// the deployment fails if no report ever arrives.
func TestAReportThatFailsIsAnError(t *testing.T) {
	f := &fakeAWS{handle: routerOf(contract.Orders, nil), reportFail: true}
	if err := hookAgainst(t, contract.Orders, f).Handle(context.Background(), LifecycleEvent{DeploymentID: "d", ExecutionID: "e"}); err == nil {
		t.Fatal("no error when the report failed")
	}
}

// Every function the deployments check has probes, and every probe of an
// HTTP function is a read: a GET.
func TestEveryCheckedFunctionHasReadOnlyProbes(t *testing.T) {
	for _, fn := range contract.PreTrafficChecked() {
		probes := Probes(fn, time.Now())
		if len(probes) == 0 {
			t.Errorf("%s: no probes", fn)
		}
		for _, p := range probes {
			if ev, ok := p.Payload.(httpapi.Event); ok && ev.HTTPMethod != http.MethodGet {
				t.Errorf("%s: probe %s is a %s", fn, p.Name, ev.HTTPMethod)
			}
			if ev, ok := p.Payload.(httpapi.Event); ok && ev.Path == "/me" {
				t.Errorf("%s: GET /me creates the profile: not a read", fn)
			}
		}
	}
	if err := Check(context.Background(), nil, nil, time.Second); err == nil {
		t.Error("a check with no probes passed")
	}
}

func authorizerOf(h interface {
	Handle(context.Context, events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error)
}) func([]byte) ([]byte, error) {
	return func(payload []byte) ([]byte, error) {
		var req events.APIGatewayCustomAuthorizerRequestTypeRequest
		if err := json.Unmarshal(payload, &req); err != nil {
			return nil, err
		}
		resp, err := h.Handle(context.Background(), req)
		if err != nil {
			return nil, err
		}
		return json.Marshal(resp)
	}
}

type refuseAll struct{}

func (refuseAll) Verify(string) (map[string]string, error) { return nil, errors.New("bad token") }

type acceptAll struct{}

func (acceptAll) Verify(string) (map[string]string, error) { return map[string]string{"sub": "x"}, nil }

type denyAll struct{}

func (denyAll) Handle(_ context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	return events.APIGatewayCustomAuthorizerResponse{PrincipalID: "x", PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17",
		Statement: []events.IAMPolicyStatement{{Action: []string{"execute-api:Invoke"}, Effect: "Deny", Resource: []string{req.MethodArn}}}}}, nil
}
