// Package localapi serves the shop's routes over net/http on a developer's
// machine: each request becomes the API Gateway REST API proxy (payload 1.0) event
// that AWS would send, with the JWT claims in the authorizer context, and goes
// through the very router the Lambdas run.
package localapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/go-cdk-shop/shop/lambdas/contract"

	"github.com/aws/aws-lambda-go/events"

	"github.com/go-cdk-shop/shop/lambdas/internal/httpapi"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// maxPayload is API Gateway's own limit on a request body.
const maxPayload = 10 << 20

// Check reports whether one backend answers.
type Check func(ctx context.Context) error

// Server is the local API.
type Server struct {
	router *httpapi.Router
	tokens *Tokens
	log    *slog.Logger
	checks map[string]Check
	ready  atomic.Bool
	mounts map[string]http.Handler // path prefix -> local-only handler
	cors   CORS
}

// Mount serves paths under prefix (e.g. "/local/images/") with h: local-only
// stand-ins for AWS services, such as the S3 event webhook and the CDN.
func (s *Server) Mount(prefix string, h http.Handler) {
	if s.mounts == nil {
		s.mounts = map[string]http.Handler{}
	}
	s.mounts[prefix] = h
}

// New returns a server over router; checks name the backends /health reports.
func New(router *httpapi.Router, tokens *Tokens, log *slog.Logger, checks map[string]Check) *Server {
	return &Server{router: router, tokens: tokens, log: log, checks: checks}
}

// SetCORS answers preflights and adds CORS headers as API Gateway does for
// the given configuration.
func (s *Server) SetCORS(c CORS) { s.cors = c }

// SetReady marks the backends as started: /health may now answer 200.
func (s *Server) SetReady() { s.ready.Store(true) }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/local/") && !loopback(r) {
		// Every local-only route: from this machine, to a loopback name.
		writeJSON(w, http.StatusForbidden, "application/problem+json", map[string]any{
			"type": "/problems/forbidden", "title": "Forbidden", "status": 403,
			"detail": "The /local/ routes answer only requests from this machine to a loopback name (127.0.0.1, ::1, localhost)."})
		return
	}
	switch {
	case r.URL.Path == "/health" && r.Method == http.MethodGet:
		s.health(w, r)
		return
	case r.URL.Path == "/local/token" && r.Method == http.MethodPost:
		s.mint(w, r)
		return
	case r.URL.Path == "/health" || r.URL.Path == "/local/token":
		writeJSON(w, http.StatusMethodNotAllowed, "application/problem+json", map[string]any{
			"type": "/problems/method-not-allowed", "title": "Method Not Allowed", "status": 405})
		return
	}
	if s.cors.preflight(w, r) {
		return
	}
	for prefix, h := range s.mounts {
		if strings.HasPrefix(r.URL.Path, prefix) {
			h.ServeHTTP(w, r)
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPayload))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, "application/problem+json", map[string]any{
			"type": "/problems/too-large", "title": "Request Entity Too Large", "status": 413, "detail": "API Gateway accepts at most 10 MB."})
		return
	}
	ev, status := s.Event(r, body)
	var resp httpapi.Reply
	if status == http.StatusUnauthorized {
		// What the API's UNAUTHORIZED gateway response answers for a
		// protected route, as a problem.
		resp = httpapi.Reply{StatusCode: 401, Headers: map[string]string{"Content-Type": "application/problem+json", "X-Request-Id": ev.RequestContext.RequestID},
			Body: `{"type":"/problems/unauthenticated","title":"Unauthorized","status":401,"detail":"Send a valid, unexpired bearer token."}`}
	} else {
		resp, _ = s.router.Serve(r.Context(), ev)
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(resp.StatusCode)
	if resp.IsBase64Encoded {
		b, _ := base64.StdEncoding.DecodeString(resp.Body)
		_, _ = w.Write(b)
		return
	}
	_, _ = io.WriteString(w, resp.Body)
}

