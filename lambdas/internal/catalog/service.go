package catalog

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/internal/cursor"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// Service is the catalogue's use cases.
type Service struct {
	store    Store
	cursors  *cursor.Codec
	currency string
	now      func() time.Time
	cache    Cache // optional
}

// NewService returns the catalogue over store. currency is the default for
// products created without one; cursors seals list positions; cache, when
// not nil, is a read-through cache in front of the store.
func NewService(store Store, cursors *cursor.Codec, currency string, cache Cache) *Service {
	return &Service{store: store, cursors: cursors, currency: currency, now: func() time.Time { return time.Now().UTC() }, cache: cache}
}

// Page is one page of a listing and the cursor of the next.
type Page = cursor.Page[Product]

// Create adds a product. Without a product_id one is generated.
func (s *Service) Create(ctx context.Context, f Fields) (Product, error) {
	f = f.normalized()
	if err := ValidateCreate(f); err != nil {
		return Product{}, err
	}
	now := s.now()
	p := Product{
		Name: *f.Name, Price: *f.Price, Category: *f.Category, Quantity: *f.Quantity, OnHand: *f.Quantity,
		Incarnation: shop.NewID("", now), Currency: s.currency, Version: 1, UpdatedBy: f.By,
		CreatedAt: now.Format(time.RFC3339), UpdatedAt: now.Format(time.RFC3339),
	}
	if f.ProductID != nil {
		p.ProductID = *f.ProductID
	} else {
		p.ProductID = shop.NewID("P", now)
	}
	if f.Currency != nil {
		p.Currency = *f.Currency
	}
	if f.Description != nil {
		p.Description = *f.Description
	}
	if err := s.store.Create(ctx, p); err != nil {
		return Product{}, fmt.Errorf("create product %q: %w", p.ProductID, err)
	}
	s.invalidate(ctx, p.ProductID) // a re-created product: nothing of the old one survives
	return p, nil
}

// Get returns one product.
func (s *Service) Get(ctx context.Context, id string) (Product, error) {
	if !shop.ValidID(id) {
		return Product{}, shop.Invalid("product_id", shop.IDRule)
	}
	p, err := s.read(ctx, id)
	if err != nil {
		return Product{}, fmt.Errorf("get product %q: %w", id, err)
	}
	if s.cache != nil {
		s.cache.View(ctx, p)
	}
	return p, nil
}

// read is one product, through the cache when there is one.
func (s *Service) read(ctx context.Context, id string) (Product, error) {
	if s.cache != nil {
		return s.cache.Get(ctx, id, s.store.Get)
	}
	return s.store.Get(ctx, id)
}

// invalidate tells the cache that id was written.
func (s *Service) invalidate(ctx context.Context, id string) {
	if s.cache != nil {
		s.cache.Invalidate(ctx, id)
	}
}

// MaxTrending bounds a trending list.
const MaxTrending = 50

// Trend is a trending product and its views in the window.
type Trend struct {
	Product Product `json:"product"`
	Views   int64   `json:"views"`
}

// Trending is the most viewed products of the last 24 hours, of one category
// or of all, most viewed first; deleted products never appear.
func (s *Service) Trending(ctx context.Context, category string, limit int) ([]Trend, error) {
	category = NormalCategory(category)
	var v shop.Violations
	if limit == 0 {
		limit = 10
	}
	if limit < 1 || limit > MaxTrending {
		v.Add("limit", "must be an integer from 1 to "+strconv.Itoa(MaxTrending))
	}
	if category != "" {
		checkText(&v, "category", category, 1, MaxCategoryLength)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if s.cache == nil {
		return nil, fmt.Errorf("trending: %w: no cache", shop.ErrUnavailable)
	}
	// Ask for more than limit: deleted products drop out below.
	ids, views, ok := s.cache.Trending(ctx, category, 2*limit)
	if !ok {
		return nil, fmt.Errorf("trending: %w", shop.ErrUnavailable)
	}
	out := make([]Trend, 0, limit)
	for i, id := range ids {
		if len(out) == limit {
			break
		}
		p, err := s.read(ctx, id)
		if errors.Is(err, shop.ErrNotFound) {
			continue // deleted
		}
		if err != nil {
			return nil, fmt.Errorf("trending product %q: %w", id, err)
		}
		if category != "" && p.Category != category {
			continue // moved to another category since
		}
		out = append(out, Trend{Product: p, Views: views[i]})
	}
	return out, nil
}

// List returns a page of one category (through the category index) or of all products.
func (s *Service) List(ctx context.Context, category string, limit int, token string) (Page, error) {
	category = NormalCategory(category)
	var v shop.Violations
	if category != "" {
		checkText(&v, "category", category, 1, MaxCategoryLength)
	}
	if limit == 0 {
		limit = DefaultPageSize
	}
	if limit < 1 || limit > MaxPageSize {
		v.Add("limit", "must be an integer from 1 to 100")
	}
	if err := v.Err(); err != nil {
		return Page{}, err
	}
	scope := "products?category=" + category
	q := ListQuery{Category: category, Limit: limit}
	if token != "" {
		var after PageKey
		if err := s.cursors.Open(scope, token, &after); err != nil || !shop.ValidID(after.ProductID) || after.Category != category {
			return Page{}, shop.Invalid("cursor", "is not a cursor this listing issued")
		}
		q.After = &after
	}
	items, next, err := s.store.List(ctx, q)
	if err != nil {
		return Page{}, fmt.Errorf("list products %s: %w", scope, err)
	}
	return cursor.NewPage(s.cursors, scope, items, next)
}

// Update changes the fields present in f. ifVersion, when set, must be the stored version.
func (s *Service) Update(ctx context.Context, id string, f Fields, ifVersion *int64) (Product, error) {
	if !shop.ValidID(id) {
		return Product{}, shop.Invalid("product_id", shop.IDRule)
	}
	f = f.normalized()
	if err := ValidateUpdate(f); err != nil {
		return Product{}, err
	}
	if f.SetsAbsoluteStock() && ifVersion == nil {
		// An absolute stock figure without a version would silently undo
		// the checkouts that ran since the caller read the product.
		return Product{}, shop.ErrPreconditionRequired
	}
	p, err := s.store.Update(ctx, id, f, ifVersion, s.now())
	if err != nil {
		return Product{}, fmt.Errorf("update product %q: %w", id, err)
	}
	s.invalidate(ctx, id)
	return p, nil
}

// Delete removes a product and returns what it was, so that its images can be removed too.
func (s *Service) Delete(ctx context.Context, id string, ifVersion *int64) (Product, error) {
	if !shop.ValidID(id) {
		return Product{}, shop.Invalid("product_id", shop.IDRule)
	}
	p, err := s.store.Delete(ctx, id, ifVersion)
	if err != nil {
		return Product{}, fmt.Errorf("delete product %q: %w", id, err)
	}
	s.invalidate(ctx, id)
	return p, nil
}
