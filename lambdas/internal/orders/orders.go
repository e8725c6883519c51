// Package orders is checkout, order history and the customer profile. A
// checkout turns the caller's cart into an order in one DynamoDB transaction
// that also takes the stock and records the idempotency key's answer, so a
// retry never orders twice and stock never goes below zero.
package orders

import (
	"context"
	"time"
)

// Item is one line of an order, priced when the order was placed.
type Item struct {
	ProductID string `json:"product_id" dynamodbav:"product_id"`
	Name      string `json:"name" dynamodbav:"name"`
	UnitPrice int64  `json:"unit_price" dynamodbav:"unit_price"`
	Quantity  int    `json:"quantity" dynamodbav:"quantity"`
	LineTotal int64  `json:"line_total" dynamodbav:"line_total"`
}

// Order is a placed order.
type Order struct {
	OrderID   string `json:"order_id" dynamodbav:"order_id"`
	UserID    string `json:"user_id" dynamodbav:"user_id"`
	Status    string `json:"status" dynamodbav:"status"`
	Items     []Item `json:"items" dynamodbav:"items"`
	Currency  string `json:"currency" dynamodbav:"currency"`
	Total     int64  `json:"total" dynamodbav:"total"`
	CreatedAt string `json:"created_at" dynamodbav:"created_at"`
	Note      string `json:"note,omitempty" dynamodbav:"note,omitempty"`
}

// StatusPlaced is the status of an order that checkout created.
const StatusPlaced = "placed"

// Customer is a user's profile. Email comes from the identity provider.
type Customer struct {
	UserID     string `json:"user_id" dynamodbav:"user_id"`
	Email      string `json:"email" dynamodbav:"email"`
	Name       string `json:"name" dynamodbav:"name"`
	CreatedAt  string `json:"created_at" dynamodbav:"created_at"`
	OrderCount int64  `json:"order_count" dynamodbav:"order_count"`
}

// Attempt is an idempotency key's record: in flight until LockUntil, or done
// with the order it produced.
type Attempt struct {
	Fingerprint string
	Done        bool
	Order       *Order
	LockUntil   time.Time
}

// PageKey is where an order listing resumes.
type PageKey struct {
	OrderID string `json:"o"`
}

// Store keeps orders, idempotency keys and customers.
type Store interface {
	// Claim records key as in flight for userID until lockUntil, owned by
	// token. When the key exists and is done, or in flight and not expired, it
	// claims nothing and returns that record.
	Claim(ctx context.Context, userID, key, fingerprint, token string, lockUntil, now time.Time) (*Attempt, error)
	// Release deletes the in-flight claim that token owns (after a failure that
	// changed nothing), so that a retry may proceed at once.
	Release(ctx context.Context, userID, key, token string) error
	// Commit, in one transaction: takes each item's quantity from stock if
	// enough remains at the price the order carries; puts the order; marks key
	// done with the order (if token still owns it); counts the order on the
	// customer. It returns a *shop.ConflictError naming the items at fault, or
	// changes nothing.
	Commit(ctx context.Context, o Order, key, token string, who Customer, now time.Time) error
	// Get returns one of userID's orders or shop.ErrNotFound.
	Get(ctx context.Context, userID, orderID string) (Order, error)
	// List returns userID's orders, newest first, after the given key.
	List(ctx context.Context, userID string, limit int, after *PageKey) ([]Order, *PageKey, error)
	// Customer returns the profile or shop.ErrNotFound.
	Customer(ctx context.Context, userID string) (Customer, error)
	// CreateCustomer stores c unless a profile exists, and returns the stored one.
	CreateCustomer(ctx context.Context, c Customer) (Customer, error)
	// Rename sets the name, creating the profile from c if needed.
	Rename(ctx context.Context, c Customer) (Customer, error)
}
