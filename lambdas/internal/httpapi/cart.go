package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"strconv"

	"github.com/go-cdk-shop/shop/lambdas/internal/cart"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// Cart serves the /cart routes.
type Cart struct {
	svc *cart.Service
}

// NewCart returns the cart's HTTP handlers over svc.
func NewCart(svc *cart.Service) *Cart { return &Cart{svc: svc} }

// Routes are the cart's routes. Guests may call all but merge, which moves a
// guest's cart into the signed-in caller's.
func (c *Cart) Routes() []Route {
	return []Route{
		{http.MethodGet, "/cart", Optional, c.get},
		{http.MethodDelete, "/cart", Optional, c.clear},
		{http.MethodPut, "/cart/items/{product_id}", Optional, c.setLine},
		{http.MethodDelete, "/cart/items/{product_id}", Optional, c.removeLine},
		{http.MethodPost, "/cart/merge", SignedIn, c.merge},
	}
}

var sessionRule = "must be " + strconv.Itoa(cart.MinSessionID) + " to " + strconv.Itoa(cart.MaxSessionID) + " characters of A-Z a-z 0-9 _ -"

// guestSession reads X-Session-Id; required says whether its absence is an error.
func guestSession(r *Request, required bool) (cart.Owner, bool, error) {
	sid := r.Header("X-Session-Id")
	switch {
	case sid == "" && required:
		return cart.Owner{}, false, shop.Invalid("X-Session-Id", "is required: the guest session whose cart to use; "+sessionRule)
	case sid == "":
		return cart.Owner{}, false, nil
	case !cart.ValidSessionID(sid):
		return cart.Owner{}, false, shop.Invalid("X-Session-Id", sessionRule)
	}
	return cart.Owner{Guest: true, ID: sid}, true, nil
}

// OwnerOf is whose cart a request is about: the signed-in caller's, else the
// guest session's.
func OwnerOf(r *Request) (cart.Owner, error) {
	if r.Identity != nil {
		return cart.Owner{ID: r.Identity.Subject}, nil
	}
	o, _, err := guestSession(r, true)
	return o, err
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
	o, err := OwnerOf(r)
	if err != nil {
		return Response{}, err
	}
	return cartResponse(c.svc.View(ctx, o))
}

func (c *Cart) setLine(ctx context.Context, r *Request) (Response, error) {
	o, ownerErr := OwnerOf(r)
	q, bodyErr := DecodeQuantity(r.Body)
	if err := shop.JoinInvalid(ownerErr, bodyErr); err != nil {
		return Response{}, err
	}
	return cartResponse(c.svc.SetLine(ctx, o, r.Params["product_id"], q))
}

func (c *Cart) removeLine(ctx context.Context, r *Request) (Response, error) {
	o, err := OwnerOf(r)
	if err != nil {
		return Response{}, err
	}
	return cartResponse(c.svc.RemoveLine(ctx, o, r.Params["product_id"]))
}

func (c *Cart) clear(ctx context.Context, r *Request) (Response, error) {
	o, err := OwnerOf(r)
	if err != nil {
		return Response{}, err
	}
	if err := c.svc.Clear(ctx, o); err != nil {
		return Response{}, err
	}
	return Response{Status: http.StatusNoContent}, nil
}

func (c *Cart) merge(ctx context.Context, r *Request) (Response, error) {
	guest, _, err := guestSession(r, true)
	if err := shop.JoinInvalid(err, noBody(r)); err != nil {
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
