package catalog_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/cursor"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
	"github.com/go-cdk-shop/shop/lambdas/internal/testing/memory"
)

func newCatalog(t *testing.T) (*catalog.Service, *memory.Products) {
	t.Helper()
	codec, err := cursor.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	store := memory.NewProducts()
	return catalog.NewService(store, codec, "EUR", nil), store
}

func ptr[T any](v T) *T { return &v }

func fields(name string) catalog.Fields {
	return catalog.Fields{Name: ptr(name), Price: ptr(int64(450)), Category: ptr("Books"), Quantity: ptr(int64(3))}
}

func TestCreate(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		fields    func() catalog.Fields
		wantField string // the field an InvalidError names; empty: success
	}{
		{"all required fields", func() catalog.Fields { return fields("Atlas") }, ""},
		{"own id", func() catalog.Fields { f := fields("Atlas"); f.ProductID = ptr("ATLAS-1"); return f }, ""},
		{"other currency", func() catalog.Fields { f := fields("Atlas"); f.Currency = ptr("USD"); return f }, ""},
		{"no name", func() catalog.Fields { f := fields(""); f.Name = nil; return f }, "name"},
		{"negative price", func() catalog.Fields { f := fields("Atlas"); f.Price = ptr(int64(-1)); return f }, "price"},
		{"bad id", func() catalog.Fields { f := fields("Atlas"); f.ProductID = ptr("a/b"); return f }, "product_id"},
		{"bad currency", func() catalog.Fields { f := fields("Atlas"); f.Currency = ptr("eur"); return f }, "currency"},
		{"a name with a bidi override", func() catalog.Fields { return fields("Atlas\u202e") }, "name"},
		{"a category with a zero-width space", func() catalog.Fields { f := fields("Atlas"); f.Category = ptr("Bo\u200boks"); return f }, "category"},
		{"a control character in the description", func() catalog.Fields { f := fields("Atlas"); f.Description = ptr("a\x1bb"); return f }, "description"},
		{"lines in the description (control characters, docs/contract.md)", func() catalog.Fields { f := fields("Atlas"); f.Description = ptr("one\ntwo"); return f }, "description"},
		{"an invisible separator after a category (issue 43)", func() catalog.Fields { f := fields("Atlas"); f.Category = ptr("Electronics\u2063"); return f }, "category"},
		{"a Hangul filler in a name", func() catalog.Fields { f := fields("Atlas\u3164"); return f }, "name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc, store := newCatalog(t)
			p, err := svc.Create(ctx, tc.fields())
			if tc.wantField != "" {
				var inv *shop.InvalidError
				if !errors.As(err, &inv) || inv.Fields[0].Field != tc.wantField {
					t.Fatalf("create = %v, want a problem with %s", err, tc.wantField)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			stored, err := store.Get(ctx, p.ProductID)
			if err != nil || stored != p || p.Version != 1 || p.CreatedAt == "" || p.Currency == "" {
				t.Errorf("stored %+v, %v; returned %+v", stored, err, p)
			}
			if f := tc.fields(); f.ProductID == nil && !strings.HasPrefix(p.ProductID, "P") {
				t.Errorf("generated id %q", p.ProductID)
			}
		})
	}
}

