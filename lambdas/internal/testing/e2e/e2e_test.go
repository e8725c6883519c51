//go:build integration

// Package e2e tests the cart and checkout through the HTTP handlers, against
// DynamoDB Local and a redis-server cluster with TLS and ACL, both started here.
package e2e

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/redis/go-redis/v9"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/bucket"
	"github.com/go-cdk-shop/shop/lambdas/internal/cart"
	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/cursor"
	"github.com/go-cdk-shop/shop/lambdas/internal/dynamo"
	"github.com/go-cdk-shop/shop/lambdas/internal/httpapi"
	"github.com/go-cdk-shop/shop/lambdas/internal/images"
	"github.com/go-cdk-shop/shop/lambdas/internal/lambdaenv"
	"github.com/go-cdk-shop/shop/lambdas/internal/localdev"
	"github.com/go-cdk-shop/shop/lambdas/internal/localdev/localapi"
	"github.com/go-cdk-shop/shop/lambdas/internal/localdev/servers"
	"github.com/go-cdk-shop/shop/lambdas/internal/orders"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
	"github.com/go-cdk-shop/shop/lambdas/internal/wire"
)

var (
	db          *dynamodb.Client
	rdb         *redis.ClusterClient
	redisServer *servers.Redis
	dev         *localdev.Harness
	quiet       = slog.New(slog.NewJSONHandler(io.Discard, nil))
	// onS3Event is where the bucket's notifications go: the images service of
	// the test that runs.
	onS3Event atomic.Pointer[func(context.Context, events.S3Event) error]
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		ctx := context.Background()
		var pending sync.WaitGroup
		hook := httptest.NewServer(localapi.S3Events(ctx, quiet, &pending, func(ctx context.Context, ev events.S3Event) error {
			if h := onS3Event.Load(); h != nil {
				return (*h)(ctx, ev)
			}
			return nil
		}))
		defer hook.Close()
		var err error
		dev, err = localdev.Start(ctx, localdev.Options{Webhook: hook.URL, ImagesBaseURL: "https://cdn.test", Log: quiet, Output: os.Stderr})
		if err != nil {
			fmt.Fprintln(os.Stderr, "start the local backends:", err)
			return 1
		}
		defer dev.Stop()
		defer pending.Wait()
		db, rdb, redisServer = dev.DB, dev.Cache, dev.Redis
		return m.Run()
	}())
}

// shopEnv is one isolated shop: its own tables, the same cache (owners are unique).
type shopEnv struct {
	cfg       lambdaenv.Config
	clock     clock
	router    *httpapi.Router
	carts     *cart.Service
	store     *dynamo.Orders
	lifecycle *orders.Service
	images    *images.Service
	local     *wire.Local
}

func newShop(t testing.TB) *shopEnv {
	t.Helper()
	return newShopWith(t, db)
}

