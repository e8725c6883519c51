//go:build integration

package productcache_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/cursor"
	"github.com/go-cdk-shop/shop/lambdas/internal/dynamo"
	"github.com/go-cdk-shop/shop/lambdas/internal/localdev"
	"github.com/go-cdk-shop/shop/lambdas/internal/productcache"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// These tests run against redis-server (the one-node TLS cluster with the
// shop's ACL user) and DynamoDB Local, as `make local` starts them.
var dev *localdev.Harness

func TestMain(m *testing.M) {
	os.Exit(func() int {
		var err error
		quiet := slog.New(slog.NewTextHandler(bytes.NewBuffer(nil), nil))
		dev, err = localdev.Start(context.Background(), localdev.Options{Log: quiet, Output: os.Stderr})
		if err != nil {
			fmt.Fprintln(os.Stderr, "start the local backends:", err)
			return 1
		}
		defer dev.Stop()
		return m.Run()
	}())
}

// env is one products table with the catalogue in front of it, its cache,
// and a count of the table reads that the cache let through.
type env struct {
	svc   *catalog.Service
	cache *productcache.Cache
	loads atomic.Int64
	logs  *syncBuffer
}

type countingStore struct {
	catalog.Store
	loads *atomic.Int64
}

func (s countingStore) Get(ctx context.Context, id string) (catalog.Product, error) {
	s.loads.Add(1)
	return s.Store.Get(ctx, id)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	table := "products-" + strings.ToLower(shop.NewID("", time.Now()))
	if err := dynamo.CreateProductsTable(ctx, dev.DB, table); err != nil {
		t.Fatal(err)
	}
	codec, err := cursor.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{logs: &syncBuffer{}}
	e.cache = productcache.New(dev.Cache, slog.New(slog.NewJSONHandler(e.logs, nil)), "test", localdev.LocalScope+"-"+table)
	e.svc = catalog.NewService(countingStore{dynamo.NewProducts(dev.DB, table), &e.loads}, codec, "EUR", e.cache)
	return e
}

func (e *env) create(t *testing.T, id, category string, quantity int64) {
	t.Helper()
	name, price := "Thing "+id, int64(100)
	if _, err := e.svc.Create(context.Background(), catalog.Fields{ProductID: &id, Name: &name, Price: &price, Category: &category, Quantity: &quantity}); err != nil {
		t.Fatal(err)
	}
}

