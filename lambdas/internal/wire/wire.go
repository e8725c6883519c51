// Package wire builds the shop from configuration, once per execution
// environment: clients, stores, services and routes. The Lambda mains, the
// local API, the end-to-end tests and the benchmarks all build it here, so
// each serves through the very same objects.
package wire

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/redis/go-redis/v9"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/authorizer"
	"github.com/go-cdk-shop/shop/lambdas/internal/bucket"
	"github.com/go-cdk-shop/shop/lambdas/internal/cart"
	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/cursor"
	"github.com/go-cdk-shop/shop/lambdas/internal/dynamo"
	"github.com/go-cdk-shop/shop/lambdas/internal/httpapi"
	"github.com/go-cdk-shop/shop/lambdas/internal/idtoken"
	"github.com/go-cdk-shop/shop/lambdas/internal/images"
	"github.com/go-cdk-shop/shop/lambdas/internal/orders"
	"github.com/go-cdk-shop/shop/lambdas/internal/rediscart"
	"github.com/go-cdk-shop/shop/lambdas/internal/views"
)

// Backends are the clients the shop runs on. A function passes only those
// it has: the parts that need a missing one are not built.
type Backends struct {
	DB     dynamo.API
	Cache  redis.Cmdable // nil: no cart, no checkout
	Images images.Store  // nil: no uploads, no image events
	Log    *slog.Logger
	// Function names the function in the shop's metrics.
	Function contract.Function
}

// Shop is the shop's parts. A part is nil when its configuration or its
// backend was not given.
type Shop struct {
	Catalog *httpapi.Catalog // /products
	Cart    *httpapi.Cart    // /cart
	Orders  *httpapi.Orders  // /orders, /me
	Images  *images.Service  // uploads, the upload event, clean-up
	Carts   *cart.Service    // the cart's use cases, which checkout shares
	// Lifecycle is the orders' service; the expiry job uses it alone.
	Lifecycle *orders.Service
	// ProductCache is the read-through product cache, view counts and
	// trending, when there is a cache.
	ProductCache *views.Cache

	originVerify string
	function     string
}

// Build builds every part that cfg and b allow. The catalogue needs the
// images bucket; the cart needs the cache and the carts' idle times; checkout
// needs the cart and the order tables. With a cache, the product cache sits
// in front of the catalogue, and every writer of products tells it of its
// writes.
func Build(cfg Config, b Backends) (*Shop, error) {
	if cfg.ProductsTable == "" || b.DB == nil {
		return nil, errors.New("the shop needs the Products table and a DynamoDB client")
	}
	if b.Log == nil {
		b.Log = Logger()
	}
	s := &Shop{originVerify: cfg.OriginVerify, function: string(b.Function)}
	products := dynamo.NewProducts(b.DB, cfg.ProductsTable)
	if b.Images != nil {
		if cfg.ImagesBaseURL == "" {
			return nil, errors.New("images need their base URL")
		}
		s.Images = images.NewService(b.Images, products, cfg.ImagesBaseURL, b.Log)
	}
	var cursors *cursor.Codec
	if cfg.CursorSecret != "" {
		var err error
		if cursors, err = Cursors(cfg.CursorSecret); err != nil {
			return nil, err
		}
	}
	// The product cache, which every writer of products tells of its writes.
	var productCache *views.Cache
	if b.Cache != nil {
		productCache = views.New(b.Cache, b.Log, string(b.Function), cfg.ProductsTable)
		s.ProductCache = productCache
		if s.Images != nil {
			s.Images.SetInvalidator(productCache)
		}
	}
	if cursors != nil && s.Images != nil {
		svc := catalog.NewService(products, cursors, cfg.Currency)
		if productCache != nil {
			svc.SetCache(productCache)
		}
		s.Catalog = httpapi.NewCatalog(svc, s.Images)
	}
	if b.Cache != nil && cfg.CartTTL != (cart.TTLs{}) { // the cart's functions: not the catalogue, images or the job
		s.Carts = cart.NewService(rediscart.NewStore(b.Cache), rediscart.NewSessions(b.Cache), products, cfg.Currency, cfg.CartTTL)
		s.Cart = httpapi.NewCart(s.Carts)
	}
	if cfg.OrdersTable != "" && cfg.CustomersTable != "" {
		limits := cfg.OrderLimits
		if limits == (orders.Limits{}) {
			limits = orders.DefaultLimits
		}
		store := dynamo.NewOrders(b.DB, cfg.OrdersTable, cfg.CustomersTable, cfg.ProductsTable)
		var carts orders.Carts
		if s.Carts != nil {
			carts = s.Carts
		}
		s.Lifecycle = orders.NewService(store, carts, cursors, cfg.Currency, limits, b.Log)
		if productCache != nil {
			s.Lifecycle.SetInvalidator(productCache)
		}
		if s.Carts != nil && cursors != nil {
			s.Orders = httpapi.NewOrders(s.Lifecycle)
		}
	}
	return s, nil
}

