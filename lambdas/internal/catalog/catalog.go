// Package catalog is the product catalogue: what a product is, the rules a
// product must follow, and the use cases (create, read, list, change, remove)
// over a Store that keeps products with optimistic locking.
package catalog

import (
	"context"
	"time"
)

// Product is one thing the shop sells. Money is in minor units of Currency.
type Product struct {
	ProductID   string `json:"product_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Price       int64  `json:"price"`
	Currency    string `json:"currency"`
	Category    string `json:"category"`
	// Stock: OnHand is what the shop has (what a stock-take counts), Held
	// what pending orders hold, and Quantity what can still be sold,
	// OnHand - Held. Every store keeps 0 <= Held <= OnHand.
	Quantity int64   `json:"quantity"`
	OnHand   int64   `json:"on_hand"`
	Held     int64   `json:"held"`
	ImageURL *string `json:"image_url"`
	ImageKey string  `json:"-"`
	// Incarnation tells apart the products that one id named over time: a
	// product deleted and created again is a new incarnation, and an order
	// that held units of the old one returns nothing to the new one.
	Incarnation string `json:"-"`
	// UpdatedBy is the sub of who last created or changed the product; it is
	// kept for accountability and not shown on the public catalogue.
	UpdatedBy string `json:"-"`
	Version   int64  `json:"version"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// Fields are the writable fields of a product as a client sent them; nil means
// absent. Create needs the required ones; Update changes only those present.
type Fields struct {
	ProductID   *string
	Name        *string
	Description *string
	Price       *int64
	Currency    *string
	Category    *string
	// Quantity is the available stock: the opening stock of a new product
	// (OnHand, nothing held), or in an update the available figure, which
	// sets OnHand to Quantity + Held.
	Quantity *int64
	// OnHand is a stock-take (an update only): the units held by pending
	// orders stay held, and OnHand below them is a conflict.
	OnHand *int64
	// QuantityDelta moves OnHand (and so the available stock) by a signed
	// amount, atomically, never taking the available stock below zero (an
	// update only). An update sets at most one of Quantity, OnHand and
	// QuantityDelta.
	QuantityDelta *int64
	// By is the caller's sub, for UpdatedBy; never from the body.
	By string
}

// PageKey is where a listing resumes: the last product of the previous page.
// Category is set when the listing goes through the category index.
type PageKey struct {
	ProductID string `json:"p"`
	Category  string `json:"c,omitempty"`
}

// ListQuery asks for one page of products, of one category or of all.
type ListQuery struct {
	Category string
	Limit    int
	After    *PageKey
}

// Cache is a read-through cache in front of the store, which also counts
// views and knows what is trending. Writers invalidate what they wrote.
type Cache interface {
	Invalidator
	// Get returns the product, from the cache or from load.
	Get(ctx context.Context, id string, load func(context.Context, string) (Product, error)) (Product, error)
	// View counts one view of p; best effort.
	View(ctx context.Context, p Product)
	// Trending is up to n product ids, most viewed in the window first, and
	// their views; ok is false when the cache cannot be asked.
	Trending(ctx context.Context, category string, n int) (ids []string, views []int64, ok bool)
}

// Invalidator drops products from the cache after they were written (by
// any function: the catalogue, checkout, cancel, expiry, an image linked).
type Invalidator interface {
	Invalidate(ctx context.Context, ids ...string)
}

// Store keeps products. Implementations return errors wrapping shop.ErrExists,
// shop.ErrNotFound and shop.ErrStale for the cases their methods name.
type Store interface {
	// Create stores p unless a product with its id exists (shop.ErrExists),
	// with p.Quantity as its stock on hand and nothing held.
	Create(ctx context.Context, p Product) error
	// Get returns the product or shop.ErrNotFound.
	Get(ctx context.Context, id string) (Product, error)
	// List returns up to q.Limit products in key order and, when more may
	// follow, the key to resume after.
	List(ctx context.Context, q ListQuery) ([]Product, *PageKey, error)
	// Update applies the fields present in f, bumps the version and stamps
	// updatedAt and f.By. ifVersion, when set, must equal the stored version
	// (shop.ErrStale). A QuantityDelta that would take the available stock
	// below zero, or an OnHand below the held units, is a
	// *shop.ConflictError "insufficient-stock" and changes nothing.
	Update(ctx context.Context, id string, f Fields, ifVersion *int64, updatedAt time.Time) (Product, error)
	// Delete removes the product and returns what it was. ifVersion as in Update.
	Delete(ctx context.Context, id string, ifVersion *int64) (Product, error)
}
