package orders_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/internal/cart"
	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/cursor"
	"github.com/go-cdk-shop/shop/lambdas/internal/orders"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
	"github.com/go-cdk-shop/shop/lambdas/internal/testing/memory"
)

// checkout is a shop with products A (5 in stock) and B (1 in stock), and
// the caller's cart.
type checkout struct {
	svc      *orders.Service
	carts    *cart.Service
	products *memory.Products
	who      shop.Identity
	owner    cart.Owner
}

func newCheckout(t *testing.T) *checkout {
	t.Helper()
	products := memory.NewProducts()
	for _, p := range []catalog.Product{
		{ProductID: "A", Name: "A", Price: 500, Currency: "EUR", Quantity: 5, Version: 1},
		{ProductID: "B", Name: "B", Price: 120, Currency: "EUR", Quantity: 1, Version: 1},
	} {
		if err := products.Create(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	codec, err := cursor.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	memCarts := memory.NewCarts()
	carts := cart.NewService(memCarts, memory.NewSessions(memCarts), products, "EUR", cart.TTLs{User: time.Hour, Guest: time.Hour})
	svc := orders.NewService(memory.NewOrders(products), carts, codec, "EUR", orders.DefaultLimits, slog.New(slog.NewJSONHandler(io.Discard, nil)), orders.Options{})
	who := shop.Identity{Subject: "U1", Email: "u1@example.com", Name: "Ann"}
	return &checkout{svc: svc, carts: carts, products: products, who: who, owner: cart.Owner{ID: who.Subject}}
}

func (c *checkout) add(t *testing.T, id string, q int64) {
	t.Helper()
	if _, err := c.carts.SetLine(context.Background(), c.owner, id, q); err != nil {
		t.Fatal(err)
	}
}

func (c *checkout) stock(t *testing.T, id string) int64 {
	t.Helper()
	p, err := c.products.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p.Quantity
}

func TestCheckoutPlacesTheCartAndEmptiesIt(t *testing.T) {
	ctx, c := context.Background(), newCheckout(t)
	c.add(t, "A", 2)
	c.add(t, "B", 1)
	o, replayed, err := c.svc.Checkout(ctx, c.who, "key-1", orders.Request{Note: "ring twice"})
	if err != nil || replayed {
		t.Fatalf("checkout = %v, replayed %v", err, replayed)
	}
	if o.Total != 2*500+120 || len(o.Items) != 2 || o.Status != orders.StatusPending || o.Note != "ring twice" {
		t.Errorf("order %+v", o)
	}
	if a, b := c.stock(t, "A"), c.stock(t, "B"); a != 3 || b != 0 {
		t.Errorf("stock A %d B %d, want 3 and 0", a, b)
	}
	if got, err := c.carts.View(ctx, c.owner); err != nil || len(got.Items) != 0 {
		t.Errorf("cart after checkout = %+v, %v", got, err)
	}
	if got, err := c.svc.Get(ctx, "U1", o.OrderID); err != nil || got.OrderID != o.OrderID {
		t.Errorf("order history = %+v, %v", got, err)
	}
	if _, err := c.svc.Get(ctx, "U2", o.OrderID); !errors.Is(err, shop.ErrNotFound) {
		t.Errorf("another user reads the order: %v", err)
	}
}

func TestCheckoutKeys(t *testing.T) {
	ctx, c := context.Background(), newCheckout(t)
	c.add(t, "A", 1)
	first, _, err := c.svc.Checkout(ctx, c.who, "key-1", orders.Request{})
	if err != nil {
		t.Fatal(err)
	}
	again, replayed, err := c.svc.Checkout(ctx, c.who, "key-1", orders.Request{})
	if err != nil || !replayed || again.OrderID != first.OrderID {
		t.Errorf("replay = %+v, replayed %v, %v", again, replayed, err)
	}
	if c.stock(t, "A") != 4 {
		t.Errorf("a replay took stock again: %d left", c.stock(t, "A"))
	}
	if _, _, err := c.svc.Checkout(ctx, c.who, "key-1", orders.Request{Note: "other"}); !errors.Is(err, shop.ErrKeyReused) {
		t.Errorf("same key, other request = %v, want ErrKeyReused", err)
	}
	for _, bad := range []string{"", strings.Repeat("k", orders.MaxIdempotencyKey+1), "with space"} {
		if _, _, err := c.svc.Checkout(ctx, c.who, bad, orders.Request{}); err == nil {
			t.Errorf("key %q was accepted", bad)
		}
	}
}

func TestCheckoutConflicts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(t *testing.T, c *checkout)
		reason string
	}{
		{"empty cart", func(*testing.T, *checkout) {}, "cart-empty"},
		{"more than in stock", func(t *testing.T, c *checkout) {
			c.add(t, "A", 1)
			// Stock sold elsewhere after the line was added.
			if _, err := c.products.Update(context.Background(), "A", catalog.Fields{Quantity: ptr(int64(0))}, nil, time.Now()); err != nil {
				t.Fatal(err)
			}
		}, "insufficient-stock"},
		{"product gone", func(t *testing.T, c *checkout) {
			c.add(t, "B", 1)
			if _, err := c.products.Delete(context.Background(), "B", nil); err != nil {
				t.Fatal(err)
			}
		}, "items-unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, c := context.Background(), newCheckout(t)
			tc.setup(t, c)
			_, _, err := c.svc.Checkout(ctx, c.who, "key-1", orders.Request{})
			var conflict *shop.ConflictError
			if !errors.As(err, &conflict) || conflict.Reason != tc.reason {
				t.Fatalf("checkout = %v, want %s", err, tc.reason)
			}
			if list, err := c.svc.List(ctx, "U1", 10, ""); err != nil || len(list.Items) != 0 {
				t.Errorf("orders after a conflict: %+v, %v", list, err)
			}
			// The key was released: the same key works once the cart is fixed.
			_ = c.products.Create(ctx, catalog.Product{ProductID: "C", Name: "C", Price: 1, Currency: "EUR", Quantity: 1, Version: 1})
			if err := c.carts.Clear(ctx, c.owner); err != nil {
				t.Fatal(err)
			}
			c.add(t, "C", 1)
			if _, replayed, err := c.svc.Checkout(ctx, c.who, "key-1", orders.Request{}); err != nil || replayed {
				t.Errorf("retry with the same key = %v, replayed %v", err, replayed)
			}
		})
	}
}

