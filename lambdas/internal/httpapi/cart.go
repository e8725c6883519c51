package httpapi

import (
	"bytes"
	"context"
	"net/http"

	"github.com/go-cdk-shop/shop/lambdas/contract"

	"github.com/go-cdk-shop/shop/lambdas/internal/cart"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// Cart serves the /cart routes.
type Cart struct {
	svc *cart.Service
}

// NewCart returns the cart's HTTP handlers over svc.
func NewCart(svc *cart.Service) *Cart { return &Cart{svc: svc} }

// Routes are the cart's routes and the guest sessions' of the table
// (contract.RoutesOf), each with its handler.
func (c *Cart) Routes() []Route {
	return bind(contract.Cart, map[string]HandlerFunc{
		"POST /sessions":                  c.openSession,
		"DELETE /sessions/current":        c.closeSession,
		"GET /cart":                       c.get,
		"DELETE /cart":                    c.clear,
		"PUT /cart/items/{product_id}":    c.setLine,
		"DELETE /cart/items/{product_id}": c.removeLine,
		"POST /cart/merge":                c.merge,
	})
}

// guest is the session that X-Session-Id names; a token the API did not
// issue, or one expired or revoked, is cart.ErrInvalidSession (401).
func (c *Cart) guest(ctx context.Context, r *Request) (cart.Owner, error) {
	token := r.Header(contract.HeaderSessionID)
	if token == "" {
		return cart.Owner{}, shop.Invalid(contract.HeaderSessionID, "is required: a guest session from POST /sessions")
	}
	return c.svc.Guest(ctx, token)
}

// owner is whose cart a request is about: the signed-in caller's, else the
// guest session's.
func (c *Cart) owner(ctx context.Context, r *Request) (cart.Owner, error) {
	if r.Identity != nil {
		return cart.Owner{ID: r.Identity.Subject}, nil
	}
	return c.guest(ctx, r)
}

func (c *Cart) openSession(ctx context.Context, r *Request) (Response, error) {
	if err := noBody(r); err != nil {
		return Response{}, err
	}
	s, err := c.svc.NewSession(ctx)
	if err != nil {
		return Response{}, err
	}
	return Response{Status: http.StatusCreated, Body: s}, nil
}

func (c *Cart) closeSession(ctx context.Context, r *Request) (Response, error) {
	if err := noBody(r); err != nil {
		return Response{}, err
	}
	g, err := c.guest(ctx, r)
	if err != nil {
		return Response{}, err
	}
	if err := c.svc.EndSession(ctx, g); err != nil {
		return Response{}, err
	}
	return Response{Status: http.StatusNoContent}, nil
}

// noBody refuses a body on routes that take none, rather than ignore it.
func noBody(r *Request) error {
	if b := bytes.TrimSpace(r.Body); len(b) > 0 && !bytes.Equal(b, []byte("{}")) {
		return shop.Invalid("body", "must be empty: this route takes no body")
	}
	return nil
}

// DecodeQuantity reads the body of a set-line request: {"quantity": 1..99}.
func DecodeQuantity(body []byte) (int64, error) {
	o, err := decodeObject(body, "quantity")
	if err != nil {
		return 0, err
	}
	var q *int64
	o.Int("quantity", &q)
	if err := o.Err(); err != nil {
		return 0, err
	}
	if q == nil {
		return 0, shop.Invalid("quantity", "is required")
	}
	return *q, cart.CheckQuantity(*q)
}

func (c *Cart) get(ctx context.Context, r *Request) (Response, error) {
	o, err := c.owner(ctx, r)
	if err != nil {
		return Response{}, err
	}
	return cartResponse(c.svc.View(ctx, o))
}

func (c *Cart) setLine(ctx context.Context, r *Request) (Response, error) {
	q, err := DecodeQuantity(r.Body)
	if err != nil {
		return Response{}, err
	}
	o, err := c.owner(ctx, r)
	if err != nil {
		return Response{}, err
	}
	return cartResponse(c.svc.SetLine(ctx, o, r.Params["product_id"], q))
}

func (c *Cart) removeLine(ctx context.Context, r *Request) (Response, error) {
	o, err := c.owner(ctx, r)
	if err != nil {
		return Response{}, err
	}
	return cartResponse(c.svc.RemoveLine(ctx, o, r.Params["product_id"]))
}

func (c *Cart) clear(ctx context.Context, r *Request) (Response, error) {
	o, err := c.owner(ctx, r)
	if err != nil {
		return Response{}, err
	}
	if err := c.svc.Clear(ctx, o); err != nil {
		return Response{}, err
	}
	return Response{Status: http.StatusNoContent}, nil
}

func (c *Cart) merge(ctx context.Context, r *Request) (Response, error) {
	if err := noBody(r); err != nil {
		return Response{}, err
	}
	token := r.Header(contract.HeaderSessionID)
	if token == "" {
		return Response{}, shop.Invalid(contract.HeaderSessionID, "is required: a guest session from POST /sessions")
	}
	// Not touched here: the merge takes the session itself, and finishes a
	// merge that a failure stopped after the take.
	guest, err := cart.GuestOf(token)
	if err != nil {
		return Response{}, err
	}
	return cartResponse(c.svc.Merge(ctx, cart.Owner{ID: r.Identity.Subject}, guest))
}

func cartResponse(c cart.Cart, err error) (Response, error) {
	if err != nil {
		return Response{}, err
	}
	return Response{Status: http.StatusOK, Body: c}, nil
}