// newShopWith is newShop whose functions reach the tables through api.
func newShopWith(t testing.TB, api dynamo.API) *shopEnv {
	t.Helper()
	ctx := context.Background()
	id := strings.ToLower(shop.NewID("", time.Now()))
	cfg := lambdaenv.Config{CacheScope: localdev.LocalScope + "-" + id, ProductsTable: "products-" + id, OrdersTable: "orders-" + id, CustomersTable: "customers-" + id,
		CursorSecret: hex.EncodeToString(make([]byte, 32)), Currency: "EUR",
		CartTTL: cart.TTLs{User: time.Hour, Guest: time.Hour}, ImagesBaseURL: "https://cdn.test"}
	e := &shopEnv{cfg: cfg}
	if err := dynamo.CreateProductsTable(ctx, db, cfg.ProductsTable); err != nil {
		t.Fatal(err)
	}
	if err := dynamo.CreateOrdersTable(ctx, db, cfg.OrdersTable); err != nil {
		t.Fatal(err)
	}
	if err := dynamo.CreateCustomersTable(ctx, db, cfg.CustomersTable); err != nil {
		t.Fatal(err)
	}
	built, err := wire.NewLocal(cfg, wire.Backends{DB: api, Cache: rdb, Images: dev.Bucket, Log: quiet, Now: e.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	handle := bucket.OnCreated(quiet, built.Images.Uploaded)
	onS3Event.Store(&handle)
	e.carts, e.store, e.lifecycle, e.images = built.Carts, dynamo.NewOrders(db, cfg.OrdersTable, cfg.CustomersTable, cfg.ProductsTable), built.Lifecycle, built.Images
	e.router, e.local = built.Router(quiet), built
	return e
}

// clock is the order holds' clock of one shop: the system clock, moved
// ahead by tests of holds and expiry.
type clock struct{ ahead atomic.Int64 }

func (c *clock) now() time.Time       { return time.Now().UTC().Add(time.Duration(c.ahead.Load())) }
func (c *clock) move(d time.Duration) { c.ahead.Store(int64(d)) }

func (e *shopEnv) addProduct(t testing.TB, id string, price, stock int64) {
	t.Helper()
	p := catalog.Product{ProductID: id, Name: "Thing " + id, Price: price, Currency: "EUR", Category: "Things", Quantity: stock, Version: 1,
		Incarnation: shop.NewID("", time.Now()), CreatedAt: "2026-01-01T00:00:00Z", UpdatedAt: "2026-01-01T00:00:00Z"}
	if err := dynamo.NewProducts(db, e.cfg.ProductsTable).Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

func (e *shopEnv) stock(t testing.TB, id string) int64 {
	t.Helper()
	p, err := dynamo.NewProducts(db, e.cfg.ProductsTable).Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p.Quantity
}

// who calls: a signed-in user (sub, in groups "[a b]"), a guest (session),
// or a machine client (client, with scope).
type who struct{ sub, session, groups, client, scope string }

func user(sub string) who      { return who{sub: sub} }
func guest(session string) who { return who{session: session} }

// call sends one request the way API Gateway would, to the route it matches.
func (e *shopEnv) call(t testing.TB, w who, method, path, body string, headers ...string) httpapi.Reply {
	t.Helper()
	return e.callCtx(context.Background(), t, w, method, path, body, headers...)
}

// callCtx is call within ctx: a deadline stands for the invocation's.
func (e *shopEnv) callCtx(ctx context.Context, t testing.TB, w who, method, path, body string, headers ...string) httpapi.Reply {
	t.Helper()
	path, query, _ := strings.Cut(path, "?")
	ev := httpapi.Event{Resource: "/{proxy+}", HTTPMethod: method, Path: path, Body: body, Headers: map[string]string{}}
	if q, err := url.ParseQuery(query); err == nil && query != "" {
		ev.QueryStringParameters = map[string]string{}
		for k, v := range q {
			ev.QueryStringParameters[k] = v[len(v)-1] // as the REST API keeps repeated parameters
		}
	}
	if r, params, _ := e.router.Match(method, path); r != nil {
		ev.Resource, ev.PathParameters = r.Path, params
		if w.sub != "" {
			claims := map[string]any{"sub": w.sub, "email": w.sub + "@example.com", "email_verified": "true", "token_use": "id"}
			if w.groups != "" {
				claims["cognito:groups"] = w.groups
			}
			if r.Access == contract.Guest { // the Lambda authorizer's context
				ev.RequestContext.Authorizer = claims
			} else { // a Cognito authorizer's
				ev.RequestContext.Authorizer = map[string]any{"claims": claims}
			}
		}
		if w.client != "" { // a client-credentials access token
			ev.RequestContext.Authorizer = map[string]any{"claims": map[string]any{
				"token_use": "access", "client_id": w.client, "sub": w.client, "scope": w.scope}}
		}
	}
	if w.session != "" {
		ev.Headers["x-session-id"] = w.session
	}
	for i := 0; i+1 < len(headers); i += 2 {
		ev.Headers[strings.ToLower(headers[i])] = headers[i+1]
	}
	resp, err := e.router.Serve(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func decode[T any](t testing.TB, resp httpapi.Reply) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(resp.Body), &v); err != nil {
		t.Fatalf("body %q: %v", resp.Body, err)
	}
	return v
}

// paidBody is the payment integration's confirm of o: its total, in its currency.
func paidBody(ref string, o orders.Order) string {
	return fmt.Sprintf(`{"payment_reference":%q,"amount":%d,"currency":%q}`, ref, o.Total, o.Currency)
}

func expect(t testing.TB, resp httpapi.Reply, status int, what string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d, want %d: %s", what, resp.StatusCode, status, resp.Body)
	}
	if status >= 400 && resp.Headers["Content-Type"] != "application/problem+json" {
		t.Fatalf("%s: error without problem+json: %v", what, resp.Headers)
	}
}

// session starts a guest session the way a client does: POST /sessions.
func (e *shopEnv) session(t testing.TB) string {
	t.Helper()
	resp := e.call(t, who{}, "POST", "/sessions", "")
	expect(t, resp, 201, "start a guest session")
	s := decode[cart.Session](t, resp)
	if len(s.SessionID) < 22 || s.ExpiresAt == "" { // 128 bits are 22 base64url characters
		t.Fatalf("session = %+v", s)
	}
	return s.SessionID
}

// Every cart route, as a guest and as a user, and the merge between them.
func TestCartRoutes(t *testing.T) {
	e := newShop(t)
	e.addProduct(t, "A", 1000, 5)
	e.addProduct(t, "B", 250, 100)
	g, u := guest(e.session(t)), user(shop.NewID("u", time.Now()))

	c := decode[cart.Cart](t, e.call(t, g, "GET", "/cart", ""))
	if len(c.Items) != 0 || c.ExpiresAt != nil {
		t.Fatalf("new cart = %+v", c)
	}
	expect(t, e.call(t, g, "PUT", "/cart/items/A", `{"quantity":3}`), 200, "guest sets A")
	resp := e.call(t, g, "PUT", "/cart/items/B", `{"quantity":4}`)
	expect(t, resp, 200, "guest sets B")
	c = decode[cart.Cart](t, resp)
	if c.Subtotal != 3*1000+4*250 || c.ItemCount != 7 || len(c.Items) != 2 || c.ExpiresAt == nil {
		t.Fatalf("guest cart = %+v", c)
	}
	expect(t, e.call(t, g, "PUT", "/cart/items/A", `{"quantity":6}`), 409, "more than in stock")
	expect(t, e.call(t, g, "PUT", "/cart/items/nope", `{"quantity":1}`), 404, "unknown product")
	expect(t, e.call(t, g, "DELETE", "/cart/items/B", ""), 200, "remove B")
	expect(t, e.call(t, g, "DELETE", "/cart/items/B", ""), 200, "remove B again (idempotent)")

	expect(t, e.call(t, u, "PUT", "/cart/items/A", `{"quantity":4}`), 200, "user sets A")
	resp = e.call(t, u, "POST", "/cart/merge", "", "X-Session-Id", g.session)
	expect(t, resp, 200, "merge")
	c = decode[cart.Cart](t, resp)
	// 4 + 3 capped by the stock of 5: the 2 units that did not fit come back.
	if len(c.Items) != 1 || c.Items[0].Quantity != 5 || len(c.NotMerged) != 1 ||
		c.NotMerged[0] != (cart.NotMerged{ProductID: "A", Quantity: 2, Reason: "insufficient-stock"}) {
		t.Fatalf("merged cart = %+v", c)
	}
	if c = decode[cart.Cart](t, e.call(t, u, "GET", "/cart", "")); len(c.Items) != 1 || c.Items[0].Quantity != 5 || c.NotMerged != nil {
		t.Fatalf("user cart after merge = %+v", c)
	}
	// The merge revoked the session: its cart is gone, and a retry changes nothing.
	expect(t, e.call(t, g, "GET", "/cart", ""), 401, "guest cart after merge")
	expect(t, e.call(t, u, "POST", "/cart/merge", "", "X-Session-Id", g.session), 401, "merge retried")
	if c = decode[cart.Cart](t, e.call(t, u, "GET", "/cart", "")); c.Items[0].Quantity != 5 {
		t.Fatalf("a retried merge changed the cart: %+v", c)
	}
	expect(t, e.call(t, u, "DELETE", "/cart", ""), 204, "clear")
	if c = decode[cart.Cart](t, e.call(t, u, "GET", "/cart", "")); len(c.Items) != 0 {
		t.Fatalf("after clear = %+v", c)
	}

	// A product deleted from the catalogue drops out of the cart.
	expect(t, e.call(t, u, "PUT", "/cart/items/B", `{"quantity":1}`), 200, "user sets B")
	if _, err := dynamo.NewProducts(db, e.cfg.ProductsTable).Delete(context.Background(), "B", nil); err != nil {
		t.Fatal(err)
	}
	if c = decode[cart.Cart](t, e.call(t, u, "GET", "/cart", "")); len(c.Items) != 0 || c.Subtotal != 0 {
		t.Fatalf("cart with a deleted product = %+v", c)
	}
}

// Bad cart requests: a 4xx problem each, and the cart unchanged.
func TestCartBadInput(t *testing.T) {
	e := newShop(t)
	e.addProduct(t, "A", 1000, 5)
	g := guest(e.session(t))
	expect(t, e.call(t, g, "PUT", "/cart/items/A", `{"quantity":1}`), 200, "set A")
	revoked := guest(e.session(t))
	expect(t, e.call(t, revoked, "DELETE", "/sessions/current", ""), 204, "end a session")
	tampered := []byte(g.session)
	tampered[5] ^= 1
	madeUp := guest(strings.Repeat("A", 43)) // the right shape, never issued
	for _, tc := range []struct {
		name, method, path, body string
		w                        who
		status                   int
	}{
		{"no session", "GET", "/cart", "", who{}, 400},
		{"short session", "GET", "/cart", "", guest("short"), 401},
		{"session with a slash", "GET", "/cart", "", guest("aaaaaaaaaaaaaaaa/b"), 401},
		{"made-up session", "PUT", "/cart/items/A", `{"quantity":2}`, madeUp, 401},
		{"tampered session", "DELETE", "/cart", "", guest(string(tampered)), 401},
		{"revoked session", "GET", "/cart", "", revoked, 401},
		{"revoked twice", "DELETE", "/sessions/current", "", revoked, 401},
		{"session with a body", "POST", "/sessions", `{"x":1}`, who{}, 400},
		{"zero", "PUT", "/cart/items/A", `{"quantity":0}`, g, 400},
		{"too many", "PUT", "/cart/items/A", `{"quantity":100}`, g, 400},
		{"fraction", "PUT", "/cart/items/A", `{"quantity":1.5}`, g, 400},
		{"string", "PUT", "/cart/items/A", `{"quantity":"2"}`, g, 400},
		{"unknown field", "PUT", "/cart/items/A", `{"quantity":2,"price":1}`, g, 400},
		{"no body", "PUT", "/cart/items/A", ``, g, 400},
		{"bad id", "PUT", "/cart/items/" + strings.Repeat("x", 65), `{"quantity":1}`, g, 400},
		{"merge as guest", "POST", "/cart/merge", "", g, 401},
		{"merge without session", "POST", "/cart/merge", "", user("u-x"), 400},
		{"merge of a made-up session", "POST", "/cart/merge", "", who{sub: "u-x", session: madeUp.session}, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, e.call(t, tc.w, tc.method, tc.path, tc.body), tc.status, tc.name)
		})
	}
	c := decode[cart.Cart](t, e.call(t, g, "GET", "/cart", ""))
	if len(c.Items) != 1 || c.Items[0].Quantity != 1 {
		t.Fatalf("cart changed by bad requests: %+v", c)
	}
}

