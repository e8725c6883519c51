// Package httpapi is the edge between API Gateway HTTP API events and the shop's
// domain: routing, authorization by the JWT authorizer's claims, JSON in and
// out, and problem+json errors. The Lambdas and the local API both serve through it.
package httpapi

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/metrics"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// MaxBodyBytes bounds every request body. The largest valid body (a product
// with a 4000-character description) is well below it.
const MaxBodyBytes = 64 << 10

// HandlerFunc serves one route.
type HandlerFunc func(ctx context.Context, r *Request) (Response, error)

// Route is a route of the table (contract.Routes) with the handler that
// serves it. Who may call it is the table's Access: the API Gateway
// authorizer checks it in AWS, the local API checks it locally, and the
// router checks it again from the authorizer's claims.
type Route struct {
	contract.Route
	Handle HandlerFunc
}

// bind pairs fn's routes in the table with handlers by route key. A route
// without a handler, or a handler without a route, is a wiring mistake:
// every test that builds a router fails on it.
func bind(fn contract.Function, handlers map[string]HandlerFunc) []Route {
	table := contract.RoutesOf(fn)
	out := make([]Route, 0, len(table))
	for _, r := range table {
		h, ok := handlers[r.Key()]
		if !ok {
			panic(fmt.Sprintf("httpapi: %s serves %s but has no handler for it", fn, r.Key()))
		}
		out = append(out, Route{Route: r, Handle: h})
	}
	if len(handlers) != len(out) {
		panic(fmt.Sprintf("httpapi: %s has %d handlers for %d routes of the table", fn, len(handlers), len(out)))
	}
	return out
}

// Response is what a handler answers; Body is encoded as JSON unless nil.
type Response struct {
	Status  int
	Headers map[string]string
	Body    any
}

// Router dispatches API Gateway events to routes.
type Router struct {
	routes    []Route
	byKey     map[string]*Route
	log       *slog.Logger
	elsewhere []contract.Route // served by other functions: known for 405s only
	origin    string           // the X-Origin-Verify value every request must carry; empty: none
	function  string           // the metrics' Function dimension
}

// Named names the function in the metrics of the request lines.
func (rt *Router) Named(function string) *Router {
	rt.function = function
	return rt
}

// RequireOrigin makes the router refuse (403) every request whose
// X-Origin-Verify header is not value: with a CDN in front of the API, a call
// straight to the execute-api endpoint skips the WAF and is refused. An
// empty value requires nothing.
func (rt *Router) RequireOrigin(value string) *Router {
	rt.origin = value
	return rt
}

// Elsewhere tells the router of routes that other functions serve, so that
// the HTTP API's $default route, which reaches this router for any method and
// path no route matched, answers a known path with a wrong method with 405
// and its allowed methods, not 404. Their handlers are never called.
func (rt *Router) Elsewhere(routes ...contract.Route) *Router {
	rt.elsewhere = append(rt.elsewhere, routes...)
	return rt
}

// NewRouter returns a router over routes.
func NewRouter(log *slog.Logger, routes ...Route) *Router {
	rt := &Router{routes: routes, byKey: make(map[string]*Route, len(routes)), log: log}
	for i := range rt.routes {
		rt.byKey[rt.routes[i].Key()] = &rt.routes[i]
	}
	return rt
}

// Routes lists the route keys the router serves.
func (rt *Router) Routes() []Route { return append([]Route(nil), rt.routes...) }

// Match finds the route for method and path, with its path parameters. When the
// path is known but the method is not, it returns ok false and allowed the
// methods that are.
func (rt *Router) Match(method, path string) (route *Route, params map[string]string, allowed []string) {
	for i := range rt.routes {
		r := &rt.routes[i]
		p, ok := matchPattern(r.Path, path)
		if !ok {
			continue
		}
		if r.Method == method {
			return r, p, nil
		}
		allowed = append(allowed, r.Method)
	}
	return nil, nil, allowed
}