// Routes are the routes the named functions serve (every function's when
// none is named), of the parts that were built.
func (s *Shop) Routes(fns ...contract.Function) []httpapi.Route {
	if len(fns) == 0 {
		fns = []contract.Function{contract.Catalog, contract.Cart, contract.Orders}
	}
	var rs []httpapi.Route
	for _, fn := range fns {
		switch {
		case fn == contract.Catalog && s.Catalog != nil:
			rs = append(rs, s.Catalog.Routes()...)
		case fn == contract.Cart && s.Cart != nil:
			rs = append(rs, s.Cart.Routes()...)
		case fn == contract.Orders && s.Orders != nil:
			rs = append(rs, s.Orders.Routes()...)
		}
	}
	return rs
}

// Router serves the routes of fns (of all when none is named). Routes that
// other functions serve are known to it, so that the $default route answers a
// known path with a wrong method 405.
func (s *Shop) Router(log *slog.Logger, fns ...contract.Function) *httpapi.Router {
	rs := s.Routes(fns...)
	others := slices.DeleteFunc(contract.Routes(), func(r contract.Route) bool {
		return slices.ContainsFunc(rs, func(o httpapi.Route) bool { return o.Key() == r.Key() })
	})
	return httpapi.NewRouter(log, rs...).Elsewhere(others...).RequireOrigin(s.originVerify).Named(s.function)
}

// Logger is the JSON logger every function writes to stdout; CloudWatch keeps the lines as they are.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// AWS builds the SDK configuration from the variables Lambda sets in every
// execution environment (region and the function role's credentials). In
// Lambda the SDK's default chain resolves to exactly these; reading them
// directly keeps the SSO, STS and IMDS providers out of the binary (about 2 MB)
// and off the cold start.
func AWS() (aws.Config, error) {
	region := os.Getenv("AWS_REGION")
	key, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if region == "" || key == "" || secret == "" {
		return aws.Config{}, fmt.Errorf("AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set")
	}
	return aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, os.Getenv("AWS_SESSION_TOKEN")),
	}, nil
}

// Cursors returns the page-token codec for secret.
func Cursors(secret string) (*cursor.Codec, error) {
	key := []byte(secret)
	if b, err := hex.DecodeString(secret); err == nil {
		key = b
	}
	c, err := cursor.New(key)
	if err != nil {
		return nil, fmt.Errorf("CURSOR_SECRET: %w", err)
	}
	return c, nil
}

