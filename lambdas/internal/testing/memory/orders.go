package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/internal/orders"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

var _ orders.Store = (*Orders)(nil)

// Orders is an orders.Store in maps. Commit takes stock from Products under
// both stores' locks, so it is as atomic as DynamoDB's transaction.
type Orders struct {
	mu        sync.Mutex
	products  *Products
	orders    map[string]orders.Order // by user id + order id
	attempts  map[string]*attempt     // by user id + key
	customers map[string]orders.Customer
	holds     map[string]map[int]time.Time // user -> slot -> end of hold
	slots     map[string]int               // user/order -> slot it holds
	held      map[string]map[string]int64  // user -> product -> units its pending orders hold
}

type attempt struct {
	orders.Attempt
	token string
}

// NewOrders returns an empty store whose checkouts take stock from products.
func NewOrders(products *Products) *Orders {
	return &Orders{products: products, orders: map[string]orders.Order{}, attempts: map[string]*attempt{}, customers: map[string]orders.Customer{},
		holds: map[string]map[int]time.Time{}, slots: map[string]int{}, held: map[string]map[string]int64{}}
}

func (m *Orders) Claim(_ context.Context, userID, key, fp, token string, lockUntil, now time.Time) (*orders.Attempt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a, ok := m.attempts[userID+"/"+key]; ok && !a.Done && a.token == token {
		return nil, nil // ours already
	}
	if a, ok := m.attempts[userID+"/"+key]; ok && (a.Done || !a.LockUntil.Before(now)) {
		prev := a.Attempt
		return &prev, nil
	}
	m.attempts[userID+"/"+key] = &attempt{Attempt: orders.Attempt{Fingerprint: fp, LockUntil: lockUntil}, token: token}
	return nil, nil
}

func (m *Orders) Lookup(_ context.Context, userID, key string) (*orders.Attempt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.attempts[userID+"/"+key]
	if !ok {
		return nil, nil
	}
	found := a.Attempt
	return &found, nil
}

func (m *Orders) Release(_ context.Context, userID, key, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a, ok := m.attempts[userID+"/"+key]; ok && !a.Done && a.token == token {
		delete(m.attempts, userID+"/"+key)
	}
	return nil
}

func (m *Orders) Commit(_ context.Context, o orders.Order, key, token string, who orders.Customer, slot, maxUnits int, now time.Time) error {
	m.products.mu.Lock()
	defer m.products.mu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	var short []shop.FieldError
	for _, it := range o.Items {
		p, ok := m.products.items[it.ProductID]
		switch {
		case !ok:
			short = append(short, shop.FieldError{Field: "items." + it.ProductID, Message: "is no longer sold"})
		case p.Incarnation != it.Incarnation:
			short = append(short, shop.FieldError{Field: "items." + it.ProductID, Message: "was replaced by another product with this id; review the cart"})
		case p.Quantity < int64(it.Quantity):
			short = append(short, shop.FieldError{Field: "items." + it.ProductID, Message: fmt.Sprintf("only %d in stock, %d requested", p.Quantity, it.Quantity)})
		case p.Price != it.UnitPrice || p.Currency != o.Currency:
			short = append(short, shop.FieldError{Field: "items." + it.ProductID, Message: fmt.Sprintf("the price changed to %d; review the cart", p.Price)})
		}
	}
	if len(short) > 0 {
		return &shop.ConflictError{Reason: "insufficient-stock", Detail: "Some lines cannot be filled; nothing was ordered.", Fields: short}
	}
	a, ok := m.attempts[o.UserID+"/"+key]
	if !ok || a.Done || a.token != token {
		return &shop.ConflictError{Reason: "checkout-in-progress", Detail: "This Idempotency-Key was taken over by another attempt."}
	}
	hold, err := time.Parse(time.RFC3339, o.ExpiresAt)
	if err != nil {
		return fmt.Errorf("order expires_at %q: %w", o.ExpiresAt, err)
	}
	if h, taken := m.holds[o.UserID][slot]; taken && h.After(now) {
		return orders.ErrSlotTaken
	}
	if err := orders.HoldLimit(o, m.held[o.UserID], maxUnits); err != nil {
		return err
	}
	if m.held[o.UserID] == nil {
		m.held[o.UserID] = map[string]int64{}
	}
	for _, it := range o.Items {
		m.held[o.UserID][it.ProductID] += int64(it.Quantity)
	}
	if m.holds[o.UserID] == nil {
		m.holds[o.UserID] = map[int]time.Time{}
	}
	m.holds[o.UserID][slot] = hold
	m.slots[o.UserID+"/"+o.OrderID] = slot
	at := now.Format(time.RFC3339)
	for _, it := range o.Items {
		p := m.products.items[it.ProductID]
		p.Quantity -= int64(it.Quantity)
		p.Held += int64(it.Quantity)
		p.Version++
		p.UpdatedAt = at
		m.products.items[it.ProductID] = p
	}
	m.orders[o.UserID+"/"+o.OrderID] = o
	placed := o
	a.Done, a.Order = true, &placed
	c, ok := m.customers[o.UserID]
	if !ok {
		c = who
	}
	c.OrderCount++
	m.customers[o.UserID] = c
	return nil
}

