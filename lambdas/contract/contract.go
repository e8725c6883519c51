// Package contract holds every name that the CDK app (module
// github.com/go-cdk-shop/shop) and the Lambda functions (module
// github.com/go-cdk-shop/shop/lambdas) must agree on: each function's
// environment variables, table keys and indexes, the admin group, the images
// key prefix, the cache's key prefix and access string, and the HTTP headers a
// browser may send and read.
//
// It is a module of its own with no dependencies, so both sides import it
// (through a replace directive) without pulling CDK or jsii into a Lambda
// binary, or the SDK into the CDK app. A name changed here changes on both
// sides at once; a name written as a literal on one side only fails a test:
// the CDK app's (every function's environment is exactly Env(fn)) or the
// functions' (each function reads exactly Env(fn)).
package contract

import (
	"fmt"
	"regexp"
	"slices"
)

// Function names a Lambda function: its directory under lambdas/cmd and dist/.
type Function string

// The shop's functions.
const (
	Catalog    Function = "catalog"
	Cart       Function = "cart"
	Orders     Function = "orders"
	Authorizer Function = "authorizer"
	Images     Function = "images"
	// Reaper runs in the account stack: it deletes expired development stages.
	Reaper Function = "reaper"
	// Expiry runs every minute: it expires pending orders past their hold.
	Expiry Function = "expiry"
	// Events reads the Orders table's change stream and publishes the
	// order events on the stage's event bus.
	Events Function = "events"
	// CacheUsers is the custom resource that adds a development stage's
	// cache user to the shared cache's user group (in Shop-Account).
	CacheUsers Function = "cacheusers"
	// PreTraffic is a deployment's BeforeAllowTraffic hook: it invokes the
	// new version of one function (PreTrafficChecked) with read-only
	// requests before any traffic shifts to it.
	PreTraffic Function = "pretraffic"
)

// PreTrafficChecked are the functions whose deployments run the
// pre-traffic hook: those that answer API Gateway (the routes' and the
// guest authorizer).
func PreTrafficChecked() []Function { return append(HTTPFunctions(), Authorizer) }

// Functions lists every function, in build order.
func Functions() []Function {
	return []Function{Catalog, Cart, Orders, Authorizer, Images, Reaper, Expiry, Events, CacheUsers, PreTraffic}
}

// Environment variables the CDK app sets and the functions read.
const (
	EnvProductsTable  = "PRODUCTS_TABLE"  // the Products table's name
	EnvOrdersTable    = "ORDERS_TABLE"    // the Orders table's name
	EnvCustomersTable = "CUSTOMERS_TABLE" // the Customers table's name
	EnvCursorSecret   = "CURSOR_SECRET"   // page-token key: hex or text, at least 32 bytes
	EnvCurrency       = "CURRENCY"        // ISO 4217 code of new products and carts
	EnvImagesBucket   = "IMAGES_BUCKET"   // the product images bucket's name
	EnvImagesBaseURL  = "IMAGES_BASE_URL" // https://<CDN domain> in front of the bucket
	EnvCacheEndpoint  = "CACHE_ENDPOINT"  // host:port of the serverless cache
	EnvCacheName      = "CACHE_NAME"      // the cache's name, which IAM auth tokens are signed for
	EnvCacheUser      = "CACHE_USER"      // the IAM-enabled cache user (id = name)
	EnvCacheScope     = "CACHE_SCOPE"     // the scope inside every cache key's hash tag: the stage
	EnvCartTTLUser    = "CART_TTL_USER"   // sliding idle time of a user's cart (Go duration)
	EnvCartTTLGuest   = "CART_TTL_GUEST"  // sliding idle time of a guest's cart (Go duration)
	EnvUserPoolID     = "USER_POOL_ID"    // the Cognito user pool that issues ID tokens
	EnvUserPoolClient = "USER_POOL_CLIENT_ID"
	EnvCorsOrigins    = "CORS_ORIGINS"     // browser origins the answers allow, comma-separated (the REST API adds no CORS header to a function's answer)
	EnvOrderHold      = "ORDER_HOLD"       // how long a pending order holds its units (Go duration)
	EnvMaxPending     = "MAX_PENDING"      // how many pending orders a user may hold
	EnvMaxUnitsHeld   = "MAX_UNITS_HELD"   // how many units of one product a user's pending orders may hold
	EnvReaperTopic    = "REAPER_TOPIC_ARN" // where notices and reports go
	EnvReaperMode     = "REAPER_MODE"      // "report" or "delete"
	EnvEventBus       = "EVENT_BUS_NAME"   // the event bus the order events go to
	EnvStage          = "STAGE"            // the stage the events name (development stages share a bus)
	EnvCacheUserGroup = "CACHE_USER_GROUP" // the shared cache's user group the custom resource may change
	EnvCheckFunction  = "CHECK_FUNCTION"   // the function (a Function) whose new version the pre-traffic hook checks
	EnvCheckTarget    = "CHECK_TARGET"     // that new version's ARN
)

