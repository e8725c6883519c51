package memory

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/go-cdk-shop/shop/lambdas/internal/cart"
)

var _ cart.Store = (*Carts)(nil)

// Carts is a cart.Store in a map. It ignores expiry; the Redis store's expiry
// is tested against redis-server. Down, when set, makes every call fail with it.
type Carts struct {
	mu       sync.Mutex
	carts    map[string]cart.Lines
	merges   map[string]cart.Lines // what each merge added
	sessions *Sessions             // the guests' sessions, once NewSessions links them
	Down     error
}

// NewCarts returns an empty store.
func NewCarts() *Carts {
	return &Carts{carts: map[string]cart.Lines{}, merges: map[string]cart.Lines{}}
}

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
	if o.Guest && m.sessions != nil && !m.sessions.isOpen(o.ID) {
		return cart.ErrInvalidSession
	}
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

func (m *Carts) Merge(_ context.Context, o cart.Owner, mergeID string, lines cart.Lines, caps map[string]int, _ time.Duration) (cart.Lines, cart.Lines, error) {
	unlock, err := m.lock()
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	l := m.carts[o.Key()]
	if l == nil {
		l = cart.Lines{}
		m.carts[o.Key()] = l
	}
	done, ok := m.merges[o.Key()+"|"+mergeID]
	if !ok {
		done = cart.Lines{}
		for _, id := range slices.Sorted(maps.Keys(lines)) {
			limit, sold := caps[id]
			before, had := l[id]
			if !sold || limit <= 0 || (!had && len(l) >= cart.MaxLines) {
				continue
			}
			if after := min(before+lines[id], limit, cart.MaxQuantity); after > before {
				l[id] = after
				done[id] = after - before
			}
		}
		m.merges[o.Key()+"|"+mergeID] = done
	}
	if len(l) == 0 {
		delete(m.carts, o.Key())
	}
	return maps.Clone(l), maps.Clone(done), nil
}

var _ cart.Sessions = (*Sessions)(nil)

// Sessions is a cart.Sessions in a map, whose carts are in Carts: Close drops
// the guest's cart there. It ignores expiry, as Carts does.
type Sessions struct {
	mu    sync.Mutex
	open  map[string]bool
	taken map[string]cart.Lines
	carts *Carts
}

// NewSessions returns an empty session store over carts, whose guest lines
// then need an open session.
func NewSessions(carts *Carts) *Sessions {
	s := &Sessions{open: map[string]bool{}, taken: map[string]cart.Lines{}, carts: carts}
	carts.mu.Lock()
	carts.sessions = s
	carts.mu.Unlock()
	return s
}

func (s *Sessions) isOpen(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open[id]
}

func (s *Sessions) Take(_ context.Context, id string, _ time.Duration) (cart.Lines, bool, error) {
	unlock, err := s.carts.lock() // the carts first, as Set takes them
	if err != nil {
		return nil, false, err
	}
	defer unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[id] {
		key := cart.Owner{Guest: true, ID: id}.Key()
		s.taken[id] = maps.Clone(s.carts.carts[key])
		if s.taken[id] == nil {
			s.taken[id] = cart.Lines{}
		}
		delete(s.open, id)
		delete(s.carts.carts, key)
	}
	l, ok := s.taken[id]
	return maps.Clone(l), ok, nil
}

func (s *Sessions) Forget(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.taken, id)
	return nil
}

func (s *Sessions) Open(_ context.Context, id string, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.open[id] = true
	return nil
}

func (s *Sessions) Touch(_ context.Context, id string, _ time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open[id], nil
}

func (s *Sessions) Close(ctx context.Context, id string) error {
	s.mu.Lock()
	delete(s.open, id)
	delete(s.taken, id)
	s.mu.Unlock()
	return s.carts.Clear(ctx, cart.Owner{Guest: true, ID: id})
}
