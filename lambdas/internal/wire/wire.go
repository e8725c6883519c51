// Package wire builds the shop's services from configuration, once per
// execution environment. The Lambda mains and the local API share it, so both
// serve through the very same objects.
package wire

import (
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/redis/go-redis/v9"

	"github.com/go-cdk-shop/shop/lambdas/internal/bucket"
	"github.com/go-cdk-shop/shop/lambdas/internal/cart"
	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/cursor"
	"github.com/go-cdk-shop/shop/lambdas/internal/dynamo"
	"github.com/go-cdk-shop/shop/lambdas/internal/httpapi"
	"github.com/go-cdk-shop/shop/lambdas/internal/images"
	"github.com/go-cdk-shop/shop/lambdas/internal/orders"
	"github.com/go-cdk-shop/shop/lambdas/internal/rediscart"
)

// Config is what the functions are told by their environment. The CDK app sets
// the same names on every function that needs them.
type Config struct {
	ProductsTable  string // PRODUCTS_TABLE
	OrdersTable    string // ORDERS_TABLE
	CustomersTable string // CUSTOMERS_TABLE
	CursorSecret   string // CURSOR_SECRET: hex or text, at least 32 bytes
	Currency       string // CURRENCY: default currency of new products
	// DynamoEndpoint points the client at DynamoDB Local (DYNAMODB_ENDPOINT); empty in AWS.
	DynamoEndpoint string

	ImagesBucket  string // IMAGES_BUCKET
	ImagesBaseURL string // IMAGES_BASE_URL: the CDN in front of the bucket, https://<domain>
	// S3Endpoint points the client at a local S3 server (S3_ENDPOINT); empty in AWS.
	S3Endpoint string

	CacheEndpoint string // CACHE_ENDPOINT: host:port of the serverless cache
	CacheName     string // CACHE_NAME: the cache's name, which IAM tokens are signed for
	CacheUser     string // CACHE_USER: the IAM-enabled ElastiCache user (id = name)
	// CartTTL are the sliding idle times of carts (CART_TTL_USER, CART_TTL_GUEST: Go durations).
	CartTTL cart.TTLs
}

// FromEnv reads Config from the process environment.
func FromEnv() Config {
	return Config{
		ProductsTable:  os.Getenv("PRODUCTS_TABLE"),
		OrdersTable:    os.Getenv("ORDERS_TABLE"),
		CustomersTable: os.Getenv("CUSTOMERS_TABLE"),
		CursorSecret:   os.Getenv("CURSOR_SECRET"),
		Currency:       envOr("CURRENCY", "EUR"),
		DynamoEndpoint: os.Getenv("DYNAMODB_ENDPOINT"),
		ImagesBucket:   os.Getenv("IMAGES_BUCKET"),
		ImagesBaseURL:  os.Getenv("IMAGES_BASE_URL"),
		S3Endpoint:     os.Getenv("S3_ENDPOINT"),
		CacheEndpoint:  os.Getenv("CACHE_ENDPOINT"),
		CacheName:      os.Getenv("CACHE_NAME"),
		CacheUser:      os.Getenv("CACHE_USER"),
		CartTTL:        cart.TTLs{User: envDuration("CART_TTL_USER", 7*24*time.Hour), Guest: envDuration("CART_TTL_GUEST", 24*time.Hour)},
	}
}

