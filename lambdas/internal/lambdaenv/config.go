package lambdaenv

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/cart"
	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/cursor"
	"github.com/go-cdk-shop/shop/lambdas/internal/metrics"
	"github.com/go-cdk-shop/shop/lambdas/internal/orders"
)

// Config is what the functions are told by their environment (package
// contract names each variable). Local runs fill it in directly.
type Config struct {
	ProductsTable  string
	OrdersTable    string
	CustomersTable string
	CursorSecret   string // hex or text, at least 32 bytes
	Currency       string // default currency of new products and of carts
	// DynamoEndpoint points the client at DynamoDB Local; empty in AWS.
	DynamoEndpoint string

	ImagesBucket  string
	ImagesBaseURL string // the CDN in front of the bucket, https://<domain>
	// S3Endpoint points the client at a local S3 server; empty in AWS.
	S3Endpoint string

	CacheEndpoint string // host:port of the serverless cache
	CacheName     string // the cache's name, which IAM tokens are signed for
	CacheUser     string // the IAM-enabled ElastiCache user (id = name)
	CacheScope    string // the scope inside every cache key's hash tag (the stage)
	// CachePassword and CacheCAFile point a function at a local cache: a
	// fixed password in place of the IAM token, and the CA to trust. Empty
	// in AWS.
	CachePassword, CacheCAFile string
	// CartTTL are the sliding idle times of carts.
	CartTTL cart.TTLs

	// CorsOrigins are the browser origins whose requests' answers carry
	// CORS headers (the functions that serve routes).
	CorsOrigins []string

	// OrderLimits are the pending orders' hold and the limit per user.
	OrderLimits orders.Limits

	UserPoolID       string // the authorizer's Cognito user pool
	UserPoolClientID string

	CacheUserGroup string // the shared cache's user group (the cacheusers custom resource)

	// CheckFunction and CheckTarget are the function whose new version the
	// pre-traffic hook checks, and that version's ARN.
	CheckFunction contract.Function
	CheckTarget   string

	EventBus string // the order events' bus
	Stage    string // the stage the events name

	ReaperTopic  string // the reaper's SNS topic
	ReaperDelete bool   // the reaper deletes; otherwise it reports

	// Release is the function version that runs (Lambda's own variables).
	Release metrics.Release
}

// DefaultCartTTL are the carts' idle times when the environment names none.
var DefaultCartTTL = cart.TTLs{User: 7 * 24 * time.Hour, Guest: 24 * time.Hour}

// Load reads fn's configuration through getenv (os.Getenv in Lambda): exactly
// the variables contract.Env(fn) lists, plus the local-only endpoints. Every
// required variable that is missing or malformed is named in one error.
func Load(fn contract.Function, getenv func(string) string) (Config, error) {
	e := &envReader{get: getenv}
	c := Config{DynamoEndpoint: getenv(contract.EnvDynamoEndpoint), S3Endpoint: getenv(contract.EnvS3Endpoint),
		CachePassword: getenv(contract.EnvCachePassword), CacheCAFile: getenv(contract.EnvCacheCAFile),
		Release: metrics.ReleaseOf(string(fn), getenv)}
	if slices.Contains(contract.HTTPFunctions(), fn) {
		c.CorsOrigins = e.list(contract.EnvCorsOrigins)
	}
	switch fn {
	case contract.Catalog:
		c.readProducts(e)
		c.CursorSecret = e.need(contract.EnvCursorSecret)
		c.readBucket(e)
		c.readCacheConn(e)
	case contract.Cart:
		c.readProducts(e)
		c.readCache(e)
	case contract.Orders:
		c.readProducts(e)
		c.OrdersTable = e.need(contract.EnvOrdersTable)
		c.CustomersTable = e.need(contract.EnvCustomersTable)
		c.CursorSecret = e.need(contract.EnvCursorSecret)
		c.readCache(e)
		c.OrderLimits = orders.Limits{Hold: e.duration(contract.EnvOrderHold, orders.DefaultLimits.Hold), MaxPending: e.count(contract.EnvMaxPending, orders.DefaultLimits.MaxPending),
			MaxUnitsHeld: e.count(contract.EnvMaxUnitsHeld, orders.DefaultLimits.MaxUnitsHeld)}
	case contract.Expiry:
		c.ProductsTable = e.need(contract.EnvProductsTable)
		c.OrdersTable = e.need(contract.EnvOrdersTable)
		c.CustomersTable = e.need(contract.EnvCustomersTable)
		c.OrderLimits = orders.DefaultLimits
		c.readCacheConn(e)
	case contract.Images:
		c.ProductsTable = e.need(contract.EnvProductsTable)
		c.readBucket(e)
		c.readCacheConn(e)
	case contract.Authorizer:
		c.UserPoolID = e.need(contract.EnvUserPoolID)
		c.UserPoolClientID = e.need(contract.EnvUserPoolClient)
	case contract.CacheUsers:
		c.CacheUserGroup = e.need(contract.EnvCacheUserGroup)
	case contract.PreTraffic:
		c.CheckFunction = contract.Function(e.need(contract.EnvCheckFunction))
		c.CheckTarget = e.need(contract.EnvCheckTarget)
		if c.CheckFunction != "" && !slices.Contains(contract.PreTrafficChecked(), c.CheckFunction) {
			e.bad = append(e.bad, fmt.Sprintf("%s %q is none of %v", contract.EnvCheckFunction, c.CheckFunction, contract.PreTrafficChecked()))
		}
	case contract.Events:
		c.EventBus = e.need(contract.EnvEventBus)
		c.Stage = e.need(contract.EnvStage)
	case contract.Reaper:
		c.ReaperTopic = e.need(contract.EnvReaperTopic)
		switch mode := e.need(contract.EnvReaperMode); mode {
		case contract.ReaperDelete:
			c.ReaperDelete = true
		case contract.ReaperReport, "":
		default:
			e.bad = append(e.bad, fmt.Sprintf("%s %q is neither %q nor %q", contract.EnvReaperMode, mode, contract.ReaperReport, contract.ReaperDelete))
		}
	default:
		return Config{}, fmt.Errorf("no function %q", fn)
	}
	if c.CursorSecret != "" {
		if _, err := cursor.FromSecret(c.CursorSecret); err != nil {
			e.bad = append(e.bad, err.Error())
		}
	}
	return c, e.err(fn)
}