// With the cache hung, every cart route and checkout answer 503 with
// Retry-After, within a second; afterwards all is as before.
func TestCacheDown(t *testing.T) {
	e := newShop(t)
	e.addProduct(t, "A", 1000, 5)
	u := user(shop.NewID("u", time.Now()))
	expect(t, e.call(t, u, "PUT", "/cart/items/A", `{"quantity":2}`), 200, "set A")
	if err := redisServer.Pause(); err != nil {
		t.Fatal(err)
	}
	defer redisServer.Resume()
	for _, r := range [][3]string{{"GET", "/cart", ""}, {"PUT", "/cart/items/A", `{"quantity":1}`}, {"DELETE", "/cart/items/A", ""},
		{"DELETE", "/cart", ""}, {"POST", "/orders", ""}} {
		start := time.Now()
		resp := e.call(t, u, r[0], r[1], r[2], "Idempotency-Key", "k-down")
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s %s took %v with the cache down, want under 1 s", r[0], r[1], d)
		}
		expect(t, resp, 503, r[0]+" "+r[1])
		if resp.Headers["Retry-After"] == "" {
			t.Errorf("%s %s: 503 without Retry-After", r[0], r[1])
		}
	}
	if err := redisServer.Resume(); err != nil {
		t.Fatal(err)
	}
	resp := e.call(t, u, "GET", "/cart", "")
	for i := 0; resp.StatusCode != 200 && i < 50; i++ { // recovery takes a moment
		t.Logf("after resume: %d %s", resp.StatusCode, resp.Body)
		time.Sleep(100 * time.Millisecond)
		resp = e.call(t, u, "GET", "/cart", "")
	}
	expect(t, resp, 200, "cart after the outage")
	c := decode[cart.Cart](t, resp)
	if len(c.Items) != 1 || c.Items[0].Quantity != 2 {
		t.Fatalf("cart after the outage = %+v", c)
	}
	if e.stock(t, "A") != 5 {
		t.Fatal("stock changed by a checkout that failed")
	}
	// The failed checkout released its key: a retry with it goes through.
	expect(t, e.call(t, u, "POST", "/orders", "", "Idempotency-Key", "k-down"), 201, "checkout after the outage")
}

