package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/cursor"
	"github.com/go-cdk-shop/shop/lambdas/internal/images"
	"github.com/go-cdk-shop/shop/lambdas/internal/testing/memory"
)

var quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

func newTestRouter(t testing.TB) *Router {
	c, err := cursor.New([]byte(strings.Repeat("s", 32)))
	if err != nil {
		t.Fatal(err)
	}
	products := memory.NewProducts()
	svc := catalog.NewService(products, c, "EUR", nil)
	return NewRouter(quiet, NewCatalog(svc, images.NewService(memory.NewBucket(), products, "https://cdn.test", quiet, images.Options{})).Routes()...)
}

type caller struct {
	sub    string
	groups string // as the Cognito authorizer delivers cognito:groups
}

var (
	admin    = &caller{"u-admin", "admin"}
	customer = &caller{"u-1", ""}
)

// cognito is the authorizer context of a Cognito user pool authorizer.
func cognito(claims map[string]string) map[string]any {
	c := map[string]any{}
	for k, v := range claims {
		c[k] = v
	}
	return map[string]any{"claims": c}
}

// event builds what API Gateway sends for a request: the matching route's
// resource, or the catch-all's.
func event(rt *Router, method, path, body string, who *caller, headers map[string]string) Event {
	rawPath, rawQuery, _ := strings.Cut(path, "?")
	ev := Event{Resource: "/{proxy+}", HTTPMethod: method, Path: rawPath, Body: body, Headers: map[string]string{}}
	ev.RequestContext.RequestID = "req-1"
	if route, params, _ := rt.Match(method, rawPath); route != nil {
		ev.Resource, ev.PathParameters = route.Path, params
	}
	if rawQuery != "" {
		ev.QueryStringParameters = map[string]string{}
		for _, kv := range strings.Split(rawQuery, "&") {
			k, v, _ := strings.Cut(kv, "=")
			ev.QueryStringParameters[k] = v
		}
	}
	for k, v := range headers {
		ev.Headers[strings.ToLower(k)] = v
	}
	if who != nil {
		ev.RequestContext.Authorizer = cognito(map[string]string{"sub": who.sub, "cognito:groups": who.groups, "token_use": "id"})
	}
	return ev
}

func do(t *testing.T, rt *Router, method, path, body string, who *caller, headers map[string]string) Reply {
	t.Helper()
	resp, err := rt.Serve(context.Background(), event(rt, method, path, body, who, headers))
	if err != nil {
		t.Fatalf("Serve returned an error: %v", err)
	}
	if resp.Headers["X-Request-Id"] == "" {
		t.Errorf("%s %s: no X-Request-Id", method, path)
	}
	return resp
}

func decode[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return v
}

const speaker = `{"product_id":"P123","name":"Bluetooth Speaker","price":4500,"category":"Electronics","quantity":10}`

