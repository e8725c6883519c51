package cart_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/internal/cart"
	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
	"github.com/go-cdk-shop/shop/lambdas/internal/testing/memory"
)

func newService(t *testing.T) (*cart.Service, *memory.Products) {
	svc, products, _ := newServiceAndStore(t)
	return svc, products
}

func newServiceAndStore(t *testing.T) (*cart.Service, *memory.Products, *memory.Carts) {
	products := memory.NewProducts()
	for _, p := range []catalog.Product{
		{ProductID: "A", Name: "A", Price: 500, Currency: "EUR", Quantity: 10},
		{ProductID: "USD", Name: "Dollar thing", Price: 100, Currency: "USD", Quantity: 10},
		{ProductID: "NONE", Name: "Sold out", Price: 100, Currency: "EUR", Quantity: 0},
	} {
		if err := products.Create(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	memCarts := memory.NewCarts()
	return cart.NewService(memCarts, memory.NewSessions(memCarts), products, "EUR", cart.TTLs{User: time.Hour, Guest: time.Minute}), products, memCarts
}

func TestSetLineRules(t *testing.T) {
	user := cart.Owner{ID: "u1"}
	for _, tc := range []struct {
		id       string
		quantity int64
		want     error
		reason   string
	}{
		{"A", 1, nil, ""},
		{"A", 10, nil, ""},
		{"A", 11, shop.ErrConflict, "insufficient-stock"},
		{"NONE", 1, shop.ErrConflict, "insufficient-stock"},
		{"USD", 1, shop.ErrConflict, "currency-mismatch"},
		{"missing", 1, shop.ErrNotFound, ""},
		{"A", 0, &shop.InvalidError{}, ""},
		{"A", 100, &shop.InvalidError{}, ""},
		{"A", -1, &shop.InvalidError{}, ""},
		{"bad/id", 1, &shop.InvalidError{}, ""},
	} {
		t.Run(fmt.Sprint(tc.id, "x", tc.quantity), func(t *testing.T) {
			svc, _ := newService(t)
			_, err := svc.SetLine(context.Background(), user, tc.id, tc.quantity)
			var inv *shop.InvalidError
			var conflict *shop.ConflictError
			switch want := tc.want.(type) {
			case nil:
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			case *shop.InvalidError:
				if !errors.As(err, &inv) {
					t.Fatalf("err = %v, want a validation error", err)
				}
			default:
				if !errors.Is(err, want) || (tc.reason != "" && (!errors.As(err, &conflict) || conflict.Reason != tc.reason)) {
					t.Fatalf("err = %v, want %v %s", err, want, tc.reason)
				}
			}
			if tc.want != nil {
				if c, _ := svc.View(context.Background(), user); len(c.Items) != 0 {
					t.Fatalf("a refused line was stored: %+v", c)
				}
			}
		})
	}
}

func TestCartTotalsAndLineLimit(t *testing.T) {
	svc, products := newService(t)
	ctx, user := context.Background(), cart.Owner{ID: "u1"}
	for i := range cart.MaxLines {
		id := fmt.Sprint("L", i)
		_ = products.Create(ctx, catalog.Product{ProductID: id, Name: id, Price: 10, Currency: "EUR", Quantity: 5})
		if _, err := svc.SetLine(ctx, user, id, 2); err != nil {
			t.Fatal(err)
		}
	}
	_, err := svc.SetLine(ctx, user, "A", 1)
	var conflict *shop.ConflictError
	if !errors.As(err, &conflict) || conflict.Reason != "cart-full" {
		t.Fatalf("line %d = %v, want cart-full", cart.MaxLines+1, err)
	}
	c, err := svc.View(ctx, user)
	if err != nil || c.ItemCount != 2*cart.MaxLines || c.Subtotal != 20*cart.MaxLines || len(c.Items) != cart.MaxLines {
		t.Fatalf("cart = %d lines, %d units, %d subtotal, %v", len(c.Items), c.ItemCount, c.Subtotal, err)
	}
}

func TestUnavailableStoreIsReported(t *testing.T) {
	products := memory.NewProducts()
	store := memory.NewCarts()
	store.Down = fmt.Errorf("get: %w", shop.ErrUnavailable)
	svc := cart.NewService(store, memory.NewSessions(store), products, "EUR", cart.TTLs{User: time.Hour, Guest: time.Hour})
	if _, err := svc.View(context.Background(), cart.Owner{ID: "u"}); !errors.Is(err, shop.ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
}

func TestGuestSessions(t *testing.T) {
	svc, _ := newService(t)
	ctx := context.Background()
	s, err := svc.NewSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.SessionID) != 43 || s.ExpiresAt == "" {
		t.Fatalf("session = %+v, want 256 bits in 43 base64url characters", s)
	}
	other, _ := svc.NewSession(ctx)
	if other.SessionID == s.SessionID {
		t.Fatal("two sessions share a token")
	}
	g, err := svc.Guest(ctx, s.SessionID)
	if err != nil || !g.Guest || g.ID == s.SessionID || len(g.ID) != 64 {
		t.Fatalf("guest = %+v, %v; want the token's SHA-256 as the id", g, err)
	}
	tampered := []byte(s.SessionID)
	tampered[0] ^= 1
	for name, token := range map[string]string{
		"made up": "0123456789abcdef0123456789abcdef0123456789a", "tampered": string(tampered),
		"too short": "abc", "not base64url": strings.Repeat("!", 43), "empty": "",
	} {
		if _, err := svc.Guest(ctx, token); !errors.Is(err, cart.ErrInvalidSession) {
			t.Errorf("%s token: %v, want ErrInvalidSession", name, err)
		}
	}
	if err := svc.EndSession(ctx, g); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Guest(ctx, s.SessionID); !errors.Is(err, cart.ErrInvalidSession) {
		t.Errorf("revoked token: %v", err)
	}
	if _, err := svc.Guest(ctx, other.SessionID); err != nil {
		t.Errorf("revoking one session ended another: %v", err)
	}
}

// A merge never loses units: what does not fit comes back, with the reason,
// and the session is revoked.
func TestMergeReportsWhatDidNotFit(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		user   map[string]int64 // lines the user holds before
		guest  map[string]int64
		remove []string // products deleted after the guest added them
		want   []cart.NotMerged
		after  map[string]int
	}{
		{"everything fits", nil, map[string]int64{"A": 2}, nil, nil, map[string]int{"A": 2}},
		{"stock caps the sum", map[string]int64{"A": 7}, map[string]int64{"A": 5}, nil,
			[]cart.NotMerged{{ProductID: "A", Quantity: 2, Reason: "insufficient-stock"}}, map[string]int{"A": 10}},
		{"a product that is gone", nil, map[string]int64{"A": 1, "B": 1}, []string{"B"},
			[]cart.NotMerged{{ProductID: "B", Quantity: 1, Reason: "unavailable"}}, map[string]int{"A": 1}},
		{"another currency", nil, map[string]int64{"USD": 1}, nil,
			[]cart.NotMerged{{ProductID: "USD", Quantity: 1, Reason: "unavailable"}}, map[string]int{}},
		{"99 per line", map[string]int64{"BIG": 98}, map[string]int64{"BIG": 5}, nil,
			[]cart.NotMerged{{ProductID: "BIG", Quantity: 4, Reason: "quantity-limit"}}, map[string]int{"BIG": 99}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc, products, store := newServiceAndStore(t)
			_ = products.Create(ctx, catalog.Product{ProductID: "B", Name: "B", Price: 1, Currency: "EUR", Quantity: 10})
			_ = products.Create(ctx, catalog.Product{ProductID: "BIG", Name: "Big", Price: 1, Currency: "EUR", Quantity: 1000})
			user := cart.Owner{ID: "u1"}
			for id, q := range tc.user {
				if _, err := svc.SetLine(ctx, user, id, q); err != nil {
					t.Fatal(err)
				}
			}
			s, _ := svc.NewSession(ctx)
			guest, _ := svc.Guest(ctx, s.SessionID)
			for id, q := range tc.guest {
				if id == "USD" {
					continue // cannot be added to a EUR cart; put straight in the store below
				}
				if _, err := svc.SetLine(ctx, guest, id, q); err != nil {
					t.Fatal(err)
				}
			}
			if q, ok := tc.guest["USD"]; ok {
				if err := store.Set(ctx, guest, "USD", int(q), time.Hour); err != nil {
					t.Fatal(err)
				}
			}
			for _, id := range tc.remove {
				_, _ = products.Delete(ctx, id, nil)
			}
			c, err := svc.Merge(ctx, user, guest)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.NotMerged, tc.want) {
				t.Errorf("not merged %+v, want %+v", c.NotMerged, tc.want)
			}
			got := map[string]int{}
			for _, l := range c.Items {
				got[l.ProductID] = l.Quantity
			}
			if !maps.Equal(got, tc.after) {
				t.Errorf("user cart %v, want %v", got, tc.after)
			}
			if _, err := svc.Guest(ctx, s.SessionID); !errors.Is(err, cart.ErrInvalidSession) {
				t.Errorf("the session outlived the merge: %v", err)
			}
		})
	}
}
