// Package wire builds each function of the shop from its configuration, once
// per execution environment: one builder per function names the backends it
// needs and returns the complete part it serves. The Lambda mains call one
// builder each; the local API, the end-to-end tests and the benchmarks call
// them all over one set of backends (Local).
package wire

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/cache"
	"github.com/go-cdk-shop/shop/lambdas/internal/cart"
	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/cursor"
	"github.com/go-cdk-shop/shop/lambdas/internal/dynamo"
	"github.com/go-cdk-shop/shop/lambdas/internal/httpapi"
	"github.com/go-cdk-shop/shop/lambdas/internal/images"
	"github.com/go-cdk-shop/shop/lambdas/internal/lambdaenv"
	"github.com/go-cdk-shop/shop/lambdas/internal/orders"
	"github.com/go-cdk-shop/shop/lambdas/internal/productcache"
)

// Backends are the clients a function runs on. Each builder names the ones
// it needs and refuses to build without them; an optional one (the cache of
// the catalogue, images and expiry, which only keeps the product cache
// right) is said so.
type Backends struct {
	DB     dynamo.API    // the tables
	Cache  redis.Cmdable // carts, guest sessions and the product cache
	Images images.Store  // the images bucket
	Log    *slog.Logger
	// Now is the clock of order holds; nil is the system clock (tests move it).
	Now func() time.Time
}

// require names, in one error, every backend fn needs that b lacks.
func (b Backends) require(fn contract.Function, db, cache, imgs bool) error {
	var missing []string
	if db && b.DB == nil {
		missing = append(missing, "DynamoDB")
	}
	if cache && b.Cache == nil {
		missing = append(missing, "the cache")
	}
	if imgs && b.Images == nil {
		missing = append(missing, "the images bucket")
	}
	if b.Log == nil {
		missing = append(missing, "a logger")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s needs %v", fn, missing)
	}
	return nil
}

// productCache is the product cache over b's cache, with name in its
// metrics; nil without a cache.
func productCache(cfg lambdaenv.Config, b Backends, name string) *productcache.Cache {
	if b.Cache == nil {
		return nil
	}
	return productcache.New(b.Cache, b.Log, name, cfg.CacheScope)
}

// readThrough and invalidator are pc as the domain's ports: nil interfaces
// when there is no product cache, never a nil pointer in one.
func readThrough(pc *productcache.Cache) catalog.Cache {
	if pc == nil {
		return nil
	}
	return pc
}

func invalidator(pc *productcache.Cache) catalog.Invalidator {
	if pc == nil {
		return nil
	}
	return pc
}

// Catalog is the catalogue function's part: the product routes, read
// through the product cache (when there is a cache), and image uploads. It
// needs DynamoDB and the images bucket.
func Catalog(cfg lambdaenv.Config, b Backends) (*httpapi.Catalog, error) {
	if err := b.require(contract.Catalog, true, false, true); err != nil {
		return nil, err
	}
	return catalogue(cfg, b, productCache(cfg, b, string(contract.Catalog)))
}

func catalogue(cfg lambdaenv.Config, b Backends, pc *productcache.Cache) (*httpapi.Catalog, error) {
	cursors, err := cursor.FromSecret(cfg.CursorSecret)
	if err != nil {
		return nil, err
	}
	imgs, err := imageService(cfg, b, pc)
	if err != nil {
		return nil, err
	}
	products := dynamo.NewProducts(b.DB, cfg.ProductsTable)
	return httpapi.NewCatalog(catalog.NewService(products, cursors, cfg.Currency, readThrough(pc)), imgs), nil
}

// Images is the images function's part: the upload checks and the daily
// sweep, telling the product cache (when there is a cache) of the images it
// links. It needs DynamoDB and the images bucket.
func Images(cfg lambdaenv.Config, b Backends) (*images.Service, error) {
	if err := b.require(contract.Images, true, false, true); err != nil {
		return nil, err
	}
	return imageService(cfg, b, productCache(cfg, b, string(contract.Images)))
}

