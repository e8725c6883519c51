// Command cart is the Lambda behind the /cart routes. It runs in the VPC, next
// to the serverless cache, and reads prices from the Products table through the
// DynamoDB gateway endpoint.
package main

import (
	"github.com/go-cdk-shop/shop/lambdas/internal/httpapi"
	"github.com/go-cdk-shop/shop/lambdas/internal/wire"
)

func main() {
	wire.Start(func(e wire.Env) ([]httpapi.Route, error) {
		rdb, err := e.CacheClient()
		if err != nil {
			return nil, err
		}
		svc, err := wire.CartService(e.Config, e.DB, rdb)
		if err != nil {
			return nil, err
		}
		return httpapi.NewCart(svc).Routes(), nil
	})
}