func matchPattern(pattern, path string) (map[string]string, bool) {
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	xs := strings.Split(strings.Trim(path, "/"), "/")
	if len(ps) != len(xs) {
		return nil, false
	}
	var params map[string]string
	for i, seg := range ps {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			if xs[i] == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[seg[1:len(seg)-1]] = xs[i]
			continue
		}
		if seg != xs[i] {
			return nil, false
		}
	}
	return params, true
}

// Serve answers one API Gateway HTTP API (payload 2.0) event. It never returns
// an error to the Lambda runtime: every failure is a problem+json response.
func (rt *Router) Serve(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	start := time.Now()
	reqID := ev.RequestContext.RequestID
	if reqID == "" {
		reqID = shop.NewID("R", start)
	}
	// Every line of the request carries its id. The router writes its own
	// lines with the id as an attribute; a handler's logger is built only
	// when the handler logs (Request.Logger): most requests write one line.
	idAttr := slog.String("request_id", reqID)
	if rt.origin != "" && subtle.ConstantTimeCompare([]byte(headerOf(ev.Headers, contract.HeaderOriginVerify)), []byte(rt.origin)) != 1 {
		out := rt.encode(ctx, idAttr, Response{}, newProblem(http.StatusForbidden, "direct-call", "Call the API through its CDN."))
		rt.log.LogAttrs(ctx, slog.LevelWarn, "request", idAttr, slog.String("route", "-"), slog.String("method", ev.RequestContext.HTTP.Method),
			slog.String("path", ev.RawPath), slog.Int("status", out.StatusCode), slog.String("reason", "no origin verification"))
		return out, nil
	}
	route, params := rt.byKey[ev.RouteKey], ev.PathParameters
	var resp Response
	var err error
	if route == nil && ev.RequestContext.HTTP.Method == http.MethodOptions {
		// A CORS preflight (the OPTIONS /{proxy+} route, or $default): 204
		// for any path. API Gateway puts the stage's CORS headers on it.
		out := events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNoContent, Headers: map[string]string{contract.HeaderRequestID: reqID}}
		rt.log.LogAttrs(ctx, slog.LevelInfo, "request", idAttr, slog.String("route", "preflight"), slog.String("method", http.MethodOptions),
			slog.String("path", ev.RawPath), slog.Int("status", out.StatusCode))
		return out, nil
	}
	if route == nil {
		// $default or an unknown key: find the route ourselves, so that an unknown
		// path is a 404 problem and a known path with the wrong method a 405.
		var allowed []string
		route, params, allowed = rt.Match(ev.RequestContext.HTTP.Method, ev.RawPath)
		if route == nil && len(allowed) == 0 {
			for _, r := range rt.elsewhere {
				if _, ok := matchPattern(r.Path, ev.RawPath); ok {
					allowed = append(allowed, r.Method)
				}
			}
		}
		if route == nil {
			if len(allowed) > 0 {
				err = newProblem(http.StatusMethodNotAllowed, "method-not-allowed", "Allowed: "+strings.Join(allowed, ", ")+".")
			} else {
				err = newProblem(http.StatusNotFound, "no-route", "No route for "+ev.RequestContext.HTTP.Method+" "+ev.RawPath+".")
			}
		}
	}
	routeKey, sub := "-", ""
	ctx, counts := metrics.With(ctx)
	if route != nil {
		routeKey = ev.RouteKey
		if rt.byKey[routeKey] != route {
			routeKey = route.Key()
		}
		req := newRequest(ev, params, rt.log, reqID)
		if req.Identity != nil {
			// Every line of the request names the caller: who changed what.
			sub = req.Identity.Subject
		}
		callCtx, cancel := withBudget(ctx)
		resp, err = rt.call(callCtx, route, req)
		cancel()
	}
	if errors.Is(err, shop.ErrCacheUnavailable) {
		metrics.Add(ctx, metrics.CacheUnavailable, 1)
	}
	out := rt.encode(ctx, idAttr, resp, err)
	// One line per request, which carries the request's metrics too.
	attrs := append([]slog.Attr{idAttr, slog.String("route", routeKey), slog.String("method", ev.RequestContext.HTTP.Method),
		slog.String("path", ev.RawPath), slog.String("sub", sub), slog.Int("status", out.StatusCode),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000)}, counts.Attrs(rt.function, start)...)
	rt.line(ctx, "request", attrs)
	return out, nil
}

