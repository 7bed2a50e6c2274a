package storagetest

import (
	"sync"
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	start := time.Date(2024, time.March, 1, 12, 0, 0, 999_999, time.UTC)
	c := NewClock(start)
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("Now() = %v, want %v", got, start)
	}
	if got, want := c.UnixMilli(), start.UnixMilli(); got != want {
		t.Errorf("UnixMilli() = %d, want %d", got, want)
	}
	if got, want := c.Advance(90*time.Minute), start.Add(90*time.Minute); !got.Equal(want) {
		t.Errorf("Advance returned %v, want %v", got, want)
	}
	if got, want := c.Advance(-time.Hour), start.Add(30*time.Minute); !got.Equal(want) || !c.Now().Equal(want) {
		t.Errorf("after stepping back, Advance returned %v and Now %v, want %v", got, c.Now(), want)
	}
	later := start.Add(24 * time.Hour)
	c.Set(later)
	if got := c.Now(); !got.Equal(later) {
		t.Errorf("after Set, Now() = %v, want %v", got, later)
	}
}

func TestClockConcurrent(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	c := NewClock(start)
	const workers, steps = 8, 500
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range steps {
				c.Advance(time.Millisecond)
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	if got, want := c.Now(), start.Add(workers*steps*time.Millisecond); !got.Equal(want) {
		t.Errorf("after concurrent advances Now() = %v, want %v", got, want)
	}
}
