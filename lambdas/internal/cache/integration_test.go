//go:build integration

package cache

import (
	"slices"
	"strings"

	"github.com/go-cdk-shop/shop/lambdas/contract"

	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-cdk-shop/shop/lambdas/internal/cart"
	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/localdev/servers"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// These tests run against a real redis-server: a one-node cluster with TLS and
// an ACL user whose rules are a stage's (contract.StageCacheAccess, scope
// testScope), started here and stopped at the end.
var (
	server *servers.Redis
	client *redis.ClusterClient
)

// testScope is the scope of these tests' keys.
const testScope = "test"

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "rediscart")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		server, err = servers.StartRedis(context.Background(), dir, "cart", contract.StageCacheAccess(testScope), os.Stderr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "start redis-server:", err)
			return 1
		}
		defer func() { server.Stop() }()
		client = NewClient(Options{Addr: server.Addr, Username: server.User, TLS: server.TLS,
			Password: func(context.Context) (string, error) { return server.Password, nil }})
		defer client.Close()
		return m.Run()
	}())
}

func owner(t *testing.T) cart.Owner {
	return cart.Owner{ID: shop.NewID("T", time.Now())}
}

func TestEveryOperation(t *testing.T) {
	s, ctx, o := NewCarts(client, testScope), context.Background(), owner(t)
	ttl := time.Minute
	if l, err := s.Get(ctx, o, ttl); err != nil || len(l) != 0 {
		t.Fatalf("new cart = %v, %v", l, err)
	}
	for id, q := range map[string]int{"A": 1, "B": 2, "C": 3} {
		if err := s.Set(ctx, o, id, q, ttl); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Set(ctx, o, "A", 5, ttl); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, o, ttl, "B", "absent"); err != nil {
		t.Fatal(err)
	}
	l, err := s.Get(ctx, o, ttl)
	if err != nil || fmt.Sprint(l) != "map[A:5 C:3]" {
		t.Fatalf("cart = %v, %v", l, err)
	}
	if ok, err := s.ClearIf(ctx, o, cart.Lines{"A": 5}); err != nil || ok {
		t.Fatalf("ClearIf with other lines = %v, %v; want false", ok, err)
	}
	if ok, err := s.ClearIf(ctx, o, cart.Lines{"A": 5, "C": 3}); err != nil || !ok {
		t.Fatalf("ClearIf with the same lines = %v, %v; want true", ok, err)
	}
	if err := s.Set(ctx, o, "A", 1, ttl); err != nil {
		t.Fatal(err)
	}
	if err := s.Clear(ctx, o); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.Get(ctx, o, ttl); len(l) != 0 {
		t.Fatalf("after clear = %v", l)
	}
}

