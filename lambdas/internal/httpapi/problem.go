package httpapi

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/go-cdk-shop/shop/lambdas/contract"

	"github.com/go-cdk-shop/shop/lambdas/internal/cart"
	"github.com/go-cdk-shop/shop/lambdas/internal/orders"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// Problem is an RFC 9457 problem details body. Type is a relative URI reference
// under /problems/, documented in the OpenAPI document.
type Problem struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Detail    string            `json:"detail,omitempty"`
	Errors    []shop.FieldError `json:"errors,omitempty"`
	RequestID string            `json:"request_id,omitempty"`

	retryAfter int // seconds; sent as Retry-After on 503
}

// Error makes a Problem returnable from a handler as it is.
func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

func newProblem(status int, slug, detail string) *Problem {
	return &Problem{Type: "/problems/" + slug, Title: http.StatusText(status), Status: status, Detail: detail}
}

// problemFor maps an error from the domain to the problem the client sees. It is
// the one place where errors become status codes. Anything it does not know is a
// 500 that carries only the request id; the error itself goes to the log.
func problemFor(err error) (p *Problem, internal bool) {
	var prob *Problem
	var inv *shop.InvalidError
	var conflict *shop.ConflictError
	var limit *orders.PendingLimitError
	switch {
	case errors.As(err, &prob):
		return prob, false
	case errors.As(err, &inv):
		p = newProblem(http.StatusBadRequest, "validation", "The request has invalid fields; see errors.")
		p.Errors = inv.Fields
		return p, false
	case errors.As(err, &limit):
		p = newProblem(http.StatusTooManyRequests, "too-many-pending",
			fmt.Sprintf("You hold %d pending orders, the most allowed; pay or cancel one, or wait until one expires.", limit.Max))
		p.retryAfter = max(1, int(math.Ceil(limit.RetryAfter.Seconds())))
		return p, false
	case errors.As(err, &conflict):
		p = newProblem(http.StatusConflict, conflict.Reason, conflict.Detail)
		p.Errors = conflict.Fields
		return p, false
	case errors.Is(err, shop.ErrKeyReused):
		return newProblem(http.StatusUnprocessableEntity, "idempotency-key-reused", "This Idempotency-Key was used with a different request; use a new key."), false
	case errors.Is(err, shop.ErrNotFound):
		return newProblem(http.StatusNotFound, "not-found", "No such resource."), false
	case errors.Is(err, shop.ErrExists):
		return newProblem(http.StatusConflict, "exists", "A resource with this id already exists."), false
	case errors.Is(err, shop.ErrConflict):
		return newProblem(http.StatusConflict, "conflict", "The request conflicts with the current state."), false
	case errors.Is(err, shop.ErrPreconditionRequired):
		return newProblem(http.StatusPreconditionRequired, "precondition-required",
			"Setting an absolute stock figure (on_hand or quantity) needs If-Match with the version you read; or send quantity_delta, which needs none."), false
	case errors.Is(err, shop.ErrStale):
		return newProblem(http.StatusPreconditionFailed, "stale", "If-Match does not match the current version; read the resource again."), false
	case errors.Is(err, cart.ErrInvalidSession):
		return newProblem(http.StatusUnauthorized, "invalid-session",
			"X-Session-Id is not a session this API issued, or it expired or was revoked; start one with POST /sessions."), false
	case errors.Is(err, shop.ErrUnauthenticated):
		return newProblem(http.StatusUnauthorized, "unauthenticated", "Sign in and send the ID token as a bearer token."), false
	case errors.Is(err, shop.ErrForbidden):
		return newProblem(http.StatusForbidden, "forbidden", "You may not do this."), false
	case errors.Is(err, shop.ErrThrottled), errors.Is(err, shop.ErrUnavailable):
		p = newProblem(http.StatusServiceUnavailable, "unavailable", "A backend is busy or unreachable; retry shortly.")
		p.retryAfter = 1
		return p, true
	default:
		return newProblem(http.StatusInternalServerError, "internal", "Something went wrong on our side; quote the request id if you report it."), true
	}
}

func (p *Problem) headers(h map[string]string) {
	h[contract.HeaderContentType] = "application/problem+json"
	if p.retryAfter > 0 {
		h[contract.HeaderRetryAfter] = strconv.Itoa(p.retryAfter)
	}
}
