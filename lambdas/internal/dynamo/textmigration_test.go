//go:build integration

package dynamo

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/orders"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// The one-off clean-up of stored free text (issue 43), on DynamoDB Local:
// the dry run reports every field and the categories that become one and
// writes nothing; the run writes them, bumping the products' versions; a
// second run finds nothing; a write that touches another field never
// fails on an old value the rule now refuses.
func TestMigrateTextDryRunThenRun(t *testing.T) {
	ctx := context.Background()
	st := newProducts(t)
	customers := "customers-" + shop.NewID("", time.Now())
	if err := CreateCustomersTable(ctx, local, customers); err != nil {
		t.Fatal(err)
	}
	// Written as the code before the rule accepted them.
	old := map[string]catalog.Product{
		"P1": product("P1", "Electronics"),
		"P2": product("P2", "Electronics\u2063"), // an invisible separator
		"P3": product("P3", "Electronics\u034f"), // a combining grapheme joiner (allowed, default-ignorable)
		"P4": product("P4", "Books"),
	}
	p4 := old["P4"]
	p4.Name, p4.Description = "Atlas\u202e", "one\ntwo"
	old["P4"] = p4
	for _, p := range old {
		if err := st.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	o := NewOrders(local, "orders-unused", customers, st.table)
	if _, err := o.CreateCustomer(ctx, orders.Customer{UserID: "u1", Name: "Eve\u3164", CreatedAt: "2026-01-01T00:00:00Z"}); err != nil {
		t.Fatal(err)
	}
	// A write that does not touch the old name succeeds (the rule checks
	// what a request sends, never what is stored).
	if _, err := st.Update(ctx, "P4", catalog.Fields{Price: ptr(int64(250))}, nil, time.Now()); err != nil {
		t.Fatalf("a price change of a product with an old name: %v", err)
	}

	dry, err := MigrateText(ctx, local, st.table, customers, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []TextChange{
		{customers, "u1", "name", "Eve\u3164", "Eve"},
		{st.table, "P2", "category", "Electronics\u2063", "Electronics"},
		{st.table, "P3", "category", "Electronics\u034f", "Electronics"},
		{st.table, "P4", "description", "one\ntwo", "onetwo"},
		{st.table, "P4", "name", "Atlas\u202e", "Atlas"},
	}
	if !reflect.DeepEqual(dry.Changes, want) || dry.Applied != 0 || dry.Scanned != 5 {
		t.Errorf("dry run: %+v\nwant changes %+v", dry, want)
	}
	if got := dry.Merged["Electronics"]; !reflect.DeepEqual(got, []string{"Electronics", "Electronics\u034f", "Electronics\u2063"}) {
		t.Errorf("merged categories %q", dry.Merged)
	}
	if p, _ := st.Get(ctx, "P2"); p.Category != "Electronics\u2063" {
		t.Errorf("the dry run wrote: %q", p.Category)
	}

	run, err := MigrateText(ctx, local, st.table, customers, true)
	if err != nil || run.Applied != 4 || !reflect.DeepEqual(run.Changes, want) {
		t.Fatalf("run: %+v, %v", run, err)
	}
	for id, wantCat := range map[string]string{"P1": "Electronics", "P2": "Electronics", "P3": "Electronics", "P4": "Books"} {
		p, err := st.Get(ctx, id)
		if err != nil || p.Category != wantCat || shop.TextProblem(p.Name) != "" || shop.TextProblem(p.Description) != "" {
			t.Errorf("%s after the run: %+v, %v", id, p, err)
		}
		if wantVersion := map[bool]int64{true: old[id].Version, false: old[id].Version + 1}[id == "P1"] + map[bool]int64{true: 1, false: 0}[id == "P4"]; p.Version != wantVersion {
			t.Errorf("%s version %d, want %d", id, p.Version, wantVersion)
		}
	}
	if c, err := o.Customer(ctx, "u1"); err != nil || c.Name != "Eve" {
		t.Errorf("customer after the run: %+v, %v", c, err)
	}
	page, _, err := st.List(ctx, catalog.ListQuery{Category: "Electronics", Limit: 10})
	if err != nil || len(page) != 3 {
		t.Errorf("the category lists %d products after the run, want 3: %v", len(page), err)
	}

	again, err := MigrateText(ctx, local, st.table, customers, true)
	if err != nil || len(again.Changes) != 0 || again.Applied != 0 {
		t.Errorf("a second run: %+v, %v; want nothing to do", again, err)
	}
}
