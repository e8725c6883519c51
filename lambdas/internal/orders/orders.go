// Package orders is checkout, the order lifecycle, order history and the
// customer profile. A checkout turns the caller's cart into a pending order
// in one DynamoDB transaction that also holds the stock, takes one of the
// caller's pending slots and records the idempotency key's answer, so a retry
// never orders twice and stock never goes below zero. A pending order is
// confirmed by the payment integration, cancelled by its owner, or expired
// by a scheduled job; each transition is a conditional write on the status,
// and a cancel or an expiry returns the held units in the same transaction,
// so stock moves exactly once whatever races.
package orders

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// Item is one line of an order, priced when the order was placed.
type Item struct {
	ProductID string `json:"product_id" dynamodbav:"product_id"`
	Name      string `json:"name" dynamodbav:"name"`
	UnitPrice int64  `json:"unit_price" dynamodbav:"unit_price"`
	Quantity  int    `json:"quantity" dynamodbav:"quantity"`
	LineTotal int64  `json:"line_total" dynamodbav:"line_total"`
	// Incarnation is the product's when the order was placed: when the hold
	// ends, its units go back only to that incarnation, never to a product
	// deleted and created again under the same id.
	Incarnation string `json:"-" dynamodbav:"incarnation,omitempty"`
}

// Order is a placed order.
type Order struct {
	OrderID string `json:"order_id" dynamodbav:"order_id"`
	UserID  string `json:"user_id" dynamodbav:"user_id"`
	Status  string `json:"status" dynamodbav:"status"`
	// ExpiresAt ends the hold of a pending order (RFC 3339): unconfirmed by
	// then, it expires and its units go back to stock.
	ExpiresAt string `json:"expires_at" dynamodbav:"hold_until"`
	// PaymentReference is the payment integration's, set by confirm.
	PaymentReference *string `json:"payment_reference" dynamodbav:"payment_reference,omitempty"`
	Items            []Item  `json:"items" dynamodbav:"items"`
	Currency         string  `json:"currency" dynamodbav:"currency"`
	Total            int64   `json:"total" dynamodbav:"total"`
	CreatedAt        string  `json:"created_at" dynamodbav:"created_at"`
	Note             string  `json:"note,omitempty" dynamodbav:"note,omitempty"`
	// HeldStock says the order's units are counted in its products' held
	// figure (every order placed since the shop counted held units): a sale
	// takes them off held and on hand, a cancel or an expiry moves them
	// from held back to available. An order placed before took its units
	// off the stock outright; its end adds them back, and a sale moves
	// nothing.
	HeldStock bool `json:"-" dynamodbav:"held_stock,omitempty"`
}

