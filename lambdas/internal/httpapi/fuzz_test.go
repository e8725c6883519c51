package httpapi

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-cdk-shop/shop/lambdas/internal/cart"
	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/orders"
	"github.com/go-cdk-shop/shop/lambdas/internal/testing/memory"
)

// FuzzDecodeProductFields: no body makes the decoder panic, and whatever it and
// the rules accept is within the rules.
func FuzzDecodeProductFields(f *testing.F) {
	for _, seed := range []string{speaker, `{}`, `{"price":1e3}`, `{"name":null}`, `[`, `{"a":1}{"b":2}`, `{"quantity":-0}`,
		`{"name":"\ud800"}`, `{"price":9223372036854775808}`, `{"description":"` + strings.Repeat("é", 4001) + `"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fields, err := DecodeProductFields(body)
		if err != nil || catalog.ValidateCreate(fields) != nil {
			return
		}
		if n := utf8.RuneCountInString(*fields.Name); n < 1 || n > catalog.MaxNameLength {
			t.Fatalf("accepted name of %d characters", n)
		}
		if *fields.Price < 0 || *fields.Price > catalog.MaxPrice || *fields.Quantity < 0 {
			t.Fatalf("accepted price %d quantity %d", *fields.Price, *fields.Quantity)
		}
	})
}

// FuzzDecodeConfirm: no body makes the decoder panic, and a payment it
// accepts has a valid reference, an amount of 0 or more and a currency of
// three capital letters.
func FuzzDecodeConfirm(f *testing.F) {
	for _, seed := range []string{`{"payment_reference":"p-1","amount":2400,"currency":"EUR"}`, `{}`, `{"amount":1e3}`,
		`{"payment_reference":"p","amount":-1,"currency":"EUR"}`, `{"payment_reference":"p","amount":1,"currency":"eur"}`,
		`{"payment_reference":"p","amount":9223372036854775808,"currency":"EUR"}`, `{"payment_reference":"a b","amount":1,"currency":"EUR"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		pay, err := DecodeConfirm(body)
		if err != nil {
			return
		}
		if orders.CheckReference(pay.Reference) != nil || pay.Amount < 0 || !catalog.ValidCurrency(pay.Currency) {
			t.Fatalf("accepted %+v", pay)
		}
	})
}

// FuzzServe: no request body, path or query makes the API answer 5xx.
func FuzzServe(f *testing.F) {
	f.Add("POST", "/products", "", speaker)
	f.Add("GET", "/products", "limit=3&cursor=abc", "")
	f.Add("PATCH", "/products/P123", "", `{"price":-1}`)
	f.Add("DELETE", "/products/%00", "", "")
	rt := newTestRouter(f)
	f.Fuzz(func(t *testing.T, method, path, query, body string) {
		ev := event(rt, method, path, body, admin, map[string]string{"If-Match": query})
		if query != "" {
			ev.QueryStringParameters = map[string]string{"limit": query, "cursor": query, "category": query}
		}
		resp, err := rt.Serve(context.Background(), ev)
		if err != nil || resp.StatusCode >= 500 {
			t.Fatalf("%s %s ?%s %q: %d %s", method, path, query, body, resp.StatusCode, resp.Body)
		}
	})
}

// FuzzCartRequests: no quantity body, session id or product id makes the cart
// answer 5xx, and a 200 only ever holds quantities within the rules.
func FuzzCartRequests(f *testing.F) {
	f.Add("PUT", "P1", "guest-session-0000001", `{"quantity":2}`)
	f.Add("PUT", "P1", "short", `{"quantity":100}`)
	f.Add("PUT", "P1", "guest-session-0000001", `{"quantity":1e2}`)
	f.Add("DELETE", "P1", "", ``)
	f.Add("GET", "", "guest-session-0000001/../x", ``)
	products := memory.NewProducts()
	_ = products.Create(context.Background(), catalog.Product{ProductID: "P1", Name: "One", Price: 100, Currency: "EUR", Quantity: 50})
	memCarts := memory.NewCarts()
	rt := NewRouter(quiet, NewCart(cart.NewService(memCarts, memory.NewSessions(memCarts), products, "EUR", cart.TTLs{User: time.Hour, Guest: time.Hour})).Routes()...)
	f.Fuzz(func(t *testing.T, method, product, session, body string) {
		path := "/cart"
		if product != "" {
			path = "/cart/items/" + product
		}
		resp, err := rt.Serve(context.Background(), event(rt, method, path, body, nil, map[string]string{"X-Session-Id": session}))
		if err != nil || resp.StatusCode >= 500 {
			t.Fatalf("%s %s %q %q: %d %s", method, path, session, body, resp.StatusCode, resp.Body)
		}
		if resp.StatusCode == 200 {
			var c cart.Cart
			if err := json.Unmarshal([]byte(resp.Body), &c); err != nil {
				t.Fatal(err)
			}
			for _, l := range c.Items {
				if l.Quantity < 1 || l.Quantity > cart.MaxQuantity || l.Quantity > 50 {
					t.Fatalf("cart holds %d of %s", l.Quantity, l.ProductID)
				}
			}
		}
	})
}

// FuzzCheckoutHeaders: whatever key and body, CheckKey and DecodeProfile accept
// only what the contract allows.
func FuzzCheckoutHeaders(f *testing.F) {
	for _, seed := range []string{"k1", "", strings.Repeat("k", 129), "a b", "ключ", `{"name":"Ann"}`, `{"name":""}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if orders.CheckKey(s) == nil && (len(s) < 1 || len(s) > 128 || strings.ContainsAny(s, " \t\r\n") || !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r > 126 })) {
			t.Fatalf("key %q accepted", s)
		}
		if name, err := DecodeProfile([]byte(s)); err == nil {
			if n := utf8.RuneCountInString(name); n < 1 || n > orders.MaxNameLength {
				t.Fatalf("name of %d characters accepted", n)
			}
		}
	})
}
