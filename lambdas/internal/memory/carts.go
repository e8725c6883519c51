package memory

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/internal/cart"
)

var _ cart.Store = (*Carts)(nil)

// Carts is a cart.Store in a map. It ignores expiry; the Redis store's expiry
// is tested against redis-server. Down, when set, makes every call fail with it.
type Carts struct {
	mu     sync.Mutex
	carts  map[string]cart.Lines
	merges map[string]bool
	Down   error
}

// NewCarts returns an empty store.
func NewCarts() *Carts { return &Carts{carts: map[string]cart.Lines{}, merges: map[string]bool{}} }

func (m *Carts) lock() (func(), error) {
	m.mu.Lock()
	if m.Down != nil {
		m.mu.Unlock()
		return nil, m.Down
	}
	return m.mu.Unlock, nil
}

func (m *Carts) Get(_ context.Context, o cart.Owner, _ time.Duration) (cart.Lines, error) {
	unlock, err := m.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	return maps.Clone(m.carts[o.Key()]), nil
}

func (m *Carts) Set(_ context.Context, o cart.Owner, id string, q int, _ time.Duration) error {
	unlock, err := m.lock()
	if err != nil {
		return err
	}
	defer unlock()
	l := m.carts[o.Key()]
	if l == nil {
		l = cart.Lines{}
		m.carts[o.Key()] = l
	}
	if _, ok := l[id]; !ok && len(l) >= cart.MaxLines {
		return cart.ErrFull
	}
	l[id] = q
	return nil
}

func (m *Carts) Remove(_ context.Context, o cart.Owner, _ time.Duration, ids ...string) error {
	unlock, err := m.lock()
	if err != nil {
		return err
	}
	defer unlock()
	for _, id := range ids {
		delete(m.carts[o.Key()], id)
	}
	return nil
}

func (m *Carts) Clear(_ context.Context, o cart.Owner) error {
	unlock, err := m.lock()
	if err != nil {
		return err
	}
	defer unlock()
	delete(m.carts, o.Key())
	return nil
}

func (m *Carts) ClearIf(_ context.Context, o cart.Owner, want cart.Lines) (bool, error) {
	unlock, err := m.lock()
	if err != nil {
		return false, err
	}
	defer unlock()
	if !maps.Equal(m.carts[o.Key()], want) {
		return false, nil
	}
	delete(m.carts, o.Key())
	return true, nil
}

func (m *Carts) Merge(_ context.Context, o cart.Owner, mergeID string, lines cart.Lines, caps map[string]int, _ time.Duration) (cart.Lines, error) {
	unlock, err := m.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	l := m.carts[o.Key()]
	if l == nil {
		l = cart.Lines{}
		m.carts[o.Key()] = l
	}
	if !m.merges[o.Key()+"|"+mergeID] {
		m.merges[o.Key()+"|"+mergeID] = true
		for id, q := range lines {
			limit, ok := caps[id]
			if _, had := l[id]; !ok || limit <= 0 || (!had && len(l) >= cart.MaxLines) {
				continue
			}
			l[id] = min(l[id]+q, limit, cart.MaxQuantity)
		}
	}
	return maps.Clone(l), nil
}

func (m *Carts) Take(_ context.Context, o cart.Owner, lines cart.Lines) error {
	unlock, err := m.lock()
	if err != nil {
		return err
	}
	defer unlock()
	l := m.carts[o.Key()]
	if l == nil {
		return nil
	}
	for id, q := range lines {
		if l[id] -= q; l[id] <= 0 {
			delete(l, id)
		}
	}
	return nil
}