// Local-only variables: they point a function at a local backend, and the CDK
// app never sets them (in AWS the SDK resolves the service endpoints).
const (
	EnvDynamoEndpoint = "DYNAMODB_ENDPOINT"
	EnvS3Endpoint     = "S3_ENDPOINT"
	// EnvCachePassword is the local cache user's password, in place of the
	// IAM auth token; EnvCacheCAFile the PEM file of the CA that signed the
	// local cache's certificate.
	EnvCachePassword = "LOCAL_CACHE_PASSWORD"
	EnvCacheCAFile   = "LOCAL_CACHE_CA_FILE"
)

// LocalOnly are the local-only variables.
var LocalOnly = []string{EnvDynamoEndpoint, EnvS3Endpoint, EnvCachePassword, EnvCacheCAFile}

// Variables Lambda itself sets in every execution environment; no template
// names them.
var LambdaProvided = []string{"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION"}

var (
	// Every function that writes or reads products reaches the cache: the
	// product cache must hear of every write.
	cacheConn  = []string{EnvCacheEndpoint, EnvCacheName, EnvCacheUser, EnvCacheScope}
	cacheEnv   = slices.Concat(cacheConn, []string{EnvCartTTLUser, EnvCartTTLGuest})
	catalogEnv = slices.Concat([]string{EnvProductsTable, EnvCursorSecret, EnvCurrency, EnvImagesBucket, EnvImagesBaseURL, EnvCorsOrigins}, cacheConn)
	env        = map[Function][]string{
		Catalog:    catalogEnv,
		Cart:       slices.Concat([]string{EnvProductsTable, EnvCurrency, EnvCorsOrigins}, cacheEnv),
		Orders:     slices.Concat([]string{EnvProductsTable, EnvOrdersTable, EnvCustomersTable, EnvCursorSecret, EnvCurrency, EnvOrderHold, EnvMaxPending, EnvMaxUnitsHeld, EnvCorsOrigins}, cacheEnv),
		Expiry:     slices.Concat([]string{EnvProductsTable, EnvOrdersTable, EnvCustomersTable}, cacheConn),
		Authorizer: {EnvUserPoolID, EnvUserPoolClient},
		Images:     slices.Concat([]string{EnvProductsTable, EnvImagesBucket, EnvImagesBaseURL}, cacheConn),
		Reaper:     {EnvReaperTopic, EnvReaperMode},
		Events:     {EnvEventBus, EnvStage},
		CacheUsers: {EnvCacheUserGroup},
		PreTraffic: {EnvCheckFunction, EnvCheckTarget},
	}
)

// Env is the environment of fn in AWS: exactly the variables the CDK app sets
// on it, and exactly the ones (besides LambdaProvided and the local-only
// endpoints) its code reads. Sorted.
func Env(fn Function) []string {
	out := slices.Clone(env[fn])
	slices.Sort(out)
	return out
}

// Resources a function acts on, as Grants names them.
const (
	ResourceProducts    = "products"     // the Products table and its indexes
	ResourceOrders      = "orders"       // the Orders table
	ResourceCustomers   = "customers"    // the Customers table
	ResourceImages      = "images"       // objects under ImagesPrefix in the images bucket
	ResourceImagesIndex = "images-index" // listing ImagesPrefix of the images bucket
)