// Cache connects to the serverless cache in AWS: TLS, and the function role's
// IAM auth token as the password of the cache user.
func Cache(cfg Config, awsCfg aws.Config) (*redis.ClusterClient, error) {
	host, _, err := net.SplitHostPort(cfg.CacheEndpoint)
	if err != nil {
		return nil, fmt.Errorf("cache endpoint %q: %w", cfg.CacheEndpoint, err)
	}
	tok := &rediscart.IAMToken{CacheName: cfg.CacheName, UserID: cfg.CacheUser, Region: awsCfg.Region, Credentials: awsCfg.Credentials}
	password := tok.Token
	if cfg.CachePassword != "" { // a local cache
		password = func(context.Context) (string, error) { return cfg.CachePassword, nil }
	}
	tlsCfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if cfg.CacheCAFile != "" {
		pem, err := os.ReadFile(cfg.CacheCAFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", contract.EnvCacheCAFile, err)
		}
		tlsCfg.RootCAs = x509.NewCertPool()
		if !tlsCfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no certificate in %s", contract.EnvCacheCAFile, cfg.CacheCAFile)
		}
	}
	return rediscart.NewClient(rediscart.Options{Addr: cfg.CacheEndpoint, Username: cfg.CacheUser, Password: password, TLS: tlsCfg}), nil
}

// Backends connects to what cfg names in AWS: DynamoDB always, the images
// bucket and the cache when configured.
func (cfg Config) Backends(fn contract.Function, awsCfg aws.Config, log *slog.Logger) (Backends, error) {
	b := Backends{DB: dynamo.NewClient(awsCfg, cfg.DynamoEndpoint), Log: log, Function: fn}
	if cfg.ImagesBucket != "" {
		b.Images = bucket.New(bucket.NewClient(awsCfg, cfg.S3Endpoint), cfg.ImagesBucket)
	}
	if cfg.CacheEndpoint != "" {
		rediscart.SetLogger(log)
		c, err := Cache(cfg, awsCfg)
		if err != nil {
			return Backends{}, err
		}
		b.Cache = c
	}
	return b, nil
}

// warmBudget bounds the connections Warm opens at init.
const warmBudget = time.Second

// Warm opens at init, at once, the connections the first request would
// otherwise open one after the other: DynamoDB's (TCP and TLS) and the
// cache's (the cluster's slots, TLS, AUTH). A failure is logged, and the
// first request connects as it would have.
func (b Backends) Warm(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, warmBudget)
	defer cancel()
	var wg sync.WaitGroup
	warm := func(backend string, connect func(context.Context) error) {
		wg.Go(func() {
			if err := connect(ctx); err != nil {
				b.Log.WarnContext(ctx, "warm-up failed; the first request connects", "backend", backend, "error", err.Error())
			}
		})
	}
	if c, ok := b.DB.(*dynamodb.Client); ok {
		warm("dynamodb", func(ctx context.Context) error { return dynamo.Warm(ctx, c) })
	}
	if c, ok := b.Cache.(*redis.ClusterClient); ok {
		warm("cache", func(ctx context.Context) error { return rediscart.Warm(ctx, c) })
	}
	wg.Wait()
}

// Fatal logs why a function cannot start and exits; Lambda reports the init error.
func Fatal(log *slog.Logger, err error) {
	log.Error("cannot start", "error", err.Error())
	os.Exit(1)
}

// Function builds the shop for fn from the process environment, or ends the
// init with an error that names every missing setting.
func Function(fn contract.Function) (*Shop, *slog.Logger) {
	log := Logger()
	cfg, err := FromEnv(fn)
	if err != nil {
		Fatal(log, err)
	}
	awsCfg, err := AWS()
	if err != nil {
		Fatal(log, err)
	}
	b, err := cfg.Backends(fn, awsCfg, log)
	if err != nil {
		Fatal(log, err)
	}
	s, err := Build(cfg, b)
	if err != nil {
		Fatal(log, err)
	}
	b.Warm(context.Background())
	return s, log
}

// Authorizer is the cart routes' Lambda authorizer for cfg's user pool in region.
func Authorizer(cfg Config, region string) authorizer.Handler {
	issuer := idtoken.CognitoIssuer(region, cfg.UserPoolID)
	keys := &idtoken.JWKS{URL: issuer + "/.well-known/jwks.json"}
	return authorizer.Handler{Tokens: &idtoken.Verifier{Issuer: issuer, Audience: cfg.UserPoolClientID, Key: keys.Key}}
}