func (m *Orders) Get(_ context.Context, userID, orderID string) (orders.Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.orders[userID+"/"+orderID]
	if !ok {
		return orders.Order{}, shop.ErrNotFound
	}
	return o, nil
}

func (m *Orders) List(_ context.Context, userID string, limit int, after *orders.PageKey) ([]orders.Order, *orders.PageKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var list []orders.Order
	for _, o := range m.orders {
		if o.UserID == userID && (after == nil || o.OrderID < after.OrderID) {
			list = append(list, o)
		}
	}
	// Newest first: order ids are ULIDs, which sort by time.
	slices.SortFunc(list, func(a, b orders.Order) int { return cmp.Compare(b.OrderID, a.OrderID) })
	if len(list) > limit {
		return list[:limit], &orders.PageKey{OrderID: list[limit-1].OrderID}, nil
	}
	return list, nil, nil
}

func (m *Orders) Customer(_ context.Context, userID string) (orders.Customer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.customers[userID]
	if !ok {
		return orders.Customer{}, shop.ErrNotFound
	}
	return c, nil
}

func (m *Orders) CreateCustomer(_ context.Context, c orders.Customer) (orders.Customer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.customers[c.UserID]; ok {
		return old, nil
	}
	m.customers[c.UserID] = c
	return c, nil
}

func (m *Orders) Rename(_ context.Context, c orders.Customer) (orders.Customer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.customers[c.UserID]
	if !ok {
		old = orders.Customer{UserID: c.UserID, Email: c.Email, CreatedAt: c.CreatedAt}
	}
	old.Name = c.Name
	m.customers[c.UserID] = old
	return old, nil
}

func (m *Orders) Holds(_ context.Context, userID string, n int) ([]time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]time.Time, n)
	for i := range n {
		out[i] = m.holds[userID][i]
	}
	return out, nil
}

