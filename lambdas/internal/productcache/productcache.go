// Package productcache is the catalogue's side of the cache (Valkey, as ElastiCache
// Serverless in AWS, redis-server locally): a read-through product cache that
// never serves a product older than the latest acknowledged write, view
// counts in hourly buckets, and the trending products of the last 24 hours.
//
// No stale read: each product's entry {product:<id>} holds a generation g
// and, when filled, the product's JSON b. A writer, after its write to the
// table and before it answers, sets g to a new generation and drops b
// (Invalidate). A reader that misses notes g (creating the entry with a new
// generation of its own when there is none), loads the product from the
// table (strongly consistent), and stores it only if g is still what it
// noted (a compare-and-set script): a writer that committed in between has
// changed g, and the old product is never stored. Generations are unique (a
// process's random prefix and a counter), never a count: an entry that
// expires and is made again cannot come back to a generation a reader noted
// before (issue 26: with a counter, expiry then one write brought g back to
// 1, and a slow reader's older product matched). Entries live TTL, so an
// invalidation that could not reach the cache heals itself.
//
// Degrade, never fail: every cache call goes through a circuit breaker; when
// the cache is down or slow, reads answer from the table, writes succeed
// without invalidating (the TTL bounds what is left), views are lost, and
// each fallback is counted in the CacheFallbacks metric.
package productcache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/metrics"
)

// TTL is how long a cached product lives. It bounds how stale a product
// can be after a cache outage kept a write from invalidating it, and costs
// one table read per product read in each TTL.
const TTL = time.Minute

// Window is the trending window: the last 24 hourly buckets.
const Window = 24

// Cache is the product cache, the view counts and trending over a cluster
// client.
type Cache struct {
	rdb     redis.Cmdable
	breaker *Breaker
	log     *slog.Logger
	fn      string // the function, as the metric's dimension
	scope   string // the stage (contract.EnvCacheScope): keys of other stages never meet
	now     func() time.Time
	// afterLoad, in tests, runs between a miss's table read and its put:
	// the race window, forced.
	afterLoad func()

	off          atomic.Bool  // reads go to the table (a measurement's baseline)
	reads, loads atomic.Int64 // product reads, and those the table served
}

// Stats are the product reads through the cache and the table reads among
// them, since the start.
type Stats struct {
	Reads      int64 `json:"reads"`
	TableReads int64 `json:"table_reads"`
	Enabled    bool  `json:"enabled"`
}

// Stats reports the reads so far.
func (c *Cache) Stats() Stats {
	return Stats{Reads: c.reads.Load(), TableReads: c.loads.Load(), Enabled: !c.off.Load()}
}

// SetEnabled turns the product cache on or off: off, every read goes to the
// table (writes still invalidate, so turning it on again is safe). The local
// API exposes it for the load measurement.
func (c *Cache) SetEnabled(on bool) { c.off.Store(!on) }

// New returns the product cache over rdb; fn names the function in the
// metric. Keys carry scope (the stage, inside the hash tag), so that stages
// or tests sharing one cache never see each other's products, and a stage's
// cache user reaches only its own (contract.ProductKeys).
func New(rdb redis.Cmdable, log *slog.Logger, fn, scope string) *Cache {
	return &Cache{rdb: rdb, breaker: NewBreaker(), log: log, fn: fn, scope: scope, now: time.Now}
}

// entryKey is {product:<scope>/<id>}: one slot per product.
func (c *Cache) entryKey(id string) string {
	return contract.ProductKeyPrefix + c.scope + "/" + id + "}"
}

// bucketKey is the views of list (all, or c:<category>) in the hour of t;
// the hash tag keeps a list's 24 buckets in one slot, for one ZUNION.
func (c *Cache) bucketKey(list string, t time.Time) string {
	return contract.ViewsKeyPrefix + c.scope + "/" + list + "}:" + strconv.FormatInt(t.UTC().Unix()/3600, 10)
}

// getScript reads the entry's generation and body; an entry without a
// generation gets ARGV[1], the reader's new one.
var getScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'g', 'b')
if v[1] then return v end
redis.call('HSET', KEYS[1], 'g', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {ARGV[1], false}`)

// putScript stores the body only while the generation is the one noted.
var putScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'g') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'b', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`)

// invalidateScript gives the entry a new generation, ARGV[1], and drops the body.
var invalidateScript = redis.NewScript(`
redis.call('HSET', KEYS[1], 'g', ARGV[1])
redis.call('HDEL', KEYS[1], 'b')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`)

// generations are unique across processes and entry lifetimes: a random
// prefix per process, and a counter.
var (
	genPrefix = func() string {
		b := make([]byte, 8)
		if _, err := rand.Read(b); err != nil {
			panic(err)
		}
		return hex.EncodeToString(b)
	}()
	genCount atomic.Uint64
)

func newGeneration() string {
	return genPrefix + "." + strconv.FormatUint(genCount.Add(1), 36)
}

// callTimeout bounds one cache call, retries included: a read that falls
// back to the table pays at most this for the cache, and only until the
// breaker opens.
const callTimeout = 300 * time.Millisecond