func imageService(cfg lambdaenv.Config, b Backends, pc *productcache.Cache) (*images.Service, error) {
	if cfg.ImagesBaseURL == "" {
		return nil, errors.New("images need their base URL")
	}
	var marker images.Marker
	if b.Cache != nil {
		marker = cache.NewSweepMarker(b.Cache, cfg.CacheScope)
	}
	return images.NewService(b.Images, dynamo.NewProducts(b.DB, cfg.ProductsTable), cfg.ImagesBaseURL, b.Log,
		images.Options{Invalidator: invalidator(pc), Marker: marker}), nil
}

// Cart is the cart function's part: guest sessions and carts in the cache,
// priced from the Products table. It needs DynamoDB and the cache.
func Cart(cfg lambdaenv.Config, b Backends) (*httpapi.Cart, error) {
	if err := b.require(contract.Cart, true, true, false); err != nil {
		return nil, err
	}
	svc, err := carts(cfg, b)
	if err != nil {
		return nil, err
	}
	return httpapi.NewCart(svc), nil
}

func carts(cfg lambdaenv.Config, b Backends) (*cart.Service, error) {
	if cfg.CartTTL.User <= 0 || cfg.CartTTL.Guest <= 0 {
		return nil, errors.New("carts need their idle times")
	}
	return cart.NewService(cache.NewCarts(b.Cache, cfg.CacheScope), cache.NewSessions(b.Cache, cfg.CacheScope), dynamo.NewProducts(b.DB, cfg.ProductsTable), cfg.Currency, cfg.CartTTL), nil
}

// Orders is the orders function's part: checkout from the caller's cart,
// the order lifecycle, history and the profile, telling the product cache
// of the stock it moves. It needs DynamoDB and the cache.
func Orders(cfg lambdaenv.Config, b Backends) (*httpapi.Orders, error) {
	if err := b.require(contract.Orders, true, true, false); err != nil {
		return nil, err
	}
	cs, err := carts(cfg, b)
	if err != nil {
		return nil, err
	}
	svc, err := lifecycle(cfg, b, cs, productCache(cfg, b, string(contract.Orders)))
	if err != nil {
		return nil, err
	}
	return httpapi.NewOrders(svc), nil
}

// Expiry is the expiry job's part: the order lifecycle without carts,
// telling the product cache (when there is a cache) of the stock it
// returns. It needs DynamoDB.
func Expiry(cfg lambdaenv.Config, b Backends) (*orders.Service, error) {
	if err := b.require(contract.Expiry, true, false, false); err != nil {
		return nil, err
	}
	return lifecycle(cfg, b, nil, productCache(cfg, b, string(contract.Expiry)))
}

// lifecycle is the orders' service; cs is nil for the expiry job, and the
// page cursors are those of the order history, when cfg has a secret.
func lifecycle(cfg lambdaenv.Config, b Backends, cs *cart.Service, pc *productcache.Cache) (*orders.Service, error) {
	if cfg.OrdersTable == "" || cfg.CustomersTable == "" {
		return nil, errors.New("the order lifecycle needs the Orders and Customers tables")
	}
	var cursors *cursor.Codec
	if cfg.CursorSecret != "" {
		var err error
		if cursors, err = cursor.FromSecret(cfg.CursorSecret); err != nil {
			return nil, err
		}
	}
	limits := cfg.OrderLimits
	if limits == (orders.Limits{}) {
		limits = orders.DefaultLimits
	}
	var carts orders.Carts
	if cs != nil {
		carts = cs
	}
	store := dynamo.NewOrders(b.DB, cfg.OrdersTable, cfg.CustomersTable, cfg.ProductsTable)
	return orders.NewService(store, carts, cursors, cfg.Currency, limits, b.Log, orders.Options{Invalidator: invalidator(pc), Now: b.Now}), nil
}

// Router serves routes as the function name: it knows the table's other
// routes, so that the catch-all resources answer a known path with a wrong
// method 405, it puts CORS headers on the answers to cfg's browser
// origins, and it names the function in the request lines' metrics.
func Router(cfg lambdaenv.Config, log *slog.Logger, name string, routes ...httpapi.Route) *httpapi.Router {
	others := slices.DeleteFunc(contract.Routes(), func(r contract.Route) bool {
		return slices.ContainsFunc(routes, func(o httpapi.Route) bool { return o.Key() == r.Key() })
	})
	return httpapi.NewRouter(log, routes...).Elsewhere(others...).AllowOrigins(cfg.CorsOrigins...).Named(name).Releasing(cfg.Release)
}
