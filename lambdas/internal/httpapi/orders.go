package httpapi

import (
	"bytes"
	"context"
	"errors"
	"net/http"

	"github.com/go-cdk-shop/shop/lambdas/contract"

	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/metrics"
	"github.com/go-cdk-shop/shop/lambdas/internal/orders"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// Orders serves /orders and /me.
type Orders struct {
	svc *orders.Service
}

// NewOrders returns the handlers over svc.
func NewOrders(svc *orders.Service) *Orders { return &Orders{svc: svc} }

// Routes are the orders' and the profile's routes of the table
// (contract.RoutesOf), each with its handler.
func (h *Orders) Routes() []Route {
	return bind(contract.Orders, map[string]HandlerFunc{
		"POST /orders":                    h.checkout,
		"GET /orders":                     h.list,
		"GET /orders/{order_id}":          h.get,
		"POST /orders/{order_id}/cancel":  h.cancel,
		"POST /orders/{order_id}/confirm": h.confirm,
		"GET /me":                         h.me,
		"PATCH /me":                       h.rename,
	})
}

func (h *Orders) checkout(ctx context.Context, r *Request) (Response, error) {
	req, bodyErr := DecodeCheckout(r.Body)
	if err := shop.JoinInvalid(orders.CheckKey(r.Header(contract.HeaderIdempotencyKey)), bodyErr); err != nil {
		return Response{}, err
	}
	o, replayed, err := h.svc.Checkout(ctx, *r.Identity, r.Header(contract.HeaderIdempotencyKey), req)
	if err != nil {
		if errors.Is(err, shop.ErrConflict) { // every ConflictError: answered 409
			metrics.Add(ctx, metrics.CheckoutConflicts, 1)
		}
		return Response{}, err
	}
	headers := map[string]string{contract.HeaderLocation: "/orders/" + o.OrderID}
	if replayed {
		headers["Idempotent-Replayed"] = "true"
		metrics.Add(ctx, metrics.IdempotentReplays, 1)
	} else {
		metrics.Add(ctx, metrics.OrdersPlaced, 1)
	}
	return Response{Status: http.StatusCreated, Headers: headers, Body: o}, nil
}

func (h *Orders) list(ctx context.Context, r *Request) (Response, error) {
	limit, err := listQuery(r.Query, catalog.MaxPageSize, "limit", "cursor")
	if err != nil {
		return Response{}, err
	}
	page, err := h.svc.List(ctx, r.Identity.Subject, limit, r.Query["cursor"])
	if err != nil {
		return Response{}, err
	}
	return Response{Status: http.StatusOK, Body: page}, nil
}

func (h *Orders) get(ctx context.Context, r *Request) (Response, error) {
	o, err := h.svc.Get(ctx, r.Identity.Subject, r.Params["order_id"])
	if err != nil {
		return Response{}, err
	}
	return Response{Status: http.StatusOK, Body: o}, nil
}

func (h *Orders) me(ctx context.Context, r *Request) (Response, error) {
	c, err := h.svc.Me(ctx, *r.Identity)
	if err != nil {
		return Response{}, err
	}
	return Response{Status: http.StatusOK, Body: c}, nil
}

// DecodeCheckout reads a checkout body: none, or {"note": "..."}.
func DecodeCheckout(body []byte) (orders.Request, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return orders.Request{}, nil
	}
	o, err := decodeObject(body, "note")
	if err != nil {
		return orders.Request{}, err
	}
	var note *string
	o.String("note", &note)
	if err := o.Err(); err != nil {
		return orders.Request{}, err
	}
	if note == nil {
		return orders.Request{}, nil
	}
	return orders.Request{Note: *note}, orders.CheckNote(*note)
}

// DecodeProfile reads a PATCH /me body: {"name": "..."}.
func DecodeProfile(body []byte) (string, error) {
	o, err := decodeObject(body, "name")
	if err != nil {
		return "", err
	}
	var name *string
	o.String("name", &name)
	if err := o.Err(); err != nil {
		return "", err
	}
	if name == nil {
		return "", shop.Invalid("name", "is required")
	}
	return *name, orders.CheckName(*name)
}

func (h *Orders) rename(ctx context.Context, r *Request) (Response, error) {
	name, err := DecodeProfile(r.Body)
	if err != nil {
		return Response{}, err
	}
	c, err := h.svc.Rename(ctx, *r.Identity, name)
	if err != nil {
		return Response{}, err
	}
	return Response{Status: http.StatusOK, Body: c}, nil
}

func (h *Orders) cancel(ctx context.Context, r *Request) (Response, error) {
	if err := noBody(r); err != nil {
		return Response{}, err
	}
	o, err := h.svc.Cancel(ctx, r.Identity.Subject, r.Params["order_id"])
	if err != nil {
		return Response{}, err
	}
	return Response{Status: http.StatusOK, Body: o}, nil
}

// DecodeConfirm reads a confirm body: {"payment_reference": "...",
// "amount": <integer, minor unit>, "currency": "EUR"}, every member required.
func DecodeConfirm(body []byte) (orders.Payment, error) {
	o, err := decodeObject(body, "payment_reference", "amount", "currency")
	if err != nil {
		return orders.Payment{}, err
	}
	var ref, currency *string
	var amount *int64
	o.String("payment_reference", &ref)
	o.Int("amount", &amount)
	o.String("currency", &currency)
	if err := o.Err(); err != nil {
		return orders.Payment{}, err
	}
	var v shop.Violations
	if ref == nil {
		v.Add("payment_reference", "is required: 1 to 128 visible ASCII characters")
	}
	if amount == nil || *amount < 0 {
		v.Add("amount", "is required: what was paid, a whole number of the currency's minor unit, 0 or more")
	}
	if currency == nil || !catalog.ValidCurrency(*currency) {
		v.Add("currency", "is required: an ISO 4217 code of three capital letters")
	}
	if err := v.Err(); err != nil {
		return orders.Payment{}, err
	}
	return orders.Payment{Reference: *ref, Amount: *amount, Currency: *currency}, orders.CheckReference(*ref)
}

func (h *Orders) confirm(ctx context.Context, r *Request) (Response, error) {
	pay, err := DecodeConfirm(r.Body)
	if err != nil {
		return Response{}, err
	}
	o, err := h.svc.Confirm(ctx, r.Params["order_id"], pay)
	if err != nil {
		return Response{}, err
	}
	r.Logger().InfoContext(ctx, "order confirmed", "order_id", o.OrderID, "client_id", r.Client.ID)
	return Response{Status: http.StatusOK, Body: o}, nil
}