// line writes the request line straight to the handler: no source position
// (the line is always this one), so no stack walk on every request.
func (rt *Router) line(ctx context.Context, msg string, attrs []slog.Attr) {
	h := rt.log.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	r := slog.NewRecord(time.Now(), slog.LevelInfo, msg, 0)
	r.AddAttrs(attrs...)
	_ = h.Handle(ctx, r)
}

func (rt *Router) call(ctx context.Context, route *Route, r *Request) (resp Response, err error) {
	defer func() {
		if v := recover(); v != nil {
			r.Logger().Error("handler panicked", "panic", v, "stack", string(debug.Stack()))
			resp, err = Response{}, errors.New("handler panicked")
		}
	}()
	switch route.Access {
	case contract.Payment:
		if r.Client == nil {
			return Response{}, shop.ErrUnauthenticated
		}
		for _, scope := range route.Scopes() {
			if !r.Client.Has(scope) {
				return Response{}, shop.ErrForbidden
			}
		}
	case contract.User, contract.Staff:
		if r.Identity == nil {
			return Response{}, shop.ErrUnauthenticated
		}
		if route.Access == contract.Staff && !r.Identity.In(contract.AdminGroup) {
			return Response{}, shop.ErrForbidden
		}
	}
	if len(r.Body) > MaxBodyBytes {
		return Response{}, newProblem(http.StatusRequestEntityTooLarge, "too-large", "The body is larger than 65536 bytes.")
	}
	if r.bodyErr != nil {
		return Response{}, shop.Invalid("body", "is not valid base64")
	}
	return route.Handle(ctx, r)
}

func (rt *Router) encode(ctx context.Context, id slog.Attr, resp Response, err error) events.APIGatewayV2HTTPResponse {
	reqID := id.Value.String()
	if err != nil {
		headers := map[string]string{contract.HeaderRequestID: reqID}
		p, internal := problemFor(err)
		if internal {
			rt.log.LogAttrs(ctx, slog.LevelError, "request failed", id, slog.String("error", err.Error()))
		}
		p = withRequestID(p, reqID)
		p.headers(headers)
		body, _ := json.Marshal(p)
		return events.APIGatewayV2HTTPResponse{StatusCode: p.Status, Headers: headers, Body: string(body)}
	}
	// The handler's headers map is the response's: handlers build it per
	// response and never keep it.
	headers := resp.Headers
	if headers == nil {
		headers = make(map[string]string, 2)
	}
	headers[contract.HeaderRequestID] = reqID
	out := events.APIGatewayV2HTTPResponse{StatusCode: resp.Status, Headers: headers}
	if resp.Body != nil {
		body, mErr := marshal(resp.Body)
		if mErr != nil {
			return rt.encode(ctx, id, Response{}, mErr)
		}
		headers[contract.HeaderContentType] = "application/json"
		out.Body = body
	}
	return out
}

// buffers are the encoders' buffers, reused across requests: the body is
// copied once, into the response's string. A buffer grown past
// maxPooledBuffer by a large answer is left to the collector, not kept.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledBuffer = 256 << 10

// marshal is json.Marshal into a string, as the response carries it.
func marshal(v any) (string, error) {
	buf := buffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledBuffer {
			buffers.Put(buf)
		}
	}()
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(true) // as json.Marshal
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

func withRequestID(p *Problem, reqID string) *Problem {
	c := *p // problems may be shared values; never write into the caller's
	c.RequestID = reqID
	return &c
}

// Request is one call as a handler sees it.
type Request struct {
	Method   string
	Path     string
	Params   map[string]string
	Query    map[string]string
	Headers  map[string]string // lower-case names, as API Gateway sends them
	Body     []byte
	Identity *shop.Identity
	// Client is the machine caller of an access token (token_use access).
	Client *shop.Client

	bodyErr error
	base    *slog.Logger // the router's
	reqID   string
	log     *slog.Logger // built by Logger
}

