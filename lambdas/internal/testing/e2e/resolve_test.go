//go:build integration

package e2e

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/go-cdk-shop/shop/lambdas/internal/dynamo"
	"github.com/go-cdk-shop/shop/lambdas/internal/orders"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// lostAnswers is DynamoDB Local whose checkout transactions commit but
// whose answers are lost (the attempt timed out after the table applied
// it), while lose is set.
type lostAnswers struct {
	dynamo.API
	lose atomic.Bool
}

type timeout struct{}

func (timeout) Error() string   { return "i/o timeout (the answer was lost)" }
func (timeout) Timeout() bool   { return true }
func (timeout) Temporary() bool { return true }

var _ net.Error = timeout{}

func (l *lostAnswers) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	out, err := l.API.TransactWriteItems(ctx, in, opts...)
	if err == nil && l.lose.Load() {
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: timeout{}}
	}
	return out, err
}

// A checkout whose transaction committed while its answer was lost is
// answered 201 with the order, found under its Idempotency-Key, not 503
// (issue 26, item 6): before, the shopper was told to retry for an order
// already placed. The stock moved once; a retry with the key replays it.
func TestACheckoutWhoseAnswerWasLostIsResolved(t *testing.T) {
	api := &lostAnswers{API: db}
	e := newShopWith(t, api)
	e.addProduct(t, "A", 700, 5)
	u := user(shop.NewID("u", time.Now()))
	expect(t, e.call(t, u, "PUT", "/cart/items/A", `{"quantity":2}`), 200, "fill the cart")
	api.lose.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp := e.callCtx(ctx, t, u, "POST", "/orders", "", "Idempotency-Key", "k1")
	expect(t, resp, 201, "a checkout whose answer was lost")
	o := decode[orders.Order](t, resp)
	api.lose.Store(false)
	if s := e.stock(t, "A"); s != 3 {
		t.Errorf("stock %d, want 3", s)
	}
	again := decode[orders.Order](t, e.call(t, u, "POST", "/orders", "", "Idempotency-Key", "k1"))
	if again.OrderID != o.OrderID {
		t.Errorf("the replay is order %s, the resolved answer %s", again.OrderID, o.OrderID)
	}
	if s := e.stock(t, "A"); s != 3 {
		t.Errorf("stock %d after the replay, want 3", s)
	}
}

// throttled is DynamoDB Local whose checkout transactions never get
// through: the table answers each with a throttling error, after meanwhile
// runs (the other buyers of a flash sale).
type throttled struct {
	dynamo.API
	meanwhile func()
}

func (th throttled) TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	th.meanwhile()
	return nil, fmt.Errorf("%w: throttled", shop.ErrThrottled)
}

// A checkout that cannot commit is a 503 while stock shows, and the 409 a
// retry would get once the product is sold out meanwhile: never "busy,
// retry" for a sale that is over (issue 26, item 6).
func TestACheckoutThatCannotCommitIsAnsweredHonestly(t *testing.T) {
	var e *shopEnv
	sellOut := false
	e = newShopWith(t, throttled{API: db, meanwhile: func() {
		if sellOut {
			expect(t, e.call(t, admin, "PATCH", "/products/A", `{"quantity_delta":-1}`), 200, "another buyer takes the last unit")
		}
	}})
	e.addProduct(t, "A", 700, 1)
	u := user(shop.NewID("u", time.Now()))
	expect(t, e.call(t, u, "PUT", "/cart/items/A", `{"quantity":1}`), 200, "fill the cart")
	expect(t, e.call(t, u, "POST", "/orders", "", "Idempotency-Key", "k1"), 503, "the table refuses while stock shows")
	sellOut = true
	resp := e.call(t, u, "POST", "/orders", "", "Idempotency-Key", "k1")
	expect(t, resp, 409, "sold out while the checkout waited")
	if p := decode[map[string]any](t, resp); p["type"] != "/problems/insufficient-stock" {
		t.Errorf("problem %v, want insufficient-stock", p)
	}
}
