package orders

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/go-cdk-shop/shop/lambdas/internal/cart"
	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/cursor"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// Limits of the requests.
const (
	MaxIdempotencyKey = 128
	MaxNameLength     = 100
	// DefaultLock is how long a claim holds when the context has no deadline
	// (locally); in Lambda the claim ends with the invocation's deadline.
	DefaultLock = 30 * time.Second
)

// Carts is what checkout needs of the cart.
type Carts interface {
	Priced(ctx context.Context, o cart.Owner) (cart.Lines, map[string]catalog.Product, error)
	ClearIf(ctx context.Context, o cart.Owner, lines cart.Lines) (bool, error)
}

// Limits are a stage's rules for pending orders.
type Limits struct {
	// Hold is how long a pending order holds its units before it expires.
	Hold time.Duration
	// MaxPending is how many pending orders a user may hold at once.
	MaxPending int
	// MaxUnitsHeld is how many units of one product a user's pending orders
	// may hold together, so that no one account hoards a scarce product.
	MaxUnitsHeld int
}

// DefaultLimits: a 15-minute hold, 3 pending orders per user, 10 units of a
// product across them.
var DefaultLimits = Limits{Hold: 15 * time.Minute, MaxPending: 3, MaxUnitsHeld: 10}

// Service is checkout, the order lifecycle, order history and the profile.
type Service struct {
	store    Store
	carts    Carts
	cursors  *cursor.Codec
	currency string
	limits   Limits
	log      *slog.Logger
	now      func() time.Time
	inv      catalog.Invalidator // the product cache, when there is one
}

// Options are the service's optional collaborators.
type Options struct {
	// Invalidator is the product cache, told of the products whose stock
	// moves; nil without one.
	Invalidator catalog.Invalidator
	// Now is the clock (tests of holds and expiry move it); nil is the
	// system clock.
	Now func() time.Time
}

