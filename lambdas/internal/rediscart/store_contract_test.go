//go:build integration

package rediscart

import (
	"testing"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/internal/cart"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
	"github.com/go-cdk-shop/shop/lambdas/internal/storetest"
)

// The suite the in-memory fake passes, against redis-server.
func TestCartsSuite(t *testing.T) {
	storetest.Carts(t, func(*testing.T) cart.Store { return NewStore(client) },
		func() cart.Owner { return cart.Owner{ID: shop.NewID("S", time.Now())} })
}
