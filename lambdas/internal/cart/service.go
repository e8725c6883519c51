package cart

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/internal/catalog"
	"github.com/go-cdk-shop/shop/lambdas/internal/shop"
)

// ErrFull is a new line for a cart that has MaxLines already.
var ErrFull = &shop.ConflictError{Reason: "cart-full", Detail: "A cart holds at most " + strconv.Itoa(MaxLines) + " lines; remove one first."}

// TTLs are the sliding idle times of carts.
type TTLs struct {
	User  time.Duration
	Guest time.Duration
}

// For returns the idle time of o's cart.
func (t TTLs) For(o Owner) time.Duration {
	if o.Guest {
		return t.Guest
	}
	return t.User
}

// Service is the cart's use cases.
type Service struct {
	store    Store
	products Products
	currency string
	ttl      TTLs
	now      func() time.Time
}

// NewService returns the cart over store, priced from products in currency.
func NewService(store Store, products Products, currency string, ttl TTLs) *Service {
	return &Service{store: store, products: products, currency: currency, ttl: ttl, now: func() time.Time { return time.Now().UTC() }}
}

// ValidSessionID reports whether s is a guest session id: 16 to 128 characters
// of A-Z a-z 0-9 _ - (a UUID passes).
func ValidSessionID(s string) bool { return shop.ValidToken(s, MinSessionID, MaxSessionID) }

// CheckQuantity is the rule for a line's quantity.
func CheckQuantity(q int64) error {
	if q < 1 || q > MaxQuantity {
		return shop.Invalid("quantity", "must be an integer from 1 to "+strconv.Itoa(MaxQuantity))
	}
	return nil
}

// View reads o's cart, priced from the catalogue. Lines whose product is gone
// from the catalogue drop out, from the answer and from the store.
func (s *Service) View(ctx context.Context, o Owner) (Cart, error) {
	ttl := s.ttl.For(o)
	lines, err := s.store.Get(ctx, o, ttl)
	if err != nil {
		return Cart{}, fmt.Errorf("read cart: %w", err)
	}
	return s.price(ctx, o, lines, ttl)
}

// Priced is a cart's lines with the catalogue's products, for checkout.
func (s *Service) Priced(ctx context.Context, o Owner) (Lines, map[string]catalog.Product, error) {
	lines, err := s.store.Get(ctx, o, s.ttl.For(o))
	if err != nil {
		return nil, nil, fmt.Errorf("read cart: %w", err)
	}
	if len(lines) == 0 {
		return lines, nil, nil
	}
	products, err := s.products.GetMany(ctx, ids(lines))
	if err != nil {
		return nil, nil, fmt.Errorf("price cart: %w", err)
	}
	return lines, products, nil
}

func (s *Service) price(ctx context.Context, o Owner, lines Lines, ttl time.Duration) (Cart, error) {
	c := Cart{Items: []Line{}, Currency: s.currency}
	if len(lines) == 0 {
		return c, nil
	}
	products, err := s.products.GetMany(ctx, ids(lines))
	if err != nil {
		return Cart{}, fmt.Errorf("price cart: %w", err)
	}
	var gone []string
	for _, id := range ids(lines) {
		p, ok := products[id]
		if !ok {
			gone = append(gone, id)
			continue
		}
		l := Line{ProductID: id, Name: p.Name, UnitPrice: p.Price, Quantity: lines[id], LineTotal: p.Price * int64(lines[id])}
		c.Items = append(c.Items, l)
		c.Subtotal += l.LineTotal
		c.ItemCount += l.Quantity
	}
	if len(gone) > 0 {
		// Best effort: the answer is right either way, and the next read tries again.
		_ = s.store.Remove(ctx, o, ttl, gone...)
	}
	exp := s.now().Add(ttl).Format(time.RFC3339)
	c.ExpiresAt = &exp
	return c, nil
}

