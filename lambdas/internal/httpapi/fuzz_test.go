package httpapi

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
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
