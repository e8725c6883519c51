// Package memory holds in-memory stores for fast unit tests. They follow the
// contracts of the real stores in the cases the tests use; behaviour that
// depends on DynamoDB itself is tested against DynamoDB Local instead.
package memory

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

var _ catalog.Store = (*Products)(nil)

// Products is a catalog.Store in a map.
type Products struct {
	mu    sync.Mutex
	items map[string]catalog.Product
}

// NewProducts returns an empty store.
func NewProducts() *Products { return &Products{items: map[string]catalog.Product{}} }

func (m *Products) Create(_ context.Context, p catalog.Product) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.items[p.ProductID]; ok {
		return shop.ErrExists
	}
	p.OnHand, p.Held = p.Quantity, 0
	m.items[p.ProductID] = p
	return nil
}

func (m *Products) Get(_ context.Context, id string) (catalog.Product, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.items[id]
	if !ok {
		return catalog.Product{}, shop.ErrNotFound
	}
	return p, nil
}

func (m *Products) List(_ context.Context, q catalog.ListQuery) ([]catalog.Product, *catalog.PageKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var all []catalog.Product
	for _, p := range m.items {
		if q.Category == "" || p.Category == q.Category {
			all = append(all, p)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ProductID < all[j].ProductID })
	start := 0
	if q.After != nil {
		start = sort.Search(len(all), func(i int) bool { return all[i].ProductID > q.After.ProductID })
	}
	all = all[start:]
	if len(all) <= q.Limit {
		return all, nil, nil
	}
	last := all[q.Limit-1]
	key := &catalog.PageKey{ProductID: last.ProductID}
	if q.Category != "" {
		key.Category = q.Category
	}
	return all[:q.Limit], key, nil
}

func (m *Products) Update(_ context.Context, id string, f catalog.Fields, ifVersion *int64, at time.Time) (catalog.Product, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, err := m.current(id, ifVersion)
	if err != nil {
		return catalog.Product{}, err
	}
	if err := catalog.StockConflict(p, f); err != nil {
		return catalog.Product{}, err
	}
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&p.Name, f.Name)
	set(&p.Description, f.Description)
	set(&p.Currency, f.Currency)
	set(&p.Category, f.Category)
	if f.Price != nil {
		p.Price = *f.Price
	}
	switch {
	case f.Quantity != nil:
		p.OnHand = *f.Quantity + p.Held
	case f.OnHand != nil:
		p.OnHand = *f.OnHand
	case f.QuantityDelta != nil:
		p.OnHand += *f.QuantityDelta
	}
	p.Quantity = p.OnHand - p.Held
	p.UpdatedBy = f.By
	p.Version++
	p.UpdatedAt = at.UTC().Format(time.RFC3339)
	m.items[id] = p
	return p, nil
}

func (m *Products) Delete(_ context.Context, id string, ifVersion *int64) (catalog.Product, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, err := m.current(id, ifVersion)
	if err != nil {
		return catalog.Product{}, err
	}
	delete(m.items, id)
	return p, nil
}

// GetMany returns the products among ids that exist.
func (m *Products) GetMany(_ context.Context, ids []string) (map[string]catalog.Product, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]catalog.Product{}
	for _, id := range ids {
		if p, ok := m.items[id]; ok {
			out[id] = p
		}
	}
	return out, nil
}

// GetManyConsistent is GetMany: a map is always consistent.
func (m *Products) GetManyConsistent(ctx context.Context, ids []string) (map[string]catalog.Product, error) {
	return m.GetMany(ctx, ids)
}

// SetImage links an image unless the product is gone or a newer one is linked.
func (m *Products) SetImage(_ context.Context, id, key, url string, at time.Time) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.items[id]
	switch {
	case !ok:
		return "", shop.ErrNotFound
	case p.ImageKey == key:
		return key, nil // linked already
	case p.ImageKey != "" && p.ImageKey > key:
		return "", shop.ErrStale
	}
	prev := p.ImageKey
	p.ImageKey, p.ImageURL, p.Version, p.UpdatedAt = key, &url, p.Version+1, at.Format(time.RFC3339)
	m.items[id] = p
	return prev, nil
}

// ClearImage unlinks key if it is the product's image.
func (m *Products) ClearImage(_ context.Context, id, key string, at time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.items[id]
	if !ok || p.ImageKey != key {
		return false, nil
	}
	p.ImageKey, p.ImageURL, p.Version, p.UpdatedAt = "", nil, p.Version+1, at.Format(time.RFC3339)
	m.items[id] = p
	return true, nil
}

// current is the product id at ifVersion (any version when nil); the
// caller holds m.mu.
func (m *Products) current(id string, ifVersion *int64) (catalog.Product, error) {
	p, ok := m.items[id]
	if !ok {
		return catalog.Product{}, shop.ErrNotFound
	}
	if ifVersion != nil && *ifVersion != p.Version {
		return catalog.Product{}, shop.ErrStale
	}
	return p, nil
}
