//go:build integration

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/internal/localdev/streams"
	"github.com/go-cdk-shop/shop/lambdas/internal/orderevents"
	"github.com/go-cdk-shop/shop/lambdas/internal/orders"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// reader reads one shop's Orders table's stream, as the events function
// reads the table's stream in AWS.
func (e *shopEnv) reader(t testing.TB) *streams.Reader {
	t.Helper()
	r, err := streams.Open(context.Background(), dev.DB, dev.Streams, e.cfg.OrdersTable, "test", t.TempDir(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func published(t testing.TB, r *streams.Reader) []orderevents.Event {
	t.Helper()
	if _, err := r.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	evs, err := r.After("")
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// Every committed status change is one event, from the stream: a checkout,
// a confirm, a cancel and an expiry, with a rising sequence per order and an
// id per change; what did not commit (a checkout refused for stock, a
// confirm with another reference, a second cancel) is none.
func TestOrderEventsFromTheStream(t *testing.T) {
	e := newShop(t)
	e.addProduct(t, "A", 500, 10)
	u := user("events-" + strings.ToLower(shop.NewID("", time.Now())))
	r := e.reader(t)

	confirmed := e.checkout(t, u, "A", 2)
	expect(t, e.call(t, payments, "POST", "/orders/"+confirmed.OrderID+"/confirm", paidBody("pay-1", confirmed)), 200, "confirm")
	expect(t, e.call(t, payments, "POST", "/orders/"+confirmed.OrderID+"/confirm", paidBody("pay-other", confirmed)), 409, "confirm with another reference")
	cancelled := e.checkout(t, u, "A", 1)
	expect(t, e.call(t, u, "POST", "/orders/"+cancelled.OrderID+"/cancel", ""), 200, "cancel")
	expect(t, e.call(t, u, "POST", "/orders/"+cancelled.OrderID+"/cancel", ""), 200, "cancel again")
	// A checkout refused for stock (the last unit of B went to another
	// shopper after it entered u's cart) commits nothing.
	e.addProduct(t, "B", 500, 1)
	expect(t, e.call(t, u, "PUT", "/cart/items/B", `{"quantity":1}`), 200, "B in the cart")
	e.checkout(t, user("other-"+u.sub), "B", 1)
	expect(t, e.call(t, u, "POST", "/orders", "", "Idempotency-Key", shop.NewID("K", time.Now())), 409, "checkout of a sold-out B")
	expect(t, e.call(t, u, "DELETE", "/cart", ""), 204, "empty the cart")
	expired := e.checkout(t, u, "A", 1)
	e.clock.move(16 * time.Minute)
	defer e.clock.move(0)
	if run, err := e.lifecycle.ExpireDue(context.Background(), 10, 4); err != nil || run.Expired != 2 { // u's, and the other shopper's order of B
		t.Fatalf("expire = %d, %v", run.Expired, err)
	}

	other := user("other-" + u.sub)
	var got []string
	last := map[string]int64{}
	lastAt := map[string]string{}
	for _, ev := range published(t, r) {
		d := ev.Detail
		if d.UserID == other.sub {
			continue // the other shopper's order of B
		}
		// occurred_at: never before the order's created_at, never back in
		// time along its sequence (RFC 3339 in UTC, to the second, sorts as
		// text); DynamoDB Local's record times are rounded far down.
		created := map[string]string{confirmed.OrderID: confirmed.CreatedAt, cancelled.OrderID: cancelled.CreatedAt, expired.OrderID: expired.CreatedAt}[d.OrderID]
		if d.OccurredAt < created || d.OccurredAt < lastAt[d.OrderID] {
			t.Errorf("%s %s occurred at %s: the order was created at %s, its previous event at %s", d.OrderID, ev.DetailType, d.OccurredAt, created, lastAt[d.OrderID])
		}
		lastAt[d.OrderID] = d.OccurredAt
		got = append(got, fmt.Sprintf("%s %s %d", d.OrderID, ev.DetailType, d.Sequence))
		if d.Sequence <= last[d.OrderID] || ev.EventID != fmt.Sprintf("%s-%d", d.OrderID, d.Sequence) || d.UserID != u.sub || d.Stage != "test" || len(d.Items) != 1 {
			t.Errorf("event %+v", ev)
		}
		last[d.OrderID] = d.Sequence
	}
	want := []string{
		confirmed.OrderID + " order.placed 1", confirmed.OrderID + " order.confirmed 2",
		cancelled.OrderID + " order.placed 1", cancelled.OrderID + " order.cancelled 2",
		expired.OrderID + " order.placed 1", expired.OrderID + " order.expired 2",
	}
	if !slices.Equal(got, want) {
		t.Errorf("events\n%v\nwant\n%v", got, want)
	}
}

// The change is committed and the function that made it dies before it
// answers (here: the transaction runs, and nothing else happens): its event
// comes all the same, since it comes from the stream, not from the request.
func TestAnEventForACommitWhoseFunctionDied(t *testing.T) {
	e := newShop(t)
	e.addProduct(t, "A", 500, 10)
	u := user("died-" + strings.ToLower(shop.NewID("", time.Now())))
	r := e.reader(t)
	o := e.checkout(t, u, "A", 1)
	if _, err := e.store.Cancel(context.Background(), u.sub, o.OrderID, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	evs := published(t, r)
	if len(evs) != 2 || evs[1].DetailType != "order.cancelled" || evs[1].Detail.Status != orders.StatusCancelled {
		t.Errorf("events %+v", evs)
	}
}

// BenchmarkOrderEventDelay: from a checkout's commit (its answer) to its
// order.placed event at GET /local/events, with the stream read as make
// local reads it (a poll every 200 ms). One order per iteration: make bench
// runs 200.
func BenchmarkOrderEventDelay(b *testing.B) {
	e, _ := benchShop(b)
	e.addProduct(b, "A", 100, 1_000_000)
	r := e.reader(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx, 200*time.Millisecond)
	base := shop.NewID("ev", time.Now())
	var lat latencies
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		u := user(fmt.Sprint(base, "-", i))
		expect(b, e.call(b, u, "PUT", "/cart/items/A", `{"quantity":1}`), 200, "add")
		b.StartTimer()
		resp := e.call(b, u, "POST", "/orders", "", "Idempotency-Key", "k")
		committed := time.Now()
		if resp.StatusCode != 201 {
			b.Fatal(resp.Body)
		}
		id := decode[orders.Order](b, resp).OrderID + "-1"
		for deadline := committed.Add(5 * time.Second); ; time.Sleep(2 * time.Millisecond) {
			evs, _ := r.After("")
			if slices.ContainsFunc(evs, func(ev orderevents.Event) bool { return ev.EventID == id }) {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("no event %s within 5 s", id)
			}
		}
		lat = append(lat, time.Since(committed))
	}
	lat.report(b)
}