// NewService returns the service. currency is the carts' currency; carts is
// nil for the expiry job, which checks nothing out.
func NewService(store Store, carts Carts, cursors *cursor.Codec, currency string, limits Limits, log *slog.Logger, o Options) *Service {
	now := o.Now
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	return &Service{store: store, carts: carts, cursors: cursors, currency: currency, limits: limits, log: log, now: now, inv: o.Invalidator}
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// CheckKey is the rule for an Idempotency-Key: 1 to 128 visible ASCII characters.
func CheckKey(key string) error {
	return checkToken("Idempotency-Key", key, MaxIdempotencyKey, ", new for every checkout")
}

// checkToken is the one rule of a client's opaque token (an Idempotency-Key,
// a payment reference): 1 to max visible ASCII characters; missing says what
// else a missing one should have been.
func checkToken(field, token string, max int, missing string) error {
	rule := fmt.Sprintf("1 to %d visible ASCII characters", max)
	if len(token) == 0 || len(token) > max {
		return shop.Invalid(field, "is required: "+rule+missing)
	}
	for i := 0; i < len(token); i++ {
		if token[i] < 0x21 || token[i] > 0x7e {
			return shop.Invalid(field, "must be "+rule)
		}
	}
	return nil
}

// Request is what a checkout may say besides the cart.
type Request struct {
	Note string // for the shop, e.g. delivery instructions; optional
}

// MaxNoteLength bounds Request.Note.
const MaxNoteLength = 500

// CheckNote is the rule for a checkout note.
func CheckNote(note string) error {
	if problem := shop.TextProblem(note); problem != "" {
		return shop.Invalid("note", problem)
	}
	if utf8.RuneCountInString(note) > MaxNoteLength {
		return shop.Invalid("note", "must be at most "+strconv.Itoa(MaxNoteLength)+" characters")
	}
	return nil
}

// Checkout places an order from the caller's cart. replayed says the key was
// used before and this is that first order again.
func (s *Service) Checkout(ctx context.Context, who shop.Identity, key string, req Request) (o Order, replayed bool, err error) {
	if err := shop.JoinInvalid(CheckKey(key), CheckNote(req.Note)); err != nil {
		return Order{}, false, err
	}
	fp := Fingerprint(req)
	now := s.now()
	lockUntil := now.Add(DefaultLock)
	if d, ok := ctx.Deadline(); ok {
		lockUntil = d
	}
	token := shop.NewID("", now)
	// The claim and the transaction run within the checkout's budget, and
	// the resolution of an open outcome within its own, after it.
	budget, cancel := context.WithTimeout(ctx, CheckoutBudget)
	defer cancel()
	prev, err := s.store.Claim(budget, who.Subject, key, fp, token, lockUntil, now)
	if err != nil {
		return Order{}, false, fmt.Errorf("claim idempotency key: %w", err)
	}
	owner := cart.Owner{ID: who.Subject}
	switch {
	case prev != nil && prev.Fingerprint != fp:
		return Order{}, false, shop.ErrKeyReused
	case prev != nil && prev.Done:
		// The first attempt may have stopped before it emptied the cart.
		s.clearCart(ctx, owner, prev.Order)
		return *prev.Order, true, nil
	case prev != nil:
		return Order{}, false, &shop.ConflictError{Reason: "checkout-in-progress",
			Detail: "A checkout with this Idempotency-Key is still in progress; retry after " + prev.LockUntil.Format(time.RFC3339) + "."}
	}
	o, err = s.place(budget, who, owner, key, token, req, now)
	if err != nil {
		return s.resolve(ctx, who, owner, key, token, err)
	}
	s.clearCart(ctx, owner, &o)
	return o, false, nil
}

// CheckoutBudget bounds a checkout's claim, cart read and transaction
// (contention retried inside it); resolveBudget bounds what follows a
// failure. Together they keep a checkout's answer within the contract's 3
// seconds when the table hangs.
const (
	CheckoutBudget = 2 * time.Second
	resolveBudget  = 800 * time.Millisecond
)

// resolve answers a checkout whose placing failed with err. It frees the
// key so that a retry may proceed at once: the release is conditional on
// the claim still being in flight and ours, and the transaction's own
// idempotency write needs the same, so after the release the transaction
// has either committed or never will. When err left the outcome open (a
// timeout, contention that outlasted the budget), the key's record then
// says which: an order placed after all is answered as placed, not 503
// (issue 26, item 6). One that was not, while the products are visibly
// sold out, is the 409 the shopper would get on a retry.
func (s *Service) resolve(ctx context.Context, who shop.Identity, owner cart.Owner, key, token string, err error) (Order, bool, error) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), resolveBudget)
	defer cancel()
	if rerr := s.store.Release(rctx, who.Subject, key, token); rerr != nil {
		s.log.WarnContext(ctx, "release idempotency key", "error", rerr.Error())
		return Order{}, false, err // the outcome stays open: a retry with the key finds it
	}
	if !errors.Is(err, shop.ErrUnavailable) && !errors.Is(err, shop.ErrThrottled) {
		return Order{}, false, err // a refusal: nothing was written
	}
	a, lerr := s.store.Lookup(rctx, who.Subject, key)
	switch {
	case lerr != nil:
		s.log.WarnContext(ctx, "look up idempotency key", "error", lerr.Error())
		return Order{}, false, err
	case a != nil && a.Done && a.Order != nil:
		s.log.InfoContext(ctx, "checkout resolved: placed", "order_id", a.Order.OrderID, "cause", err.Error())
		s.clearCart(ctx, owner, a.Order)
		return *a.Order, false, nil
	}
	if short := s.soldOut(rctx, owner); short != nil {
		return Order{}, false, short
	}
	return Order{}, false, err
}

// soldOut is the 409 of a cart that asks for more than its products show,
// or nil (also when they cannot be read).
func (s *Service) soldOut(ctx context.Context, owner cart.Owner) error {
	lines, products, err := s.carts.Priced(ctx, owner)
	if err != nil {
		return nil
	}
	return shortOf(lines, products)
}