// Logger is the request's logger: its lines carry the request id and, for a
// signed-in caller, the caller's sub (who changed what).
func (r *Request) Logger() *slog.Logger {
	if r.log == nil {
		args := []any{"request_id", r.reqID}
		if r.Identity != nil {
			args = append(args, "sub", r.Identity.Subject)
		}
		r.log = r.base.With(args...)
	}
	return r.log
}

func newRequest(ev events.APIGatewayV2HTTPRequest, params map[string]string, log *slog.Logger, reqID string) *Request {
	r := &Request{
		Method: ev.RequestContext.HTTP.Method, Path: ev.RawPath, Params: params,
		Query: ev.QueryStringParameters, Headers: ev.Headers, base: log, reqID: reqID,
	}
	if ev.IsBase64Encoded {
		r.Body, r.bodyErr = base64.StdEncoding.DecodeString(ev.Body)
	} else {
		r.Body = []byte(ev.Body)
	}
	// One token type everywhere: Cognito ID tokens. API Gateway's JWT
	// authorizer would also pass an access token of the same pool (it checks
	// client_id in place of aud); without token_use "id" the caller is no one.
	c := claims(ev.RequestContext.Authorizer)
	if c["token_use"] == "access" && c["client_id"] != "" {
		r.Client = &shop.Client{ID: c["client_id"], Scopes: strings.Fields(c["scope"])}
	}
	if c["sub"] != "" && c["token_use"] == "id" {
		r.Identity = &shop.Identity{Subject: c["sub"], Name: c["name"], Groups: ParseGroups(c["cognito:groups"])}
		if c["email_verified"] == "true" {
			// An unverified address is the user's claim, not a fact: it is
			// never stored (with keepOriginal, a change counts once verified).
			r.Identity.Email = c["email"]
		}
	}
	return r
}

// claims are the token's claims from the JWT authorizer or, on the routes that
// guests may call too, from the shop's Lambda authorizer, which passes the
// same names as its context.
func claims(a *events.APIGatewayV2HTTPRequestContextAuthorizerDescription) map[string]string {
	switch {
	case a == nil:
		return nil
	case a.JWT != nil:
		return a.JWT.Claims
	case a.Lambda != nil:
		c := make(map[string]string, len(a.Lambda))
		for k, v := range a.Lambda {
			if s, ok := v.(string); ok {
				c[k] = s
			}
		}
		return c
	}
	return nil
}

// Header returns the value of the named header, whatever its case.
func (r *Request) Header(name string) string { return headerOf(r.Headers, name) }

func headerOf(headers map[string]string, name string) string {
	if v, ok := headers[strings.ToLower(name)]; ok {
		return v
	}
	for k, v := range headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// ParseGroups reads cognito:groups as the HTTP API JWT authorizer delivers it:
// one string such as "[admin]" or "[admin editors]", names split on
// whitespace only (a Cognito group name may hold a comma, never a space); a
// JSON array of strings also passes.
func ParseGroups(claim string) []string {
	claim = strings.TrimSpace(claim)
	var list []string
	if strings.HasPrefix(claim, `["`) && json.Unmarshal([]byte(claim), &list) == nil {
		return list
	}
	claim = strings.TrimPrefix(claim, "[")
	claim = strings.TrimSuffix(claim, "]")
	return strings.Fields(claim)
}

// answerMargin is the time kept back from the invocation's deadline to write
// the answer: a backend that is still busy then is given up, and the caller
// gets a 503 problem instead of API Gateway's bare error at the function's
// timeout.
const answerMargin = 500 * time.Millisecond

// withBudget bounds the handler by the invocation's deadline, less
// answerMargin. Without a deadline (locally) ctx is left as it is: each
// client bounds its own calls.
func withBudget(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, d.Add(-answerMargin))
	}
	return ctx, func() {}
}