func TestProfile(t *testing.T) {
	ctx, c := context.Background(), newCheckout(t)
	me, err := c.svc.Me(ctx, c.who)
	if err != nil || me.Email != c.who.Email || me.Name != "Ann" {
		t.Fatalf("me = %+v, %v", me, err)
	}
	if _, err := c.svc.Rename(ctx, c.who, ""); err == nil {
		t.Error("an empty name was accepted")
	}
	if me, err := c.svc.Rename(ctx, c.who, "Annie"); err != nil || me.Name != "Annie" {
		t.Errorf("rename = %+v, %v", me, err)
	}
}

func ptr[T any](v T) *T { return &v }

// The checkout note and the profile name refuse what would render as
// something else: control, bidirectional and invisible characters.
func TestFreeTextRules(t *testing.T) {
	for _, tc := range []struct {
		what  string
		check func(string) error
		text  string
		ok    bool
	}{
		{"note", orders.CheckNote, "Leave it at the door, please", true},
		{"note", orders.CheckNote, "Leave it at the door,\nplease", false},
		{"note", orders.CheckNote, "door\u2064", false},
		{"note", orders.CheckNote, "door\x1b[2J", false},
		{"note", orders.CheckNote, "pay later\u202e", false},
		{"name", orders.CheckName, "Zoë Ångström", true},
		{"name", orders.CheckName, "Zoë\nÅngström", false},
		{"name", orders.CheckName, "Zo\u200bë", false},
	} {
		err := tc.check(tc.text)
		var inv *shop.InvalidError
		if tc.ok != (err == nil) || !tc.ok && (!errors.As(err, &inv) || inv.Fields[0].Field != tc.what) {
			t.Errorf("%s %q: %v", tc.what, tc.text, err)
		}
	}
}

// commits counts the store's checkout transactions.
type commits struct {
	orders.Store
	n int
}

func (c *commits) Commit(ctx context.Context, o orders.Order, key, token string, who orders.Customer, slot, maxUnits int, now time.Time) error {
	c.n++
	return c.Store.Commit(ctx, o, key, token, who, slot, maxUnits, now)
}

// A product that is visibly sold out is a 409 without a transaction (issue
// 26, item 6): a flash sale's losers never contend with its winners.
func TestSoldOutIsRefusedWithoutATransaction(t *testing.T) {
	ctx := context.Background()
	c := newCheckout(t)
	store := &commits{Store: memory.NewOrders(c.products)}
	codec, err := cursor.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	svc := orders.NewService(store, c.carts, codec, "EUR", orders.DefaultLimits, slog.New(slog.NewJSONHandler(io.Discard, nil)), orders.Options{})
	other := shop.Identity{Subject: "U2", Email: "u2@example.com", Name: "Bo"}
	c.add(t, "B", 1) // the last one, in both carts
	if _, err := c.carts.SetLine(ctx, cart.Owner{ID: other.Subject}, "B", 1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Checkout(ctx, other, "k-other", orders.Request{}); err != nil {
		t.Fatal(err)
	}
	before := store.n
	_, _, err = svc.Checkout(ctx, c.who, "k-late", orders.Request{})
	var conflict *shop.ConflictError
	if !errors.As(err, &conflict) || conflict.Reason != "insufficient-stock" || conflict.Fields[0].Field != "items.B" {
		t.Fatalf("checkout of a sold-out product = %v, want insufficient-stock naming B", err)
	}
	if store.n != before {
		t.Errorf("%d transactions for a visibly sold-out product, want none", store.n-before)
	}
}
