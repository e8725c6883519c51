// Package pretraffic is the check a deployment runs before a new version
// of a function takes any traffic (CodeDeploy's BeforeAllowTraffic hook):
// it invokes the new version directly with read-only requests built as the
// local API builds them, with a synthetic caller in the authorizer's
// context, and fails the deployment on an invocation error, a 5xx, a
// malformed answer, or a valid caller refused. A 5-minute canary sends a
// quiet route no request; this check sends each probe once.
package pretraffic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/authorizer"
	"github.com/go-cdk-shop/shop/lambdas/internal/httpapi"
)

// Caller is the synthetic signed-in customer of the probes: a sub no
// Cognito pool issues (Cognito's subs are UUIDs), with an ID token's
// token_use, so the functions read it as a caller. Nothing the probes call
// writes for it.
var Caller = map[string]string{"sub": "pretraffic-check", "token_use": "id", "email_verified": "false"}

// Probe is one read-only invocation of the version under test and the
// answers it may give.
type Probe struct {
	Name    string
	Payload any
	judge   func(raw []byte) error
}

// Probes are fn's probes; none for a function that serves no request.
// Every probe reads: no route that writes is called (GET /me creates the
// profile on first read, so it is not probed).
func Probes(fn contract.Function, now time.Time) []Probe {
	switch fn {
	case contract.Catalog:
		return []Probe{
			get(now, "GET /products", "/products", nil, contract.Public, nil, 200),
			get(now, "GET /products/{product_id}", "/products/pretraffic-check", map[string]string{"product_id": "pretraffic-check"}, contract.Public, nil, 400, 404),
			get(now, "GET /trending", "/trending", nil, contract.Public, nil, 200),
			// The catch-all methods reach the catalogue: an unknown path is a 404 problem.
			get(now, "", "/pretraffic-check/no-such-path", nil, contract.Public, nil, 404),
		}
	case contract.Cart:
		return []Probe{get(now, "GET /cart", "/cart", nil, contract.Guest, Caller, 200)}
	case contract.Orders:
		return []Probe{
			get(now, "GET /orders", "/orders", nil, contract.User, Caller, 200),
			get(now, "GET /orders/{order_id}", "/orders/pretraffic-check", map[string]string{"order_id": "pretraffic-check"}, contract.User, Caller, 400, 404),
		}
	case contract.Authorizer:
		arn := "arn:aws:execute-api:us-east-1:000000000000:pretraffic/shop/GET/cart"
		return []Probe{
			decide("a guest (no token) is allowed", authorizer.Request(arn, nil), arn, "Allow"),
			decide("a malformed token is denied", authorizer.Request(arn, map[string]string{contract.HeaderAuthorization: "Bearer pretraffic-check"}), arn, "Deny"),
		}
	}
	return nil
}

// get is a GET of path on route key (empty: no route, the catch-all) by
// caller, whose answer must have one of the statuses.
func get(now time.Time, key, path string, params map[string]string, access contract.Access, caller map[string]string, statuses ...int) Probe {
	var route *contract.Route
	if r, ok := contract.RouteByKey(key); ok {
		route = &r
	}
	ev := httpapi.NewEvent("GET", path, route, params, now)
	ev.Headers["User-Agent"] = "shop-pretraffic"
	httpapi.Authorize(&ev, access, caller)
	name := "GET " + path
	if key != "" {
		name = key
	}
	return Probe{Name: name, Payload: ev, judge: func(raw []byte) error { return judgeReply(raw, statuses) }}
}

// judgeReply accepts a proxy answer with one of statuses, the request id,
// and a JSON body (a problem+json one for a refusal).
func judgeReply(raw []byte, statuses []int) error {
	var r httpapi.Reply
	if err := json.Unmarshal(raw, &r); err != nil || r.StatusCode == 0 {
		return fmt.Errorf("not a proxy answer: %.200s", raw)
	}
	if !slices.Contains(statuses, r.StatusCode) {
		return fmt.Errorf("status %d, want one of %v: %.300s", r.StatusCode, statuses, r.Body)
	}
	header := func(name string) string { return httpapi.HeaderOf(r.Headers, name) }
	if header(contract.HeaderRequestID) == "" {
		return errors.New("no " + contract.HeaderRequestID)
	}
	if r.Body != "" && !json.Valid([]byte(r.Body)) {
		return fmt.Errorf("a body that is not JSON: %.200s", r.Body)
	}
	if mt, _, _ := mime.ParseMediaType(header(contract.HeaderContentType)); r.StatusCode >= 400 && mt != "application/problem+json" {
		return fmt.Errorf("a refusal of type %q, not a problem", mt)
	}
	return nil
}

// decide is an authorizer request whose policy must have effect for arn.
func decide(name string, req events.APIGatewayCustomAuthorizerRequestTypeRequest, arn, effect string) Probe {
	return Probe{Name: "authorizer: " + name, Payload: req, judge: func(raw []byte) error {
		var r events.APIGatewayCustomAuthorizerResponse
		if err := json.Unmarshal(raw, &r); err != nil || len(r.PolicyDocument.Statement) == 0 {
			return fmt.Errorf("not a policy: %.200s", raw)
		}
		for _, st := range r.PolicyDocument.Statement {
			if st.Effect != effect || !slices.Contains(st.Resource, arn) || !slices.Contains(st.Action, "execute-api:Invoke") {
				return fmt.Errorf("policy %+v, want %s of %s", r.PolicyDocument.Statement, effect, arn)
			}
		}
		return nil
	}}
}

// Invoke calls the version under test with payload and returns its answer;
// functionError is Lambda's X-Amz-Function-Error (the handler returned an
// error, panicked or timed out).
type Invoke func(ctx context.Context, payload []byte) (reply []byte, functionError string, err error)

// Check runs every probe once, each within perProbe, and returns every
// failure, joined; nil when all pass.
func Check(ctx context.Context, probes []Probe, invoke Invoke, perProbe time.Duration) error {
	if len(probes) == 0 {
		return errors.New("no probes: nothing would be checked")
	}
	var errs []error
	for _, p := range probes {
		payload, err := json.Marshal(p.Payload)
		if err != nil {
			return fmt.Errorf("%s: %w", p.Name, err)
		}
		pctx, cancel := context.WithTimeout(ctx, perProbe)
		reply, fnErr, err := invoke(pctx, payload)
		cancel()
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: invoke: %w", p.Name, err))
		case fnErr != "":
			errs = append(errs, fmt.Errorf("%s: the function failed (%s): %.300s", p.Name, fnErr, reply))
		default:
			if err := p.judge(reply); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}