// With the table hung (DynamoDB Local stopped with SIGSTOP), reads and writes
// answer 503 with Retry-After within 3 seconds, not at the function's
// timeout; afterwards all is as before.
func TestTableHung(t *testing.T) {
	e := newShop(t)
	e.addProduct(t, "A", 1000, 5)
	u := user(shop.NewID("u", time.Now()))
	if err := dev.Dynamo.Pause(); err != nil {
		t.Fatal(err)
	}
	defer dev.Dynamo.Resume()
	for _, r := range [][3]string{{"GET", "/products/A", ""}, {"GET", "/products", ""}, {"PUT", "/cart/items/A", `{"quantity":1}`},
		{"PATCH", "/products/A", `{"quantity_delta":1}`}, {"GET", "/me", ""}} {
		w := u
		if r[0] == "PATCH" {
			w = admin
		}
		start := time.Now()
		resp := e.call(t, w, r[0], r[1], r[2])
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s %s took %v with the table hung, want under 3 s", r[0], r[1], d)
		}
		expect(t, resp, 503, r[0]+" "+r[1]+" with the table hung")
		if resp.Headers["Retry-After"] == "" {
			t.Errorf("%s %s: 503 without Retry-After", r[0], r[1])
		}
	}
	if err := dev.Dynamo.Resume(); err != nil {
		t.Fatal(err)
	}
	resp := e.call(t, u, "GET", "/products/A", "")
	for i := 0; resp.StatusCode != 200 && i < 50; i++ {
		time.Sleep(100 * time.Millisecond)
		resp = e.call(t, u, "GET", "/products/A", "")
	}
	expect(t, resp, 200, "product after the outage")
	// The delta's one attempt may have reached the table before it hung (a
	// timed-out write's outcome is open: the 503 says retry), but it is
	// never applied twice: writes are not retried after a timeout.
	if s := e.stock(t, "A"); s != 5 && s != 6 {
		t.Fatalf("stock %d after one refused +1, want 5 or 6", s)
	}
}

