//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/httpapi"
	"github.com/go-cdk-shop/shop/lambdas/internal/pretraffic"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
	"github.com/go-cdk-shop/shop/lambdas/internal/wire"
)

// The pre-traffic probes of each HTTP function pass against a working
// release, the shop's real handlers on DynamoDB Local and redis-server
// behind the router the function's main builds, and fail when one of the
// routes they call is broken: so a release broken on a quiet route (which a
// 5-minute canary may never call) is stopped before any traffic.
func TestPreTrafficProbesAgainstTheRealShop(t *testing.T) {
	e := newShop(t)
	routes := map[contract.Function][]httpapi.Route{
		contract.Catalog: e.local.Catalog.Routes(), contract.Cart: e.local.Cart.Routes(), contract.Orders: e.local.Orders.Routes(),
	}
	invoke := func(rt *httpapi.Router) pretraffic.Invoke {
		return func(ctx context.Context, payload []byte) ([]byte, string, error) {
			var ev httpapi.Event
			if err := json.Unmarshal(payload, &ev); err != nil {
				return nil, "", err
			}
			reply, err := rt.Serve(ctx, ev)
			if err != nil {
				return []byte(`{"errorMessage":"` + err.Error() + `"}`), "Unhandled", nil
			}
			out, err := json.Marshal(reply)
			return out, "", err
		}
	}
	brokenChecked := 0
	for fn, rs := range routes {
		probes := pretraffic.Probes(fn, time.Now())
		if err := pretraffic.Check(context.Background(), probes, invoke(wire.Router(e.cfg, quiet, string(fn), rs...)), 5*time.Second); err != nil {
			t.Errorf("%s, working: %v", fn, err)
		}
		for _, p := range probes {
			key, probed := strings.CutPrefix(p.Name, "GET ")
			if !probed || !strings.HasPrefix(p.Name, "GET /") || !routeOf(rs, "GET "+key) {
				continue // the catch-all's probe
			}
			brokenChecked++
			broken := breakRoute(rs, "GET "+key)
			err := pretraffic.Check(context.Background(), probes, invoke(wire.Router(e.cfg, quiet, string(fn), broken...)), 5*time.Second)
			if err == nil || !strings.Contains(err.Error(), p.Name) {
				t.Errorf("%s with %s broken: %v, want a failure naming it", fn, p.Name, err)
			}
		}
	}
	if brokenChecked < 6 {
		t.Errorf("%d broken routes checked, want every probed route (6)", brokenChecked)
	}
}

func routeOf(rs []httpapi.Route, key string) bool {
	for _, r := range rs {
		if r.Key() == key {
			return true
		}
	}
	return false
}

// breakRoute is rs with the handler of key failing on every request.
func breakRoute(rs []httpapi.Route, key string) []httpapi.Route {
	out := make([]httpapi.Route, len(rs))
	copy(out, rs)
	for i := range out {
		if out[i].Key() == key {
			out[i].Handle = func(context.Context, *httpapi.Request) (httpapi.Response, error) {
				return httpapi.Response{}, errors.New("broken on purpose")
			}
		}
	}
	return out
}

// The name claim, which a Cognito user may set to anything, is stored by
// the first GET /me without the characters the text rule refuses (issue
// 43), on DynamoDB Local through the real handlers.
func TestTheNameClaimIsStoredStripped(t *testing.T) {
	e := newShop(t)
	route := contract.Route{Method: "GET", Path: "/me", Access: contract.User}
	sub := "name-" + strings.ToLower(shop.NewID("", time.Now()))
	me := func(name string) map[string]any {
		ev := httpapi.NewEvent("GET", "/me", &route, nil, time.Now())
		httpapi.Authorize(&ev, contract.User, map[string]string{"sub": sub, "token_use": "id", "name": name})
		resp, err := e.router.Serve(context.Background(), ev)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET /me = %d %v: %s", resp.StatusCode, err, resp.Body)
		}
		var out map[string]any
		if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := me("Mallory\u202eevil\x1b[2J\u2063")["name"]; got != "Malloryevil[2J" {
		t.Errorf("stored name %q, want it stripped", got)
	}
	if got := me("Someone else")["name"]; got != "Malloryevil[2J" {
		t.Errorf("the profile's name changed to %q on a later read", got)
	}
}