// finish moves a pending order to status, its units sold (sell) or back to
// available; the caller holds both locks.
func (m *Orders) finish(o orders.Order, status string, sell bool, now time.Time) orders.Order {
	o.Status = status
	if held := m.held[o.UserID]; held != nil { // no longer pending: its units no longer count
		for _, it := range o.Items {
			held[it.ProductID] -= int64(it.Quantity)
		}
	}
	m.orders[o.UserID+"/"+o.OrderID] = o
	for _, it := range o.Items {
		// A deleted product, or one created again since, takes nothing.
		if p, ok := m.products.items[it.ProductID]; ok && p.Incarnation == it.Incarnation {
			p.Held -= int64(it.Quantity)
			if sell {
				p.OnHand -= int64(it.Quantity)
			}
			p.Quantity = p.OnHand - p.Held
			p.Version++
			p.UpdatedAt = now.Format(time.RFC3339)
			m.products.items[it.ProductID] = p
		}
	}
	// A confirm frees the slot, unless a newer order took it after this
	// one's hold ended; a cancelled order keeps it until its hold would
	// have ended, and an expired one's hold has ended (free for checkout).
	if slot, ok := m.slots[o.UserID+"/"+o.OrderID]; ok && status == orders.StatusConfirmed {
		if h := m.holds[o.UserID][slot]; h.Format(time.RFC3339) == o.ExpiresAt {
			delete(m.holds[o.UserID], slot)
		}
		delete(m.slots, o.UserID+"/"+o.OrderID)
	}
	return o
}

func (m *Orders) Cancel(_ context.Context, userID, orderID string, now time.Time) (orders.Order, error) {
	m.products.mu.Lock()
	defer m.products.mu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.orders[userID+"/"+orderID]
	switch {
	case !ok:
		return orders.Order{}, shop.ErrNotFound
	case o.Status == orders.StatusCancelled:
		return o, nil
	case o.Status != orders.StatusPending:
		return orders.Order{}, orders.NotPending(o.Status)
	}
	return m.finish(o, orders.StatusCancelled, false, now), nil
}

func (m *Orders) Confirm(_ context.Context, orderID string, pay orders.Payment, now time.Time) (orders.Order, error) {
	m.products.mu.Lock()
	defer m.products.mu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	var o orders.Order
	found := false
	for _, x := range m.orders {
		if x.OrderID == orderID {
			o, found = x, true
		}
	}
	if !found {
		return orders.Order{}, shop.ErrNotFound
	}
	hold, _ := time.Parse(time.RFC3339, o.ExpiresAt)
	ref := pay.Reference
	switch {
	case o.Status != orders.StatusPending && o.Status != orders.StatusConfirmed:
		return orders.Order{}, orders.NotPending(o.Status)
	case orders.CheckPaid(o, pay) != nil:
		return orders.Order{}, orders.CheckPaid(o, pay)
	case o.Status == orders.StatusConfirmed && o.PaymentReference != nil && *o.PaymentReference == ref:
		return o, nil
	case o.Status == orders.StatusConfirmed:
		return orders.Order{}, &shop.ConflictError{Reason: "payment-reference-mismatch", Detail: "The order was confirmed with another payment reference."}
	case o.Status != orders.StatusPending:
		return orders.Order{}, orders.NotPending(o.Status)
	case !hold.After(now):
		return orders.Order{}, orders.NotPending("past its hold")
	}
	o.PaymentReference = &ref
	return m.finish(o, orders.StatusConfirmed, true, now), nil
}

func (m *Orders) ExpireDue(_ context.Context, now time.Time, limit, _ int) (orders.Expiry, error) {
	m.products.mu.Lock()
	defer m.products.mu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	due := m.due(now)
	var run orders.Expiry
	run.Due = min(limit, len(due))
	for _, o := range due[:run.Due] {
		run.Expired = append(run.Expired, m.finish(o, orders.StatusExpired, false, now))
	}
	return run, nil
}

func (m *Orders) OldestDue(_ context.Context, now time.Time) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	due := m.due(now)
	if len(due) == 0 {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339, due[0].ExpiresAt)
}

// due is the pending orders whose hold ended by now, oldest first; the
// caller holds m.mu.
func (m *Orders) due(now time.Time) []orders.Order {
	var due []orders.Order
	for _, o := range m.orders {
		if hold, _ := time.Parse(time.RFC3339, o.ExpiresAt); o.Status == orders.StatusPending && !hold.After(now) {
			due = append(due, o)
		}
	}
	slices.SortFunc(due, func(a, b orders.Order) int { return cmp.Compare(a.ExpiresAt, b.ExpiresAt) })
	return due
}