// call runs one cache call through the breaker, within callTimeout; false
// means it did not run or failed (the caller falls back), and the fallback
// is counted.
func (c *Cache) call(ctx context.Context, op string, f func(ctx context.Context) error) bool {
	if !c.breaker.Allow() {
		c.fallback(ctx, op, nil)
		return false
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	err := f(cctx)
	cancel()
	if errors.Is(err, redis.Nil) {
		err = nil
	}
	c.breaker.Done(err)
	if err != nil {
		c.fallback(ctx, op, err)
		return false
	}
	return true
}

// fallback counts one fallback (CacheFallbacks, on the request's line) and
// logs why, once per failed call: while the breaker is open, the count only.
func (c *Cache) fallback(ctx context.Context, op string, err error) {
	metrics.Count(ctx, c.log, c.fn, metrics.CacheFallbacks)
	if err != nil {
		c.log.WarnContext(ctx, "cache fallback", "op", op, "error", err.Error())
	}
}

// Get returns the product from the cache, or from load (the table, read
// strongly consistent) and then fills the cache if no write came between.
func (c *Cache) Get(ctx context.Context, id string, load func(context.Context, string) (catalog.Product, error)) (catalog.Product, error) {
	c.reads.Add(1)
	if c.off.Load() {
		c.loads.Add(1)
		return load(ctx, id)
	}
	var gen, body string
	known := c.call(ctx, "get", func(ctx context.Context) error {
		v, err := getScript.Run(ctx, c.rdb, []string{c.entryKey(id)}, newGeneration(), TTL.Milliseconds()).Slice()
		if err != nil {
			return err
		}
		if len(v) != 2 {
			return fmt.Errorf("product cache: entry of %d fields", len(v))
		}
		gen, body = "", ""
		if s, ok := v[0].(string); ok {
			gen = s
		}
		if s, ok := v[1].(string); ok {
			body = s
		}
		if gen == "" {
			return errors.New("product cache: an entry without a generation")
		}
		return nil
	})
	if known && body != "" {
		var p catalog.Product
		if err := json.Unmarshal([]byte(body), &p); err == nil {
			return p, nil
		}
	}
	c.loads.Add(1)
	p, err := load(ctx, id)
	if err != nil || !known {
		return p, err
	}
	if c.afterLoad != nil {
		c.afterLoad()
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return p, nil
	}
	c.call(ctx, "put", func(ctx context.Context) error {
		return putScript.Run(ctx, c.rdb, []string{c.entryKey(id)}, gen, raw, TTL.Milliseconds()).Err()
	})
	return p, nil
}

// Invalidate marks the products written: their entries go, and a fill that
// loaded before the write cannot put them back. Call it after the write
// and before answering.
func (c *Cache) Invalidate(ctx context.Context, ids ...string) {
	for _, id := range ids {
		c.call(ctx, "invalidate", func(ctx context.Context) error {
			return invalidateScript.Run(ctx, c.rdb, []string{c.entryKey(id)}, newGeneration(), TTL.Milliseconds()).Err()
		})
	}
}

// View counts one view of p, in this hour's buckets of all products and of
// its category. Best effort: a view lost to an outage is no error.
func (c *Cache) View(ctx context.Context, p catalog.Product) {
	now := c.now()
	c.call(ctx, "view", func(ctx context.Context) error {
		_, err := c.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for _, list := range []string{"all", "c:" + p.Category} {
				key := c.bucketKey(list, now)
				pipe.ZIncrBy(ctx, key, 1, p.ProductID)
				pipe.Expire(ctx, key, (Window+1)*time.Hour)
			}
			return nil
		})
		return err
	})
}

// Trending returns up to n of the most viewed product ids of the last
// Window hours, of one category or of all, most viewed first (ties by id).
// ok is false when the cache could not be asked.
func (c *Cache) Trending(ctx context.Context, category string, n int) ([]string, []int64, bool) {
	list := "all"
	if category != "" {
		list = "c:" + category
	}
	now := c.now()
	keys := make([]string, Window)
	for i := range Window {
		keys[i] = c.bucketKey(list, now.Add(-time.Duration(i)*time.Hour))
	}
	var zs []redis.Z
	ok := c.call(ctx, "trending", func(ctx context.Context) error {
		var err error
		zs, err = c.rdb.ZUnionWithScores(ctx, redis.ZStore{Keys: keys}).Result()
		return err
	})
	if !ok {
		return nil, nil, false
	}
	slices.SortFunc(zs, func(a, b redis.Z) int {
		if a.Score != b.Score {
			if a.Score > b.Score {
				return -1
			}
			return 1
		}
		return strings.Compare(fmt.Sprint(a.Member), fmt.Sprint(b.Member))
	})
	zs = zs[:min(n, len(zs))]
	ids, views := make([]string, len(zs)), make([]int64, len(zs))
	for i, z := range zs {
		ids[i], views[i] = fmt.Sprint(z.Member), int64(z.Score)
	}
	return ids, views, true
}

var _ catalog.Cache = (*Cache)(nil)