func TestLineLimit(t *testing.T) {
	s, ctx, o := NewCarts(client, testScope), context.Background(), owner(t)
	for i := range cart.MaxLines {
		if err := s.Set(ctx, o, fmt.Sprint("P", i), 1, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Set(ctx, o, "one-more", 1, time.Minute); !errors.Is(err, cart.ErrFull) {
		t.Fatalf("line %d = %v, want ErrFull", cart.MaxLines+1, err)
	}
	if err := s.Set(ctx, o, "P0", 7, time.Minute); err != nil {
		t.Fatalf("changing an existing line of a full cart = %v", err)
	}
}

// Many goroutines change one cart at once; no write is lost.
func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	s, ctx, o := NewCarts(client, testScope), context.Background(), owner(t)
	const writers = 40
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprint("P", i)
			if err := s.Set(ctx, o, id, 1+i%cart.MaxQuantity, time.Minute); err != nil {
				errs <- err
				return
			}
			if i%4 == 0 { // a quarter also remove their line again
				errs <- s.Remove(ctx, o, time.Minute, id)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	l, err := s.Get(ctx, o, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for i := range writers {
		q, ok := l[fmt.Sprint("P", i)]
		if want := i%4 != 0; ok != want || (ok && q != 1+i) {
			t.Errorf("line P%d = %d, present %v; want present %v", i, q, ok, want)
		}
	}
}

func TestMergeIsCappedAndHappensOnce(t *testing.T) {
	s, ctx, o := NewCarts(client, testScope), context.Background(), owner(t)
	_ = s.Set(ctx, o, "A", 3, time.Minute)
	guest := cart.Lines{"A": 4, "B": 2, "gone": 1}
	caps := map[string]int{"A": 5, "B": 10} // "gone" has no stock entry: it is dropped
	var wg sync.WaitGroup
	for range 8 { // the same merge retried concurrently applies once
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := s.Merge(ctx, o, "g:x#1", guest, caps, time.Minute); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	l, _ := s.Get(ctx, o, time.Minute)
	if fmt.Sprint(l) != "map[A:5 B:2]" {
		t.Fatalf("merged = %v, want A capped at 5 and B 2 once", l)
	}
}

// The expiry slides: every touch renews it, and an idle cart goes away.
func TestSlidingExpiry(t *testing.T) {
	s, ctx, o := NewCarts(client, testScope), context.Background(), owner(t)
	ttl := 400 * time.Millisecond
	if err := s.Set(ctx, o, "A", 1, ttl); err != nil {
		t.Fatal(err)
	}
	for range 4 { // 4 x 200 ms: longer than ttl, but each read renews it
		time.Sleep(ttl / 2)
		if l, err := s.Get(ctx, o, ttl); err != nil || len(l) != 1 {
			t.Fatalf("cart gone while in use: %v %v", l, err)
		}
	}
	pttl, err := client.PTTL(ctx, cartKey(testScope, o)).Result()
	if err != nil || pttl <= 0 || pttl > ttl {
		t.Fatalf("PTTL = %v, %v; want within (0, %v]", pttl, err, ttl)
	}
	time.Sleep(ttl + 200*time.Millisecond)
	if l, err := s.Get(ctx, o, ttl); err != nil || len(l) != 0 {
		t.Fatalf("idle cart still there: %v %v", l, err)
	}
}

// The ACL confines the cart user to cart keys.
func TestUserMayOnlyTouchCarts(t *testing.T) {
	ctx := context.Background()
	if err := client.Set(ctx, "not-a-cart", "x", time.Minute).Err(); err == nil {
		t.Fatal("SET of a non-cart key succeeded")
	}
	if err := client.FlushAll(ctx).Err(); err == nil {
		t.Fatal("FLUSHALL succeeded")
	}
	if err := classify("x", client.Set(ctx, "not-a-cart", "x", time.Minute).Err()); errors.Is(err, shop.ErrUnavailable) {
		t.Fatalf("NOPERM classified as unavailable: %v", err)
	}
}

// The server stops mid-run: calls fail fast as unavailable; after a restart
// the same client recovers, and every write acknowledged before is there.
func TestServerDownThenBack(t *testing.T) {
	s, ctx, o := NewCarts(client, testScope), context.Background(), owner(t)
	acked := cart.Lines{}
	for i := range 20 {
		id := fmt.Sprint("P", i)
		if err := s.Set(ctx, o, id, i+1, time.Hour); err == nil {
			acked[id] = i + 1
		}
	}
	server.Stop()
	restarted := false
	defer func() {
		if !restarted {
			_ = server.Start(context.Background())
		}
	}()
	for range 5 {
		start := time.Now()
		_, err := s.Get(ctx, o, time.Hour)
		if !errors.Is(err, shop.ErrUnavailable) {
			t.Fatalf("with the server down: %v, want ErrUnavailable", err)
		}
		// Not a timed assertion of speed, a bound on hanging: the Lambda's
		// timeout is 10 s and the contract says "quickly".
		if d := time.Since(start); d > time.Second {
			t.Fatalf("failing took %v, want under 1 s", d)
		}
	}
	if err := server.Start(ctx); err != nil {
		t.Fatal(err)
	}
	restarted = true
	var got cart.Lines
	var err error
	for range 50 { // the cluster state settles within a few hundred ms
		if got, err = s.Get(ctx, o, time.Hour); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("no recovery after restart: %v", err)
	}
	if fmt.Sprint(got) != fmt.Sprint(acked) || len(acked) != 20 {
		t.Fatalf("after restart %v, acknowledged %v", got, acked)
	}
}

// A server that hangs (it accepts connections but answers nothing) is the
// harder fault: only timeouts end the wait.
func TestServerHungFailsFast(t *testing.T) {
	s, ctx, o := NewCarts(client, testScope), context.Background(), owner(t)
	if err := s.Set(ctx, o, "A", 1, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := server.Pause(); err != nil {
		t.Fatal(err)
	}
	defer server.Resume()
	for i := range 3 {
		start := time.Now()
		_, err := s.Get(ctx, o, time.Hour)
		d := time.Since(start)
		t.Logf("call %d: %v after %v", i, err, d)
		if !errors.Is(err, shop.ErrUnavailable) {
			t.Fatalf("with the server hung: %v, want ErrUnavailable", err)
		}
		if d > time.Second {
			t.Fatalf("failing took %v, want under 1 s", d)
		}
	}
	if err := server.Resume(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, o, time.Hour); err != nil {
		t.Fatalf("after resume: %v", err)
	}
}

// Warm runs with the functions' ACL user alone (the slot map, PING, COMMAND
// and a keyed read are all in its access string) and leaves a connection in
// the pool and the command table loaded.
func TestWarmWithTheFunctionsUser(t *testing.T) {
	c := NewClient(Options{Addr: server.Addr, Username: server.User, TLS: server.TLS,
		Password: func(context.Context) (string, error) { return server.Password, nil }})
	defer c.Close()
	if err := Warm(context.Background(), c, contract.WarmKey(contract.Cart, testScope)); err != nil {
		t.Fatal(err)
	}
	if n := c.PoolStats().TotalConns; n == 0 {
		t.Fatal("no connection after the warm-up")
	}
}

// as connects to the server as a new user with access.
func as(t *testing.T, name, access string) *redis.ClusterClient {
	t.Helper()
	pw, err := server.AddUser(context.Background(), name, access)
	if err != nil {
		t.Fatal(err)
	}
	c := NewClient(Options{Addr: server.Addr, Username: name, TLS: server.TLS, Password: func(context.Context) (string, error) { return pw, nil }})
	t.Cleanup(func() { c.Close() })
	return c
}

// reach says whether c may read and write key.
func reach(ctx context.Context, c *redis.ClusterClient, key string) bool {
	return c.Set(ctx, key, "x", time.Minute).Err() == nil && c.Get(ctx, key).Err() == nil
}

// Development stages share one cache, a user per stage: with the real ACL
// strings, one stage's user reads and writes its own carts, sessions,
// products and views, and none of another stage's; its carts work.
func TestAStagesUserKeepsToItsStage(t *testing.T) {
	ctx := context.Background()
	a, b := as(t, "shop-dev-a-cart", contract.StageCacheAccess("dev-a")), as(t, "shop-dev-b-cart", contract.StageCacheAccess("dev-b"))
	for _, kind := range []func(string) string{contract.CartKeys, contract.ProductKeys, contract.ViewsKeys} {
		own, other := kind("dev-a")+"x}", kind("dev-b")+"x}"
		if !reach(ctx, a, own) {
			t.Errorf("dev-a's user cannot use its own %s", own)
		}
		if !reach(ctx, b, other) {
			t.Errorf("dev-b's user cannot use its own %s", other)
		}
		if reach(ctx, a, other) {
			t.Errorf("dev-a's user reaches dev-b's %s", other)
		}
		if err := a.Get(ctx, other).Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
			t.Errorf("dev-a reading %s: %v, want NOPERM", other, err)
		}
	}
	carts := NewCarts(a, "dev-a")
	o := owner(t)
	if err := carts.Set(ctx, o, "P1", 2, time.Hour); err != nil {
		t.Fatalf("dev-a's carts: %v", err)
	}
	if _, err := NewCarts(a, "dev-b").Get(ctx, o, time.Hour); err == nil {
		t.Error("dev-a's user read a cart of dev-b's scope")
	}
}

// Commands that no key pattern bounds are refused to every user the
// shop's templates make, with the real access strings on redis-server: a
// stage's user on the shared development cache (it could otherwise list
// another stage's keys, or flush the scripts every stage shares), and each
// of prod's function users. The shop's own scripts still run (a cart
// write is a script).
func TestNoUserRunsCommandsKeyPatternsDoNotBound(t *testing.T) {
	ctx := context.Background()
	users := map[string]string{"shop-dev-a-cart": contract.StageCacheAccess("dev-a")}
	for _, fn := range []contract.Function{contract.Catalog, contract.Cart, contract.Orders, contract.Images, contract.Expiry} {
		users["shop-prod-"+string(fn)] = contract.CacheAccess(fn, "prod")
	}
	refused := [][]any{
		{"scan", "0"}, {"randomkey"}, {"dbsize"}, {"keys", "*"}, {"flushall"}, {"flushdb"},
		{"script", "flush"}, {"script", "kill"}, {"function", "flush"}, {"function", "load", "#!lua name=x\nredis.register_function('x', function() return 1 end)"},
		{"config", "get", "*"},
	}
	for name, access := range users {
		c := as(t, name, access)
		for _, cmd := range refused {
			if err := c.Do(ctx, cmd...).Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
				t.Errorf("%s: %v = %v, want NOPERM", name, cmd, err)
			}
		}
	}
	a := as(t, "shop-dev-a-cart", contract.StageCacheAccess("dev-a"))
	if err := NewCarts(a, "dev-a").Set(ctx, owner(t), "P1", 1, time.Hour); err != nil {
		t.Errorf("a stage's user cannot run the cart's script: %v", err)
	}
}

// Prod: each function connects as its own user, limited to its own key
// kinds (contract.CacheAccess).
func TestEachFunctionsUserKeepsToItsKeys(t *testing.T) {
	ctx := context.Background()
	kinds := map[string]func(string) string{"carts": contract.CartKeys, "products": contract.ProductKeys, "views": contract.ViewsKeys}
	for fn, may := range map[contract.Function][]string{
		contract.Catalog: {"products", "views"}, contract.Cart: {"carts"}, contract.Orders: {"carts", "products"},
		contract.Images: {"products"}, contract.Expiry: {"products"},
	} {
		c := as(t, "shop-prod-"+string(fn), contract.CacheAccess(fn, "prod"))
		for name, kind := range kinds {
			if got := reach(ctx, c, kind("prod")+string(fn)+"}"); got != slices.Contains(may, name) {
				t.Errorf("%s's user reaches %s: %v, want %v", fn, name, got, !got)
			}
		}
		if err := Warm(ctx, c, contract.WarmKey(fn, "prod")); err != nil {
			t.Errorf("%s's user cannot warm up: %v", fn, err)
		}
	}
}

// stockOf is the catalogue the merge caps by: every product in stock.
type stockOf map[string]int64

func (s stockOf) Get(_ context.Context, id string) (catalog.Product, error) {
	q, ok := s[id]
	if !ok {
		return catalog.Product{}, shop.ErrNotFound
	}
	return catalog.Product{ProductID: id, Name: id, Price: 100, Currency: "EUR", Quantity: q}, nil
}

func (s stockOf) GetMany(ctx context.Context, ids []string) (map[string]catalog.Product, error) {
	out := map[string]catalog.Product{}
	for _, id := range ids {
		if p, err := s.Get(ctx, id); err == nil {
			out[id] = p
		}
	}
	return out, nil
}

// diesInMerge is the carts store of a process that dies in its next merge
// of the user's cart, before it applies (after the guest's session was
// taken, in the guest's slot).
type diesInMerge struct {
	*Carts
	die bool
}

func (d *diesInMerge) Merge(ctx context.Context, o cart.Owner, mergeID string, lines cart.Lines, caps map[string]int, ttl time.Duration) (cart.Lines, cart.Lines, error) {
	if d.die {
		d.die = false
		return nil, nil, errors.New("killed")
	}
	return d.Carts.Merge(ctx, o, mergeID, lines, caps, ttl)
}

// A merge that stops between its steps (issue 26, item 7): the session is
// taken, the user's cart not yet changed. No guest write is accepted after
// the take, none acknowledged before is lost: the retry with the same
// session finishes the merge, once; the one after is a 401.
func TestAMergeStoppedBetweenItsStepsFinishesOnRetry(t *testing.T) {
	ctx := context.Background()
	carts := &diesInMerge{Carts: NewCarts(client, testScope), die: true}
	sessions := NewSessions(client, testScope)
	svc := cart.NewService(carts, sessions, stockOf{"A": 10, "B": 10}, "EUR", cart.TTLs{User: time.Hour, Guest: time.Hour})
	token, err := svc.NewSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	guest, err := svc.Guest(ctx, token.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	user := cart.Owner{ID: "merge-" + shop.NewID("", time.Now())}
	if _, err := svc.SetLine(ctx, guest, "A", 2); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetLine(ctx, user, "B", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Merge(ctx, user, guest); err == nil {
		t.Fatal("the merge that dies answered")
	}
	if _, err := svc.SetLine(ctx, guest, "B", 5); !errors.Is(err, cart.ErrInvalidSession) {
		t.Errorf("a guest write after the take = %v, want ErrInvalidSession", err)
	}
	c, err := svc.Merge(ctx, user, guest)
	if err != nil {
		t.Fatalf("the retry = %v", err)
	}
	got := map[string]int{}
	for _, l := range c.Items {
		got[l.ProductID] = l.Quantity
	}
	if got["A"] != 2 || got["B"] != 1 || len(got) != 2 {
		t.Errorf("the user's cart after the retry = %v, want A 2 and B 1", got)
	}
	if _, err := svc.Merge(ctx, user, guest); !errors.Is(err, cart.ErrInvalidSession) {
		t.Errorf("a merge after the finished one = %v, want ErrInvalidSession", err)
	}
}

// The sweep's marker against redis-server, as the stage's user: it keeps
// where the sweep stopped, forgets it at the end, and names no product.
func TestSweepMarker(t *testing.T) {
	ctx := context.Background()
	m := NewSweepMarker(client, testScope)
	if err := m.Set(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if after, err := m.Get(ctx); err != nil || after != "" {
		t.Fatalf("a marker never set = %q, %v", after, err)
	}
	if err := m.Set(ctx, "products/P9/01J.png"); err != nil {
		t.Fatal(err)
	}
	if after, err := m.Get(ctx); err != nil || after != "products/P9/01J.png" {
		t.Errorf("marker = %q, %v", after, err)
	}
	if ttl, err := client.PTTL(ctx, m.key).Result(); err != nil || ttl <= 0 {
		t.Errorf("the marker's expiry = %v, %v; want one", ttl, err)
	}
	if shop.ValidID(strings.TrimSuffix(strings.TrimPrefix(m.key, contract.ProductKeys(testScope)), "}")) {
		t.Errorf("the marker's key %s is a product's", m.key)
	}
	if err := m.Set(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if after, _ := m.Get(ctx); after != "" {
		t.Errorf("after the end the marker is %q", after)
	}
}
