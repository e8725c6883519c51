// Command catalog is the Lambda behind the /products routes, and the HTTP
// API's $default route: unknown paths get a problem+json 404, and known paths
// with a method no route has a 405.
package main

import (
	"github.com/go-cdk-shop/shop/lambdas/internal/httpapi"
	"github.com/go-cdk-shop/shop/lambdas/internal/wire"
)

func main() {
	wire.Start(func(e wire.Env) ([]httpapi.Route, error) {
		storage, err := wire.Bucket(e.Config, e.AWS)
		if err != nil {
			return nil, err
		}
		cat, err := wire.Catalog(e.Config, e.DB, storage, e.Log)
		if err != nil {
			return nil, err
		}
		return cat.Routes(), nil
	})
}
