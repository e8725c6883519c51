//go:build integration

package e2e

import (
	"context"
	"net/http"
	"os"
	"strconv"

	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/redis/go-redis/v9"

	"github.com/go-cdk-shop/shop/lambdas/contract"
	"github.com/go-cdk-shop/shop/lambdas/internal/dynamo"

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

// BenchmarkExpire10000Orders5Lines: how fast the expiry job expires a
// backlog of 10,000 pending orders of 5 lines each, written in bulk, with
// orders.ExpiryWorkers workers and with one. "spread": the lines spread
// over 2,000 products; "hot": every order has one hot product (and 4
// spread), so every transaction writes the hot item and the job runs them
// one after another (orders.RunApart) rather than into conflicts. "local"
// is DynamoDB Local as it is: it serves requests on about one core, one at
// a time, so workers cannot overlap its work; "rtt=10ms" adds 10 ms to
// every call, a model of the service's network round trip and transaction
// commit, which workers do overlap. Each reports orders/s and the
// transactions repeated after a conflict; the parent reports each spread
// case's speed-up of N workers over one. Run once: -benchtime 1x.
func BenchmarkExpire10000Orders5Lines(b *testing.B) {
	rates := map[string]float64{}
	for _, c := range []struct {
		backlog string
		rtt     time.Duration
	}{{"spread", 0}, {"spread", 10 * time.Millisecond}, {"hot", 0}} {
		for _, workers := range []int{1, orders.ExpiryWorkers} {
			table := "local"
			if c.rtt > 0 {
				table = "rtt=" + c.rtt.String()
			}
			name := fmt.Sprintf("%s/%s/workers=%d", c.backlog, table, workers)
			b.Run(name, func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					e := newShopWith(b, withLatency(b, c.rtt))
					seedBacklog(b, e, backlogSize, c.backlog == "hot")
					// DynamoDB Local keeps every table in one heap: drop
					// this run's, or the next runs slow down.
					defer e.dropTables(b)
					e.clock.move(16 * time.Minute)
					b.StartTimer()
					start := time.Now()
					var run orders.ExpiryRun
					for {
						r, err := e.lifecycle.ExpireDue(context.Background(), orders.ExpiryBatch, workers)
						if err != nil {
							b.Fatal(err)
						}
						run.Expired += r.Expired
						run.Retries += r.Retries
						if r.Expired == 0 {
							break
						}
					}
					d := time.Since(start)
					b.StopTimer()
					if run.Expired != backlogSize {
						b.Fatalf("expired %d, want %d", run.Expired, backlogSize)
					}
					rates[name] = float64(run.Expired) / d.Seconds()
					b.ReportMetric(rates[name], "orders/s")
					b.ReportMetric(float64(run.Retries), "retries")
					b.StartTimer()
				}
			})
		}
	}
	for _, table := range []string{"local", "rtt=10ms"} {
		if one := rates["spread/"+table+"/workers=1"]; one > 0 {
			b.ReportMetric(rates[fmt.Sprintf("spread/%s/workers=%d", table, orders.ExpiryWorkers)]/one, "speedup-"+table)
		}
	}
}

// withLatency is DynamoDB Local with rtt added to every call (none: the
// shared client).
func withLatency(b *testing.B, rtt time.Duration) dynamo.API {
	if rtt == 0 {
		return db
	}
	cfg := dynamo.LocalConfig()
	cfg.HTTPClient = delayed{rtt: rtt, next: awshttp.NewBuildableClient()}
	return dynamo.NewClient(cfg, dev.Endpoints["dynamodb"])
}

// delayed sends each request after rtt.
type delayed struct {
	rtt  time.Duration
	next aws.HTTPClient
}

func (d delayed) Do(req *http.Request) (*http.Response, error) {
	select {
	case <-req.Context().Done():
		return nil, req.Context().Err()
	case <-time.After(d.rtt):
	}
	return d.next.Do(req)
}