// SetLine sets how many units of a product the cart holds. The product must
// exist, be sold in the cart's currency and have that many in stock.
func (s *Service) SetLine(ctx context.Context, o Owner, productID string, quantity int64) (Cart, error) {
	var v shop.Violations
	if !shop.ValidID(productID) {
		v.Add("product_id", shop.IDRule)
	}
	if err := shop.JoinInvalid(v.Err(), CheckQuantity(quantity)); err != nil {
		return Cart{}, err
	}
	p, err := s.products.Get(ctx, productID)
	if err != nil {
		return Cart{}, fmt.Errorf("product %q: %w", productID, err)
	}
	if p.Currency != s.currency {
		return Cart{}, &shop.ConflictError{Reason: "currency-mismatch", Detail: "This product is sold in " + p.Currency + "; the cart is in " + s.currency + "."}
	}
	if quantity > p.Quantity {
		return Cart{}, &shop.ConflictError{Reason: "insufficient-stock",
			Detail: fmt.Sprintf("Only %d of %s are in stock.", p.Quantity, productID),
			Fields: []shop.FieldError{{Field: "quantity", Message: fmt.Sprintf("must be at most %d (in stock)", p.Quantity)}}}
	}
	ttl := s.ttl.For(o)
	if err := s.store.Set(ctx, o, productID, int(quantity), ttl); err != nil {
		return Cart{}, fmt.Errorf("set line %q: %w", productID, err)
	}
	return s.View(ctx, o)
}

// RemoveLine removes a product from the cart; removing an absent one is fine.
func (s *Service) RemoveLine(ctx context.Context, o Owner, productID string) (Cart, error) {
	if !shop.ValidID(productID) {
		return Cart{}, shop.Invalid("product_id", shop.IDRule)
	}
	if err := s.store.Remove(ctx, o, s.ttl.For(o), productID); err != nil {
		return Cart{}, fmt.Errorf("remove line %q: %w", productID, err)
	}
	return s.View(ctx, o)
}

// Clear empties the cart.
func (s *Service) Clear(ctx context.Context, o Owner) error {
	if err := s.store.Clear(ctx, o); err != nil {
		return fmt.Errorf("clear cart: %w", err)
	}
	return nil
}

// ClearIf empties the cart if it still holds exactly lines (after a checkout).
func (s *Service) ClearIf(ctx context.Context, o Owner, lines Lines) (bool, error) {
	return s.store.ClearIf(ctx, o, lines)
}

// Merge moves a guest's cart into a user's, summing quantities capped by stock.
// The user's cart changes in one atomic step, recorded under a fingerprint of
// the guest's lines, and only then are those lines taken from the guest's cart:
// a retry after a failure between the two steps neither loses nor doubles units.
func (s *Service) Merge(ctx context.Context, user, guest Owner) (Cart, error) {
	guestLines, err := s.store.Get(ctx, guest, s.ttl.For(guest))
	if err != nil {
		return Cart{}, fmt.Errorf("read guest cart: %w", err)
	}
	if len(guestLines) == 0 {
		return s.View(ctx, user)
	}
	products, err := s.products.GetMany(ctx, ids(guestLines))
	if err != nil {
		return Cart{}, fmt.Errorf("price guest cart: %w", err)
	}
	caps := make(map[string]int, len(products))
	for id, p := range products {
		if p.Currency == s.currency {
			caps[id] = int(min(p.Quantity, MaxQuantity))
		}
	}
	mergeID := guest.Key() + "#" + fingerprint(guestLines)
	ttl := s.ttl.For(user)
	lines, err := s.store.Merge(ctx, user, mergeID, guestLines, caps, ttl)
	if err != nil {
		return Cart{}, fmt.Errorf("merge into user cart: %w", err)
	}
	if err := s.store.Take(ctx, guest, guestLines); err != nil {
		return Cart{}, fmt.Errorf("empty guest cart: %w", err)
	}
	return s.price(ctx, user, lines, ttl)
}

// fingerprint names a set of lines independently of map order.
func fingerprint(l Lines) string {
	h := sha256.New()
	for _, id := range ids(l) {
		fmt.Fprintf(h, "%s=%d;", id, l[id])
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// ids are the product ids of lines in order.
func ids(l Lines) []string {
	out := make([]string, 0, len(l))
	for id := range l {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}
