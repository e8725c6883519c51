package localapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/httpapi"
)

// A browser on an allowed origin gets its preflight answered for every route
// family, as API Gateway answers it for the stage's CORS configuration; any
// other origin gets no allow header. The router behind the local API is the
// shop's whole route table, so no path slips through to a 404 or 405.
func TestPreflightForEveryRouteFamily(t *testing.T) {
	s := New(httpapi.NewRouter(quiet).Elsewhere(contract.Routes()...), nil, quiet, nil)
	s.SetCORS(CORS{Origins: []string{"http://localhost:3000"}})
	paths := map[string]string{}
	for _, r := range contract.Routes() {
		paths[r.Key()] = strings.NewReplacer("{product_id}", "P1", "{order_id}", "O1").Replace(r.Path)
	}
	for key, path := range paths {
		method := strings.Fields(key)[0]
		for _, origin := range []string{"http://localhost:3000", "https://evil.example"} {
			req := httptest.NewRequest(http.MethodOptions, path, nil)
			req.Header.Set("Origin", origin)
			req.Header.Set("Access-Control-Request-Method", method)
			req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-session-id")
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			h := w.Result().Header
			allowed := origin == "http://localhost:3000"
			switch {
			case w.Code != http.StatusNoContent:
				t.Errorf("%s from %s: preflight %d, want 204", key, origin, w.Code)
			case allowed && (h.Get("Access-Control-Allow-Origin") != origin || !strings.Contains(h.Get("Access-Control-Allow-Methods"), method) ||
				!strings.Contains(h.Get("Access-Control-Allow-Headers"), "x-session-id") || h.Get("Access-Control-Max-Age") == ""):
				t.Errorf("%s from %s: preflight headers %v", key, origin, h)
			case !allowed && h.Get("Access-Control-Allow-Origin") != "":
				t.Errorf("%s: another origin was allowed: %v", key, h)
			}
		}
	}
}

// The functions' answers carry the CORS headers (the REST API adds none to
// a proxy integration's answer): the router's, configured as in AWS.
func TestResponsesCarryCORSHeadersForAllowedOrigins(t *testing.T) {
	s, _ := newServer(t)
	s.SetCORS(CORS{Origins: []string{"http://localhost:3000"}})
	s.router.AllowOrigins("http://localhost:3000")
	for origin, want := range map[string]string{"http://localhost:3000": "http://localhost:3000", "https://evil.example": "", "": ""} {
		req := httptest.NewRequest(http.MethodGet, "/products", nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		h := w.Result().Header
		if got := h.Get("Access-Control-Allow-Origin"); got != want {
			t.Errorf("origin %q: allow-origin %q, want %q", origin, got, want)
		}
		if want != "" && !strings.Contains(h.Get("Access-Control-Expose-Headers"), "etag") {
			t.Errorf("origin %q: expose headers %q", origin, h.Get("Access-Control-Expose-Headers"))
		}
	}
}