// 50 customers race for 10 units: exactly 10 orders, stock 0, never negative.
func TestCheckoutRace(t *testing.T) {
	e := newShop(t)
	e.addProduct(t, "HOT", 999, 10)
	const buyers = 50
	users := make([]who, buyers)
	for i := range users {
		users[i] = user(fmt.Sprintf("racer-%d-%s", i, shop.NewID("", time.Now())))
		expect(t, e.call(t, users[i], "PUT", "/cart/items/HOT", `{"quantity":1}`), 200, "fill cart")
	}
	statuses := make(chan int, buyers)
	start := make(chan struct{})
	for _, u := range users {
		go func() {
			<-start
			statuses <- e.call(t, u, "POST", "/orders", "", "Idempotency-Key", "race").StatusCode
		}()
	}
	close(start)
	count := map[int]int{}
	for range buyers {
		count[<-statuses]++
	}
	t.Logf("statuses: %v", count)
	if count[201] != 10 || count[201]+count[409]+count[503] != buyers {
		t.Fatalf("statuses %v, want exactly 10 × 201 and the rest 409 (or 503 when contention outlasts the retries)", count)
	}
	if got := e.stock(t, "HOT"); got != 0 {
		t.Fatalf("stock = %d, want 0", got)
	}
	placed := 0
	for _, u := range users {
		placed += len(decode[orders.Page](t, e.call(t, u, "GET", "/orders", "")).Items)
	}
	if placed != 10 {
		t.Fatalf("%d orders stored, want 10", placed)
	}
}

// A replay returns the first order and takes no more stock; the same key with
// another body is a 422; another user's order is invisible.
func TestCheckoutReplayAndPrivacy(t *testing.T) {
	e := newShop(t)
	e.addProduct(t, "A", 1000, 10)
	e.addProduct(t, "B", 300, 10)
	u, other := user(shop.NewID("u", time.Now())), user(shop.NewID("v", time.Now()))
	expect(t, e.call(t, u, "PUT", "/cart/items/A", `{"quantity":2}`), 200, "set A")
	expect(t, e.call(t, u, "PUT", "/cart/items/B", `{"quantity":3}`), 200, "set B")
	first := e.call(t, u, "POST", "/orders", "", "Idempotency-Key", "k1")
	expect(t, first, 201, "checkout")
	o := decode[orders.Order](t, first)
	if o.Total != 2*1000+3*300 || len(o.Items) != 2 || o.UserID != u.sub {
		t.Fatalf("order = %+v", o)
	}
	if c := decode[cart.Cart](t, e.call(t, u, "GET", "/cart", "")); len(c.Items) != 0 {
		t.Fatalf("cart not emptied: %+v", c)
	}
	again := e.call(t, u, "POST", "/orders", "{}", "Idempotency-Key", "k1")
	expect(t, again, 201, "replay")
	if again.Body != first.Body || again.Headers["Idempotent-Replayed"] != "true" {
		t.Fatalf("replay = %s %v, want the first order", again.Body, again.Headers)
	}
	expect(t, e.call(t, u, "POST", "/orders", `{"note":"leave at the door"}`, "Idempotency-Key", "k1"), 422, "same key, another request")
	expect(t, e.call(t, u, "POST", "/orders", `{"gift":true}`, "Idempotency-Key", "k2"), 400, "unknown field")
	if e.stock(t, "A") != 8 || e.stock(t, "B") != 7 {
		t.Fatalf("stock A %d B %d after one order and a replay", e.stock(t, "A"), e.stock(t, "B"))
	}
	expect(t, e.call(t, u, "GET", "/orders/"+o.OrderID, ""), 200, "own order")
	expect(t, e.call(t, other, "GET", "/orders/"+o.OrderID, ""), 404, "another user's order")
	if p := decode[orders.Page](t, e.call(t, other, "GET", "/orders", "")); len(p.Items) != 0 {
		t.Fatalf("another user sees %d orders", len(p.Items))
	}
	me := decode[orders.Customer](t, e.call(t, u, "GET", "/me", ""))
	if me.OrderCount != 1 || me.Email != u.sub+"@example.com" {
		t.Fatalf("me = %+v", me)
	}
}

// Orders list newest first, across pages.
func TestOrderHistoryPages(t *testing.T) {
	e := newShop(t)
	e.addProduct(t, "A", 100, 100)
	u := user(shop.NewID("u", time.Now()))
	var ids []string
	for i := range 5 {
		expect(t, e.call(t, u, "PUT", "/cart/items/A", `{"quantity":1}`), 200, "set A")
		resp := e.call(t, u, "POST", "/orders", "", "Idempotency-Key", fmt.Sprint("k", i))
		expect(t, resp, 201, "checkout")
		placed := decode[orders.Order](t, resp)
		id := placed.OrderID
		ids = append(ids, id)
		// Paid: the pending slot frees itself for the next one.
		expect(t, e.call(t, payments, "POST", "/orders/"+id+"/confirm", paidBody("p-"+id, placed)), 200, "confirm")
		time.Sleep(2 * time.Millisecond) // distinct milliseconds in the ids
	}
	var got []string
	cursorQ := ""
	for {
		req := httpapi.Event{Resource: "/orders", HTTPMethod: "GET", Path: "/orders",
			QueryStringParameters: map[string]string{"limit": "2"}}
		if cursorQ != "" {
			req.QueryStringParameters["cursor"] = cursorQ
		}
		req.RequestContext.Authorizer = map[string]any{"claims": map[string]any{"sub": u.sub, "token_use": "id"}}
		resp, _ := e.router.Serve(context.Background(), req)
		expect(t, resp, 200, "page")
		p := decode[orders.Page](t, resp)
		for _, o := range p.Items {
			got = append(got, o.OrderID)
		}
		if p.NextCursor == nil {
			break
		}
		cursorQ = *p.NextCursor
	}
	slices.Reverse(ids)
	if fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Fatalf("history %v, want newest first %v", got, ids)
	}
}