// addStock changes the stock by delta: a write that needs no If-Match.
func (e *env) addStock(t *testing.T, id string, delta int64) catalog.Product {
	t.Helper()
	p, err := e.svc.Update(context.Background(), id, catalog.Fields{QuantityDelta: &delta}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) get(t *testing.T, id string) catalog.Product {
	t.Helper()
	p, err := e.svc.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadThroughFillsOnceAndWritesInvalidate(t *testing.T) {
	e := newEnv(t)
	e.create(t, "A", "c", 5)
	for range 5 {
		if p := e.get(t, "A"); p.Quantity != 5 {
			t.Fatalf("quantity %d", p.Quantity)
		}
	}
	if n := e.loads.Load(); n != 1 {
		t.Fatalf("5 reads loaded the table %d times, want 1", n)
	}
	e.addStock(t, "A", 2)
	if p := e.get(t, "A"); p.Quantity != 7 || p.Version != 2 {
		t.Fatalf("after the update: %+v", p)
	}
	if _, err := e.svc.Delete(context.Background(), "A", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Get(context.Background(), "A"); !errors.Is(err, shop.ErrNotFound) {
		t.Fatalf("after the delete: %v, want not found", err)
	}
}

// The classic race, forced: a reader misses and loads version 1; a writer
// commits version 2 and invalidates; then the reader puts what it loaded.
// The put must not land, or every later read would see version 1.
func TestRacingFillNeverStoresTheOlderProduct(t *testing.T) {
	for _, write := range []string{"update", "delete"} {
		t.Run(write, func(t *testing.T) {
			e := newEnv(t)
			e.create(t, "A", "c", 5)
			var once sync.Once
			e.cache.SetAfterLoad(func() {
				once.Do(func() {
					if write == "update" {
						e.addStock(t, "A", 4)
					} else if _, err := e.svc.Delete(context.Background(), "A", nil); err != nil {
						t.Fatal(err)
					}
				})
			})
			if p := e.get(t, "A"); p.Version != 1 { // concurrent with the write: either is right
				t.Fatalf("the racing read = %+v", p)
			}
			e.cache.SetAfterLoad(nil)
			p, err := e.svc.Get(context.Background(), "A")
			switch {
			case write == "update" && (err != nil || p.Quantity != 9):
				t.Fatalf("read after the acknowledged update = %+v, %v; want quantity 9", p, err)
			case write == "delete" && !errors.Is(err, shop.ErrNotFound):
				t.Fatalf("read after the acknowledged delete = %+v, %v; want not found", p, err)
			}
		})
	}
}

// The ABA of issue 26, forced: a reader notes the entry's generation and
// loads version 1; the entry expires; a writer commits version 2 and
// invalidates, making the entry again. With generations counted from a
// missing entry, the new entry's generation equalled the one the reader
// noted, and its put stored version 1 for a TTL. Generations are unique.
func TestAnEntryMadeAgainNeverTakesAnOldGeneration(t *testing.T) {
	for _, noted := range []string{"an invalidated entry", "no entry"} {
		t.Run(noted, func(t *testing.T) {
			e := newEnv(t)
			e.create(t, "A", "c", 5) // the create's invalidation makes the entry
			if noted == "no entry" {
				if err := dev.Cache.Del(context.Background(), e.cache.EntryKey("A")).Err(); err != nil {
					t.Fatal(err)
				}
			}
			var once sync.Once
			e.cache.SetAfterLoad(func() {
				once.Do(func() {
					// The entry expires while the reader loads.
					if err := dev.Cache.Del(context.Background(), e.cache.EntryKey("A")).Err(); err != nil {
						t.Fatal(err)
					}
					e.addStock(t, "A", 4)
				})
			})
			if p := e.get(t, "A"); p.Version != 1 {
				t.Fatalf("the racing read = %+v", p)
			}
			e.cache.SetAfterLoad(nil)
			if p := e.get(t, "A"); p.Quantity != 9 || p.Version != 2 {
				t.Fatalf("read after the acknowledged update = %+v; want version 2, quantity 9", p)
			}
		})
	}
}

// Readers and writers at once: a read that starts after a write was
// acknowledged never returns an older version.
func TestNoStaleReadUnderConcurrency(t *testing.T) {
	e := newEnv(t)
	e.create(t, "A", "c", 0)
	var acked atomic.Int64
	acked.Store(1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer cancel()
		one := int64(1)
		for i := 1; i <= 60 && ctx.Err() == nil; i++ {
			p, err := e.svc.Update(ctx, "A", catalog.Fields{QuantityDelta: &one}, nil)
			if err != nil {
				t.Error(err)
				return
			}
			acked.Store(p.Version)
		}
	}()
	var stale atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				floor := acked.Load()
				p, err := e.svc.Get(ctx, "A")
				if err != nil {
					if ctx.Err() == nil {
						t.Error(err)
					}
					return
				}
				if p.Version < floor {
					stale.Add(1)
					t.Errorf("read version %d after version %d was acknowledged", p.Version, floor)
				}
			}
		}()
	}
	wg.Wait()
	if p := e.get(t, "A"); p.Version != 61 {
		t.Fatalf("final read = version %d, want 61", p.Version)
	}
	t.Logf("table loads: %d", e.loads.Load())
}

