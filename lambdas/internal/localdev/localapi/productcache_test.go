package localapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-cdk-shop/shop/lambdas/internal/productcache"
)

func TestProductCacheSwitch(t *testing.T) {
	c := productcache.New(nil, slog.Default(), "local", "Products") // the switch and the counters touch no server
	h := ProductCache(c)
	for _, tc := range []struct {
		method, body string
		status       int
		enabled      bool
	}{
		{"GET", "", 200, true},
		{"PUT", `{"enabled":false}`, 200, false},
		{"PUT", `{}`, 400, false},
		{"PUT", `{"enabled":"no"}`, 400, false},
		{"DELETE", "", 405, false},
		{"PUT", `{"enabled":true}`, 200, true},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tc.method, "/local/product-cache", strings.NewReader(tc.body)))
		if w.Code != tc.status {
			t.Fatalf("%s %s = %d, want %d", tc.method, tc.body, w.Code, tc.status)
		}
		if got := c.Stats().Enabled; got != tc.enabled {
			t.Fatalf("after %s %s: enabled %v, want %v", tc.method, tc.body, got, tc.enabled)
		}
		if w.Code == http.StatusOK {
			var s productcache.Stats
			if err := json.Unmarshal(w.Body.Bytes(), &s); err != nil || s.Enabled != tc.enabled {
				t.Fatalf("body %s", w.Body)
			}
		}
	}
}