// Bad checkouts: a 4xx problem each, nothing written.
func TestCheckoutBadInput(t *testing.T) {
	e := newShop(t)
	e.addProduct(t, "A", 1000, 10)
	e.addProduct(t, "GONE", 1000, 10)
	u := user(shop.NewID("u", time.Now()))
	empty := user(shop.NewID("e", time.Now()))
	expect(t, e.call(t, u, "POST", "/orders", ""), 400, "no key")
	expect(t, e.call(t, u, "POST", "/orders", "", "Idempotency-Key", strings.Repeat("k", 129)), 400, "key too long")
	expect(t, e.call(t, u, "POST", "/orders", "", "Idempotency-Key", "has space"), 400, "key with a space")
	expect(t, e.call(t, empty, "POST", "/orders", "", "Idempotency-Key", "k"), 409, "empty cart")
	expect(t, e.call(t, u, "PUT", "/cart/items/A", `{"quantity":2}`), 200, "set A")
	expect(t, e.call(t, u, "PUT", "/cart/items/GONE", `{"quantity":1}`), 200, "set GONE")
	if _, err := dynamo.NewProducts(db, e.cfg.ProductsTable).Delete(context.Background(), "GONE", nil); err != nil {
		t.Fatal(err)
	}
	resp := e.call(t, u, "POST", "/orders", "", "Idempotency-Key", "k")
	expect(t, resp, 409, "a line whose product is gone")
	if !strings.Contains(resp.Body, "items.GONE") {
		t.Fatalf("409 does not name the line: %s", resp.Body)
	}
	if e.stock(t, "A") != 10 {
		t.Fatal("stock taken by a refused checkout")
	}
	if p := decode[orders.Page](t, e.call(t, u, "GET", "/orders", "")); len(p.Items) != 0 {
		t.Fatal("an order was stored by a refused checkout")
	}
	// The key was released: once the cart is fixed, the same key goes through.
	expect(t, e.call(t, u, "DELETE", "/cart/items/GONE", ""), 200, "remove GONE")
	expect(t, e.call(t, u, "POST", "/orders", "", "Idempotency-Key", "k"), 201, "checkout with the fixed cart")
}

// failingClear is a cart whose first ClearIf fails: the invocation "crashes"
// between the commit and emptying the cart.
type failingClear struct {
	*cart.Service
	failures int
}

func (f *failingClear) ClearIf(ctx context.Context, o cart.Owner, l cart.Lines) (bool, error) {
	if f.failures > 0 {
		f.failures--
		return false, shop.ErrUnavailable
	}
	return f.Service.ClearIf(ctx, o, l)
}

func TestCrashBetweenCommitAndCartClear(t *testing.T) {
	e := newShop(t)
	e.addProduct(t, "A", 1000, 10)
	u := shop.Identity{Subject: shop.NewID("u", time.Now())}
	ctx := context.Background()
	owner := cart.Owner{ID: u.Subject}
	if _, err := e.carts.SetLine(ctx, owner, "A", 3); err != nil {
		t.Fatal(err)
	}
	cursors, _ := cursor.New(make([]byte, 32))
	svc := orders.NewService(e.store, &failingClear{Service: e.carts, failures: 1}, cursors, "EUR", orders.DefaultLimits, quiet, orders.Options{})
	first, replayed, err := svc.Checkout(ctx, u, "k", orders.Request{})
	if err != nil || replayed {
		t.Fatal(err, replayed)
	}
	if lines, _, _ := e.carts.Priced(ctx, owner); len(lines) != 1 {
		t.Fatalf("the crash should have left the cart: %v", lines)
	}
	second, replayed, err := svc.Checkout(ctx, u, "k", orders.Request{})
	if err != nil || !replayed || second.OrderID != first.OrderID {
		t.Fatalf("retry = %+v %v %v, want the first order replayed", second, replayed, err)
	}
	if lines, _, _ := e.carts.Priced(ctx, owner); len(lines) != 0 {
		t.Fatalf("the retry did not empty the cart: %v", lines)
	}
	if e.stock(t, "A") != 7 {
		t.Fatalf("stock = %d, want 7 (one order)", e.stock(t, "A"))
	}
}

// An in-flight key blocks a second attempt (409) until its invocation's
// deadline has passed; then a retry proceeds.
func TestInFlightKey(t *testing.T) {
	e := newShop(t)
	e.addProduct(t, "A", 1000, 10)
	u := user(shop.NewID("u", time.Now()))
	expect(t, e.call(t, u, "PUT", "/cart/items/A", `{"quantity":1}`), 200, "set A")
	now := time.Now()
	if prev, err := e.store.Claim(context.Background(), u.sub, "k", orders.Fingerprint(orders.Request{}), "crashed", now.Add(time.Second), now); err != nil || prev != nil {
		t.Fatal(prev, err)
	}
	expect(t, e.call(t, u, "POST", "/orders", "", "Idempotency-Key", "k"), 409, "while in flight")
	time.Sleep(1100 * time.Millisecond)
	expect(t, e.call(t, u, "POST", "/orders", "", "Idempotency-Key", "k"), 201, "after the deadline")
	if e.stock(t, "A") != 9 {
		t.Fatal("stock should drop by one")
	}
}

