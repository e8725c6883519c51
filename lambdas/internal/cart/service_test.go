package cart_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/internal/cart"
	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/memory"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

func newService(t *testing.T) (*cart.Service, *memory.Products) {
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
	return cart.NewService(memory.NewCarts(), products, "EUR", cart.TTLs{User: time.Hour, Guest: time.Minute}), products
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

func TestValidSessionID(t *testing.T) {
	for s, want := range map[string]bool{
		"0123456789abcdef": true, "550e8400-e29b-41d4-a716-446655440000": true,
		"0123456789abcde": false, "0123456789abcdef/": false, "": false,
		string(make([]byte, 129)): false,
	} {
		if got := cart.ValidSessionID(s); got != want {
			t.Errorf("ValidSessionID(%q) = %v", s, got)
		}
	}
}

func TestUnavailableStoreIsReported(t *testing.T) {
	products := memory.NewProducts()
	store := memory.NewCarts()
	store.Down = fmt.Errorf("get: %w", shop.ErrUnavailable)
	svc := cart.NewService(store, products, "EUR", cart.TTLs{User: time.Hour, Guest: time.Hour})
	if _, err := svc.View(context.Background(), cart.Owner{ID: "u"}); !errors.Is(err, shop.ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
}
