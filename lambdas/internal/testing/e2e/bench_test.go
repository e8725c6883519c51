//go:build integration

package e2e

import (
	"context"

	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-cdk-shop/shop/lambdas/internal/cache"
	"github.com/go-cdk-shop/shop/lambdas/internal/httpapi"
	"github.com/go-cdk-shop/shop/lambdas/internal/orders"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// These benchmarks measure whole requests through the handlers against
// redis-server and DynamoDB Local on this machine (make bench). They report the
// median and the 99th percentile of the timed request, and how many cache
// connections the client opened: one client serves one execution environment.

type latencies []time.Duration

func (l latencies) report(b *testing.B) {
	slices.Sort(l)
	if len(l) == 0 {
		return
	}
	b.ReportMetric(float64(l[len(l)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(l[min(len(l)-1, len(l)*99/100)].Microseconds())/1000, "p99-ms")
}

// freshCache gives the benchmark its own client, so its pool counts only its
// own connections.
func freshCache(b *testing.B) *redis.ClusterClient {
	c := cache.NewClient(cache.Options{Addr: redisServer.Addr, Username: redisServer.User, TLS: redisServer.TLS,
		Password: func(context.Context) (string, error) { return redisServer.Password, nil }})
	b.Cleanup(func() { c.Close() })
	return c
}

func reportConns(b *testing.B, c *redis.ClusterClient) {
	total := uint32(0)
	_ = c.ForEachShard(context.Background(), func(_ context.Context, n *redis.Client) error {
		total += n.PoolStats().TotalConns
		return nil
	})
	b.ReportMetric(float64(total), "cache-conns")
}

func benchShop(b *testing.B) (*shopEnv, *redis.ClusterClient) {
	c := freshCache(b)
	saved := rdb
	rdb = c
	e := newShop(b)
	rdb = saved
	return e, c
}

func BenchmarkSetLine(b *testing.B) {
	e, c := benchShop(b)
	e.addProduct(b, "A", 1000, 1000)
	u := user(shop.NewID("b", time.Now()))
	var lat latencies
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		resp := e.call(b, u, "PUT", "/cart/items/A", fmt.Sprintf(`{"quantity":%d}`, 1+i%99))
		lat = append(lat, time.Since(start))
		if resp.StatusCode != 200 {
			b.Fatal(resp.Body)
		}
	}
	lat.report(b)
	reportConns(b, c)
}

// benchGetCart is GET /cart of 5 lines for caller(e).
func benchGetCart(b *testing.B, caller func(e *shopEnv) who) {
	e, c := benchShop(b)
	w := caller(e)
	for i := range 5 {
		id := fmt.Sprint("P", i)
		e.addProduct(b, id, 100, 100)
		e.call(b, w, "PUT", "/cart/items/"+id, `{"quantity":1}`)
	}
	var lat latencies
	for b.Loop() {
		start := time.Now()
		resp := e.call(b, w, "GET", "/cart", "")
		lat = append(lat, time.Since(start))
		if resp.StatusCode != 200 {
			b.Fatal(resp.Body)
		}
	}
	lat.report(b)
	reportConns(b, c)
}

func BenchmarkGetCart5Lines(b *testing.B) {
	benchGetCart(b, func(*shopEnv) who { return user(shop.NewID("b", time.Now())) })
}

// BenchmarkGetGuestCart5Lines is GET /cart for a guest with a server-issued
// session: the session's check (one PEXPIRE) comes on top of the cart read.
func BenchmarkGetGuestCart5Lines(b *testing.B) {
	benchGetCart(b, func(e *shopEnv) who { return guest(e.session(b)) })
}

func benchCheckout(b *testing.B, lines int) {
	e, c := benchShop(b)
	for i := range lines {
		e.addProduct(b, fmt.Sprint("P", i), 100, 1_000_000)
	}
	base := shop.NewID("b", time.Now())
	var lat latencies
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		u := user(fmt.Sprint(base, "-", i)) // a user holds at most 3 pending orders
		for j := range lines {
			e.call(b, u, "PUT", fmt.Sprint("/cart/items/P", j), `{"quantity":1}`)
		}
		b.StartTimer()
		start := time.Now()
		resp := e.call(b, u, "POST", "/orders", "", "Idempotency-Key", fmt.Sprint("bench-", i))
		lat = append(lat, time.Since(start))
		if resp.StatusCode != 201 {
			b.Fatal(resp.Body)
		}
	}
	lat.report(b)
	reportConns(b, c)
}

func BenchmarkCheckout1Line(b *testing.B)   { benchCheckout(b, 1) }
func BenchmarkCheckout20Lines(b *testing.B) { benchCheckout(b, 20) }

// benchTransition times one transition of a fresh pending order of 1 line.
func benchTransition(b *testing.B, do func(e *shopEnv, u who, o orders.Order) httpapi.Reply) {
	e, c := benchShop(b)
	e.addProduct(b, "A", 100, 1_000_000)
	base := shop.NewID("b", time.Now())
	var lat latencies
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		u := user(fmt.Sprint(base, "-", i))
		o := e.checkout(b, u, "A", 1)
		b.StartTimer()
		start := time.Now()
		resp := do(e, u, o)
		lat = append(lat, time.Since(start))
		if resp.StatusCode != 200 {
			b.Fatal(resp.Body)
		}
	}
	lat.report(b)
	reportConns(b, c)
}