var payments = who{client: "payments", scope: contract.ScopeConfirmOrders}

// checkout puts qty of product in u's cart and checks out; it returns the order.
func (e *shopEnv) checkout(t testing.TB, u who, product string, qty int) orders.Order {
	t.Helper()
	expect(t, e.call(t, u, "PUT", "/cart/items/"+product, fmt.Sprintf(`{"quantity":%d}`, qty)), 200, "add to cart")
	resp := e.call(t, u, "POST", "/orders", "", "Idempotency-Key", shop.NewID("K", time.Now()))
	expect(t, resp, 201, "checkout")
	return decode[orders.Order](t, resp)
}

// The order lifecycle through the handlers against DynamoDB Local: a pending
// order holds its units; cancel returns them once; the payment integration
// confirms with its reference; the job expires what is left unpaid; each is a
// problem when it does not apply.
func TestOrderLifecycle(t *testing.T) {
	e := newShop(t)
	e.addProduct(t, "A", 500, 10)
	u := user(shop.NewID("u", time.Now()))

	o := e.checkout(t, u, "A", 3)
	exp, err := time.Parse(time.RFC3339, o.ExpiresAt)
	if o.Status != orders.StatusPending || err != nil || time.Until(exp) < 14*time.Minute || time.Until(exp) > 16*time.Minute || o.PaymentReference != nil {
		t.Fatalf("checkout = %+v", o)
	}
	if s := e.stock(t, "A"); s != 7 {
		t.Fatalf("stock %d, want 7 held", s)
	}
	for range 2 {
		resp := e.call(t, u, "POST", "/orders/"+o.OrderID+"/cancel", "")
		expect(t, resp, 200, "cancel")
		if got := decode[orders.Order](t, resp); got.Status != orders.StatusCancelled {
			t.Fatalf("cancel = %+v", got)
		}
	}
	if s := e.stock(t, "A"); s != 10 {
		t.Fatalf("stock %d after cancel (twice), want 10", s)
	}
	expect(t, e.call(t, payments, "POST", "/orders/"+o.OrderID+"/confirm", paidBody("pay-1", o)), 409, "confirm a cancelled order")

	o2 := e.checkout(t, u, "A", 2)
	for _, tc := range []struct {
		name   string
		w      who
		body   string
		status int
	}{
		{"a shopper", u, paidBody("pay-2", o2), 401},
		{"a client without the scope", who{client: "other", scope: "shop/other"}, paidBody("pay-2", o2), 403},
		{"no reference", payments, `{}`, 400},
		{"no amount", payments, `{"payment_reference":"pay-2","currency":"EUR"}`, 400},
		{"an amount in decimals", payments, `{"payment_reference":"pay-2","amount":12.5,"currency":"EUR"}`, 400},
		{"a negative amount", payments, `{"payment_reference":"pay-2","amount":-1,"currency":"EUR"}`, 400},
		{"no currency", payments, fmt.Sprintf(`{"payment_reference":"pay-2","amount":%d}`, o2.Total), 400},
		{"a currency in lower case", payments, fmt.Sprintf(`{"payment_reference":"pay-2","amount":%d,"currency":"eur"}`, o2.Total), 400},
		{"less than the total", payments, fmt.Sprintf(`{"payment_reference":"pay-2","amount":%d,"currency":%q}`, o2.Total-1, o2.Currency), 409},
		{"another currency", payments, fmt.Sprintf(`{"payment_reference":"pay-2","amount":%d,"currency":"USD"}`, o2.Total), 409},
		{"a reference too long", payments, `{"payment_reference":"` + strings.Repeat("r", 129) + `"}`, 400},
		{"a reference with a space", payments, `{"payment_reference":"a b"}`, 400},
		{"the reference as a number", payments, `{"payment_reference":7}`, 400},
	} {
		expect(t, e.call(t, tc.w, "POST", "/orders/"+o2.OrderID+"/confirm", tc.body), tc.status, "confirm by "+tc.name)
	}
	expect(t, e.call(t, payments, "POST", "/orders/NOPE/confirm", paidBody("pay-2", o2)), 404, "confirm an unknown order")
	expect(t, e.call(t, payments, "POST", "/orders/no.pe/confirm", paidBody("pay-2", o2)), 400, "confirm a malformed id")
	for range 2 {
		resp := e.call(t, payments, "POST", "/orders/"+o2.OrderID+"/confirm", paidBody("pay-2", o2))
		expect(t, resp, 200, "confirm")
		if got := decode[orders.Order](t, resp); got.Status != orders.StatusConfirmed || got.PaymentReference == nil || *got.PaymentReference != "pay-2" {
			t.Fatalf("confirm = %+v", got)
		}
	}
	expect(t, e.call(t, payments, "POST", "/orders/"+o2.OrderID+"/confirm", paidBody("pay-3", o2)), 409, "confirm with another reference")
	expect(t, e.call(t, u, "POST", "/orders/"+o2.OrderID+"/cancel", ""), 409, "cancel a confirmed order")
	expect(t, e.call(t, user("someone-else"), "POST", "/orders/"+o2.OrderID+"/cancel", ""), 404, "cancel another user's order")
	if s := e.stock(t, "A"); s != 8 {
		t.Fatalf("stock %d after a sale of 2, want 8", s)
	}

	// Expiry, by the job: move its clock past the hold.
	o3 := e.checkout(t, u, "A", 1)
	e.clock.move(16 * time.Minute)
	defer e.clock.move(0)
	if run, err := e.lifecycle.ExpireDue(context.Background(), 10, 4); err != nil || run.Expired != 1 {
		t.Fatalf("expire = %d, %v; want 1", run.Expired, err)
	}
	if got := decode[orders.Order](t, e.call(t, u, "GET", "/orders/"+o3.OrderID, "")); got.Status != orders.StatusExpired {
		t.Fatalf("after the job: %+v", got)
	}
	if s := e.stock(t, "A"); s != 8 {
		t.Fatalf("stock %d after expiry, want 8", s)
	}
	expect(t, e.call(t, u, "POST", "/orders/"+o3.OrderID+"/cancel", ""), 409, "cancel an expired order")
}