func TestCreateTwiceIsExists(t *testing.T) {
	svc, _ := newCatalog(t)
	f := fields("Atlas")
	f.ProductID = ptr("A1")
	if _, err := svc.Create(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(context.Background(), f); !errors.Is(err, shop.ErrExists) {
		t.Errorf("second create = %v, want ErrExists", err)
	}
}

func TestUpdateAndDelete(t *testing.T) {
	ctx := context.Background()
	svc, _ := newCatalog(t)
	f := fields("Atlas")
	f.ProductID = ptr("A1")
	if _, err := svc.Create(ctx, f); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Update(ctx, "A1", catalog.Fields{ProductID: ptr("A2")}, nil); err == nil {
		t.Error("the id was changed")
	}
	if _, err := svc.Update(ctx, "A1", catalog.Fields{Price: ptr(int64(1))}, ptr(int64(5))); !errors.Is(err, shop.ErrStale) {
		t.Errorf("update at a stale version = %v, want ErrStale", err)
	}
	p, err := svc.Update(ctx, "A1", catalog.Fields{Price: ptr(int64(1))}, ptr(int64(1)))
	if err != nil || p.Price != 1 || p.Version != 2 || p.Name != "Atlas" {
		t.Errorf("update = %+v, %v", p, err)
	}
	if _, err := svc.Update(ctx, "bad id!", catalog.Fields{Price: ptr(int64(1))}, nil); err == nil {
		t.Error("a malformed id reached the store")
	}
	if _, err := svc.Delete(ctx, "A1", ptr(int64(1))); !errors.Is(err, shop.ErrStale) {
		t.Errorf("delete at a stale version = %v, want ErrStale", err)
	}
	if _, err := svc.Delete(ctx, "A1", ptr(int64(2))); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Get(ctx, "A1"); !errors.Is(err, shop.ErrNotFound) {
		t.Errorf("get after delete = %v", err)
	}
}

func TestListPagesWithCursors(t *testing.T) {
	ctx := context.Background()
	svc, _ := newCatalog(t)
	for _, id := range []string{"A1", "A2", "A3"} {
		f := fields(id)
		f.ProductID = ptr(id)
		if _, err := svc.Create(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	first, err := svc.List(ctx, "Books", 2, "")
	if err != nil || len(first.Items) != 2 || first.NextCursor == nil {
		t.Fatalf("first page = %+v, %v", first, err)
	}
	rest, err := svc.List(ctx, "Books", 2, *first.NextCursor)
	if err != nil || len(rest.Items) != 1 || rest.Items[0].ProductID != "A3" || rest.NextCursor != nil {
		t.Errorf("second page = %+v, %v", rest, err)
	}
	// A cursor is bound to its listing: another category's listing refuses it.
	if _, err := svc.List(ctx, "Games", 2, *first.NextCursor); err == nil {
		t.Error("a cursor of another listing was accepted")
	}
	for _, limit := range []int{-1, catalog.MaxPageSize + 1} {
		if _, err := svc.List(ctx, "", limit, ""); err == nil {
			t.Errorf("limit %d was accepted", limit)
		}
	}
}

// A category is one category however its accents were composed: stored
// and queried in normalization form C.
func TestCategoriesAreNormalized(t *testing.T) {
	ctx := context.Background()
	svc, _ := newCatalog(t)
	decomposed, composed := "Cafe\u0301", "Caf\u00e9"
	f := fields("Mug")
	f.Category = ptr(decomposed)
	p, err := svc.Create(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if p.Category != composed {
		t.Errorf("stored category %q, want %q", p.Category, composed)
	}
	for _, query := range []string{composed, decomposed} {
		page, err := svc.List(ctx, query, 10, "")
		if err != nil || len(page.Items) != 1 {
			t.Errorf("list of %q = %+v, %v; want the mug", query, page, err)
		}
	}
}

// A category is compared, stored and queried after NFC with its
// default-ignorable code points removed (docs/contract.md, "Free text"):
// categories that look the same are the same.
func TestNormalCategory(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Café", "Café"},
		{"Cafe\u0301", "Café"},                       // a combining acute: NFC composes it
		{"Books\u034f", "Books"},                     // combining grapheme joiner (Mn, default-ignorable)
		{"Books\ufe0f", "Books"},                     // a variation selector
		{"Boo\U000e0100ks", "Books"},                 // a variation selector supplement
		{"\u1806Mongol\u180bian", "\u1806Mongolian"}, // a Mongolian free variation selector
		{"Electronics", "Electronics"},
	} {
		if got := catalog.NormalCategory(c.in); got != c.want {
			t.Errorf("NormalCategory(%q) = %q, want %q", c.in, got, c.want)
		}
		if shop.TextProblem(c.in) != "" {
			t.Errorf("%q is refused by the text rule: it should be accepted, then normalized", c.in)
		}
	}
}
