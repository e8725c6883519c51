package wire

import (
	"log/slog"
	"slices"

	"github.com/go-cdk-shop/shop/lambdas/internal/cart"
	"github.com/go-cdk-shop/shop/lambdas/internal/httpapi"
	"github.com/go-cdk-shop/shop/lambdas/internal/images"
	"github.com/go-cdk-shop/shop/lambdas/internal/lambdaenv"
	"github.com/go-cdk-shop/shop/lambdas/internal/orders"
	"github.com/go-cdk-shop/shop/lambdas/internal/productcache"
)

// localName names the whole shop in one process in the metrics.
const localName = "local"

// Local is the whole shop in one process: every function's part, built by
// the same code as the functions' builders, over one set of backends and
// one product cache. The local API, the end-to-end tests and the benchmarks
// serve through it.
type Local struct {
	Catalog *httpapi.Catalog
	Cart    *httpapi.Cart
	Orders  *httpapi.Orders
	// Images is the images function's part; Carts and Lifecycle are the
	// services behind Cart and Orders (Lifecycle also runs the expiry job).
	Images    *images.Service
	Carts     *cart.Service
	Lifecycle *orders.Service
	// ProductCache is the product cache every part reads through or tells.
	ProductCache *productcache.Cache

	cfg lambdaenv.Config
}

// NewLocal builds every part over b, which must have every backend.
func NewLocal(cfg lambdaenv.Config, b Backends) (*Local, error) {
	if err := b.require(localName, true, true, true); err != nil {
		return nil, err
	}
	l := &Local{cfg: cfg, ProductCache: productCache(cfg, b, localName)}
	var err error
	if l.Catalog, err = catalogue(cfg, b, l.ProductCache); err != nil {
		return nil, err
	}
	if l.Images, err = imageService(cfg, b, l.ProductCache); err != nil {
		return nil, err
	}
	if l.Carts, err = carts(cfg, b); err != nil {
		return nil, err
	}
	l.Cart = httpapi.NewCart(l.Carts)
	if l.Lifecycle, err = lifecycle(cfg, b, l.Carts, l.ProductCache); err != nil {
		return nil, err
	}
	l.Orders = httpapi.NewOrders(l.Lifecycle)
	return l, nil
}

// Routes are every route of the table, with their handlers.
func (l *Local) Routes() []httpapi.Route {
	return slices.Concat(l.Catalog.Routes(), l.Cart.Routes(), l.Orders.Routes())
}

// Router serves routes (every route of the table when none is given).
func (l *Local) Router(log *slog.Logger, routes ...httpapi.Route) *httpapi.Router {
	if len(routes) == 0 {
		routes = l.Routes()
	}
	return Router(l.cfg, log, localName, routes...)
}