// Event converts r into the event API Gateway's REST API sends a Lambda
// proxy integration (payload 1.0), built by httpapi.NewEvent as every event
// of the shop is. For a route behind an authorizer it verifies the bearer
// token and answers 401 when it fails, as the authorizer does before the
// function is ever called.
func (s *Server) Event(r *http.Request, body []byte) (httpapi.Event, int) {
	rawPath := r.URL.EscapedPath()
	route, params, _ := s.router.Match(r.Method, rawPath)
	for k, v := range params {
		if u, err := url.PathUnescape(v); err == nil {
			params[k] = u
		}
	}
	var matched *contract.Route
	if route != nil {
		matched = &route.Route
	}
	ev := httpapi.NewEvent(r.Method, rawPath, matched, params, time.Now())
	ev.RequestContext.DomainName, ev.RequestContext.Protocol = r.Host, r.Proto
	ev.RequestContext.Identity = events.APIGatewayRequestIdentity{SourceIP: strings.Split(r.RemoteAddr, ":")[0], UserAgent: r.UserAgent()}
	// The REST API keeps the header names as the client sent them (Go's
	// canonical form here); the functions read them whatever their case.
	for name, vs := range r.Header {
		ev.Headers[name] = vs[len(vs)-1]
		ev.MultiValueHeaders[name] = vs
	}
	if q := r.URL.Query(); len(q) > 0 {
		ev.QueryStringParameters = make(map[string]string, len(q))
		ev.MultiValueQueryStringParameters = make(map[string][]string, len(q))
		for k, vs := range q {
			ev.QueryStringParameters[k] = vs[len(vs)-1]
			ev.MultiValueQueryStringParameters[k] = vs
		}
	}
	if len(body) > 0 {
		if utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}
	if route == nil || route.Access == contract.Public {
		return ev, 0 // the catch-all resource (the router answers 404 or 405), or no authorizer on the route
	}
	token, ok := strings.CutPrefix(r.Header.Get(contract.HeaderAuthorization), "Bearer ")
	if !ok && route.Access == contract.Guest && r.Header.Get(contract.HeaderAuthorization) == "" {
		httpapi.Authorize(&ev, route.Access, nil)
		return ev, 0 // a guest
	}
	if !ok {
		return ev, http.StatusUnauthorized
	}
	verify := s.tokens.Verify
	if route.Access == contract.Payment {
		// In AWS: the route's Cognito authorizer, for the payment client's
		// access tokens, requiring the confirm scope.
		verify = s.tokens.VerifyAccess
	}
	claims, err := verify(strings.TrimSpace(token))
	if err != nil {
		return ev, http.StatusUnauthorized
	}
	httpapi.Authorize(&ev, route.Access, claims)
	return ev, 0
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	state := map[string]string{}
	ok := s.ready.Load()
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	for name, check := range s.checks {
		switch err := check(ctx); {
		case !s.ready.Load():
			state[name] = "starting"
		case err != nil:
			state[name], ok = "unreachable", false
		default:
			state[name] = "ok"
		}
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, "application/json", map[string]any{"status": map[bool]string{true: "ok", false: "unavailable"}[ok], "backends": state})
}

type tokenRequest struct {
	Sub   string `json:"sub"`
	Email string `json:"email"`
	// Name is the name claim: any text, as a Cognito user may set it (the
	// shop stores it stripped to the text rule).
	Name   string   `json:"name"`
	Groups []string `json:"groups"`
	// ClientID and Scope, instead of the above, mint a client-credentials
	// access token (the payment integration's).
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
}

// loopback says whether r came from this machine to a loopback name: minting
// tokens must not be reachable from elsewhere, nor through DNS rebinding (a
// page on a foreign name that resolves to 127.0.0.1 sends its own Host).
func loopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		return false
	}
	name := r.Host
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		name = h
	}
	if name == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(name, "[]"))
	return ip != nil && ip.IsLoopback()
}

func (s *Server) mint(w http.ResponseWriter, r *http.Request) {
	if !loopback(r) {
		writeJSON(w, http.StatusForbidden, "application/problem+json", map[string]any{
			"type": "/problems/forbidden", "title": "Forbidden", "status": 403,
			"detail": "Tokens are minted only for requests from this machine to a loopback name (127.0.0.1, ::1, localhost)."})
		return
	}
	var req tokenRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	var v shop.Violations
	client := false
	if err := dec.Decode(&req); err != nil {
		v.Add("body", "must be a JSON object with sub, email and groups (a user), or client_id and scope (a machine client)")
	} else if client = req.ClientID != "" || req.Scope != ""; client {
		if !shop.ValidID(req.ClientID) {
			v.Add("client_id", shop.IDRule)
		}
		if req.Sub != "" || req.Email != "" || req.Name != "" || len(req.Groups) > 0 {
			v.Add("body", "takes either sub, email and groups, or client_id and scope")
		}
		for _, sc := range strings.Fields(req.Scope) {
			if sc != contract.ScopeConfirmOrders {
				v.Add("scope", "must be "+contract.ScopeConfirmOrders+", the one scope of this API")
			}
		}
	} else {
		if !shop.ValidID(req.Sub) {
			v.Add("sub", shop.IDRule)
		}
		if req.Email != "" && (!strings.Contains(req.Email, "@") || len(req.Email) > 254) {
			v.Add("email", "must be an email address")
		}
		if utf8.RuneCountInString(req.Name) > 2048 {
			v.Add("name", "must be at most 2,048 characters, as Cognito's name attribute")
		}
		for _, g := range req.Groups {
			if !shop.ValidID(g) {
				v.Add("groups", "must be names of 1 to 64 characters of A-Z a-z 0-9 _ -")
				break
			}
		}
	}
	if len(v) > 0 {
		writeJSON(w, http.StatusBadRequest, "application/problem+json", map[string]any{
			"type": "/problems/validation", "title": "Bad Request", "status": 400, "detail": "The request has invalid fields; see errors.", "errors": v})
		return
	}
	var token string
	var exp time.Time
	var err error
	if client {
		token, exp, err = s.tokens.MintClient(req.ClientID, strings.Fields(req.Scope), time.Hour)
	} else {
		token, exp, err = s.tokens.Mint(req.Sub, req.Email, req.Name, req.Groups, time.Hour)
	}
	if err != nil {
		s.log.Error("mint token", "error", err.Error())
		writeJSON(w, http.StatusInternalServerError, "application/problem+json", map[string]any{"type": "/problems/internal", "title": "Internal Server Error", "status": 500})
		return
	}
	writeJSON(w, http.StatusOK, "application/json", map[string]any{"token": token, "token_type": "Bearer", "expires_at": exp.UTC().Format(time.RFC3339)})
}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	id := shop.NewID("", time.Now())
	if p, ok := v.(map[string]any); ok && contentType == "application/problem+json" {
		// A problem carries the request's id in its body too, as every
		// problem of the API does (docs/contract.md).
		p["request_id"] = id
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Request-Id", id)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