// shortOf is the 409 of cart lines that ask for more than their products
// show available, naming them; nil when none does.
func shortOf(lines cart.Lines, products map[string]catalog.Product) error {
	var short []shop.FieldError
	for id, q := range lines {
		if have := products[id].Quantity; have < int64(q) {
			short = append(short, shop.FieldError{Field: "items." + id, Message: fmt.Sprintf("only %d in stock, %d requested", max(have, 0), q)})
		}
	}
	if len(short) == 0 {
		return nil
	}
	sort.Slice(short, func(i, j int) bool { return short[i].Field < short[j].Field })
	return &shop.ConflictError{Reason: "insufficient-stock", Detail: "Some lines cannot be filled; nothing was ordered.", Fields: short}
}

func (s *Service) place(ctx context.Context, who shop.Identity, owner cart.Owner, key, token string, req Request, now time.Time) (Order, error) {
	lines, products, err := s.carts.Priced(ctx, owner)
	if err != nil {
		return Order{}, err
	}
	if len(lines) == 0 {
		return Order{}, &shop.ConflictError{Reason: "cart-empty", Detail: "The cart is empty; add items before checking out."}
	}
	ids := make([]string, 0, len(lines))
	for id := range lines {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	o := Order{OrderID: shop.NewID("O", now), UserID: who.Subject, Status: StatusPending, Currency: s.currency,
		CreatedAt: now.Format(time.RFC3339), ExpiresAt: now.Add(s.limits.Hold).Truncate(time.Second).Format(time.RFC3339),
		Items: make([]Item, 0, len(ids)), Note: req.Note, HeldStock: true}
	var gone []shop.FieldError
	for _, id := range ids {
		p, ok := products[id]
		if !ok || p.Currency != s.currency {
			gone = append(gone, shop.FieldError{Field: "items." + id, Message: "is no longer sold; remove it from the cart"})
			continue
		}
		it := Item{ProductID: id, Name: p.Name, UnitPrice: p.Price, Quantity: lines[id], LineTotal: p.Price * int64(lines[id]), Incarnation: p.Incarnation}
		o.Items = append(o.Items, it)
		o.Total += it.LineTotal
	}
	if len(gone) > 0 {
		return Order{}, &shop.ConflictError{Reason: "items-unavailable", Detail: "Some cart lines are no longer sold.", Fields: gone}
	}
	if err := HoldLimit(o, nil, s.limits.MaxUnitsHeld); err != nil {
		return Order{}, err // more than one customer may hold, whatever they hold now
	}
	// Visibly sold out: 409 without a transaction (issue 26, item 6), so a
	// flash sale's losers are answered at once and do not contend with its
	// winners. The read is never older than an acknowledged write that took
	// stock; one that returned stock may not show yet, which refuses a
	// checkout that a moment later would pass (the shopper retries).
	if err := shortOf(lines, products); err != nil {
		return Order{}, err
	}
	customer := Customer{UserID: who.Subject, Email: who.Email, Name: who.Name, CreatedAt: o.CreatedAt}
	// A pending order takes one of the caller's MaxPending slots: a free one,
	// or one whose hold has ended. Another checkout may take it first; then
	// look again.
	for attempt := 0; ; attempt++ {
		slot, retryAfter, err := s.freeSlot(ctx, who.Subject, now)
		if err != nil {
			return Order{}, err
		}
		if slot < 0 {
			return Order{}, &PendingLimitError{Max: s.limits.MaxPending, RetryAfter: retryAfter}
		}
		err = s.store.Commit(ctx, o, key, token, customer, slot, s.limits.MaxUnitsHeld, now)
		if errors.Is(err, ErrSlotTaken) && attempt < 3 {
			continue
		}
		if err != nil {
			return Order{}, fmt.Errorf("commit order: %w", err)
		}
		s.invalidate(ctx, o) // stock held: the products changed
		return o, nil
	}
}

// freeSlot is the first of the caller's pending slots that is free or past
// its hold, or -1 and how long until the first hold ends.
func (s *Service) freeSlot(ctx context.Context, userID string, now time.Time) (int, time.Duration, error) {
	holds, err := s.store.Holds(ctx, userID, s.limits.MaxPending)
	if err != nil {
		return 0, 0, fmt.Errorf("read pending slots: %w", err)
	}
	var first time.Time
	for i, h := range holds {
		if h.IsZero() || !h.After(now) {
			return i, 0, nil
		}
		if first.IsZero() || h.Before(first) {
			first = h
		}
	}
	return -1, first.Sub(now), nil
}

// Cancel cancels one of the caller's pending orders and returns its units.
// An order cancelled already is answered as it is.
func (s *Service) Cancel(ctx context.Context, userID, orderID string) (Order, error) {
	if !shop.ValidID(orderID) {
		return Order{}, shop.Invalid("order_id", shop.IDRule)
	}
	o, err := s.store.Cancel(ctx, userID, orderID, s.now())
	if err != nil {
		return Order{}, fmt.Errorf("cancel order %q: %w", orderID, err)
	}
	s.invalidate(ctx, o) // stock returned (or, for a repeat, nothing: harmless)
	return o, nil
}

// MaxReference bounds a payment reference.
const MaxReference = 128

// CheckReference is the rule for a payment reference: 1 to 128 visible
// ASCII characters.
func CheckReference(ref string) error {
	return checkToken("payment_reference", ref, MaxReference, "")
}

// Confirm records the payment of a pending order: its hold becomes a sale.
func (s *Service) Confirm(ctx context.Context, orderID string, pay Payment) (Order, error) {
	var v shop.Violations
	if !shop.ValidID(orderID) {
		v.Add("order_id", shop.IDRule)
	}
	if err := shop.JoinInvalid(v.Err(), CheckReference(pay.Reference)); err != nil {
		return Order{}, err
	}
	o, err := s.store.Confirm(ctx, orderID, pay, s.now())
	if err != nil {
		return Order{}, fmt.Errorf("confirm order %q: %w", orderID, err)
	}
	s.invalidate(ctx, o) // sold: the products' held and on_hand moved
	return o, nil
}

// The expiry job's shape in AWS: a query of up to ExpiryBatch due orders
// (one BatchGetItem reads them), expired by up to ExpiryWorkers at once.
// DynamoDB runs transactions on different items side by side, and each
// order's is a round trip, so workers overlap the waits; DynamoDB Local
// does not, and make local runs one (docs/speed.md, "Expiry").
const (
	ExpiryBatch   = 100
	ExpiryWorkers = 4
)

// ExpiryRun is what one run of the expiry job did and left.
type ExpiryRun struct {
	Expired     int
	Quarantined int
	Retries     int // transactions repeated after a conflict
	// OldestDue is how long the oldest order still due after the run has
	// been due (zero when none is): the job's lag, which an alarm watches.
	OldestDue time.Duration
}

// ExpireDue expires the pending orders whose hold has ended, in batches of
// batch with up to workers at once, until none is left or ctx is nearly
// done, and says what it did. A poison order is set aside and logged, and
// the run goes on. The scheduled job calls it, never a shopper's request.
func (s *Service) ExpireDue(ctx context.Context, batch, workers int) (ExpiryRun, error) {
	var run ExpiryRun
	for {
		if d, ok := ctx.Deadline(); ok && time.Until(d) < 2*time.Second {
			break
		}
		got, err := s.store.ExpireDue(ctx, s.now(), batch, workers)
		run.Expired += len(got.Expired)
		run.Quarantined += len(got.Quarantined)
		run.Retries += got.Retries
		for _, o := range got.Expired {
			s.invalidate(ctx, o)
		}
		for _, key := range got.Quarantined {
			s.log.ErrorContext(ctx, "a pending order cannot be read: set aside (quarantined)", "order", key)
		}
		if err != nil {
			return run, fmt.Errorf("expire orders: %w", err)
		}
		if got.Due < batch {
			break
		}
	}
	now := s.now()
	oldest, err := s.store.OldestDue(ctx, now)
	if err != nil {
		return run, fmt.Errorf("oldest due order: %w", err)
	}
	if !oldest.IsZero() {
		run.OldestDue = now.Sub(oldest)
	}
	return run, nil
}

// clearCart empties the cart if it still holds what was ordered; lines added
// meanwhile stay. A failure is logged: the order stands, and a replay of the
// key tries again.
func (s *Service) clearCart(ctx context.Context, owner cart.Owner, o *Order) {
	lines := cart.Lines{}
	for _, it := range o.Items {
		lines[it.ProductID] = it.Quantity
	}
	if _, err := s.carts.ClearIf(ctx, owner, lines); err != nil {
		s.log.WarnContext(ctx, "empty the cart after checkout", "order_id", o.OrderID, "error", err.Error())
	}
}

// Fingerprint identifies a checkout request: the same key must come with the same request.
func Fingerprint(req Request) string {
	h := sha256.Sum256([]byte("note=" + req.Note))
	return hex.EncodeToString(h[:16])
}

// Get returns one of the caller's orders; another user's is not found.
func (s *Service) Get(ctx context.Context, userID, orderID string) (Order, error) {
	if !shop.ValidID(orderID) {
		return Order{}, shop.Invalid("order_id", shop.IDRule)
	}
	o, err := s.store.Get(ctx, userID, orderID)
	if err != nil {
		return Order{}, fmt.Errorf("get order %q: %w", orderID, err)
	}
	return o, nil
}

// Page is one page of a listing and the cursor of the next.
type Page = cursor.Page[Order]

// List returns the caller's orders, newest first.
func (s *Service) List(ctx context.Context, userID string, limit int, token string) (Page, error) {
	if limit == 0 {
		limit = catalog.DefaultPageSize
	}
	if limit < 1 || limit > catalog.MaxPageSize {
		return Page{}, shop.Invalid("limit", "must be an integer from 1 to "+strconv.Itoa(catalog.MaxPageSize))
	}
	scope := "orders?user=" + userID
	var after *PageKey
	if token != "" {
		var k PageKey
		if err := s.cursors.Open(scope, token, &k); err != nil || !shop.ValidID(k.OrderID) {
			return Page{}, shop.Invalid("cursor", "is not a cursor this listing issued")
		}
		after = &k
	}
	items, next, err := s.store.List(ctx, userID, limit, after)
	if err != nil {
		return Page{}, fmt.Errorf("list orders: %w", err)
	}
	return cursor.NewPage(s.cursors, scope, items, next)
}

// Me returns the caller's profile, creating it from the token's claims on first use.
func (s *Service) Me(ctx context.Context, who shop.Identity) (Customer, error) {
	c, err := s.store.Customer(ctx, who.Subject)
	if errors.Is(err, shop.ErrNotFound) {
		return s.store.CreateCustomer(ctx, Customer{UserID: who.Subject, Email: who.Email, Name: who.Name, CreatedAt: s.now().Format(time.RFC3339)})
	}
	return c, err
}

// CheckName is the rule for a profile name.
func CheckName(name string) error {
	if problem := shop.TextProblem(name); problem != "" {
		return shop.Invalid("name", problem)
	}
	if n := utf8.RuneCountInString(name); n < 1 || n > MaxNameLength {
		return shop.Invalid("name", "must be 1 to "+strconv.Itoa(MaxNameLength)+" characters")
	}
	return nil
}

// Rename sets the caller's name.
func (s *Service) Rename(ctx context.Context, who shop.Identity, name string) (Customer, error) {
	if err := CheckName(name); err != nil {
		return Customer{}, err
	}
	return s.store.Rename(ctx, Customer{UserID: who.Subject, Email: who.Email, Name: name, CreatedAt: s.now().Format(time.RFC3339)})
}

func (s *Service) invalidate(ctx context.Context, o Order) {
	if s.inv == nil {
		return
	}
	ids := make([]string, len(o.Items))
	for i, it := range o.Items {
		ids[i] = it.ProductID
	}
	s.inv.Invalidate(ctx, ids...)
}
