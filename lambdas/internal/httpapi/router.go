// Package httpapi is the edge between API Gateway REST API proxy events
// (payload 1.0) and the shop's domain: routing, authorization by the
// authorizers' claims, JSON in and out, and problem+json errors. The Lambdas
// and the local API both serve through it.
package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/metrics"
	"github.com/go-cdk-shop/shop/lambdas/internal/orders"
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

// Event is the one event format every function receives, in AWS and from the
// local API: a REST API Lambda proxy request. Reply is its answer.
type (
	Event = events.APIGatewayProxyRequest
	Reply = events.APIGatewayProxyResponse
)

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
	function  string           // the metrics' Function dimension
	release   metrics.Release  // the version that runs: its failed answers are counted for it
	origins   []string         // browser origins whose answers carry CORS headers
}

// AllowOrigins makes the answers to requests from these browser origins
// carry the CORS headers (allow-origin, the exposed headers, Vary: Origin).
// A REST API answers preflights itself but adds nothing to a Lambda proxy
// integration's answer: the function does.
func (rt *Router) AllowOrigins(origins ...string) *Router {
	rt.origins = origins
	return rt
}

// cors adds the CORS headers to out when the request's origin is allowed.
func (rt *Router) cors(headers map[string]string, out *Reply) {
	origin := HeaderOf(headers, "Origin")
	if origin == "" || !slices.Contains(rt.origins, origin) {
		return
	}
	if out.Headers == nil {
		out.Headers = map[string]string{}
	}
	out.Headers["Access-Control-Allow-Origin"] = origin
	out.Headers["Access-Control-Expose-Headers"] = strings.ToLower(strings.Join(contract.CORSExposeHeaders(), ","))
	out.Headers["Vary"] = "Origin"
}

// Named names the function in the metrics of the request lines.
func (rt *Router) Named(function string) *Router {
	rt.function = function
	return rt
}

// Releasing names the function version that runs (metrics.ReleaseOf):
// every 5xx answer counts one contract.MetricFailedAnswers for it, the
// signal a deployment's rollback alarm reads for the version it shifts to.
func (rt *Router) Releasing(r metrics.Release) *Router {
	rt.release = r
	return rt
}

// ErrUnreadableEvent is the invocation error for an event that is no REST
// API proxy request (no method or no resource): a configuration mistake,
// such as an integration that sends another payload format, which Lambda
// must count as an error (its Errors metric, the deployment's rollback
// alarm) rather than a 404 no alarm sees.
var ErrUnreadableEvent = errors.New("httpapi: not a REST API proxy event (no httpMethod or resource)")

// Elsewhere tells the router of routes that other functions serve, so that
// the API's catch-all methods, which reach this router for any method and
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

// Serve answers one API Gateway REST API proxy event. Every failure of a
// request is a problem+json response, and every 5xx among them is counted
// for the running release (Releasing); the one error it returns to the
// Lambda runtime is ErrUnreadableEvent, for an event that is no request.
func (rt *Router) Serve(ctx context.Context, ev Event) (Reply, error) {
	start := time.Now()
	reqID := ev.RequestContext.RequestID
	if reqID == "" {
		reqID = shop.NewID("R", start)
	}
	if ev.HTTPMethod == "" || ev.Resource == "" {
		rt.log.LogAttrs(ctx, slog.LevelError, "unreadable event", slog.String("request_id", reqID), slog.String("error", ErrUnreadableEvent.Error()))
		return Reply{}, ErrUnreadableEvent
	}
	// Every line of the request carries its id. The router writes its own
	// lines with the id as an attribute; a handler's logger is built only
	// when the handler logs (Request.Logger): most requests write one line.
	idAttr := slog.String("request_id", reqID)
	route, params := rt.byKey[ev.HTTPMethod+" "+ev.Resource], ev.PathParameters
	var resp Response
	var err error
	if route == nil && ev.HTTPMethod == http.MethodOptions {
		// A CORS preflight that reached a function (API Gateway answers
		// those of the API's resources itself): 204 for any path.
		out := Reply{StatusCode: http.StatusNoContent, Headers: map[string]string{contract.HeaderRequestID: reqID}}
		rt.cors(ev.Headers, &out)
		rt.log.LogAttrs(ctx, slog.LevelInfo, "request", idAttr, slog.String("route", "preflight"), slog.String("method", http.MethodOptions),
			slog.String("path", ev.Path), slog.Int("status", out.StatusCode))
		return out, nil
	}
	if route == nil {
		// The catch-all resources or an unknown key: find the route ourselves, so that an unknown
		// path is a 404 problem and a known path with the wrong method a 405.
		var allowed []string
		route, params, allowed = rt.Match(ev.HTTPMethod, ev.Path)
		if route == nil && len(allowed) == 0 {
			for _, r := range rt.elsewhere {
				if _, ok := matchPattern(r.Path, ev.Path); ok {
					allowed = append(allowed, r.Method)
				}
			}
		}
		if route == nil {
			if len(allowed) > 0 {
				err = newProblem(http.StatusMethodNotAllowed, "method-not-allowed", "Allowed: "+strings.Join(allowed, ", ")+".")
			} else {
				err = newProblem(http.StatusNotFound, "no-route", "No route for "+ev.HTTPMethod+" "+ev.Path+".")
			}
		}
	}
	routeKey, sub := "-", ""
	ctx, counts := metrics.With(ctx)
	if route != nil {
		routeKey = route.Key()
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
	rt.cors(ev.Headers, &out)
	if out.StatusCode >= 500 {
		counts.AddRelease(rt.releaseOrDefault(), contract.MetricFailedAnswers, 1)
	}
	// One line per request, which carries the request's metrics too.
	attrs := append([]slog.Attr{idAttr, slog.String("route", routeKey), slog.String("method", ev.HTTPMethod),
		slog.String("path", ev.Path), slog.String("sub", sub), slog.Int("status", out.StatusCode),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000)}, counts.Attrs(rt.function, start)...)
	if edge := HeaderOf(ev.Headers, contract.HeaderEdgeRequestID); edge != "" {
		// The CDN's id of the request: the key to the edge web ACL's log,
		// which holds the viewer's address (docs/design.md, The edge).
		attrs = append(attrs, slog.String("edge_request_id", edge))
	}
	rt.line(ctx, "request", attrs)
	return out, nil
}