func TestCreateGetUpdateDelete(t *testing.T) {
	rt := newTestRouter(t)
	resp := do(t, rt, "POST", "/products", speaker, admin, nil)
	if resp.StatusCode != 201 || resp.Headers["Location"] != "/products/P123" || resp.Headers["ETag"] != `"1"` {
		t.Fatalf("create: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	p := decode[catalog.Product](t, resp.Body)
	if p.Currency != "EUR" || p.Version != 1 || p.ImageURL != nil || p.CreatedAt == "" {
		t.Errorf("created product: %+v", p)
	}
	resp = do(t, rt, "GET", "/products/P123", "", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"image_url":null`) {
		t.Fatalf("get: %d %s", resp.StatusCode, resp.Body)
	}
	resp = do(t, rt, "PATCH", "/products/P123", `{"price":3900}`, admin, map[string]string{"If-Match": `"1"`})
	if resp.StatusCode != 200 || resp.Headers["ETag"] != `"2"` || decode[catalog.Product](t, resp.Body).Price != 3900 {
		t.Fatalf("patch: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	resp = do(t, rt, "DELETE", "/products/P123", "", admin, map[string]string{"If-Match": `"1"`})
	if resp.StatusCode != 412 {
		t.Fatalf("delete with stale If-Match: %d %s", resp.StatusCode, resp.Body)
	}
	resp = do(t, rt, "DELETE", "/products/P123", "", admin, map[string]string{"If-Match": `"2"`})
	if resp.StatusCode != 204 || resp.Body != "" {
		t.Fatalf("delete: %d %s", resp.StatusCode, resp.Body)
	}
	if resp = do(t, rt, "GET", "/products/P123", "", nil, nil); resp.StatusCode != 404 {
		t.Fatalf("get after delete: %d", resp.StatusCode)
	}
}

func TestCreateWithoutIDGeneratesOne(t *testing.T) {
	rt := newTestRouter(t)
	resp := do(t, rt, "POST", "/products", `{"name":"Mug","price":0,"category":"Kitchen","quantity":0,"currency":"USD","description":""}`, admin, nil)
	p := decode[catalog.Product](t, resp.Body)
	if resp.StatusCode != 201 || len(p.ProductID) != 27 || p.ProductID[0] != 'P' || p.Currency != "USD" {
		t.Fatalf("%d %+v", resp.StatusCode, p)
	}
}

type problem struct {
	Type      string `json:"type"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	RequestID string `json:"request_id"`
	Errors    []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

// Every bad request is a 4xx problem naming what is wrong, and writes nothing.
func TestBadInput(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		who                      *caller
		headers                  map[string]string
		status                   int
		field                    string
	}{
		{"not JSON", "POST", "/products", `{"name":`, admin, nil, 400, "body"},
		{"empty body", "POST", "/products", ``, admin, nil, 400, "body"},
		{"array body", "POST", "/products", `[1]`, admin, nil, 400, "body"},
		{"null body", "POST", "/products", `null`, admin, nil, 400, "body"},
		{"two objects", "POST", "/products", speaker + speaker, admin, nil, 400, "body"},
		{"unknown field", "POST", "/products", `{"name":"a","price":1,"category":"c","quantity":1,"colour":"red"}`, admin, nil, 400, "colour"},
		{"unknown field and a rule", "POST", "/products", `{"price":1,"category":"c","quantity":1,"colour":"red"}`, admin, nil, 400, "name"},
		{"wrong type and a rule", "POST", "/products", `{"name":"","price":"1","category":"c","quantity":1}`, admin, nil, 400, "name"},
		{"price as string", "POST", "/products", `{"name":"a","price":"45","category":"c","quantity":1}`, admin, nil, 400, "price"},
		{"price as float", "POST", "/products", `{"name":"a","price":45.5,"category":"c","quantity":1}`, admin, nil, 400, "price"},
		{"price in exponent form", "POST", "/products", `{"name":"a","price":1e3,"category":"c","quantity":1}`, admin, nil, 400, "price"},
		{"price beyond int64", "POST", "/products", `{"name":"a","price":99999999999999999999,"category":"c","quantity":1}`, admin, nil, 400, "price"},
		{"negative price", "POST", "/products", `{"name":"a","price":-1,"category":"c","quantity":1}`, admin, nil, 400, "price"},
		{"negative quantity", "POST", "/products", `{"name":"a","price":1,"category":"c","quantity":-1}`, admin, nil, 400, "quantity"},
		{"name missing", "POST", "/products", `{"price":1,"category":"c","quantity":1}`, admin, nil, 400, "name"},
		{"name null", "POST", "/products", `{"name":null,"price":1,"category":"c","quantity":1}`, admin, nil, 400, "name"},
		{"name empty", "POST", "/products", `{"name":"","price":1,"category":"c","quantity":1}`, admin, nil, 400, "name"},
		{"name too long", "POST", "/products", `{"name":"` + strings.Repeat("x", 201) + `","price":1,"category":"c","quantity":1}`, admin, nil, 400, "name"},
		{"name with control character", "POST", "/products", `{"name":"a\u0000b","price":1,"category":"c","quantity":1}`, admin, nil, 400, "name"},
		{"category too long", "POST", "/products", `{"name":"a","price":1,"category":"` + strings.Repeat("c", 65) + `","quantity":1}`, admin, nil, 400, "category"},
		{"description too long", "POST", "/products", `{"name":"a","price":1,"category":"c","quantity":1,"description":"` + strings.Repeat("d", 4001) + `"}`, admin, nil, 400, "description"},
		{"bad currency", "POST", "/products", `{"name":"a","price":1,"category":"c","quantity":1,"currency":"eur"}`, admin, nil, 400, "currency"},
		{"bad product id", "POST", "/products", `{"product_id":"a/b","name":"a","price":1,"category":"c","quantity":1}`, admin, nil, 400, "product_id"},
		{"oversized body", "POST", "/products", `{"name":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, admin, nil, 413, ""},
		{"bad id in path", "GET", "/products/a.b", "", nil, nil, 400, "product_id"},
		{"id too long in path", "GET", "/products/" + strings.Repeat("x", 65), "", nil, nil, 400, "product_id"},
		{"limit not a number", "GET", "/products?limit=ten", "", nil, nil, 400, "limit"},
		{"limit too big", "GET", "/products?limit=101", "", nil, nil, 400, "limit"},
		{"limit zero", "GET", "/products?limit=0", "", nil, nil, 400, "limit"},
		{"forged cursor", "GET", "/products?cursor=eyJwIjoiUDEifQAAAAAAAAAAAAAAAAAAAAA", "", nil, nil, 400, "cursor"},
		{"garbage cursor", "GET", "/products?cursor=%%%", "", nil, nil, 400, "cursor"},
		{"unknown query parameter", "GET", "/products?sort=price", "", nil, nil, 400, "sort"},
		{"empty patch", "PATCH", "/products/P1", `{}`, admin, nil, 400, "body"},
		{"patch of the id", "PATCH", "/products/P1", `{"product_id":"P2"}`, admin, nil, 400, "product_id"},
		{"malformed If-Match", "PATCH", "/products/P1", `{"price":1}`, admin, map[string]string{"If-Match": "3"}, 400, "If-Match"},
		{"weak If-Match", "DELETE", "/products/P1", ``, admin, map[string]string{"If-Match": `W/"1"`}, 400, "If-Match"},
		{"stale If-Match", "PATCH", "/products/P1", `{"price":1}`, admin, map[string]string{"If-Match": `"7"`}, 412, ""},
		{"patch of missing product", "PATCH", "/products/P404", `{"price":1}`, admin, nil, 404, ""},
		{"absolute stock without If-Match", "PATCH", "/products/P1", `{"quantity":5}`, admin, nil, 428, ""},
		{"stock-take without If-Match", "PATCH", "/products/P1", `{"on_hand":5}`, admin, nil, 428, ""},
		{"stock as both figure and delta", "PATCH", "/products/P1", `{"quantity":5,"quantity_delta":1}`, admin, map[string]string{"If-Match": `"1"`}, 400, "body"},
		{"stock as on hand and available", "PATCH", "/products/P1", `{"quantity":5,"on_hand":5}`, admin, map[string]string{"If-Match": `"1"`}, 400, "body"},
		{"held is read-only", "PATCH", "/products/P1", `{"held":0,"name":"x"}`, admin, nil, 400, "held"},
		{"on_hand below zero", "PATCH", "/products/P1", `{"on_hand":-1}`, admin, map[string]string{"If-Match": `"1"`}, 400, "on_hand"},
		{"on_hand on create", "POST", "/products", `{"name":"a","price":1,"category":"c","quantity":1,"on_hand":1}`, admin, nil, 400, "on_hand"},
		{"zero delta", "PATCH", "/products/P1", `{"quantity_delta":0}`, admin, nil, 400, "quantity_delta"},
		{"delta as a float", "PATCH", "/products/P1", `{"quantity_delta":1.5}`, admin, nil, 400, "quantity_delta"},
		{"delta below zero", "PATCH", "/products/P1", `{"quantity_delta":-1000}`, admin, nil, 409, ""},
		{"delta on create", "POST", "/products", `{"name":"a","price":1,"category":"c","quantity":1,"quantity_delta":1}`, admin, nil, 400, "quantity_delta"},
		{"duplicate id", "POST", "/products", `{"product_id":"P1","name":"a","price":1,"category":"c","quantity":1}`, admin, nil, 409, ""},
		{"create signed out", "POST", "/products", speaker, nil, nil, 401, ""},
		{"create as customer", "POST", "/products", speaker, customer, nil, 403, ""},
		{"delete as customer", "DELETE", "/products/P1", "", customer, nil, 403, ""},
		{"unknown path", "GET", "/nothing", "", nil, nil, 404, ""},
		{"wrong method", "PUT", "/products", "", admin, nil, 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := newTestRouter(t)
			if r := do(t, rt, "POST", "/products", `{"product_id":"P1","name":"One","price":1,"category":"c","quantity":1}`, admin, nil); r.StatusCode != 201 {
				t.Fatalf("seed: %d %s", r.StatusCode, r.Body)
			}
			resp := do(t, rt, tt.method, tt.path, tt.body, tt.who, tt.headers)
			if resp.StatusCode != tt.status || resp.Headers["Content-Type"] != "application/problem+json" {
				t.Fatalf("status %d %q, want %d problem+json: %s", resp.StatusCode, resp.Headers["Content-Type"], tt.status, resp.Body)
			}
			p := decode[problem](t, resp.Body)
			if p.Status != tt.status || p.Type == "" || p.RequestID != "req-1" {
				t.Errorf("problem %+v", p)
			}
			if tt.field != "" {
				found := false
				for _, e := range p.Errors {
					found = found || e.Field == tt.field
				}
				if !found {
					t.Errorf("errors %+v do not name %q", p.Errors, tt.field)
				}
			}
			// Nothing was written: P1 is as seeded and nothing else exists.
			list := decode[catalog.Page](t, do(t, rt, "GET", "/products", "", nil, nil).Body)
			if len(list.Items) != 1 || list.Items[0].Version != 1 || list.Items[0].Price != 1 {
				t.Errorf("the store changed: %+v", list.Items)
			}
		})
	}
}

func TestListPagination(t *testing.T) {
	rt := newTestRouter(t)
	for _, id := range []string{"A", "B", "C", "D", "E"} {
		do(t, rt, "POST", "/products", `{"product_id":"`+id+`","name":"n","price":1,"category":"c","quantity":1}`, admin, nil)
	}
	var got []string
	path := "/products?limit=2"
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("too many pages")
		}
		resp := do(t, rt, "GET", path, "", nil, nil)
		page := decode[catalog.Page](t, resp.Body)
		for _, p := range page.Items {
			got = append(got, p.ProductID)
		}
		if page.NextCursor == nil {
			break
		}
		path = "/products?limit=2&cursor=" + *page.NextCursor
	}
	if strings.Join(got, "") != "ABCDE" {
		t.Errorf("listed %v", got)
	}
	// A cursor of the full listing is refused for a category listing.
	first := decode[catalog.Page](t, do(t, rt, "GET", "/products?limit=2", "", nil, nil).Body)
	resp := do(t, rt, "GET", "/products?category=c&cursor="+*first.NextCursor, "", nil, nil)
	if resp.StatusCode != 400 {
		t.Errorf("cursor replayed on another listing: %d", resp.StatusCode)
	}
}

func TestBase64Body(t *testing.T) {
	rt := newTestRouter(t)
	ev := event(rt, "POST", "/products", base64.StdEncoding.EncodeToString([]byte(speaker)), admin, nil)
	ev.IsBase64Encoded = true
	resp, _ := rt.Serve(context.Background(), ev)
	if resp.StatusCode != 201 {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	ev.Body = "!!not base64"
	if resp, _ = rt.Serve(context.Background(), ev); resp.StatusCode != 400 {
		t.Fatalf("bad base64: %d", resp.StatusCode)
	}
}

// A failure of our own is a 500 that carries the request id and nothing else.
func TestInternalErrorsDoNotLeak(t *testing.T) {
	rt := NewRouter(quiet, Route{contract.Route{Method: http.MethodGet, Path: "/boom", Access: contract.Public}, func(context.Context, *Request) (Response, error) {
		panic("secret table arn:aws:dynamodb:eu-west-1:123456789012:table/x")
	}}, Route{contract.Route{Method: http.MethodGet, Path: "/fail", Access: contract.Public}, func(context.Context, *Request) (Response, error) {
		return Response{}, io.ErrUnexpectedEOF
	}})
	for _, path := range []string{"/boom", "/fail"} {
		resp := do(t, rt, "GET", path, "", nil, nil)
		if resp.StatusCode != 500 || strings.Contains(resp.Body, "arn:") || strings.Contains(resp.Body, "EOF") || !strings.Contains(resp.Body, "req-1") {
			t.Errorf("%s: %d %s", path, resp.StatusCode, resp.Body)
		}
	}
}

func TestParseGroups(t *testing.T) {
	tests := []struct{ claim, want string }{
		{"[admin]", "admin"},
		{"[admin editors]", "admin|editors"},
		{"[admin  editors]", "admin|editors"},
		// A comma belongs to the name: "admin," is not the admin group.
		{"[admin, editors]", "admin,|editors"},
		{"[sales,admin]", "sales,admin"},
		{`["admin","editors"]`, "admin|editors"},
		{"", ""},
		{"[]", ""},
		{"admin", "admin"},
		// The REST API's Cognito authorizer joins names with commas.
		{"admin,editors", "admin|editors"},
		{"sales, admin", "sales|admin"},
	}
	for _, tt := range tests {
		if got := strings.Join(ParseGroups(tt.claim), "|"); got != tt.want {
			t.Errorf("ParseGroups(%q) = %q, want %q", tt.claim, got, tt.want)
		}
	}
}

// A group named "sales,admin" is not the admin group, and an access token
// (token_use access) is no one, whatever its groups.
func TestOnlyIDTokensOfTheAdminGroupWrite(t *testing.T) {
	rt := newTestRouter(t)
	for name, claims := range map[string]map[string]string{
		"comma in a group name": {"sub": "u1", "cognito:groups": "[sales,admin]", "token_use": "id"},
		"admin as a prefix":     {"sub": "u1", "cognito:groups": "administrators", "token_use": "id"},
		"access token":          {"sub": "u1", "cognito:groups": "[admin]", "token_use": "access"},
		"no token_use":          {"sub": "u1", "cognito:groups": "[admin]"},
	} {
		ev := Event{Resource: "/products", HTTPMethod: "POST", Path: "/products", Body: speaker}
		ev.RequestContext.Authorizer = cognito(claims)
		resp, _ := rt.Serve(context.Background(), ev)
		if resp.StatusCode != 401 && resp.StatusCode != 403 {
			t.Errorf("%s: create = %d, want 401 or 403", name, resp.StatusCode)
		}
	}
}

func TestMatch(t *testing.T) {
	rt := newTestRouter(t)
	tests := []struct {
		method, path, key, param string
		allowed                  string
	}{
		{"GET", "/products", "GET /products", "", ""},
		{"GET", "/products/P1", "GET /products/{product_id}", "P1", ""},
		{"GET", "/products/P1/", "GET /products/{product_id}", "P1", ""},
		{"PUT", "/products/P1", "", "", "GET,PATCH,DELETE"},
		{"GET", "/products/P1/extra", "", "", ""},
		{"GET", "/", "", "", ""},
	}
	for _, tt := range tests {
		route, params, allowed := rt.Match(tt.method, tt.path)
		key := ""
		if route != nil {
			key = route.Key()
		}
		if key != tt.key || params["product_id"] != tt.param || strings.Join(allowed, ",") != tt.allowed {
			t.Errorf("Match(%s %s) = %q %v %v", tt.method, tt.path, key, params, allowed)
		}
	}
}

// On the catch-all resource, a path another function serves, with a method it does
// not, is a 405 naming the allowed methods; an unknown path stays a 404.
func TestElsewhereRoutesGive405(t *testing.T) {
	rt := newTestRouter(t).Elsewhere(contract.RoutesOf(contract.Cart)...)
	ev := event(rt, "PATCH", "/cart", "", nil, nil)
	ev.Resource = "/{proxy+}"
	resp, _ := rt.Serve(context.Background(), ev)
	if resp.StatusCode != 405 || !strings.Contains(resp.Body, "GET, DELETE") {
		t.Fatalf("PATCH /cart = %d %s, want 405 allowing GET, DELETE", resp.StatusCode, resp.Body)
	}
	ev = event(rt, "GET", "/carts", "", nil, nil)
	if resp, _ := rt.Serve(context.Background(), ev); resp.StatusCode != 404 {
		t.Fatalf("GET /carts = %d, want 404", resp.StatusCode)
	}
}

// A preflight that reaches a function (through the catch-all resource) is
// a 204 for any path.
func TestPreflightReachingTheFunctionIs204(t *testing.T) {
	rt := NewRouter(slog.New(slog.NewJSONHandler(io.Discard, nil))).Elsewhere(contract.Routes()...)
	for _, path := range []string{"/products", "/cart/items/P1", "/orders/O1", "/nowhere"} {
		ev := Event{Resource: "/{proxy+}", HTTPMethod: "OPTIONS", Path: path}
		resp, err := rt.Serve(context.Background(), ev)
		if err != nil || resp.StatusCode != 204 || resp.Body != "" {
			t.Errorf("OPTIONS %s = %d %q, %v", path, resp.StatusCode, resp.Body, err)
		}
	}
}

// Accountability: a write's log line names the caller's sub and the request
// id, and the product records who changed it last.
func TestWritesNameTheCaller(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	c, _ := cursor.New([]byte(strings.Repeat("s", 32)))
	products := memory.NewProducts()
	rt := NewRouter(log, NewCatalog(catalog.NewService(products, c, "EUR", nil), images.NewService(memory.NewBucket(), products, "https://cdn.test", quiet, images.Options{})).Routes()...)
	if resp := do(t, rt, "POST", "/products", `{"product_id":"W1","name":"a","price":1,"category":"c","quantity":1}`, admin, nil); resp.StatusCode != 201 {
		t.Fatalf("create = %d %s", resp.StatusCode, resp.Body)
	}
	var line struct {
		Msg       string `json:"msg"`
		Sub       string `json:"sub"`
		RequestID string `json:"request_id"`
		Route     string `json:"route"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(logs.Bytes()), &line); err != nil {
		t.Fatalf("log %q: %v", logs.String(), err)
	}
	if line.Sub != admin.sub || line.RequestID == "" || line.Route != "POST /products" {
		t.Errorf("log line %+v, want the admin's sub and a request id", line)
	}
	if p, _ := products.Get(context.Background(), "W1"); p.UpdatedBy != admin.sub {
		t.Errorf("updated_by = %q, want %q", p.UpdatedBy, admin.sub)
	}
}

// A handler's own lines carry the request id and the caller too, and the
// request line is still one line per request.
func TestHandlerLinesNameTheRequestAndTheCaller(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	rt := NewRouter(log, Route{Route: contract.Route{Method: "POST", Path: "/products", Access: contract.Staff}, Handle: func(ctx context.Context, r *Request) (Response, error) {
		r.Logger().InfoContext(ctx, "handler line")
		r.Logger().InfoContext(ctx, "handler line")
		return Response{Status: 204}, nil
	}})
	resp := do(t, rt, "POST", "/products", `{}`, admin, nil)
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 2 handler lines and the request line: %s", len(lines), logs.String())
	}
	for _, l := range lines {
		var line struct {
			Sub       string `json:"sub"`
			RequestID string `json:"request_id"`
		}
		_ = json.Unmarshal([]byte(l), &line)
		if line.Sub != admin.sub || line.RequestID != resp.Headers["X-Request-Id"] {
			t.Errorf("line %s: want sub %q and request_id %q", l, admin.sub, resp.Headers["X-Request-Id"])
		}
	}
}

// Only a verified email reaches the domain: an unverified one is not the
// caller's address.
func TestOnlyVerifiedEmail(t *testing.T) {
	for verified, want := range map[string]string{"true": "u1@example.com", "false": "", "": ""} {
		ev := Event{}
		ev.RequestContext.Authorizer = cognito(map[string]string{
			"sub": "u1", "token_use": "id", "email": "u1@example.com", "email_verified": verified})
		if r := newRequest(ev, nil, quiet, "R"); r.Identity == nil || r.Identity.Email != want {
			t.Errorf("email_verified %q: identity %+v, want email %q", verified, r.Identity, want)
		}
	}
}

// Behind the CDN, the request line carries CloudFront's request id: the
// join from the API's request id to the edge log's viewer address.
func TestRequestLineNamesTheEdgeRequest(t *testing.T) {
	var logs bytes.Buffer
	rt := NewRouter(slog.New(slog.NewJSONHandler(&logs, nil)), Route{Route: contract.Route{Method: "GET", Path: "/plain", Access: contract.Public},
		Handle: func(context.Context, *Request) (Response, error) { return Response{Status: 204}, nil }})
	for _, edge := range []string{"cf-abc==", ""} {
		logs.Reset()
		headers := map[string]string{}
		if edge != "" {
			headers["X-Amz-Cf-Id"] = edge
		}
		do(t, rt, "GET", "/plain", "", nil, headers)
		var line map[string]any
		if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		if got, _ := line["edge_request_id"].(string); got != edge {
			t.Errorf("edge_request_id = %q, want %q (%v)", got, edge, line)
		}
	}
}