// FromEnv is Load over the process environment.
func FromEnv(fn contract.Function) (Config, error) { return Load(fn, os.Getenv) }

func (c *Config) readProducts(e *envReader) {
	c.ProductsTable = e.need(contract.EnvProductsTable)
	c.Currency = e.need(contract.EnvCurrency)
	if c.Currency != "" && !catalog.ValidCurrency(c.Currency) {
		e.bad = append(e.bad, fmt.Sprintf("%s %q is not an ISO 4217 code", contract.EnvCurrency, c.Currency))
	}
}

func (c *Config) readBucket(e *envReader) {
	c.ImagesBucket = e.need(contract.EnvImagesBucket)
	c.ImagesBaseURL = e.need(contract.EnvImagesBaseURL)
}

func (c *Config) readCacheConn(e *envReader) {
	c.CacheEndpoint = e.need(contract.EnvCacheEndpoint)
	c.CacheName = e.need(contract.EnvCacheName)
	c.CacheUser = e.need(contract.EnvCacheUser)
	c.CacheScope = e.need(contract.EnvCacheScope)
}

func (c *Config) readCache(e *envReader) {
	c.readCacheConn(e)
	c.CartTTL = cart.TTLs{User: e.duration(contract.EnvCartTTLUser, DefaultCartTTL.User), Guest: e.duration(contract.EnvCartTTLGuest, DefaultCartTTL.Guest)}
}

// envReader reads variables and remembers what was missing or malformed.
type envReader struct {
	get          func(string) string
	missing, bad []string
}

func (e *envReader) need(name string) string {
	v := e.get(name)
	if v == "" {
		e.missing = append(e.missing, name)
	}
	return v
}

// list reads an optional comma-separated list; absent means none.
func (e *envReader) list(name string) []string {
	var out []string
	for _, v := range strings.Split(e.get(name), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// duration reads an optional Go duration; absent means fallback.
func (e *envReader) duration(name string, fallback time.Duration) time.Duration {
	v := e.get(name)
	if v == "" {
		return fallback
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		e.bad = append(e.bad, fmt.Sprintf("%s %q is not a positive Go duration such as 24h", name, v))
		return fallback
	}
	return d
}

// count reads an optional positive integer; absent means fallback.
func (e *envReader) count(name string, fallback int) int {
	v := e.get(name)
	if v == "" {
		return fallback
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100 {
		e.bad = append(e.bad, fmt.Sprintf("%s %q is not a whole number from 1 to 100", name, v))
		return fallback
	}
	return n
}

func (e *envReader) err(fn contract.Function) error {
	var errs []error
	if len(e.missing) > 0 {
		errs = append(errs, fmt.Errorf("%s: missing environment variables: %s", fn, strings.Join(e.missing, ", ")))
	}
	for _, b := range e.bad {
		errs = append(errs, fmt.Errorf("%s: %s", fn, b))
	}
	return errors.Join(errs...)
}