func envDuration(name string, fallback time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil && d > 0 {
		return d
	}
	return fallback
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
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

// Catalog builds the catalogue's handlers over a DynamoDB client, with
// product images in storage.
func Catalog(cfg Config, db dynamo.API, storage images.Storage, log *slog.Logger) (*httpapi.Catalog, error) {
	if err := cfg.needCatalog(); err != nil {
		return nil, err
	}
	cursors, err := Cursors(cfg.CursorSecret)
	if err != nil {
		return nil, err
	}
	imgs, err := Images(cfg, db, storage, log)
	if err != nil {
		return nil, err
	}
	svc := catalog.NewService(dynamo.NewProducts(db, cfg.ProductsTable), cursors, cfg.Currency)
	return httpapi.NewCatalog(svc, imgs), nil
}

// Images builds the image use cases: uploads, the upload event, clean-up.
func Images(cfg Config, db dynamo.API, storage images.Storage, log *slog.Logger) (*images.Service, error) {
	if cfg.ProductsTable == "" || cfg.ImagesBaseURL == "" {
		return nil, fmt.Errorf("PRODUCTS_TABLE and IMAGES_BASE_URL must be set")
	}
	return images.NewService(storage, dynamo.NewProducts(db, cfg.ProductsTable), cfg.ImagesBaseURL, log), nil
}

// Bucket is the images bucket (IMAGES_BUCKET) through an S3 client.
func Bucket(cfg Config, awsCfg aws.Config) (*bucket.Bucket, error) {
	if cfg.ImagesBucket == "" {
		return nil, fmt.Errorf("IMAGES_BUCKET is not set")
	}
	return bucket.New(bucket.NewClient(awsCfg, cfg.S3Endpoint), cfg.ImagesBucket), nil
}

func (cfg Config) needCatalog() error {
	if cfg.ProductsTable == "" {
		return fmt.Errorf("PRODUCTS_TABLE is not set")
	}
	if !catalog.ValidCurrency(cfg.Currency) {
		return fmt.Errorf("CURRENCY %q is not an ISO 4217 code", cfg.Currency)
	}
	return nil
}

// CartService builds the cart over a cache client, priced from the catalogue.
func CartService(cfg Config, db dynamo.API, rdb redis.Cmdable) (*cart.Service, error) {
	if err := cfg.needCatalog(); err != nil {
		return nil, err
	}
	return cart.NewService(rediscart.NewStore(rdb), dynamo.NewProducts(db, cfg.ProductsTable), cfg.Currency, cfg.CartTTL), nil
}

// Orders builds checkout, order history and the profile; checkout reads the
// cart through rdb.
func Orders(cfg Config, db dynamo.API, rdb redis.Cmdable, log *slog.Logger) (*httpapi.Orders, error) {
	if cfg.OrdersTable == "" || cfg.CustomersTable == "" {
		return nil, fmt.Errorf("ORDERS_TABLE and CUSTOMERS_TABLE must be set")
	}
	carts, err := CartService(cfg, db, rdb)
	if err != nil {
		return nil, err
	}
	cursors, err := Cursors(cfg.CursorSecret)
	if err != nil {
		return nil, err
	}
	store := dynamo.NewOrders(db, cfg.OrdersTable, cfg.CustomersTable, cfg.ProductsTable)
	return httpapi.NewOrders(orders.NewService(store, carts, cursors, cfg.Currency, log)), nil
}

// Cache connects to the serverless cache in AWS: TLS, and the function role's
// IAM auth token as the password of CACHE_USER.
func Cache(cfg Config, awsCfg aws.Config) (*redis.ClusterClient, error) {
	if cfg.CacheEndpoint == "" || cfg.CacheName == "" || cfg.CacheUser == "" {
		return nil, fmt.Errorf("CACHE_ENDPOINT, CACHE_NAME and CACHE_USER must be set")
	}
	host, _, err := net.SplitHostPort(cfg.CacheEndpoint)
	if err != nil {
		return nil, fmt.Errorf("CACHE_ENDPOINT %q: %w", cfg.CacheEndpoint, err)
	}
	tok := &rediscart.IAMToken{CacheName: cfg.CacheName, UserID: cfg.CacheUser, Region: awsCfg.Region, Credentials: awsCfg.Credentials}
	return rediscart.NewClient(rediscart.Options{
		Addr: cfg.CacheEndpoint, Username: cfg.CacheUser, Password: tok.Token,
		TLS: &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12},
	}), nil
}

// Fatal logs why a function cannot start and exits; Lambda reports the init error.
func Fatal(log *slog.Logger, err error) {
	log.Error("cannot start", "error", err.Error())
	os.Exit(1)
}

// Env is what every function starts from: its configuration, the SDK
// configuration, a DynamoDB client and the logger.
type Env struct {
	Config
	AWS aws.Config
	DB  *dynamodb.Client
	Log *slog.Logger
}

// CacheClient connects to the serverless cache and routes the client's own
// log lines to the function's log.
func (e Env) CacheClient() (*redis.ClusterClient, error) {
	rediscart.SetLogger(e.Log)
	return Cache(e.Config, e.AWS)
}

// Start is a function's main: it builds the routes from the environment once
// per execution environment and serves them; an error ends the init.
func Start(routes func(Env) ([]httpapi.Route, error)) {
	log := Logger()
	cfg := FromEnv()
	awsCfg, err := AWS()
	if err != nil {
		Fatal(log, err)
	}
	rs, err := routes(Env{Config: cfg, AWS: awsCfg, DB: dynamo.NewClient(awsCfg, cfg.DynamoEndpoint), Log: log})
	if err != nil {
		Fatal(log, err)
	}
	// Every function knows the others' routes, for 405s on the $default route.
	others := slices.DeleteFunc(httpapi.AllRoutes(), func(r httpapi.Route) bool {
		return slices.ContainsFunc(rs, func(o httpapi.Route) bool { return o.Key() == r.Key() })
	})
	lambda.StartHandlerFunc(httpapi.NewRouter(log, rs...).Elsewhere(others).Serve)
}