// dropTables deletes e's tables.
func (e *shopEnv) dropTables(b *testing.B) {
	for _, t := range []string{e.cfg.ProductsTable, e.cfg.OrdersTable, e.cfg.CustomersTable} {
		if _, err := db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &t}); err != nil {
			b.Error(err)
		}
	}
}

// seedBacklog writes n pending orders of 5 lines, one unit each, due in 15
// minutes, straight into e's tables in bulk (as checkout's transaction would
// leave them: dynamo.PendingItem, and the products' held units), and
// creates their products: 2,000 spread ones, and with hot one more that
// every order holds.
func seedBacklog(b *testing.B, e *shopEnv, n int, hot bool) {
	ctx := context.Background()
	const spread = 2000
	products := dynamo.NewProducts(db, e.cfg.ProductsTable)
	incarnation := map[string]string{}
	held := map[string]int64{}
	ids := make([]string, 0, spread+1)
	for j := range spread {
		ids = append(ids, fmt.Sprint("P", j))
	}
	if hot {
		ids = append(ids, "HOT")
	}
	for _, id := range ids {
		e.addProduct(b, id, 100, 1_000_000)
		p, err := products.Get(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		incarnation[id] = p.Incarnation
	}
	now := e.clock.now()
	base := shop.NewID("x", now)
	var writes []types.WriteRequest
	flush := func() {
		for req := map[string][]types.WriteRequest{e.cfg.OrdersTable: writes}; len(req) > 0; {
			out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: req})
			if err != nil {
				b.Fatal(err)
			}
			req = out.UnprocessedItems
		}
		writes = writes[:0]
	}
	for i := range n {
		o := orders.Order{OrderID: fmt.Sprintf("O%s%06d", base, i), UserID: fmt.Sprint(base, "-", i), Status: orders.StatusPending, Currency: "EUR",
			CreatedAt: now.Format(time.RFC3339), ExpiresAt: now.Add(15 * time.Minute).Format(time.RFC3339), HeldStock: true}
		for j := range 5 {
			id := fmt.Sprint("P", (i*5+j)%spread)
			if hot && j == 0 {
				id = "HOT"
			}
			o.Items = append(o.Items, orders.Item{ProductID: id, Name: "Thing " + id, UnitPrice: 100, Quantity: 1, LineTotal: 100, Incarnation: incarnation[id]})
			o.Total += 100
			held[id]++
		}
		item, err := dynamo.PendingItem(o, 0)
		if err != nil {
			b.Fatal(err)
		}
		writes = append(writes, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		if len(writes) == 25 {
			flush()
		}
	}
	if len(writes) > 0 {
		flush()
	}
	for id, h := range held {
		if _, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &e.cfg.ProductsTable,
			Key:                       map[string]types.AttributeValue{contract.ProductID: &types.AttributeValueMemberS{Value: id}},
			UpdateExpression:          aws.String("SET held = :h, quantity = on_hand - :h"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":h": &types.AttributeValueMemberN{Value: fmt.Sprint(h)}},
		}); err != nil {
			b.Fatal(err)
		}
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
	buyers = smokeSize(buyers)
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

// smoke is make test's run of every benchmark (BENCH_SMOKE=1, a variable
// only these tests read): each at a size that proves it still runs, not at
// one that measures anything.
var smoke = os.Getenv("BENCH_SMOKE") != ""

// backlogSize is the expiry benchmark's backlog: 10,000 orders, or
// EXPIRY_BACKLOG's, or 20 at smoke size.
var backlogSize = func() int {
	if n, err := strconv.Atoi(os.Getenv("EXPIRY_BACKLOG")); err == nil && n > 0 {
		return n
	}
	if smoke {
		return 20
	}
	return 10_000
}()

// smokeSize is n, or a tenth of it (at least 6) at smoke size.
func smokeSize(n int) int {
	if smoke {
		return max(n/10, 6)
	}
	return n
}
