// Package cart is the shopping cart: whose it is, the rules for its lines, and
// the use cases (read, set a line, remove a line, clear, merge a guest cart into
// a user's) over a Store that keeps only product ids and quantities. Names and
// prices always come from the catalogue when a cart is read.
package cart

import (
	"context"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
)

const (
	// MaxQuantity is the most units of one product a line may hold.
	MaxQuantity = 99
	// MaxLines bounds the lines of a cart, well below the 100 items of one
	// DynamoDB transaction, which checkout spends on one per line plus three.
	MaxLines = 50
	// SessionBytes is the randomness of a guest session token: 256 bits from
	// crypto/rand, sent as 43 characters of unpadded base64url.
	SessionBytes = 32
)

// Owner is whose cart it is: a signed-in user (the token's sub) or a guest
// session (ID is the SHA-256 of the server-issued token, so the cache never
// holds a usable token). The two never share a key.
type Owner struct {
	Guest bool
	ID    string
}

// Key is the owner's cart name in the store, e.g. "u:<sub>" or "g:<session>".
func (o Owner) Key() string {
	if o.Guest {
		return "g:" + o.ID
	}
	return "u:" + o.ID
}

// Lines are a cart as stored: product id to quantity.
type Lines map[string]int

// Store keeps carts with a sliding expiry. Every method is atomic on one cart
// and renews the cart's expiry to ttl from now.
type Store interface {
	// Get returns the lines (empty when there is no cart) and renews the expiry.
	Get(ctx context.Context, o Owner, ttl time.Duration) (Lines, error)
	// Set sets one line. A new line beyond MaxLines is an ErrFull; a guest's
	// line whose session is no longer open (closed, or taken by a merge
	// meanwhile) is an ErrInvalidSession and changes nothing.
	Set(ctx context.Context, o Owner, productID string, quantity int, ttl time.Duration) error
	// Remove deletes lines; absent ones are fine.
	Remove(ctx context.Context, o Owner, ttl time.Duration, productIDs ...string) error
	// Clear deletes the cart.
	Clear(ctx context.Context, o Owner) error
	// ClearIf deletes the cart only if it still holds exactly want, and
	// reports whether it did. A change made meanwhile is never lost.
	ClearIf(ctx context.Context, o Owner, want Lines) (bool, error)
	// Merge adds lines into o's cart, each line capped at caps[product] (and
	// MaxQuantity; a product without a cap is not added), as one atomic step
	// recorded under mergeID: applying the same mergeID again changes nothing
	// and answers the same. It returns o's lines afterwards and the units it
	// added of each line.
	Merge(ctx context.Context, o Owner, mergeID string, lines Lines, caps map[string]int, ttl time.Duration) (after, added Lines, err error)
}

// Sessions keeps guest sessions by id (Owner.ID of a guest), each with a
// sliding expiry.
type Sessions interface {
	// Open stores a new session for ttl.
	Open(ctx context.Context, id string, ttl time.Duration) error
	// Touch renews the session's expiry to ttl from now and reports whether
	// it exists (false: never issued, expired or revoked).
	Touch(ctx context.Context, id string, ttl time.Duration) (bool, error)
	// Close revokes the session and drops its cart, at once.
	Close(ctx context.Context, id string) error
	// Take ends the session for a merge: at once, it revokes the session
	// and takes its cart, keeping the lines under the session for ttl, so
	// that no guest write acknowledged before is lost and none is accepted
	// after (a guest's Set needs its session). A session taken already
	// answers its lines again: a merge that failed after the take (the
	// user's cart is in another slot, so one script cannot do both) is
	// retried with the same session. ok is false when the session was
	// never issued, expired, was closed, or its merge finished (Forget).
	Take(ctx context.Context, id string, ttl time.Duration) (lines Lines, ok bool, err error)
	// Forget drops a taken session's lines once its merge is applied:
	// after it, the session is useless.
	Forget(ctx context.Context, id string) error
}

// Products is what the cart reads of the catalogue.
type Products interface {
	Get(ctx context.Context, id string) (catalog.Product, error)
	// GetMany returns the products that exist among ids, by id.
	GetMany(ctx context.Context, ids []string) (map[string]catalog.Product, error)
}

// Line is one line of a cart as the client sees it.
type Line struct {
	ProductID string `json:"product_id"`
	Name      string `json:"name"`
	UnitPrice int64  `json:"unit_price"`
	Quantity  int    `json:"quantity"`
	LineTotal int64  `json:"line_total"`
}

// Cart is a cart as the client sees it, priced from the catalogue.
type Cart struct {
	Items     []Line  `json:"items"`
	Currency  string  `json:"currency"`
	Subtotal  int64   `json:"subtotal"`
	ItemCount int     `json:"item_count"`
	ExpiresAt *string `json:"expires_at"`
	// NotMerged, in a merge's answer only, are the guest's units that could
	// not be added to the user's cart, and why.
	NotMerged []NotMerged `json:"not_merged,omitempty"`
}

// NotMerged is a guest line, or part of one, that a merge could not add.
type NotMerged struct {
	ProductID string `json:"product_id"`
	Quantity  int    `json:"quantity"`
	Reason    string `json:"reason"` // unavailable, insufficient-stock, quantity-limit, cart-full
}

// Session is a new guest session as the client gets it.
type Session struct {
	SessionID string `json:"session_id"`
	ExpiresAt string `json:"expires_at"`
}
