//go:build integration

package dynamo

import (
	"context"
	"testing"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
	"github.com/go-cdk-shop/shop/lambdas/internal/testing/storetest"
)

// The suites the in-memory fakes pass, against DynamoDB Local.

func TestProductsSuite(t *testing.T) {
	storetest.Products(t, func(t *testing.T) catalog.Store { return newProducts(t) })
}

func TestOrdersSuite(t *testing.T) {
	storetest.Orders(t, func(t *testing.T) storetest.OrdersEnv {
		ctx, id := context.Background(), shop.NewID("", time.Now())
		products := newProducts(t)
		o, c := "orders-"+id, "customers-"+id
		if err := CreateOrdersTable(ctx, local, o); err != nil {
			t.Fatal(err)
		}
		if err := CreateCustomersTable(ctx, local, c); err != nil {
			t.Fatal(err)
		}
		return storetest.OrdersEnv{Orders: NewOrders(local, o, c, products.table), Products: products}
	})
}
