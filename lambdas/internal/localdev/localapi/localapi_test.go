package localapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/httpapi"
)

var quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

func ok(context.Context, *httpapi.Request) (httpapi.Response, error) {
	return httpapi.Response{Status: 200}, nil
}

func newServer(t *testing.T) (*Server, *Tokens) {
	tokens, err := NewTokens("http://127.0.0.1/local")
	if err != nil {
		t.Fatal(err)
	}
	rt := httpapi.NewRouter(quiet,
		httpapi.Route{Route: contract.Route{Method: "GET", Path: "/products", Access: contract.Public}, Handle: ok},
		httpapi.Route{Route: contract.Route{Method: "GET", Path: "/products/{product_id}", Access: contract.Public}, Handle: ok},
		httpapi.Route{Route: contract.Route{Method: "PATCH", Path: "/products/{product_id}", Access: contract.Staff}, Handle: ok},
		httpapi.Route{Route: contract.Route{Method: "POST", Path: "/orders", Access: contract.User}, Handle: ok},
		httpapi.Route{Route: contract.Route{Method: "GET", Path: "/cart", Access: contract.Guest}, Handle: ok},
	)
	return New(rt, tokens, quiet, nil), tokens
}

// Each route shape becomes the event API Gateway would send.
func TestEvent(t *testing.T) {
	s, tokens := newServer(t)
	token, _, _ := tokens.Mint("u1", "u1@example.com", "", []string{"admin", "staff"}, time.Hour)
	tests := []struct {
		name, method, target, body string
		headers                    map[string]string
		wantKey, wantParam         string
		wantQuery                  map[string]string
		wantClaims                 map[string]string
		wantBase64                 bool
		wantStatus                 int
	}{
		{name: "public list with query", method: "GET", target: "/products?category=Books&limit=2&category=Games",
			wantKey: "GET /products", wantQuery: map[string]string{"category": "Games", "limit": "2"}}, // the REST API's last value
		{name: "path parameter, escaped", method: "GET", target: "/products/P%2D1", wantKey: "GET /products/{product_id}", wantParam: "P-1"},
		{name: "public route ignores a token", method: "GET", target: "/products/P1", headers: map[string]string{"Authorization": "Bearer " + token},
			wantKey: "GET /products/{product_id}", wantParam: "P1"},
		{name: "protected route with token", method: "PATCH", target: "/products/P1", body: `{"price":1}`,
			headers: map[string]string{"Authorization": "Bearer " + token, "If-Match": `"1"`},
			wantKey: "PATCH /products/{product_id}", wantParam: "P1",
			wantClaims: map[string]string{"sub": "u1", "email": "u1@example.com", "cognito:groups": "admin,staff", "token_use": "id"}},
		{name: "guest route with token: the Lambda authorizer's context", method: "GET", target: "/cart", headers: map[string]string{"Authorization": "Bearer " + token},
			wantKey: "GET /cart", wantClaims: map[string]string{"sub": "u1", "cognito:groups": "[admin staff]", "principalId": "u1"}},
		{name: "protected route without token", method: "POST", target: "/orders", wantKey: "POST /orders", wantStatus: 401},
		{name: "protected route with garbage", method: "POST", target: "/orders", headers: map[string]string{"Authorization": "Bearer abc"}, wantKey: "POST /orders", wantStatus: 401},
		{name: "binary body", method: "POST", target: "/orders", body: "\xff\xfe", headers: map[string]string{"Authorization": "Bearer " + token},
			wantKey: "POST /orders", wantBase64: true, wantClaims: map[string]string{"sub": "u1"}},
		{name: "unknown path goes to the catch-all", method: "GET", target: "/nothing", wantKey: "GET /{proxy+}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			ev, status := s.Event(r, []byte(tt.body))
			key := ev.HTTPMethod + " " + ev.Resource
			if status != tt.wantStatus || key != tt.wantKey || ev.RequestContext.ResourcePath != ev.Resource {
				t.Fatalf("status %d key %q, want %d %q", status, key, tt.wantStatus, tt.wantKey)
			}
			if ev.RequestContext.HTTPMethod != tt.method || ev.RequestContext.RequestID == "" || ev.Path == "" {
				t.Errorf("request context %+v", ev.RequestContext)
			}
			if tt.wantParam != "" && ev.PathParameters["product_id"] != tt.wantParam {
				t.Errorf("path parameters %v", ev.PathParameters)
			}
			for k, v := range tt.wantQuery {
				if ev.QueryStringParameters[k] != v {
					t.Errorf("query %s = %q, want %q", k, ev.QueryStringParameters[k], v)
				}
			}
			for k, v := range tt.headers {
				if ev.Headers[http.CanonicalHeaderKey(k)] != v {
					t.Errorf("header %s = %q", k, ev.Headers[http.CanonicalHeaderKey(k)])
				}
			}
			var claims map[string]string
			if a := ev.RequestContext.Authorizer; a != nil {
				src := a
				if c, ok := a["claims"].(map[string]any); ok {
					src = c
				}
				claims = map[string]string{}
				for k, v := range src {
					claims[k], _ = v.(string)
				}
			}
			if tt.wantClaims == nil && claims != nil && status == 0 {
				t.Errorf("claims on a route without authorizer: %v", claims)
			}
			for k, v := range tt.wantClaims {
				if claims[k] != v {
					t.Errorf("claim %s = %q, want %q", k, claims[k], v)
				}
			}
			if ev.IsBase64Encoded != tt.wantBase64 {
				t.Errorf("base64 %v", ev.IsBase64Encoded)
			}
			if tt.wantBase64 {
				if b, _ := base64.StdEncoding.DecodeString(ev.Body); string(b) != tt.body {
					t.Errorf("body %q", ev.Body)
				}
			}
		})
	}
}