func (rt *Router) releaseOrDefault() metrics.Release {
	if rt.release == (metrics.Release{}) {
		return metrics.ReleaseOf(rt.function, func(string) string { return "" })
	}
	return rt.release
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

func (rt *Router) encode(ctx context.Context, id slog.Attr, resp Response, err error) Reply {
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
		return Reply{StatusCode: p.Status, Headers: headers, Body: string(body)}
	}
	// The handler's headers map is the response's: handlers build it per
	// response and never keep it.
	headers := resp.Headers
	if headers == nil {
		headers = make(map[string]string, 2)
	}
	headers[contract.HeaderRequestID] = reqID
	out := Reply{StatusCode: resp.Status, Headers: headers}
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

func newRequest(ev Event, params map[string]string, log *slog.Logger, reqID string) *Request {
	r := &Request{
		Method: ev.HTTPMethod, Path: ev.Path, Params: params,
		Query: ev.QueryStringParameters, Headers: ev.Headers, base: log, reqID: reqID,
	}
	if ev.IsBase64Encoded {
		r.Body, r.bodyErr = base64.StdEncoding.DecodeString(ev.Body)
	} else {
		r.Body = []byte(ev.Body)
	}
	// One token type everywhere: Cognito ID tokens. API Gateway's Cognito
	// authorizer would also pass an access token of the same pool; without
	// token_use "id" the caller is no one.
	c := claims(ev.RequestContext.Authorizer)
	if c["token_use"] == "access" && c["client_id"] != "" {
		r.Client = &shop.Client{ID: c["client_id"], Scopes: strings.Fields(c["scope"])}
	}
	if c["sub"] != "" && c["token_use"] == "id" {
		r.Identity = &shop.Identity{Subject: c["sub"], Name: claimName(c["name"]), Groups: ParseGroups(c["cognito:groups"])}
		if c["email_verified"] == "true" {
			// An unverified address is the user's claim, not a fact: it is
			// never stored (with keepOriginal, a change counts once verified).
			r.Identity.Email = c["email"]
		}
	}
	return r
}

// claimName is the token's name claim as the shop keeps it: without the
// characters free text may not hold (shop.StripText) and cut to a profile
// name's length. A user may set the claim to anything (up to 2,048
// characters in Cognito), and checkout and the first GET /me store it, so
// it is cleaned, not refused: refusing would lock its owner out.
func claimName(name string) string {
	name = strings.TrimSpace(shop.StripText(name))
	if utf8.RuneCountInString(name) > orders.MaxNameLength {
		name = string([]rune(name)[:orders.MaxNameLength])
	}
	return name
}

// claims are the token's claims: from a Cognito user pool authorizer (under
// "claims") or, on the routes that guests may call too, from the shop's
// Lambda authorizer, whose context carries the same names at its top level.
func claims(a map[string]any) map[string]string {
	if a == nil {
		return nil
	}
	src := a
	if nested, ok := a["claims"].(map[string]any); ok {
		src = nested
	}
	c := make(map[string]string, len(src))
	for k, v := range src {
		if s, ok := v.(string); ok {
			c[k] = s
		}
	}
	return c
}

// Header returns the value of the named header, whatever its case.
func (r *Request) Header(name string) string { return HeaderOf(r.Headers, name) }

// HeaderOf is the value of the named header in headers, whatever its case
// (API Gateway keeps the client's spelling).
func HeaderOf(headers map[string]string, name string) string {
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

// ParseGroups reads cognito:groups in the forms API Gateway delivers it: the
// REST API's Cognito authorizer joins the names with commas ("admin" or
// "admin,editors"); a bracketed list ("[admin editors]", as JWT authorizers
// and the shop's Lambda authorizer write it) is split on whitespace; a JSON
// array of strings also passes. The shop's own group names (AdminGroup)
// hold neither commas nor spaces.
func ParseGroups(claim string) []string {
	claim = strings.TrimSpace(claim)
	var list []string
	if strings.HasPrefix(claim, `["`) && json.Unmarshal([]byte(claim), &list) == nil {
		return list
	}
	if inner, ok := strings.CutPrefix(claim, "["); ok {
		return strings.Fields(strings.TrimSuffix(inner, "]"))
	}
	for _, name := range strings.Split(claim, ",") {
		if name = strings.TrimSpace(name); name != "" {
			list = append(list, name)
		}
	}
	return list
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
