// Command orders is the Lambda behind /orders and /me. Checkout reads and
// empties the cart, so it runs in the VPC next to the serverless cache; DynamoDB
// is reached through the gateway endpoint.
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
		h, err := wire.Orders(e.Config, e.DB, rdb, e.Log)
		if err != nil {
			return nil, err
		}
		return h.Routes(), nil
	})
}