func BenchmarkCancel(b *testing.B) {
	benchTransition(b, func(e *shopEnv, u who, o orders.Order) httpapi.Reply {
		return e.call(b, u, "POST", "/orders/"+o.OrderID+"/cancel", "")
	})
}

func BenchmarkConfirm(b *testing.B) {
	benchTransition(b, func(e *shopEnv, u who, o orders.Order) httpapi.Reply {
		return e.call(b, payments, "POST", "/orders/"+o.OrderID+"/confirm", paidBody("p-"+o.OrderID, o))
	})
}

// BenchmarkExpire1000Orders5Lines: how long the expiry job takes to expire
// 1,000 pending orders of 5 lines each, all of the same 5 products (the hot
// case: their transactions conflict, so they go one after another), and
// BenchmarkExpireSpread1000Orders5Lines the same over 200 products (the
// spread case: a batch's orders share no product, and expire at once). Run
// once: -benchtime 1x.
func BenchmarkExpire1000Orders5Lines(b *testing.B)       { benchExpire(b, 5) }
func BenchmarkExpireSpread1000Orders5Lines(b *testing.B) { benchExpire(b, 200) }

func benchExpire(b *testing.B, products int) {
	e, _ := benchShop(b)
	for j := range products {
		e.addProduct(b, fmt.Sprint("P", j), 100, 1_000_000)
	}
	base := shop.NewID("x", time.Now())
	for b.Loop() {
		b.StopTimer()
		for i := range 1000 {
			u := user(fmt.Sprint(base, "-", i))
			for j := range 5 {
				e.call(b, u, "PUT", fmt.Sprint("/cart/items/P", (i*5+j)%products), `{"quantity":1}`)
			}
			if resp := e.call(b, u, "POST", "/orders", "", "Idempotency-Key", "k"); resp.StatusCode != 201 {
				b.Fatal(resp.Body)
			}
		}
		e.clock.move(16 * time.Minute)
		b.StartTimer()
		start := time.Now()
		total := 0
		for {
			n, err := e.lifecycle.ExpireDue(context.Background(), 25)
			if err != nil {
				b.Fatal(err)
			}
			total += n
			if n == 0 {
				break
			}
		}
		d := time.Since(start)
		b.StopTimer()
		if total != 1000 {
			b.Fatalf("expired %d, want 1000", total)
		}
		b.ReportMetric(d.Seconds(), "s/1000-orders")
		b.ReportMetric(float64(total)/d.Seconds(), "orders/s")
		e.clock.move(0)
		b.StartTimer()
	}
}

// BenchmarkFlashSale60Buyers and BenchmarkFlashSale150Buyers: that many
// customers, each with one unit in the cart, check out at once for a third
// as many units of one product, each within the orders function's 10 s
// timeout. They report how the first answers split (201, 409, 503: the
// contract wants 201 or 409 while the table is healthy) and the checkout's
// p50 and p99. Run once: -benchtime 1x.
func BenchmarkFlashSale60Buyers(b *testing.B)  { benchFlashSale(b, 60) }
func BenchmarkFlashSale150Buyers(b *testing.B) { benchFlashSale(b, 150) }

func benchFlashSale(b *testing.B, buyers int) {
	e, _ := benchShop(b)
	base := shop.NewID("f", time.Now())
	for round := 0; b.Loop(); round++ {
		b.StopTimer()
		id := fmt.Sprint("HOT", round)
		e.addProduct(b, id, 100, int64(buyers/3))
		users := make([]who, buyers)
		for i := range users {
			users[i] = user(fmt.Sprint(base, "-", round, "-", i))
			e.call(b, users[i], "PUT", "/cart/items/"+id, `{"quantity":1}`)
		}
		type answer struct {
			status int
			took   time.Duration
		}
		answers := make(chan answer, buyers)
		start := make(chan struct{})
		for _, u := range users {
			go func() {
				<-start
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				t0 := time.Now()
				resp := e.callCtx(ctx, b, u, "POST", "/orders", "", "Idempotency-Key", "sale")
				answers <- answer{resp.StatusCode, time.Since(t0)}
			}()
		}
		b.StartTimer()
		close(start)
		count := map[int]int{}
		var lat latencies
		for range buyers {
			a := <-answers
			count[a.status]++
			lat = append(lat, a.took)
		}
		b.StopTimer()
		if count[201] > buyers/3 || e.stock(b, id) < 0 {
			b.Fatalf("oversold: %v, stock %d", count, e.stock(b, id))
		}
		b.ReportMetric(float64(count[201]), "201s")
		b.ReportMetric(float64(count[409]), "409s")
		b.ReportMetric(float64(count[503]), "503s")
		b.ReportMetric(float64(buyers-count[201]-count[409]-count[503]), "other")
		lat.report(b)
		b.StartTimer()
	}
}