// With the cache hung (redis-server stopped with SIGSTOP), reads answer from
// the table and writes succeed, each well within a second; the breaker
// spares later calls the timeout; fallbacks are counted; after the outage
// the cache serves again.
func TestCacheHungFallsBackToTheTable(t *testing.T) {
	e := newEnv(t)
	e.create(t, "A", "c", 5)
	e.get(t, "A")
	if err := dev.Redis.Pause(); err != nil {
		t.Fatal(err)
	}
	defer dev.Redis.Resume()
	var total time.Duration
	for i := range 10 {
		start := time.Now()
		p, err := e.svc.Get(context.Background(), "A")
		d := time.Since(start)
		total += d
		if err != nil || p.ProductID != "A" {
			t.Fatalf("read %d with the cache hung: %+v, %v", i, p, err)
		}
		// A bound on hanging, not a speed test: the contract says "quickly".
		if d > time.Second {
			t.Fatalf("read %d took %v with the cache hung", i, d)
		}
	}
	t.Logf("10 reads with the cache hung took %v in all", total)
	start := time.Now()
	e.addStock(t, "A", 1)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the write took %v with the cache hung", d)
	}
	if _, err := e.svc.Trending(context.Background(), "", 10); !errors.Is(err, shop.ErrUnavailable) {
		t.Fatalf("trending with the cache hung: %v, want unavailable", err)
	}
	if n := strings.Count(e.logs.String(), `"CacheFallbacks":1`); n < 10 {
		t.Fatalf("%d fallbacks counted, want at least 10:\n%s", n, e.logs.String())
	}
	if err := dev.Redis.Resume(); err != nil {
		t.Fatal(err)
	}
	e.cache.Breaker().Now = func() time.Time { return time.Now().Add(time.Minute) } // past the cooldown
	// The entry that the outage kept the write from invalidating is fenced
	// by its TTL only: this read may be the product from before the outage.
	var p catalog.Product
	deadline := time.Now().Add(5 * time.Second)
	for p = e.get(t, "A"); p.Quantity != 5 && p.Quantity != 6 && time.Now().Before(deadline); p = e.get(t, "A") {
		time.Sleep(50 * time.Millisecond) // the client reconnects
	}
	if p.Quantity != 5 && p.Quantity != 6 {
		t.Fatalf("after the outage: quantity %d, want 6 (or 5 until the TTL)", p.Quantity)
	}
	// The next write invalidates again, and the cache serves its result.
	e.addStock(t, "A", 2)
	if p := e.get(t, "A"); p.Quantity != 8 {
		t.Fatalf("after a write after the outage: %+v", p)
	}
	before := e.loads.Load()
	if p := e.get(t, "A"); p.Quantity != 8 {
		t.Fatalf("after the outage: %+v", p)
	}
	if e.loads.Load() != before {
		t.Fatalf("after the outage the read still went to the table:\n%s", e.logs.String())
	}
}

func TestTrendingRanksByViewsInTheWindowAndDropsDeleted(t *testing.T) {
	e := newEnv(t)
	clock := time.Date(2026, 11, 28, 12, 30, 0, 0, time.UTC)
	e.cache.SetNow(func() time.Time { return clock })
	for _, p := range []struct {
		id, category string
		views        int
	}{{"A", "c", 3}, {"B", "c", 5}, {"C", "c", 1}, {"D", "d", 4}} {
		e.create(t, p.id, p.category, 1)
		for range p.views {
			e.get(t, p.id)
		}
	}
	// Views older than 24 hours do not count.
	clock = clock.Add(-25 * time.Hour)
	for range 10 {
		e.get(t, "C")
	}
	clock = clock.Add(25*time.Hour + 3*time.Hour) // three hours on: all still in the window
	e.get(t, "A")
	e.get(t, "A")

	order := func(category string, limit int) string {
		t.Helper()
		items, err := e.svc.Trending(context.Background(), category, limit)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, it := range items {
			s = append(s, fmt.Sprintf("%s=%d", it.Product.ProductID, it.Views))
		}
		return strings.Join(s, " ")
	}
	for _, c := range []struct {
		category string
		limit    int
		want     string
	}{
		{"", 10, "A=5 B=5 D=4 C=1"}, // ties by id
		{"", 2, "A=5 B=5"},
		{"c", 10, "A=5 B=5 C=1"},
		{"d", 10, "D=4"},
		{"none", 10, ""},
	} {
		if got := order(c.category, c.limit); got != c.want {
			t.Errorf("trending(%q, %d) = %q, want %q", c.category, c.limit, got, c.want)
		}
	}
	if _, err := e.svc.Delete(context.Background(), "B", nil); err != nil {
		t.Fatal(err)
	}
	if got := order("", 10); got != "A=5 D=4 C=1" {
		t.Errorf("after deleting B: %q", got)
	}
	if got := order("", 1); got != "A=5" {
		t.Errorf("limit 1 after deleting B: %q", got)
	}
	clock = clock.Add(24 * time.Hour) // a day on: the window is empty
	if got := order("", 10); got != "" {
		t.Errorf("a day later: %q", got)
	}
}
