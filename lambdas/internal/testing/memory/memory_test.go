package memory

import (
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/go-cdk-shop/shop/lambdas/internal/cart"
	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/testing/storetest"
)

// The fakes pass the suites the real stores pass against DynamoDB Local and
// redis-server (package dynamo's and rediscart's integration tests).

func TestProductsBehaveLikeTheTable(t *testing.T) {
	storetest.Products(t, func(*testing.T) catalog.Store { return NewProducts() })
}

func TestOrdersBehaveLikeTheTables(t *testing.T) {
	storetest.Orders(t, func(*testing.T) storetest.OrdersEnv {
		p := NewProducts()
		return storetest.OrdersEnv{Orders: NewOrders(p), Products: p}
	})
}

func TestCartsBehaveLikeTheCache(t *testing.T) {
	var n atomic.Int64
	storetest.Carts(t, func(*testing.T) cart.Store { return NewCarts() },
		func() cart.Owner { return cart.Owner{ID: "U" + strconv.FormatInt(n.Add(1), 10)} })
}

func TestSessionsBehaveLikeTheCache(t *testing.T) {
	var n atomic.Int64
	storetest.Sessions(t, func(*testing.T) (cart.Sessions, cart.Store) {
		c := NewCarts()
		return NewSessions(c), c
	}, func() string { return "S" + strconv.FormatInt(n.Add(1), 10) })
}
