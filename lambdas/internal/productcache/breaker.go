package productcache

import (
	"sync"
	"time"
)

// Breaker stops calling a backend that keeps failing: after Threshold
// failures in a row it opens for Cooldown, during which Allow says no at
// once (the caller uses its fallback); then it lets one call through, whose
// outcome closes or reopens it. A hung cache then costs one timeout per
// Cooldown, not one per request.
type Breaker struct {
	Threshold int
	Cooldown  time.Duration
	Now       func() time.Time

	mu       sync.Mutex
	failures int
	openTill time.Time
	probing  bool
}

// NewBreaker returns a breaker that opens after 3 failures for 5 seconds.
func NewBreaker() *Breaker { return &Breaker{Threshold: 3, Cooldown: 5 * time.Second, Now: time.Now} }

// Allow says whether to call the backend now.
func (b *Breaker) Allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures < b.Threshold {
		return true
	}
	if b.Now().Before(b.openTill) || b.probing {
		return false
	}
	b.probing = true // one probe after the cooldown
	return true
}

// Done records the outcome of an allowed call.
func (b *Breaker) Done(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	if err == nil {
		b.failures = 0
		return
	}
	b.failures++
	if b.failures >= b.Threshold {
		b.openTill = b.Now().Add(b.Cooldown)
	}
}
