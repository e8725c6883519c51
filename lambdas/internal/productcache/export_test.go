package productcache

import "time"

// SetAfterLoad lets the tests in package views_test run f between a miss's
// table read and its put: the race window, forced.
func (c *Cache) SetAfterLoad(f func()) { c.afterLoad = f }

// Breaker is the cache's circuit breaker, for tests that shorten it.
func (c *Cache) Breaker() *Breaker { return c.breaker }

// SetNow sets the cache's clock, for the hourly buckets.
func (c *Cache) SetNow(now func() time.Time) { c.now = now }

// EntryKey is the key of id's entry, for tests that expire it.
func (c *Cache) EntryKey(id string) string { return c.entryKey(id) }
