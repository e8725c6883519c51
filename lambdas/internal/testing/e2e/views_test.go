//go:build integration

package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// Every writer of products tells the cache: a product read through the API
// right after checkout, cancel or expiry shows the stock they held or
// returned, though the read before had filled the cache.
func TestProductReadsFollowEveryWriter(t *testing.T) {
	e := newShop(t)
	e.addProduct(t, "A", 500, 10)
	u := user(shop.NewID("u", time.Now()))
	quantity := func(want int64, after string) {
		t.Helper()
		resp := e.call(t, who{}, http.MethodGet, "/products/A", "")
		expect(t, resp, 200, "read after "+after)
		if p := decode[catalog.Product](t, resp); p.Quantity != want {
			t.Fatalf("after %s: quantity %d, want %d", after, p.Quantity, want)
		}
	}
	quantity(10, "nothing") // fills the cache
	quantity(10, "nothing")
	o := e.checkout(t, u, "A", 3)
	quantity(7, "checkout")
	expect(t, e.call(t, u, http.MethodPost, "/orders/"+o.OrderID+"/cancel", ""), 200, "cancel")
	quantity(10, "cancel")
	expect(t, e.call(t, admin, http.MethodPatch, "/products/A", `{"quantity_delta":-4}`), 200, "stock -4")
	quantity(6, "an update")
	e.checkout(t, u, "A", 2)
	quantity(4, "a second checkout")
	e.clock.move(time.Hour)
	if run, err := e.lifecycle.ExpireDue(context.Background(), 10, 4); err != nil || run.Expired != 1 {
		t.Fatalf("expired %d, %v", run.Expired, err)
	}
	quantity(6, "expiry")
}

func TestTrendingRoute(t *testing.T) {
	e := newShop(t)
	for _, id := range []string{"A", "B", "C"} {
		e.addProduct(t, id, 100, 1)
	}
	for id, n := range map[string]int{"A": 1, "B": 3, "C": 2} {
		for range n {
			expect(t, e.call(t, who{}, http.MethodGet, "/products/"+id, ""), 200, "view "+id)
		}
	}
	expect(t, e.call(t, who{}, http.MethodGet, "/products", ""), 200, "a list page, which counts no view")
	type trending struct {
		Items []struct {
			Product catalog.Product `json:"product"`
			Views   int64           `json:"views"`
		} `json:"items"`
		Window string `json:"window"`
	}
	resp := e.call(t, who{}, http.MethodGet, "/trending?limit=2", "")
	expect(t, resp, 200, "trending")
	got := decode[trending](t, resp)
	if got.Window != "24h" || len(got.Items) != 2 || got.Items[0].Product.ProductID != "B" || got.Items[0].Views != 3 ||
		got.Items[1].Product.ProductID != "C" || got.Items[1].Views != 2 || got.Items[0].Product.Name == "" {
		t.Fatalf("trending = %+v", got)
	}
	expect(t, e.call(t, admin, http.MethodDelete, "/products/B", ""), 204, "delete B")
	got = decode[trending](t, e.call(t, who{}, http.MethodGet, "/trending?category=Things", ""))
	if len(got.Items) != 2 || got.Items[0].Product.ProductID != "C" || got.Items[1].Product.ProductID != "A" {
		t.Fatalf("trending after deleting B = %+v", got)
	}
	for _, q := range []string{"?limit=0", "?limit=51", "?limit=x", "?category=", "?sort=views", "?limit=1.5"} {
		resp := e.call(t, who{}, http.MethodGet, "/trending"+q, "")
		expect(t, resp, 400, "trending"+q)
		if resp.Headers["Content-Type"] != "application/problem+json" {
			t.Errorf("trending%s: content type %q", q, resp.Headers["Content-Type"])
		}
	}
}
