package cart

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
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

// ErrInvalidSession is a guest token the API did not issue, or one that
// expired or was revoked.
var ErrInvalidSession = fmt.Errorf("%w: invalid guest session", shop.ErrUnauthenticated)

// Service is the cart's use cases.
type Service struct {
	store    Store
	sessions Sessions
	products Products
	currency string
	ttl      TTLs
	now      func() time.Time
}

// NewService returns the cart over store and guest sessions, priced from
// products in currency.
func NewService(store Store, sessions Sessions, products Products, currency string, ttl TTLs) *Service {
	return &Service{store: store, sessions: sessions, products: products, currency: currency, ttl: ttl, now: func() time.Time { return time.Now().UTC() }}
}

// NewSession issues a guest session: a token of SessionBytes random bytes,
// of which the cache keeps only the SHA-256, with the guest cart's sliding
// expiry.
func (s *Service) NewSession(ctx context.Context) (Session, error) {
	raw := make([]byte, SessionBytes)
	if _, err := rand.Read(raw); err != nil {
		return Session{}, fmt.Errorf("session token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	if err := s.sessions.Open(ctx, sessionID(token), s.ttl.Guest); err != nil {
		return Session{}, fmt.Errorf("open session: %w", err)
	}
	return Session{SessionID: token, ExpiresAt: s.now().Add(s.ttl.Guest).Format(time.RFC3339)}, nil
}

// Guest is the owner of a guest session token, whose expiry it renews. A
// token of the wrong shape, or one the cache does not hold (never issued,
// expired, revoked), is ErrInvalidSession.
func (s *Service) Guest(ctx context.Context, token string) (Owner, error) {
	o, err := GuestOf(token)
	if err != nil {
		return Owner{}, err
	}
	ok, err := s.sessions.Touch(ctx, o.ID, s.ttl.Guest)
	if err != nil {
		return Owner{}, fmt.Errorf("check session: %w", err)
	}
	if !ok {
		return Owner{}, ErrInvalidSession
	}
	return o, nil
}

// GuestOf is the owner a session token names, if it has a token's shape;
// whether the session is open is the store's to say.
func GuestOf(token string) (Owner, error) {
	if raw, err := base64.RawURLEncoding.DecodeString(token); err != nil || len(raw) != SessionBytes {
		return Owner{}, ErrInvalidSession
	}
	return Owner{Guest: true, ID: sessionID(token)}, nil
}

// EndSession revokes a guest session and drops its cart.
func (s *Service) EndSession(ctx context.Context, guest Owner) error {
	if err := s.sessions.Close(ctx, guest.ID); err != nil {
		return fmt.Errorf("close session: %w", err)
	}
	return nil
}

// sessionID is what the cache knows a session by: the token's SHA-256, so
// that reading the cache yields no token a client could use.
func sessionID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

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

// Merge moves a guest's cart into a user's, summing quantities capped by
// stock. The guest's session and the user's cart live in different cluster
// slots, so this is three steps, each atomic, each safe to repeat:
//  1. Take, in the guest's slot: the session is revoked and its cart taken
//     at once, so no guest write acknowledged before is lost and none is
//     accepted after (a guest's Set needs its open session);
//  2. the user's cart changes in one step recorded under a merge id (the
//     session and a fingerprint of the taken lines), which also keeps what
//     it added: applied once, answered the same when repeated;
//  3. Forget drops the taken lines: after it the session is useless.
//
// A merge that stops after step 1 (a crash, a timeout) is finished by a
// retry with the same session, which finds its taken lines. Units that
// could not be added come back in NotMerged, with the reason.
func (s *Service) Merge(ctx context.Context, user, guest Owner) (Cart, error) {
	guestLines, ok, err := s.sessions.Take(ctx, guest.ID, s.ttl.Guest)
	if err != nil {
		return Cart{}, fmt.Errorf("take guest session: %w", err)
	}
	if !ok {
		return Cart{}, ErrInvalidSession
	}
	ttl := s.ttl.For(user)
	var c Cart
	if len(guestLines) > 0 {
		products, err := s.products.GetMany(ctx, ids(guestLines))
		if err != nil {
			return Cart{}, fmt.Errorf("price guest cart: %w", err)
		}
		caps := make(map[string]int, len(products))
		for id, p := range products {
			if p.Currency == s.currency && p.Quantity > 0 {
				caps[id] = int(min(p.Quantity, MaxQuantity))
			}
		}
		mergeID := guest.Key() + "#" + fingerprint(guestLines)
		lines, added, err := s.store.Merge(ctx, user, mergeID, guestLines, caps, ttl)
		if err != nil {
			return Cart{}, fmt.Errorf("merge into user cart: %w", err)
		}
		if c, err = s.price(ctx, user, lines, ttl); err != nil {
			return Cart{}, err
		}
		c.NotMerged = leftOver(guestLines, added, lines, caps)
	} else if c, err = s.View(ctx, user); err != nil {
		return Cart{}, err
	}
	if err := s.sessions.Forget(ctx, guest.ID); err != nil {
		return Cart{}, fmt.Errorf("forget guest session: %w", err)
	}
	return c, nil
}

// leftOver is what of the guest's lines the merge could not add, and why.
func leftOver(guest, added, after Lines, caps map[string]int) []NotMerged {
	var out []NotMerged
	for _, id := range ids(guest) {
		left := guest[id] - added[id]
		if left <= 0 {
			continue
		}
		reason := "insufficient-stock"
		switch cp, sold := caps[id]; {
		case !sold:
			reason = "unavailable" // gone, out of stock, or sold in another currency
		case after[id] == 0:
			reason = "cart-full"
		case after[id] >= MaxQuantity && cp >= MaxQuantity:
			reason = "quantity-limit"
		}
		out = append(out, NotMerged{ProductID: id, Quantity: left, Reason: reason})
	}
	return out
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