var grants = map[Function]map[string][]string{
	// Reads, lists (Query on the category index, Scan for all), creates,
	// changes, deletes products; signs uploads (the URL acts with the
	// role's PutObject) and removes a deleted product's images.
	Catalog: {
		ResourceProducts: {"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"},
		ResourceImages:   {"s3:DeleteObject", "s3:PutObject"}, ResourceImagesIndex: {"s3:ListBucket"},
	},
	// Prices carts: products by key.
	Cart: {ResourceProducts: {"dynamodb:BatchGetItem", "dynamodb:GetItem"}},
	// Checkout prices the cart, takes stock in its transaction (UpdateItem
	// on each product), writes the order, the key's record and the
	// customer; history is a Query.
	Orders: {
		ResourceProducts:  {"dynamodb:BatchGetItem", "dynamodb:UpdateItem"},
		ResourceOrders:    {"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"},
		ResourceCustomers: {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
	},
	// The expiry job finds due orders in the pending index, moves each with
	// its stock return, and frees its pending slot.
	Expiry: {
		ResourceProducts:  {"dynamodb:UpdateItem"},
		ResourceOrders:    {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"},
		ResourceCustomers: {"dynamodb:UpdateItem"},
	},
	// Links or unlinks an upload (UpdateItem); heads and reads its first
	// bytes (GetObject serves HeadObject too), deletes rejects.
	// Checks uploads and links them; sweeps the unlinked ones daily (lists, reads products).
	Images: {ResourceProducts: {"dynamodb:BatchGetItem", "dynamodb:UpdateItem"}, ResourceImages: {"s3:DeleteObject", "s3:GetObject"}, ResourceImagesIndex: {"s3:ListBucket"}},
}

// Grants are the DynamoDB and S3 actions fn's code calls, by resource,
// sorted: the CDK app grants exactly these (and the cache connect for the
// functions in the VPC), and its least-privilege test holds each role to
// them.
func Grants(fn Function) map[string][]string {
	out := map[string][]string{}
	for r, a := range grants[fn] {
		out[r] = slices.Sorted(slices.Values(a))
	}
	return out
}

// Table keys, attributes and indexes.
const (
	// Products: partition key ProductID; CategoryIndex is (Category, ProductID).
	ProductID     = "product_id"
	Category      = "category"
	CategoryIndex = "by-category"
	// Orders: partition key UserID, sort key SortKey ("ORDER#<ulid>" or
	// "IDEM#<key>"); idempotency records expire through TTLAttribute.
	// Customers: partition key UserID.
	UserID       = "user_id"
	SortKey      = "sk"
	TTLAttribute = "expires_at"
	// PendingIndex is the Orders table's sparse index of pending orders by
	// the end of their hold: only a pending order carries PendingKey ("1")
	// and HoldKey (epoch milliseconds), and the expiry job queries it.
	PendingIndex = "pending-by-expiry"
	PendingKey   = "pending"
	HoldKey      = "hold_ms"
	// Quarantined is the PendingKey of a pending order that the expiry job
	// could not read (a poison order): set aside under its own partition of
	// the same index, where an operator finds every one with one Query,
	// while the job goes on with the others.
	Quarantined = "quarantined"
)

// Reaper modes (EnvReaperMode).
const (
	ReaperReport = "report"
	ReaperDelete = "delete"
)

// The OAuth 2.0 scope of the payment integration's client-credentials
// tokens: ResourceServer/ConfirmScope, required by POST /orders/{id}/confirm.
const (
	ResourceServer     = "shop"
	ConfirmScope       = "orders.confirm"
	ScopeConfirmOrders = ResourceServer + "/" + ConfirmScope
)

// AdminGroup is the Cognito group whose members may change the catalogue.
const AdminGroup = "admin"

// ImagesPrefix is where product images live in the bucket:
// products/<product_id>/<ulid>.<ext>. The bucket notifies the images function
// of objects under it, and the roles are scoped to it.
const ImagesPrefix = "products/"

// ImagesSweepAfterDays: the daily sweep deletes unlinked uploads older than
// this, which is also how long the images function's failure queue keeps a
// failed event: an upload stays while its event can still be redriven.
const ImagesSweepAfterDays = 14

// ImagesEventMaxAgeHours is how long Lambda keeps retrying an upload's
// event before it goes to the failure queue: an upload's event can still
// arrive (redriven) up to this plus ImagesSweepAfterDays after the upload.
const ImagesEventMaxAgeHours = 6

// MetricsNamespace is the CloudWatch namespace of the shop's own metrics
// (embedded-metric log lines).
const MetricsNamespace = "Shop"

// Metrics are the shop's own metrics and the functions that emit them: the
// dashboard graphs each, by function.
var Metrics = map[string][]Function{
	"OrdersPlaced":      {Orders},
	"CheckoutConflicts": {Orders},
	"IdempotentReplays": {Orders},
	"CacheUnavailable":  {Cart, Orders},
	"ImagesRejected":    {Images},
	"CacheFallbacks":    {Catalog, Orders, Images, Expiry},
}

// The expiry job's own signals, once a run: the poison orders it set aside
// (a count) and the age in seconds of the oldest order still due (a value,
// read as a maximum). The monitoring graphs and alarms on them apart from
// Metrics, which are counts.
const (
	MetricOrdersQuarantined = "OrdersQuarantined"
	MetricOldestDueAge      = "OldestDueAge"
)

// The release signals: counted per executed version of a function, with
// the dimensions DimFunctionName (the deployed function's name, Lambda's
// AWS_LAMBDA_FUNCTION_NAME) and DimVersion (the version that ran,
// AWS_LAMBDA_FUNCTION_VERSION), so that a rollback alarm names the version a
// deployment shifts to and nothing the live version does reaches it.
const (
	// MetricFailedAnswers counts a function's 5xx answers: the router
	// answers a handler's error or panic with a 500 and returns no error to
	// Lambda, so Lambda's Errors never see them.
	MetricFailedAnswers = "FailedAnswers"
	// MetricDenied is the authorizer's decision, once an invocation: 1 for
	// a deny, 0 for an allow (so its SampleCount is the decisions).
	MetricDenied    = "Denied"
	DimFunctionName = "FunctionName"
	DimVersion      = "Version"
)

// Key prefixes of the cache. Every key carries its scope (the stage) inside
// its hash tag: {cart:<scope>:u:<sub>}, {cart:<scope>:g:<session>},
// {product:<scope>/<id>}, {views:<scope>/<list>}:<hour>. The braces make a
// key's hash slot its owner's; the scope lets an ACL confine a stage's user
// (development stages share one cache) and each function's (prod) to its
// own keys.
const (
	CartKeyPrefix    = "{cart:"
	ProductKeyPrefix = "{product:"
	ViewsKeyPrefix   = "{views:"
)

// CartKeys, ProductKeys and ViewsKeys start a scope's keys of each kind.
func CartKeys(scope string) string    { return CartKeyPrefix + scope + ":" }
func ProductKeys(scope string) string { return ProductKeyPrefix + scope + "/" }
func ViewsKeys(scope string) string   { return ViewsKeyPrefix + scope + "/" }

// cacheKeys are the key kinds each function touches: the cart's carts and
// sessions; the catalogue's products and views; checkout's carts, and the
// products whose stock it moves (invalidation); the images function's and
// the expiry job's products (invalidation).
var cacheKeys = map[Function][]func(string) string{
	Catalog: {ProductKeys, ViewsKeys},
	Cart:    {CartKeys},
	Orders:  {CartKeys, ProductKeys},
	Images:  {ProductKeys},
	Expiry:  {ProductKeys},
}

// UsesCache says whether fn connects to the cache.
func UsesCache(fn Function) bool { _, ok := cacheKeys[fn]; return ok }

// cacheCommands: reads, writes, Lua scripts (EVAL, EVALSHA), the
// connection commands, and the CLUSTER subcommands the cluster client reads
// the slot map with; nothing dangerous, no channels. Key patterns do not
// bound commands that take no key: SCAN, RANDOMKEY and DBSIZE would show a
// user the whole keyspace, other stages' and functions' keys included, and
// SCRIPT FLUSH, SCRIPT KILL and FUNCTION would let it wipe or stop what
// every user shares. No category holds exactly those (SCAN and RANDOMKEY
// are @keyspace @read, as GET-like commands the shop needs are), so they are
// named; KEYS, FLUSHALL, FLUSHDB, CONFIG and the rest are -@dangerous.
// Whether ElastiCache serverless accepts each name is not settled offline
// (its RBAC guide: naming a disabled command fails): docs/stages.md.
const cacheCommands = "resetchannels -@all +@read +@write +@scripting +@connection -@dangerous " +
	"-scan -randomkey -dbsize -script|flush -script|kill -function " +
	"+cluster|slots +cluster|shards +cluster|nodes +cluster|info +cluster|myid"

func accessString(patterns []func(string) string, scope string) string {
	s := "on"
	for _, p := range patterns {
		s += " ~" + p(scope) + "*"
	}
	return s + " " + cacheCommands
}

// CacheAccess is the ACL of fn's own cache user in scope (prod: a user per
// function): its own key kinds only.
func CacheAccess(fn Function, scope string) string { return accessString(cacheKeys[fn], scope) }

// StageCacheUser is a development stage's one user on the account's shared
// cache (id = name), which its Network stack (StackName(stage, NetworkPart))
// makes and joins to the shared group.
func StageCacheUser(stage string) string { return "shop-" + stage + "-cart" }

// StackName is a stage's stack of part (Data, Network, Media, Api).
func StackName(stage, part string) string { return "Shop-" + stage + "-" + part }

// NetworkPart is the part of the stack that holds a stage's cache user and
// its membership of the shared group.
const NetworkPart = "Network"

// StageCacheAccess is the ACL of a stage's one cache user (a development
// stage on the account's shared cache, which has a user per stage, and the
// local cache): every key kind of the stage, none of another stage's.
func StageCacheAccess(scope string) string {
	return accessString([]func(string) string{CartKeys, ProductKeys, ViewsKeys}, scope)
}

// WarmKey is a key fn's user may read, which no one writes: the warm-up
// reads it to load the client's command table.
func WarmKey(fn Function, scope string) string {
	if kinds := cacheKeys[fn]; len(kinds) > 0 {
		return kinds[0](scope) + "warm-up}"
	}
	return ProductKeys(scope) + "warm-up}"
}

// HTTP headers of the API.
const (
	HeaderAuthorization  = "Authorization"
	HeaderContentType    = "Content-Type"
	HeaderIfMatch        = "If-Match"
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderSessionID      = "X-Session-Id"
	HeaderETag           = "ETag"
	HeaderLocation       = "Location"
	HeaderRequestID      = "X-Request-Id"
	// HeaderEdgeRequestID is CloudFront's id of a request it forwards, the
	// requestId of the edge web ACL's log line.
	HeaderEdgeRequestID = "X-Amz-Cf-Id"
	HeaderRetryAfter    = "Retry-After"
	// HeaderOriginVerify carries the CDN's origin-verification value: with
	// the edge profile, CloudFront adds it to every request it forwards, and
	// the API's regional web ACL blocks requests without an accepted value
	// (straight to execute-api) before API Gateway does anything else.
	HeaderOriginVerify = "X-Origin-Verify"
)

// CORSAllowHeaders are the request headers a browser may send cross-origin.
func CORSAllowHeaders() []string {
	return []string{HeaderAuthorization, HeaderContentType, HeaderIfMatch, HeaderIdempotencyKey, HeaderSessionID}
}

// CORSAllowMethods are the methods a browser may use cross-origin.
func CORSAllowMethods() []string { return []string{"GET", "POST", "PUT", "PATCH", "DELETE"} }

// CORSMaxAgeSeconds is how long a browser may keep a preflight's answer.
const CORSMaxAgeSeconds = 3600

// CORSExposeHeaders are the response headers a browser script may read.
func CORSExposeHeaders() []string {
	return []string{HeaderETag, HeaderLocation, HeaderRequestID, HeaderRetryAfter}
}

// Stack tags. The CDK app sets project, stage and owner on every stack (and
// so in the cloud assembly); make deploy passes them to the CLI too, whose
// --tags replace the assembly's, with expires-at for a stage that expires.
// The reaper reads them, and its role may delete only stacks tagged
// project=shop.
const (
	TagProject   = "project"
	TagStage     = "stage"
	TagOwner     = "owner"
	TagExpiresAt = "expires-at" // RFC 3339
	Project      = "shop"
)

// AccountStage is the stage tag of the account-level stack (Shop-Account).
const AccountStage = "account"

// ProtectedStages are never deleted by the reaper, whatever their tags say,
// and its role's policy refuses to delete their stacks.
var ProtectedStages = []string{"prod", "staging", AccountStage}

// MaxStageName bounds a stage name so that every physical name derived from
// it fits its service's limit; the longest is the cache's
// "shop-<stage>-cart" and its default user's "shop-<stage>-cart-off"
// (ElastiCache allows 40).
const MaxStageName = 24

// stageName: lower-case words joined by single hyphens, starting with a
// letter. ElastiCache refuses names with a trailing or a double hyphen.
var stageName = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// ValidStageName says what is wrong with a stage name, or nil. The CDK app
// refuses such a stage at synth, and make preflight before a deploy.
func ValidStageName(name string) error {
	if len(name) > MaxStageName || !stageName.MatchString(name) {
		return fmt.Errorf("stage %q: must be 1 to %d characters of a-z 0-9, starting with a letter, words joined by single hyphens (no trailing or double hyphen)", name, MaxStageName)
	}
	return nil
}

// previewStage is a pull request's preview stage: pr-<number>.
var previewStage = regexp.MustCompile(`^pr-[0-9]+$`)

// IsPreviewStage says whether stage is a pull request's preview: it takes
// the preview profile (the reaper treats it as any development stage: its
// tags are pull-request code's, so they never make a reaper in report mode
// delete).
func IsPreviewStage(stage string) bool { return previewStage.MatchString(stage) }

// Order events (docs/contract.md, "Order events"): published on the stage's event bus
// from the Orders table's change stream, each with its order's sequence.
const (
	OrderEventSource = "shop.orders"
	// OrderSequence is the Orders item's count of its status changes: 1 when
	// placed, then 2, ...; an event carries it.
	OrderSequence = "sequence"
)

// OrderEventTypes are the events' detail types, by the status they report.
var OrderEventTypes = map[string]string{
	"pending": "order.placed", "confirmed": "order.confirmed", "cancelled": "order.cancelled", "expired": "order.expired",
}