// A user holds at most MaxPending pending orders; the next checkout is a
// 429 with Retry-After, and changes nothing. Cancelling one does not free a
// place before its hold would have ended (else cancel and order again would
// hold stock without end); paying for one does.
func TestPendingLimit(t *testing.T) {
	e := newShop(t)
	e.addProduct(t, "A", 500, 100)
	u := user(shop.NewID("u", time.Now()))
	var placed []orders.Order
	for range orders.DefaultLimits.MaxPending {
		placed = append(placed, e.checkout(t, u, "A", 1))
	}
	expect(t, e.call(t, u, "PUT", "/cart/items/A", `{"quantity":1}`), 200, "add to cart")
	resp := e.call(t, u, "POST", "/orders", "", "Idempotency-Key", "k-over")
	expect(t, resp, 429, "checkout beyond the limit")
	if ra, err := strconv.Atoi(resp.Headers["Retry-After"]); err != nil || ra < 1 || ra > 15*60 {
		t.Fatalf("Retry-After %q", resp.Headers["Retry-After"])
	}
	if s := e.stock(t, "A"); s != 100-int64(orders.DefaultLimits.MaxPending) {
		t.Fatalf("stock %d: the refused checkout took some", s)
	}
	expect(t, e.call(t, u, "POST", "/orders/"+placed[0].OrderID+"/cancel", ""), 200, "cancel one")
	expect(t, e.call(t, u, "POST", "/orders", "", "Idempotency-Key", "k-over"), 429, "checkout after a cancel, within its hold")
	expect(t, e.call(t, payments, "POST", "/orders/"+placed[1].OrderID+"/confirm", paidBody("pay-"+placed[1].OrderID, placed[1])), 200, "pay for one")
	// The refused attempts released their key: the same key now goes through.
	expect(t, e.call(t, u, "POST", "/orders", "", "Idempotency-Key", "k-over"), 201, "checkout after a payment")
}

// One account's pending orders hold at most MaxUnitsHeld units of a product
// (issue 26, item 2): more in one cart, or across pending orders, is a 409
// hold-limit naming the line, and nothing is held.
func TestHoldLimit(t *testing.T) {
	e := newShop(t)
	e.addProduct(t, "A", 500, 100)
	u := user(shop.NewID("u", time.Now()))
	max := orders.DefaultLimits.MaxUnitsHeld
	expect(t, e.call(t, u, "PUT", "/cart/items/A", fmt.Sprintf(`{"quantity":%d}`, max+1)), 200, "more than the limit in the cart")
	resp := e.call(t, u, "POST", "/orders", "", "Idempotency-Key", "k-1")
	expect(t, resp, 409, "checkout of more than the limit")
	if p := decode[map[string]any](t, resp); p["type"] != "/problems/hold-limit" || !strings.Contains(fmt.Sprint(p["errors"]), "items.A") {
		t.Fatalf("problem = %v", p)
	}
	expect(t, e.call(t, u, "PUT", "/cart/items/A", fmt.Sprintf(`{"quantity":%d}`, max-1)), 200, "just under the limit")
	expect(t, e.call(t, u, "POST", "/orders", "", "Idempotency-Key", "k-2"), 201, "checkout under the limit")
	expect(t, e.call(t, u, "PUT", "/cart/items/A", `{"quantity":2}`), 200, "two more")
	expect(t, e.call(t, u, "POST", "/orders", "", "Idempotency-Key", "k-3"), 409, "past the limit across pending orders")
	if s := e.stock(t, "A"); s != 100-int64(max-1) {
		t.Fatalf("stock %d, want only the first order's %d held", s, max-1)
	}
}
