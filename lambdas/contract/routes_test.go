package contract

import (
	"regexp"
	"slices"
	"testing"
)

// Each route key is written once, is a route key API Gateway accepts, names
// a function that exists, and says who may call it; only the routes that
// move stock get the checkout limit.
func TestRouteTable(t *testing.T) {
	key := regexp.MustCompile(`^(GET|POST|PUT|PATCH|DELETE) (/[a-z]+|/\{[a-z_]+\})+$`)
	access := []Access{Public, Guest, User, Staff, Payment}
	seen := map[string]bool{}
	for _, r := range Routes() {
		t.Run(r.Key(), func(t *testing.T) {
			if !key.MatchString(r.Key()) {
				t.Errorf("%q is not a route key", r.Key())
			}
			if seen[r.Key()] {
				t.Errorf("%s is listed twice", r.Key())
			}
			seen[r.Key()] = true
			if !slices.Contains(Functions(), r.Function) {
				t.Errorf("function %q does not exist", r.Function)
			}
			if !slices.Contains(access, r.Access) {
				t.Errorf("access %q is none of %v", r.Access, access)
			}
			if (r.Access == Payment) != (len(r.Scopes()) > 0) {
				t.Errorf("scopes %v with access %s", r.Scopes(), r.Access)
			}
			if r.Throttle == StockThrottle && r.Method != "POST" {
				t.Errorf("the checkout limit on a %s route", r.Method)
			}
		})
	}
	var fns []Function
	for _, fn := range HTTPFunctions() {
		fns = append(fns, fn)
		if len(RoutesOf(fn)) == 0 {
			t.Errorf("%s serves no route", fn)
		}
	}
	if !slices.Equal(fns, []Function{Catalog, Cart, Orders}) {
		t.Errorf("HTTP functions %v", fns)
	}
	if !slices.Contains(fns, DefaultRouteFunction) {
		t.Errorf("the catch-all methods go to %s, which serves no route", DefaultRouteFunction)
	}
}

// The routes the edge limits per client are the ones that cost the most:
// every write a shopper or guest makes that moves stock, writes the cache or
// makes a session. Staff's and the payment integration's are not (a machine
// client would be limited by its one token).
func TestCostlyRoutes(t *testing.T) {
	for _, r := range Routes() {
		want := r.Method != "GET" && (r.Access == Guest || r.Access == User && (r.Throttle == StockThrottle || r.Function == Cart)) ||
			r.Key() == "POST /sessions"
		if r.Access == Guest && r.Key() == "DELETE /sessions/current" {
			want = false // ends a session: cheap, and a guest must always be able to
		}
		if r.Costly != want {
			t.Errorf("%s: costly %v, want %v", r.Key(), r.Costly, want)
		}
	}
	if len(CostlyRoutes()) != 7 {
		t.Errorf("%d costly routes, want 7", len(CostlyRoutes()))
	}
}
