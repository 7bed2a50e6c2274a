package storagetest

import (
	"sync"
	"time"
)

// Clock is a fake clock that tests move by hand, so that arrival times and
// retention can be checked without sleeping. Pass its Now method to the
// engine. It is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that reads t until it is moved.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock by d and returns the new time. A negative d
// models a system clock that steps back.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// UnixMilli returns the clock's time in the unit of arrival times.
func (c *Clock) UnixMilli() int64 { return c.Now().UnixMilli() }
