// Package storetest is the behaviour every store of the shop must share, as
// test suites: the in-memory fakes run them in the unit tests, and the
// DynamoDB and Redis stores run the same suites against DynamoDB Local and
// redis-server. A fake that drifts from the real store fails here, before a
// unit test built on it can pass for the wrong reason.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/internal/cart"
	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/orders"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// Product is a valid product with stock, nothing held: the first
// incarnation of id (Incarnation).
func Product(id, category string, quantity int64) catalog.Product {
	return catalog.Product{ProductID: id, Name: "Thing " + id, Price: 250, Currency: "EUR", Category: category, Quantity: quantity,
		OnHand: quantity, Incarnation: Incarnation(id, 1), Version: 1, CreatedAt: "2026-01-01T00:00:00Z", UpdatedAt: "2026-01-01T00:00:00Z"}
}

// Incarnation is the n-th incarnation of product id in these suites.
func Incarnation(id string, n int) string { return fmt.Sprintf("%s#%d", id, n) }

func ptr[T any](v T) *T { return &v }

// Products runs the catalog.Store suite; newStore returns an empty store.
func Products(t *testing.T, newStore func(t *testing.T) catalog.Store) {
	ctx := context.Background()
	at := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	t.Run("create, get, exists, not found", func(t *testing.T) {
		s := newStore(t)
		p := Product("P1", "Books", 3)
		if err := s.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := s.Create(ctx, Product("P1", "Games", 1)); !errors.Is(err, shop.ErrExists) {
			t.Errorf("second create = %v, want ErrExists", err)
		}
		if got, err := s.Get(ctx, "P1"); err != nil || got != p {
			t.Errorf("get = %+v, %v; want %+v", got, err, p)
		}
		if _, err := s.Get(ctx, "P2"); !errors.Is(err, shop.ErrNotFound) {
			t.Errorf("get of a missing product = %v, want ErrNotFound", err)
		}
	})
	t.Run("update and delete check the version", func(t *testing.T) {
		s := newStore(t)
		if err := s.Create(ctx, Product("P1", "Books", 3)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Update(ctx, "P1", catalog.Fields{Name: ptr("New")}, ptr(int64(7)), at); !errors.Is(err, shop.ErrStale) {
			t.Errorf("update with a stale version = %v, want ErrStale", err)
		}
		got, err := s.Update(ctx, "P1", catalog.Fields{Name: ptr("New"), Quantity: ptr(int64(9))}, ptr(int64(1)), at)
		if err != nil || got.Name != "New" || got.Quantity != 9 || got.Version != 2 || got.Category != "Books" || got.UpdatedAt != at.Format(time.RFC3339) {
			t.Errorf("update = %+v, %v", got, err)
		}
		if _, err := s.Update(ctx, "P9", catalog.Fields{Name: ptr("x")}, nil, at); !errors.Is(err, shop.ErrNotFound) {
			t.Errorf("update of a missing product = %v, want ErrNotFound", err)
		}
		if _, err := s.Delete(ctx, "P1", ptr(int64(1))); !errors.Is(err, shop.ErrStale) {
			t.Errorf("delete with a stale version = %v, want ErrStale", err)
		}
		if old, err := s.Delete(ctx, "P1", ptr(int64(2))); err != nil || old.Name != "New" {
			t.Errorf("delete = %+v, %v", old, err)
		}
		if _, err := s.Delete(ctx, "P1", nil); !errors.Is(err, shop.ErrNotFound) {
			t.Errorf("second delete = %v, want ErrNotFound", err)
		}
	})
	t.Run("a quantity delta is atomic and never takes stock below zero", func(t *testing.T) {
		s := newStore(t)
		if err := s.Create(ctx, Product("P1", "Books", 3)); err != nil {
			t.Fatal(err)
		}
		got, err := s.Update(ctx, "P1", catalog.Fields{QuantityDelta: ptr(int64(-2)), By: "admin-1"}, nil, at)
		if err != nil || got.Quantity != 1 || got.Version != 2 || got.UpdatedBy != "admin-1" {
			t.Fatalf("delta -2 = %+v, %v", got, err)
		}
		_, err = s.Update(ctx, "P1", catalog.Fields{QuantityDelta: ptr(int64(-2))}, nil, at)
		var conflict *shop.ConflictError
		if !errors.As(err, &conflict) || conflict.Reason != "insufficient-stock" {
			t.Errorf("delta below zero = %v, want insufficient-stock", err)
		}
		if _, err := s.Update(ctx, "P1", catalog.Fields{QuantityDelta: ptr(int64(5))}, ptr(int64(1)), at); !errors.Is(err, shop.ErrStale) {
			t.Errorf("delta at a stale version = %v, want ErrStale", err)
		}
		if p, _ := s.Get(ctx, "P1"); p.Quantity != 1 || p.Version != 2 {
			t.Errorf("refused deltas changed the product: %+v", p)
		}
		if got, err := s.Update(ctx, "P1", catalog.Fields{QuantityDelta: ptr(int64(10))}, ptr(int64(2)), at); err != nil || got.Quantity != 11 {
			t.Errorf("delta +10 = %+v, %v", got, err)
		}
	})
	t.Run("pages cover a category exactly once, in key order", func(t *testing.T) {
		s := newStore(t)
		var want []string
		for i, id := range []string{"P5", "P1", "P4", "P2", "P3", "P6"} {
			cat := []string{"Books", "Games"}[i%2]
			if err := s.Create(ctx, Product(id, cat, 1)); err != nil {
				t.Fatal(err)
			}
			if cat == "Books" {
				want = append(want, id)
			}
		}
		slices.Sort(want)
		var got []string
		var after *catalog.PageKey
		for range 10 {
			page, next, err := s.List(ctx, catalog.ListQuery{Category: "Books", Limit: 2, After: after})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range page {
				got = append(got, p.ProductID)
			}
			if after = next; next == nil {
				break
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("pages %v, want %v", got, want)
		}
	})
}

// OrdersEnv is an orders.Store and the catalogue whose stock its checkouts take.
type OrdersEnv struct {
	Orders   orders.Store
	Products catalog.Store
}

// Orders runs the orders.Store suite; newEnv returns empty stores.
func Orders(t *testing.T, newEnv func(t *testing.T) OrdersEnv) {
	ctx := context.Background()
	now := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)
	who := orders.Customer{UserID: "U1", Email: "u1@example.com", Name: "Ann", CreatedAt: now.Format(time.RFC3339)}
	// units is the limit on units of a product across pending orders in the
	// cases that do not test it.
	const units = 50
	order := func(id string, items ...orders.Item) orders.Order {
		o := orders.Order{OrderID: id, UserID: "U1", Status: orders.StatusPending, Currency: "EUR", CreatedAt: now.Format(time.RFC3339),
			ExpiresAt: now.Add(15 * time.Minute).Format(time.RFC3339), Items: items, HeldStock: true}
		for _, it := range items {
			o.Total += it.LineTotal
		}
		return o
	}
	line := func(id string, q int) orders.Item {
		return orders.Item{ProductID: id, Name: "Thing " + id, UnitPrice: 250, Quantity: q, LineTotal: 250 * int64(q), Incarnation: Incarnation(id, 1)}
	}
	t.Run("a claim holds until released or committed", func(t *testing.T) {
		e := newEnv(t)
		if prev, err := e.Orders.Claim(ctx, "U1", "k1", "fp", "t1", now.Add(time.Minute), now); err != nil || prev != nil {
			t.Fatalf("first claim = %+v, %v", prev, err)
		}
		prev, err := e.Orders.Claim(ctx, "U1", "k1", "fp", "t2", now.Add(time.Minute), now)
		if err != nil || prev == nil || prev.Done || prev.Fingerprint != "fp" {
			t.Fatalf("claim while in flight = %+v, %v", prev, err)
		}
		if err := e.Orders.Release(ctx, "U1", "k1", "t2"); err != nil {
			t.Fatal(err)
		}
		if prev, _ := e.Orders.Claim(ctx, "U1", "k1", "fp", "t3", now.Add(time.Minute), now); prev == nil {
			t.Error("a release by another token freed the claim")
		}
		if err := e.Orders.Release(ctx, "U1", "k1", "t1"); err != nil {
			t.Fatal(err)
		}
		if prev, err := e.Orders.Claim(ctx, "U1", "k1", "fp", "t4", now.Add(time.Minute), now); err != nil || prev != nil {
			t.Errorf("claim after release = %+v, %v", prev, err)
		}
		if prev, err := e.Orders.Claim(ctx, "U1", "k1", "fp", "t5", now.Add(time.Minute), now.Add(2*time.Minute)); err != nil || prev != nil {
			t.Errorf("claim after the lock ran out = %+v, %v", prev, err)
		}
	})
	t.Run("a repeated claim of its own token holds; lookup tells the outcome", func(t *testing.T) {
		e := newEnv(t)
		_ = e.Products.Create(ctx, Product("A", "c", 5))
		// Tokens are unique: DynamoDB keeps a transaction's token for 10
		// minutes across the account's tables.
		tok := shop.NewID("T", time.Now())
		for range 2 { // the second: an attempt repeated after a timeout
			if prev, err := e.Orders.Claim(ctx, "U1", "k1", "fp", tok, now.Add(time.Minute), now); err != nil || prev != nil {
				t.Fatalf("claim with its own token = %+v, %v; want claimed", prev, err)
			}
		}
		if a, err := e.Orders.Lookup(ctx, "U1", "k1"); err != nil || a == nil || a.Done {
			t.Fatalf("lookup of an in-flight key = %+v, %v", a, err)
		}
		if a, err := e.Orders.Lookup(ctx, "U1", "k2"); err != nil || a != nil {
			t.Errorf("lookup of an unknown key = %+v, %v; want none", a, err)
		}
		if err := e.Orders.Commit(ctx, order("O1", line("A", 1)), "k1", tok, who, 0, units, now); err != nil {
			t.Fatal(err)
		}
		if err := e.Orders.Release(ctx, "U1", "k1", tok); err != nil {
			t.Fatal(err)
		}
		if a, err := e.Orders.Lookup(ctx, "U1", "k1"); err != nil || a == nil || !a.Done || a.Order == nil || a.Order.OrderID != "O1" {
			t.Errorf("lookup after a commit and a release = %+v, %v; want done with O1", a, err)
		}
	})
	t.Run("commit takes stock, stores the order and answers the key", func(t *testing.T) {
		e := newEnv(t)
		for _, p := range []catalog.Product{Product("A", "c", 5), Product("B", "c", 2)} {
			if err := e.Products.Create(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		tok := shop.NewID("T", time.Now())
		if _, err := e.Orders.Claim(ctx, "U1", "k1", "fp", tok, now.Add(time.Minute), now); err != nil {
			t.Fatal(err)
		}
		o := order("O1", line("A", 3), line("B", 2))
		if err := e.Orders.Commit(ctx, o, "k1", tok, who, 0, units, now); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]int64{"A": 2, "B": 0} {
			if p, err := e.Products.Get(ctx, id); err != nil || p.Quantity != want || p.Version != 2 {
				t.Errorf("%s after checkout: %+v, %v; want quantity %d, version 2", id, p, err, want)
			}
		}
		if got, err := e.Orders.Get(ctx, "U1", "O1"); err != nil || got.Total != o.Total || len(got.Items) != 2 {
			t.Errorf("order = %+v, %v", got, err)
		}
		prev, err := e.Orders.Claim(ctx, "U1", "k1", "fp", "t2", now.Add(time.Minute), now)
		if err != nil || prev == nil || !prev.Done || prev.Order == nil || prev.Order.OrderID != "O1" {
			t.Errorf("claim of a done key = %+v, %v", prev, err)
		}
		if c, err := e.Orders.Customer(ctx, "U1"); err != nil || c.OrderCount != 1 || c.Email != who.Email {
			t.Errorf("customer = %+v, %v", c, err)
		}
	})
	t.Run("short stock or a changed price commits nothing", func(t *testing.T) {
		e := newEnv(t)
		if err := e.Products.Create(ctx, Product("A", "c", 1)); err != nil {
			t.Fatal(err)
		}
		if err := e.Products.Create(ctx, Product("B", "c", 9)); err != nil {
			t.Fatal(err)
		}
		tok := shop.NewID("T", time.Now())
		if _, err := e.Orders.Claim(ctx, "U1", "k1", "fp", tok, now.Add(time.Minute), now); err != nil {
			t.Fatal(err)
		}
		cheap := line("B", 1)
		cheap.UnitPrice, cheap.LineTotal = 1, 1
		err := e.Orders.Commit(ctx, order("O1", line("A", 2), cheap), "k1", tok, who, 0, units, now)
		var conflict *shop.ConflictError
		if !errors.As(err, &conflict) || conflict.Reason != "insufficient-stock" || len(conflict.Fields) != 2 {
			t.Fatalf("commit = %v, want insufficient-stock naming both lines", err)
		}
		if p, _ := e.Products.Get(ctx, "A"); p.Quantity != 1 {
			t.Errorf("stock moved: %d", p.Quantity)
		}
		if _, err := e.Orders.Get(ctx, "U1", "O1"); !errors.Is(err, shop.ErrNotFound) {
			t.Errorf("order stored: %v", err)
		}
	})
	t.Run("history newest first, in pages", func(t *testing.T) {
		e := newEnv(t)
		if err := e.Products.Create(ctx, Product("A", "c", 10)); err != nil {
			t.Fatal(err)
		}
		ids := []string{"O01", "O02", "O03"}
		for i, id := range ids {
			key := "k" + id
			tok := shop.NewID("T", time.Now())
			if _, err := e.Orders.Claim(ctx, "U1", key, "fp", tok, now.Add(time.Minute), now); err != nil {
				t.Fatal(err)
			}
			if err := e.Orders.Commit(ctx, order(id, line("A", i+1)), key, tok, who, i, units, now); err != nil {
				t.Fatal(err)
			}
		}
		first, next, err := e.Orders.List(ctx, "U1", 2, nil)
		if err != nil || len(first) != 2 || first[0].OrderID != "O03" || first[1].OrderID != "O02" || next == nil {
			t.Fatalf("first page = %+v %+v %v", first, next, err)
		}
		rest, next, err := e.Orders.List(ctx, "U1", 2, next)
		if err != nil || len(rest) != 1 || rest[0].OrderID != "O01" || next != nil {
			t.Errorf("second page = %+v %+v %v", rest, next, err)
		}
		if other, _, err := e.Orders.List(ctx, "U2", 5, nil); err != nil || len(other) != 0 {
			t.Errorf("another user's history = %+v, %v", other, err)
		}
	})
	// place commits a pending order of qty units of A in slot, as checkout does.
	place := func(t *testing.T, e OrdersEnv, id string, qty, slot int, at time.Time) orders.Order {
		t.Helper()
		key, tok := "k-"+id, shop.NewID("T", time.Now())
		if _, err := e.Orders.Claim(ctx, "U1", key, "fp", tok, at.Add(time.Minute), at); err != nil {
			t.Fatal(err)
		}
		o := order(id, line("A", qty))
		o.CreatedAt, o.ExpiresAt = at.Format(time.RFC3339), at.Add(15*time.Minute).Format(time.RFC3339)
		if err := e.Orders.Commit(ctx, o, key, tok, who, slot, units, at); err != nil {
			t.Fatalf("place %s: %v", id, err)
		}
		return o
	}
	// stock is A's available figure, after checking that its three figures
	// agree (quantity = on_hand - held, 0 <= held <= on_hand).
	stock := func(t *testing.T, e OrdersEnv) int64 {
		t.Helper()
		p, err := e.Products.Get(ctx, "A")
		if err != nil {
			t.Fatal(err)
		}
		if p.Quantity != p.OnHand-p.Held || p.Held < 0 || p.Held > p.OnHand {
			t.Errorf("A's stock figures disagree: on_hand %d, held %d, quantity %d", p.OnHand, p.Held, p.Quantity)
		}
		return p.Quantity
	}
	// figures is A's on_hand, held and quantity.
	figures := func(t *testing.T, e OrdersEnv) [3]int64 {
		t.Helper()
		stock(t, e)
		p, _ := e.Products.Get(ctx, "A")
		return [3]int64{p.OnHand, p.Held, p.Quantity}
	}
	// paid is a payment of o's total, in its currency.
	paid := func(o orders.Order, ref string) orders.Payment {
		return orders.Payment{Reference: ref, Amount: o.Total, Currency: o.Currency}
	}
	isConflict := func(err error, reason string) bool {
		var c *shop.ConflictError
		return errors.As(err, &c) && c.Reason == reason
	}
	t.Run("a pending order takes a slot until its hold ends", func(t *testing.T) {
		e := newEnv(t)
		_ = e.Products.Create(ctx, Product("A", "c", 10))
		o := place(t, e, "O1", 1, 0, now)
		holds, err := e.Orders.Holds(ctx, "U1", 3)
		if err != nil || len(holds) != 3 || holds[0].Format(time.RFC3339) != o.ExpiresAt || !holds[1].IsZero() {
			t.Fatalf("holds = %v, %v", holds, err)
		}
		key, tok := "k-O2", shop.NewID("T", time.Now())
		_, _ = e.Orders.Claim(ctx, "U1", key, "fp", tok, now.Add(time.Minute), now)
		if err := e.Orders.Commit(ctx, order("O2", line("A", 1)), key, tok, who, 0, units, now); !errors.Is(err, orders.ErrSlotTaken) {
			t.Errorf("a taken slot = %v, want ErrSlotTaken", err)
		}
		if s := stock(t, e); s != 9 {
			t.Errorf("stock %d after a refused checkout, want 9", s)
		}
		later := now.Add(16 * time.Minute) // the first hold has ended: its slot may be reused
		tok2 := shop.NewID("T", time.Now())
		_, _ = e.Orders.Claim(ctx, "U1", "k-O3", "fp", tok2, later.Add(time.Minute), later)
		o3 := order("O3", line("A", 1))
		o3.ExpiresAt = later.Add(15 * time.Minute).Format(time.RFC3339)
		if err := e.Orders.Commit(ctx, o3, "k-O3", tok2, who, 0, units, later); err != nil {
			t.Errorf("a slot past its hold = %v", err)
		}
	})
	t.Run("cancel returns the units once", func(t *testing.T) {
		e := newEnv(t)
		_ = e.Products.Create(ctx, Product("A", "c", 10))
		o1 := place(t, e, "O1", 4, 0, now)
		for range 2 {
			got, err := e.Orders.Cancel(ctx, "U1", "O1", now.Add(time.Minute))
			if err != nil || got.Status != orders.StatusCancelled {
				t.Fatalf("cancel = %+v, %v", got, err)
			}
		}
		if s := stock(t, e); s != 10 {
			t.Errorf("stock %d after cancel (twice), want 10", s)
		}
		// The slot stays taken until the hold would have ended: cancel and
		// order again cannot renew a hold without end (issue 26, item 2).
		if holds, _ := e.Orders.Holds(ctx, "U1", 1); holds[0].Format(time.RFC3339) != o1.ExpiresAt {
			t.Errorf("after a cancel the slot holds until %v, want the order's own end %s", holds, o1.ExpiresAt)
		}
		if _, err := e.Orders.Cancel(ctx, "U2", "O1", now); !errors.Is(err, shop.ErrNotFound) {
			t.Errorf("another user's cancel = %v", err)
		}
		if _, err := e.Orders.Confirm(ctx, "O1", paid(o1, "pay-1"), now); !isConflict(err, "order-not-pending") {
			t.Errorf("confirm of a cancelled order = %v", err)
		}
	})
	t.Run("pending orders hold at most the limit of a product's units; a cancel, a confirm or an expiry counts them off", func(t *testing.T) {
		e := newEnv(t)
		_ = e.Products.Create(ctx, Product("A", "c", 100))
		_ = e.Products.Create(ctx, Product("B", "c", 100))
		const limit = 5
		commit := func(id string, slot int, items ...orders.Item) error {
			t.Helper()
			key, tok := "k-"+id, shop.NewID("T", time.Now())
			if _, err := e.Orders.Claim(ctx, "U1", key, "fp", tok, now.Add(time.Minute), now); err != nil {
				t.Fatal(err)
			}
			return e.Orders.Commit(ctx, order(id, items...), key, tok, who, slot, limit, now)
		}
		if err := commit("O1", 0, line("A", 3), line("B", 1)); err != nil {
			t.Fatal(err)
		}
		err := commit("O2", 1, line("A", 3), line("B", 1))
		var c *shop.ConflictError
		if !errors.As(err, &c) || c.Reason != "hold-limit" || len(c.Fields) != 1 || c.Fields[0].Field != "items.A" {
			t.Fatalf("3 more of A with 3 held, limit 5 = %v, want hold-limit naming A alone", err)
		}
		if s := stock(t, e); s != 97 {
			t.Errorf("stock %d after a refused checkout, want 97", s)
		}
		if err := commit("O3", 1, line("A", 2)); err != nil {
			t.Fatalf("up to the limit exactly = %v", err)
		}
		if _, err := e.Orders.Cancel(ctx, "U1", "O1", now); err != nil {
			t.Fatal(err)
		}
		// The cancel counted O1's 3 off; its slot stays taken, so slot 2.
		if err := commit("O4", 2, line("A", 3)); err != nil {
			t.Fatalf("after the cancel = %v", err)
		}
	})
	// The stock-take (issue 26, item 1): 8 on the shelf record, 3
	// held by a pending order; the shelf holds 5 in all. Before on_hand and
	// held, the stock-take set quantity 5 and the expiry brought it to 8.
	t.Run("a stock-take counts held units once", func(t *testing.T) {
		e := newEnv(t)
		_ = e.Products.Create(ctx, Product("A", "c", 8))
		place(t, e, "O1", 3, 0, now)
		if f := figures(t, e); f != [3]int64{8, 3, 5} {
			t.Fatalf("after a hold of 3: on_hand, held, quantity = %v, want [8 3 5]", f)
		}
		p, _ := e.Products.Get(ctx, "A")
		if _, err := e.Products.Update(ctx, "A", catalog.Fields{OnHand: ptr(int64(2))}, &p.Version, now); !isConflict(err, "insufficient-stock") {
			t.Errorf("on_hand 2 below 3 held = %v, want insufficient-stock", err)
		}
		got, err := e.Products.Update(ctx, "A", catalog.Fields{OnHand: ptr(int64(5))}, &p.Version, now)
		if err != nil || [3]int64{got.OnHand, got.Held, got.Quantity} != [3]int64{5, 3, 2} {
			t.Fatalf("stock-take of 5 = %+v, %v; want on_hand 5, held 3, quantity 2", got, err)
		}
		if _, err := e.Orders.ExpireDue(ctx, now.Add(16*time.Minute), 10, 4); err != nil {
			t.Fatal(err)
		}
		if f := figures(t, e); f != [3]int64{5, 0, 5} {
			t.Errorf("after the hold expired: %v, want [5 0 5] (the shelf's 5, counted once)", f)
		}
		got, err = e.Products.Update(ctx, "A", catalog.Fields{QuantityDelta: ptr(int64(-6))}, nil, now)
		if !isConflict(err, "insufficient-stock") {
			t.Errorf("a delta of -6 with 5 available = %+v, %v; want insufficient-stock", got, err)
		}
		place(t, e, "O2", 1, 1, now)
		p, _ = e.Products.Get(ctx, "A")
		if got, err = e.Products.Update(ctx, "A", catalog.Fields{Quantity: ptr(int64(10))}, &p.Version, now); err != nil || [3]int64{got.OnHand, got.Held, got.Quantity} != [3]int64{11, 1, 10} {
			t.Errorf("available set to 10 with 1 held = %+v, %v; want on_hand 11", got, err)
		}
		if got, err = e.Products.Update(ctx, "A", catalog.Fields{QuantityDelta: ptr(int64(-4))}, nil, now); err != nil || [3]int64{got.OnHand, got.Held, got.Quantity} != [3]int64{7, 1, 6} {
			t.Errorf("a delta of -4 = %+v, %v; want on_hand 7, held 1, quantity 6", got, err)
		}
	})
	t.Run("a sale takes its units off held and on hand", func(t *testing.T) {
		e := newEnv(t)
		_ = e.Products.Create(ctx, Product("A", "c", 10))
		o1 := place(t, e, "O1", 3, 0, now)
		if _, err := e.Orders.Confirm(ctx, "O1", paid(o1, "pay-1"), now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if f := figures(t, e); f != [3]int64{7, 0, 7} {
			t.Errorf("after the sale: %v, want [7 0 7]", f)
		}
	})
	t.Run("an old order's units never return to a product created again under its id", func(t *testing.T) {
		e := newEnv(t)
		_ = e.Products.Create(ctx, Product("A", "c", 10))
		o1 := place(t, e, "O1", 3, 0, now)
		o2 := place(t, e, "O2", 2, 1, now)
		o3 := place(t, e, "O3", 1, 2, now)
		if _, err := e.Products.Delete(ctx, "A", nil); err != nil {
			t.Fatal(err)
		}
		again := Product("A", "c", 4)
		again.Incarnation = Incarnation("A", 2)
		if err := e.Products.Create(ctx, again); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Orders.Cancel(ctx, "U1", o1.OrderID, now); err != nil {
			t.Fatalf("cancel: %v", err)
		}
		if _, err := e.Orders.Confirm(ctx, o2.OrderID, paid(o2, "pay-2"), now); err != nil {
			t.Fatalf("confirm: %v", err)
		}
		if got, err := e.Orders.ExpireDue(ctx, now.Add(16*time.Minute), 10, 4); err != nil || len(got.Expired) != 1 || got.Expired[0].OrderID != o3.OrderID {
			t.Fatalf("expiry = %+v, %v", got, err)
		}
		if f := figures(t, e); f != [3]int64{4, 0, 4} {
			t.Errorf("the new A after the old one's orders ended: %v, want [4 0 4]", f)
		}
		// A cart priced on the old incarnation cannot hold the new one.
		key, tok := "k-O4", shop.NewID("T", time.Now())
		_, _ = e.Orders.Claim(ctx, "U1", key, "fp", tok, now.Add(time.Minute), now)
		err := e.Orders.Commit(ctx, order("O4", line("A", 1)), key, tok, who, 0, units, now.Add(16*time.Minute))
		if !isConflict(err, "insufficient-stock") {
			t.Errorf("a line of the old A = %v, want insufficient-stock", err)
		}
	})
	t.Run("confirm refuses a payment that is not the order's total and currency, and changes nothing", func(t *testing.T) {
		e := newEnv(t)
		_ = e.Products.Create(ctx, Product("A", "c", 10))
		o1 := place(t, e, "O1", 3, 0, now)
		for _, pay := range []orders.Payment{
			{Reference: "pay-1", Amount: o1.Total - 1, Currency: o1.Currency},
			{Reference: "pay-1", Amount: o1.Total, Currency: "USD"},
			{Reference: "pay-1", Amount: 0, Currency: o1.Currency},
		} {
			if _, err := e.Orders.Confirm(ctx, "O1", pay, now.Add(time.Minute)); !isConflict(err, "amount-mismatch") {
				t.Errorf("confirm with %+v = %v, want amount-mismatch", pay, err)
			}
		}
		if got, err := e.Orders.Get(ctx, "U1", "O1"); err != nil || got.Status != orders.StatusPending || got.PaymentReference != nil {
			t.Fatalf("after refused payments: %+v, %v; want it pending, unpaid", got, err)
		}
		got, err := e.Orders.Confirm(ctx, "O1", paid(o1, "pay-1"), now.Add(time.Minute))
		if err != nil || got.Status != orders.StatusConfirmed {
			t.Fatalf("the right payment = %+v, %v", got, err)
		}
		wrong := paid(o1, "pay-1")
		wrong.Amount++
		if _, err := e.Orders.Confirm(ctx, "O1", wrong, now.Add(time.Minute)); !isConflict(err, "amount-mismatch") {
			t.Errorf("a repeat of the reference with another amount = %v, want amount-mismatch", err)
		}
	})
	t.Run("confirm keeps the sale; the same reference is a replay, another a conflict", func(t *testing.T) {
		e := newEnv(t)
		_ = e.Products.Create(ctx, Product("A", "c", 10))
		o1 := place(t, e, "O1", 3, 0, now)
		for range 2 {
			got, err := e.Orders.Confirm(ctx, "O1", paid(o1, "pay-1"), now.Add(time.Minute))
			if err != nil || got.Status != orders.StatusConfirmed || got.PaymentReference == nil || *got.PaymentReference != "pay-1" {
				t.Fatalf("confirm = %+v, %v", got, err)
			}
		}
		if _, err := e.Orders.Confirm(ctx, "O1", paid(o1, "pay-2"), now); !isConflict(err, "payment-reference-mismatch") {
			t.Errorf("another reference = %v", err)
		}
		if _, err := e.Orders.Cancel(ctx, "U1", "O1", now); !isConflict(err, "order-not-pending") {
			t.Errorf("cancel of a confirmed order = %v", err)
		}
		if s := stock(t, e); s != 7 {
			t.Errorf("stock %d after a sale of 3, want 7", s)
		}
		if _, err := e.Orders.Confirm(ctx, "O404", paid(o1, "pay-1"), now); !errors.Is(err, shop.ErrNotFound) {
			t.Errorf("confirm of an unknown order = %v", err)
		}
		o2 := place(t, e, "O2", 1, 1, now)
		if _, err := e.Orders.Confirm(ctx, "O2", paid(o2, "pay-3"), now.Add(15*time.Minute)); !isConflict(err, "order-not-pending") {
			t.Errorf("confirm at the end of the hold = %v", err)
		}
	})
	t.Run("expiry returns the units of due orders only, in bounded batches", func(t *testing.T) {
		e := newEnv(t)
		_ = e.Products.Create(ctx, Product("A", "c", 100))
		for i := range 3 {
			place(t, e, fmt.Sprintf("O%d", i), 1, i, now)
		}
		place(t, e, "OF", 5, 3, now.Add(10*time.Minute)) // not due yet
		due := now.Add(16 * time.Minute)
		if oldest, err := e.Orders.OldestDue(ctx, due); err != nil || !oldest.Equal(now.Add(15*time.Minute)) {
			t.Errorf("oldest due = %v, %v; want %v", oldest, err, now.Add(15*time.Minute))
		}
		got, err := e.Orders.ExpireDue(ctx, due, 2, 4)
		if err != nil || got.Due != 2 || len(got.Expired) != 2 || got.Expired[0].Status != orders.StatusExpired || len(got.Expired[0].Items) != 1 {
			t.Fatalf("first batch = %+v, %v; want 2 expired orders", got, err)
		}
		got, err = e.Orders.ExpireDue(ctx, due, 2, 4)
		if err != nil || got.Due != 1 || len(got.Expired) != 1 {
			t.Fatalf("second batch = %+v, %v; want 1", got, err)
		}
		if got, _ := e.Orders.ExpireDue(ctx, due, 2, 4); len(got.Expired) != 0 || got.Due != 0 {
			t.Errorf("third batch = %+v", got)
		}
		if oldest, err := e.Orders.OldestDue(ctx, due); err != nil || !oldest.IsZero() {
			t.Errorf("oldest due after the backlog = %v, %v; want none", oldest, err)
		}
		if s := stock(t, e); s != 95 {
			t.Errorf("stock %d, want 95 (the 3 expired returned, the fresh 5 held)", s)
		}
		if o, _ := e.Orders.Get(ctx, "U1", "O0"); o.Status != orders.StatusExpired {
			t.Errorf("O0 = %s, want expired", o.Status)
		}
		if o, _ := e.Orders.Get(ctx, "U1", "OF"); o.Status != orders.StatusPending {
			t.Errorf("OF = %s, want pending", o.Status)
		}
		if _, err := e.Orders.Cancel(ctx, "U1", "O1", due); !isConflict(err, "order-not-pending") {
			t.Errorf("cancel of an expired order = %v", err)
		}
	})
	t.Run("cancel, confirm and expiry racing on one order: one outcome, stock moved once", func(t *testing.T) {
		e := newEnv(t)
		_ = e.Products.Create(ctx, Product("A", "c", 10))
		o1 := place(t, e, "O1", 4, 0, now)
		end := now.Add(15 * time.Minute) // the hold ends: confirm refuses, expiry takes it, cancel still may
		var wg sync.WaitGroup
		var cancelled, confirmed, expired atomic.Int32
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				switch i % 3 {
				case 0:
					o, err := e.Orders.Cancel(ctx, "U1", "O1", end)
					if err == nil && o.Status == orders.StatusCancelled {
						cancelled.Add(1)
					} else if err != nil && !isConflict(err, "order-not-pending") {
						t.Errorf("cancel: %v", err)
					}
				case 1:
					_, err := e.Orders.Confirm(ctx, "O1", paid(o1, "pay"), end.Add(-time.Second))
					if err == nil {
						confirmed.Add(1)
					} else if !isConflict(err, "order-not-pending") && !isConflict(err, "payment-reference-mismatch") {
						t.Errorf("confirm: %v", err)
					}
				case 2:
					got, err := e.Orders.ExpireDue(ctx, end, 10, 4)
					if err != nil {
						t.Errorf("expire: %v", err)
					}
					expired.Add(int32(len(got.Expired)))
				}
			}()
		}
		wg.Wait()
		o, err := e.Orders.Get(ctx, "U1", "O1")
		if err != nil {
			t.Fatal(err)
		}
		s := stock(t, e)
		switch o.Status {
		case orders.StatusConfirmed:
			if s != 6 || expired.Load() != 0 || cancelled.Load() != 0 {
				t.Errorf("confirmed: stock %d (want 6), %d expiries, %d cancels", s, expired.Load(), cancelled.Load())
			}
		case orders.StatusCancelled, orders.StatusExpired:
			if s != 10 || confirmed.Load() != 0 || expired.Load() > 1 {
				t.Errorf("%s: stock %d (want 10), %d confirms, %d expiries", o.Status, s, confirmed.Load(), expired.Load())
			}
		default:
			t.Errorf("status %s after the race", o.Status)
		}
	})
	t.Run("profiles: the first one stands, rename keeps the rest", func(t *testing.T) {
		e := newEnv(t)
		if _, err := e.Orders.Customer(ctx, "U1"); !errors.Is(err, shop.ErrNotFound) {
			t.Errorf("missing profile = %v", err)
		}
		if c, err := e.Orders.CreateCustomer(ctx, who); err != nil || c.Name != "Ann" {
			t.Fatalf("create = %+v, %v", c, err)
		}
		other := who
		other.Name = "Bob"
		if c, err := e.Orders.CreateCustomer(ctx, other); err != nil || c.Name != "Ann" {
			t.Errorf("second create = %+v, %v; want the first profile", c, err)
		}
		if c, err := e.Orders.Rename(ctx, orders.Customer{UserID: "U1", Name: "Cat", Email: "x@example.com"}); err != nil || c.Name != "Cat" || c.Email != who.Email {
			t.Errorf("rename = %+v, %v", c, err)
		}
	})
}

// Carts runs the cart.Store suite; newStore returns an empty store and
// newOwner an owner no other test uses.
func Carts(t *testing.T, newStore func(t *testing.T) cart.Store, newOwner func() cart.Owner) {
	ctx := context.Background()
	ttl := time.Minute
	lines := func(t *testing.T, s cart.Store, o cart.Owner) cart.Lines {
		t.Helper()
		l, err := s.Get(ctx, o, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	t.Run("set, remove, clear", func(t *testing.T) {
		s, o := newStore(t), newOwner()
		if l := lines(t, s, o); len(l) != 0 {
			t.Fatalf("new cart = %v", l)
		}
		for id, q := range map[string]int{"A": 2, "B": 1} {
			if err := s.Set(ctx, o, id, q, ttl); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Set(ctx, o, "A", 5, ttl); err != nil {
			t.Fatal(err)
		}
		if l := lines(t, s, o); !maps.Equal(l, cart.Lines{"A": 5, "B": 1}) {
			t.Errorf("after set = %v", l)
		}
		if err := s.Remove(ctx, o, ttl, "B", "Z"); err != nil {
			t.Fatal(err)
		}
		if l := lines(t, s, o); !maps.Equal(l, cart.Lines{"A": 5}) {
			t.Errorf("after remove = %v", l)
		}
		if err := s.Clear(ctx, o); err != nil {
			t.Fatal(err)
		}
		if l := lines(t, s, o); len(l) != 0 {
			t.Errorf("after clear = %v", l)
		}
	})
	t.Run("a new line beyond the limit is refused", func(t *testing.T) {
		s, o := newStore(t), newOwner()
		for i := range cart.MaxLines {
			if err := s.Set(ctx, o, "P"+string(rune('A'+i/26))+string(rune('a'+i%26)), 1, ttl); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Set(ctx, o, "PZZ", 1, ttl); !errors.Is(err, cart.ErrFull) {
			t.Errorf("line %d = %v, want ErrFull", cart.MaxLines+1, err)
		}
		if err := s.Set(ctx, o, "PAa", 3, ttl); err != nil {
			t.Errorf("changing an existing line of a full cart = %v", err)
		}
	})
	t.Run("clear-if only when unchanged", func(t *testing.T) {
		s, o := newStore(t), newOwner()
		_ = s.Set(ctx, o, "A", 2, ttl)
		if ok, err := s.ClearIf(ctx, o, cart.Lines{"A": 1}); err != nil || ok {
			t.Errorf("clear-if on a changed cart = %v, %v", ok, err)
		}
		if l := lines(t, s, o); !maps.Equal(l, cart.Lines{"A": 2}) {
			t.Errorf("after a refused clear-if = %v", l)
		}
		if ok, err := s.ClearIf(ctx, o, cart.Lines{"A": 2}); err != nil || !ok {
			t.Errorf("clear-if on the same cart = %v, %v", ok, err)
		}
		if l := lines(t, s, o); len(l) != 0 {
			t.Errorf("after clear-if = %v", l)
		}
	})
	t.Run("merge is capped, says what it added, and happens once per merge id", func(t *testing.T) {
		s, o := newStore(t), newOwner()
		_ = s.Set(ctx, o, "A", 2, ttl)
		_ = s.Set(ctx, o, "D", 9, ttl)
		caps := map[string]int{"A": 4, "B": cart.MaxQuantity, "D": 5}
		want, wantAdded := cart.Lines{"A": 4, "B": 3, "D": 9}, cart.Lines{"A": 2, "B": 3}
		for range 2 {
			got, added, err := s.Merge(ctx, o, "m1", cart.Lines{"A": 5, "B": 3, "C": 1, "D": 1}, caps, ttl)
			if err != nil || !maps.Equal(got, want) || !maps.Equal(added, wantAdded) {
				t.Errorf("merge = %v added %v, %v; want %v added %v (C has no cap: not sold; D above its cap stays)", got, added, err, want, wantAdded)
			}
		}
		if got, added, err := s.Merge(ctx, o, "m2", cart.Lines{"B": 1}, caps, ttl); err != nil || got["B"] != 4 || added["B"] != 1 {
			t.Errorf("another merge = %v added %v, %v", got, added, err)
		}
	})
}

// Sessions runs the cart.Sessions suite; newStores returns a session store
// and the cart store its sessions' carts live in.
func Sessions(t *testing.T, newStores func(t *testing.T) (cart.Sessions, cart.Store), newID func() string) {
	ctx := context.Background()
	ttl := time.Minute
	t.Run("open, touch, close drops the cart", func(t *testing.T) {
		sessions, carts := newStores(t)
		id := newID()
		if ok, err := sessions.Touch(ctx, id, ttl); err != nil || ok {
			t.Fatalf("touch of a session never opened = %v, %v", ok, err)
		}
		if err := sessions.Open(ctx, id, ttl); err != nil {
			t.Fatal(err)
		}
		if ok, err := sessions.Touch(ctx, id, ttl); err != nil || !ok {
			t.Fatalf("touch of an open session = %v, %v", ok, err)
		}
		guest := cart.Owner{Guest: true, ID: id}
		if err := carts.Set(ctx, guest, "A", 2, ttl); err != nil {
			t.Fatal(err)
		}
		if err := sessions.Close(ctx, id); err != nil {
			t.Fatal(err)
		}
		if ok, err := sessions.Touch(ctx, id, ttl); err != nil || ok {
			t.Errorf("touch after close = %v, %v", ok, err)
		}
		if l, err := carts.Get(ctx, guest, ttl); err != nil || len(l) != 0 {
			t.Errorf("the guest cart outlived its session: %v, %v", l, err)
		}
		if err := carts.Set(ctx, guest, "A", 1, ttl); !errors.Is(err, cart.ErrInvalidSession) {
			t.Errorf("a guest line after the close = %v, want ErrInvalidSession", err)
		}
		if l, _ := carts.Get(ctx, guest, ttl); len(l) != 0 {
			t.Errorf("a closed session's cart was recreated: %v", l)
		}
	})
	// Issue 26, item 7: the merge takes the session and its cart in one
	// step, so a guest write is either in the taken lines or refused.
	t.Run("take revokes, keeps the lines, answers them again until forgotten", func(t *testing.T) {
		sessions, carts := newStores(t)
		id := newID()
		guest := cart.Owner{Guest: true, ID: id}
		if _, ok, err := sessions.Take(ctx, id, ttl); err != nil || ok {
			t.Fatalf("take of a session never opened = %v, %v", ok, err)
		}
		_ = sessions.Open(ctx, id, ttl)
		_ = carts.Set(ctx, guest, "A", 2, ttl)
		_ = carts.Set(ctx, guest, "B", 1, ttl)
		want := cart.Lines{"A": 2, "B": 1}
		for range 2 { // the second: a merge retried after a failure
			lines, ok, err := sessions.Take(ctx, id, ttl)
			if err != nil || !ok || !maps.Equal(lines, want) {
				t.Fatalf("take = %v, %v, %v; want %v", lines, ok, err, want)
			}
		}
		if ok, _ := sessions.Touch(ctx, id, ttl); ok {
			t.Error("the session is still open after the take")
		}
		if err := carts.Set(ctx, guest, "C", 1, ttl); !errors.Is(err, cart.ErrInvalidSession) {
			t.Errorf("a guest line after the take = %v, want ErrInvalidSession", err)
		}
		if lines, _, _ := sessions.Take(ctx, id, ttl); !maps.Equal(lines, want) {
			t.Errorf("the taken lines changed: %v", lines)
		}
		if err := sessions.Forget(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := sessions.Take(ctx, id, ttl); err != nil || ok {
			t.Errorf("take after forget = %v, %v; want none", ok, err)
		}
		empty := newID()
		_ = sessions.Open(ctx, empty, ttl)
		if lines, ok, err := sessions.Take(ctx, empty, ttl); err != nil || !ok || len(lines) != 0 {
			t.Errorf("take of an empty cart = %v, %v, %v", lines, ok, err)
		}
	})
}
