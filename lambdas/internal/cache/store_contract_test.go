//go:build integration

package cache

import (
	"testing"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/internal/cart"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
	"github.com/go-cdk-shop/shop/lambdas/internal/testing/storetest"
)

// The suite the in-memory fake passes, against redis-server.
func TestCartsSuite(t *testing.T) {
	storetest.Carts(t, func(*testing.T) cart.Store { return NewCarts(client, testScope) },
		func() cart.Owner { return cart.Owner{ID: shop.NewID("S", time.Now())} })
}

func TestSessionsSuite(t *testing.T) {
	storetest.Sessions(t, func(*testing.T) (cart.Sessions, cart.Store) {
		return NewSessions(client, testScope), NewCarts(client, testScope)
	},
		func() string { return shop.NewID("S", time.Now()) })
}