// Order statuses.
const (
	StatusPending   = "pending"   // checkout created it; its units are held
	StatusConfirmed = "confirmed" // paid: the hold became a sale
	StatusCancelled = "cancelled" // its owner cancelled it; units returned
	StatusExpired   = "expired"   // unconfirmed at ExpiresAt; units returned
)

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
	// claims nothing and returns that record. A claim of key that token
	// holds already (an earlier attempt of the same call) is claimed.
	Claim(ctx context.Context, userID, key, fingerprint, token string, lockUntil, now time.Time) (*Attempt, error)
	// Lookup reads key's record (strongly consistent): nil when there is
	// none. After Release, it tells whether the checkout committed.
	Lookup(ctx context.Context, userID, key string) (*Attempt, error)
	// Release deletes the in-flight claim that token owns (after a failure that
	// changed nothing), so that a retry may proceed at once.
	Release(ctx context.Context, userID, key, token string) error
	// Commit, in one transaction: takes each item's quantity from stock if
	// enough remains at the price the order carries; puts the order; marks key
	// done with the order (if token still owns it); counts the order on the
	// customer. It returns a *shop.ConflictError naming the items at fault, or
	// changes nothing.
	//
	// It also takes pending slot slot of the customer (one of the
	// MaxPending places a pending order holds until its ExpiresAt), which
	// must be free or past its hold: else ErrSlotTaken, and nothing changes.
	// And it counts the order's units of each product on the customer, which
	// its pending orders may hold maxUnits of at most: else HoldLimit, and
	// nothing changes. Cancel, Confirm and ExpireDue count them off again.
	Commit(ctx context.Context, o Order, key, token string, who Customer, slot, maxUnits int, now time.Time) error
	// Holds returns the end of the hold in each of the customer's pending
	// slots 0..n-1, the zero time for a free one.
	Holds(ctx context.Context, userID string, n int) ([]time.Time, error)
	// Cancel marks userID's pending order cancelled and returns its units
	// to stock, in one transaction. A cancelled order is returned as it is
	// (nothing moves twice); a confirmed or expired one is NotPending.
	Cancel(ctx context.Context, userID, orderID string, now time.Time) (Order, error)
	// Confirm marks a pending order whose hold has not ended confirmed with
	// the payment's reference. A cancelled or expired order is
	// NotPending; a payment whose amount or currency is not the order's is
	// ErrAmountMismatch (checked by CheckPaid), and nothing changes. The same
	// reference again returns the order as it is; another is a
	// *shop.ConflictError "payment-reference-mismatch"; an order whose hold
	// ended is NotPending.
	Confirm(ctx context.Context, orderID string, pay Payment, now time.Time) (Order, error)
	// ExpireDue expires up to limit pending orders whose hold ended before
	// now, each with its stock return in one transaction, up to workers at
	// once but never two that write the same item (RunApart), and returns
	// the orders it expired. A due order that cannot be read is set aside
	// (quarantined, recorded on the order) and the others go on.
	ExpireDue(ctx context.Context, now time.Time, limit, workers int) (Expiry, error)
	// OldestDue is the end of the hold of the oldest order due at now, the
	// zero time when none is.
	OldestDue(ctx context.Context, now time.Time) (time.Time, error)
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

// Expiry is what one ExpireDue did.
type Expiry struct {
	// Due is how many due orders the run found (at most its limit).
	Due     int
	Expired []Order
	// Quarantined names the poison orders set aside (user id / sort key).
	Quarantined []string
	// Retries counts the transactions repeated after a conflict.
	Retries int
}

// Payment is what the payment integration says was paid for an order.
type Payment struct {
	Reference string
	Amount    int64 // in the currency's minor unit, as the order's total
	Currency  string
}

// CheckPaid is the payment's rule against the order it confirms: the amount
// and currency paid are the order's total and currency, or a
// *shop.ConflictError "amount-mismatch" (a payment integration's bug must
// not confirm an order whatever was paid).
func CheckPaid(o Order, pay Payment) error {
	if pay.Amount == o.Total && pay.Currency == o.Currency {
		return nil
	}
	return &shop.ConflictError{Reason: "amount-mismatch",
		Detail: fmt.Sprintf("The payment is %d %s; the order's total is %d %s.", pay.Amount, pay.Currency, o.Total, o.Currency)}
}

// HoldLimit is a checkout whose lines would take the caller's units of a
// product across their pending orders past max; held is what they hold
// already, by product id.
func HoldLimit(o Order, held map[string]int64, max int) error {
	var fields []shop.FieldError
	for _, it := range o.Items {
		if h := held[it.ProductID]; h+int64(it.Quantity) > int64(max) {
			fields = append(fields, shop.FieldError{Field: "items." + it.ProductID,
				Message: fmt.Sprintf("your pending orders hold %d of this product and may hold %d at most; %d requested", h, max, it.Quantity)})
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return &shop.ConflictError{Reason: "hold-limit", Detail: "Your pending orders would hold more of a product than one customer may; pay for or cancel one, or order fewer.", Fields: fields}
}

// ErrSlotTaken is a pending slot that another checkout took meanwhile.
var ErrSlotTaken = errors.New("pending slot taken")

// NotPending is the refusal of a transition of an order that is no longer
// pending, in status.
func NotPending(status string) error {
	return &shop.ConflictError{Reason: "order-not-pending", Detail: "The order is " + status + ", not pending."}
}

// PendingLimitError is a checkout by a caller who holds the most pending
// orders allowed; the earliest of them ends its hold after RetryAfter.
type PendingLimitError struct {
	Max        int
	RetryAfter time.Duration
}

func (e *PendingLimitError) Error() string {
	return fmt.Sprintf("%d pending orders: the limit; one ends its hold in %v", e.Max, e.RetryAfter)
}
