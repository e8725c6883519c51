package productcache

import (
	"errors"
	"testing"
	"time"
)

func TestBreaker(t *testing.T) {
	now := time.Unix(0, 0)
	b := &Breaker{Threshold: 3, Cooldown: 5 * time.Second, Now: func() time.Time { return now }}
	fail := errors.New("down")
	steps := []struct {
		advance time.Duration
		outcome error // the outcome of an allowed call
		allow   bool
	}{
		{0, fail, true}, {0, fail, true}, // two failures: still closed
		{0, nil, true},                                    // a success resets the count
		{0, fail, true}, {0, fail, true}, {0, fail, true}, // three in a row: open
		{time.Second, nil, false},     // open: no calls
		{4 * time.Second, fail, true}, // cooldown over: one probe, which fails
		{0, nil, false},               // reopened
		{5 * time.Second, nil, true},  // the next probe succeeds: closed
		{0, nil, true},
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		if got := b.Allow(); got != s.allow {
			t.Fatalf("step %d: Allow = %v, want %v", i, got, s.allow)
		}
		if s.allow {
			b.Done(s.outcome)
		}
	}
}

// While a probe is out, other callers do not pile onto the cache.
func TestBreakerOneProbeAtATime(t *testing.T) {
	now := time.Unix(0, 0)
	b := &Breaker{Threshold: 1, Cooldown: time.Second, Now: func() time.Time { return now }}
	b.Allow()
	b.Done(errors.New("down"))
	now = now.Add(2 * time.Second)
	if !b.Allow() {
		t.Fatal("no probe after the cooldown")
	}
	if b.Allow() {
		t.Fatal("a second call allowed while the probe is out")
	}
}