func TestTokens(t *testing.T) {
	tokens, err := NewTokens("http://127.0.0.1/local")
	if err != nil {
		t.Fatal(err)
	}
	good, _, _ := tokens.Mint("u1", "", "", nil, time.Hour)
	if claims, err := tokens.Verify(good); err != nil || claims["sub"] != "u1" || claims["cognito:groups"] != "" {
		t.Fatalf("round trip: %v %v", claims, err)
	}
	expired, _, _ := tokens.Mint("u1", "", "", nil, -time.Minute)
	other, _ := NewTokens("http://127.0.0.1/local")
	foreign, _, _ := other.Mint("u1", "", "", []string{"admin"}, time.Hour)
	otherIssuer, _ := NewTokens("http://elsewhere")
	otherIssuer.key = tokens.key
	wrongIss, _, _ := otherIssuer.Mint("u1", "", "", nil, time.Hour)
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin","token_use":"id"}`)) + "." + parts[2]
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + "."
	for name, tok := range map[string]string{"expired": expired, "other key": foreign, "other issuer": wrongIss, "tampered": tampered, "alg none": none, "empty": ""} {
		if _, err := tokens.Verify(tok); err == nil {
			t.Errorf("%s token accepted", name)
		}
	}
}

func TestServeHTTP(t *testing.T) {
	s, _ := newServer(t)
	ts := httptest.NewServer(s)
	defer ts.Close()
	get := func(path string) *http.Response {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := get("/health"); r.StatusCode != 503 {
		t.Errorf("health before ready: %d", r.StatusCode)
	}
	s.SetReady()
	if r := get("/health"); r.StatusCode != 200 {
		t.Errorf("health when ready: %d", r.StatusCode)
	}
	resp, err := http.Post(ts.URL+"/local/token", "application/json", strings.NewReader(`{"sub":"u1","email":"u1@example.com","groups":["admin"]}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("token: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	for _, body := range []string{`{"sub":""}`, `{"sub":"a/b"}`, `{"sub":"u1","groups":["a b"]}`, `{"sub":"u1","role":"x"}`, `[]`} {
		resp, _ := http.Post(ts.URL+"/local/token", "application/json", strings.NewReader(body))
		if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("token %s: %d", body, resp.StatusCode)
		}
		resp.Body.Close()
	}
	if r := get("/products/P1"); r.StatusCode != 200 || r.Header.Get("X-Request-Id") == "" {
		t.Errorf("routed request: %d", r.StatusCode)
	}
	if r := get("/nothing"); r.StatusCode != 404 || r.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("unknown path: %d", r.StatusCode)
	}
}

// /local/token answers only requests from loopback to a loopback name: not
// from another host, and not to a foreign name that resolves to 127.0.0.1
// (DNS rebinding).
func TestMintOnlyOnLoopback(t *testing.T) {
	s, _ := newServer(t)
	body := `{"sub":"u1","groups":["admin"]}`
	for _, tc := range []struct {
		name, remote, host string
		want               int
	}{
		{"loopback", "127.0.0.1:5000", "127.0.0.1:8080", 200},
		{"localhost name", "127.0.0.1:5000", "localhost:8080", 200},
		{"IPv6 loopback", "[::1]:5000", "[::1]:8080", 200},
		{"another host", "192.168.1.20:5000", "127.0.0.1:8080", 403},
		{"rebound name", "127.0.0.1:5000", "evil.example:8080", 403},
		{"a LAN name", "127.0.0.1:5000", "192.168.1.2:8080", 403},
	} {
		req := httptest.NewRequest("POST", "/local/token", strings.NewReader(body))
		req.RemoteAddr, req.Host = tc.remote, tc.host
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != tc.want {
			t.Errorf("%s: %d, want %d (%s)", tc.name, w.Code, tc.want, w.Body)
		}
	}
}

// GET /local/events after an event it never published: a 400 validation
// problem naming after, with the request's id in its body as in its header
// (issue 44: it answered a problem type the document did not list, without
// request_id).
func TestEventsAfterAnUnknownEventIsAValidationProblem(t *testing.T) {
	h := Events(func(id string) ([]string, error) {
		if id == "" {
			return []string{"e1"}, nil
		}
		return nil, ErrUnknownEvent
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/local/events?after=nope", nil))
	var raw map[string]any
	body := rec.Body.Bytes()
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 400 || raw["type"] != "/problems/validation" || raw["request_id"] == nil || raw["request_id"] != rec.Header().Get("X-Request-Id") ||
		rec.Header().Get("Content-Type") != "application/problem+json" || !strings.Contains(string(body), `"field":"after"`) {
		t.Errorf("%d %s %v", rec.Code, body, rec.Header())
	}
}
