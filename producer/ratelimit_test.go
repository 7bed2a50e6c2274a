package producer

import (
	"fmt"
	"testing"
	"time"
)

func TestShardLimiterRate(t *testing.T) {
	now := time.Unix(1764000000, 0)
	l := newShardLimiter(1.5, now)
	// A full bucket: 1500 records at once, then nothing until refill.
	if d := l.wait(1500, 1500*100, now); d != 0 {
		t.Fatalf("first 1500 records wait %v", d)
	}
	if d := l.wait(150, 150*100, now); d != 100*time.Millisecond {
		t.Fatalf("150 more wait %v, want 100ms (150 at 1500/s)", d)
	}
	now = now.Add(100 * time.Millisecond)
	if d := l.wait(150, 150*100, now); d != 0 {
		t.Fatalf("after 100ms, 150 records wait %v", d)
	}
	// Bytes bind too: 1.5 MiB a second.
	now = now.Add(2 * time.Second)
	if d := l.wait(1, 3<<19, now); d != 0 {
		t.Fatalf("1.5 MiB after a rest waits %v", d)
	}
	if d := l.wait(1, 3<<18, now); d != 500*time.Millisecond {
		t.Fatalf("0.75 MiB more waits %v, want 500ms", d)
	}
	// A record larger than a second's worth waits for a full bucket.
	now = now.Add(10 * time.Second)
	if d := l.wait(1, 10<<20, now); d != 0 {
		t.Fatalf("a 10 MiB record after a rest waits %v", d)
	}
}

func TestShardLimiterAdapts(t *testing.T) {
	now := time.Unix(1764000000, 0)
	l := newShardLimiter(1.5, now)
	l.throttled(now)
	l.throttled(now.Add(500 * time.Millisecond)) // within a second: counted once
	if l.factor != 0.75 {
		t.Fatalf("after a throttle: factor %v, want 0.75", l.factor)
	}
	for range 5 {
		now = now.Add(time.Second)
		l.throttled(now)
	}
	if l.factor != 0.1 {
		t.Fatalf("after many throttles: factor %v, want the floor 0.1", l.factor)
	}
	now = now.Add(3 * time.Second)
	l.wait(1, 1, now)
	if want := 0.1 + 3*0.15; l.factor < want-1e-9 || l.factor > want+1e-9 {
		t.Fatalf("3 s later: factor %v, want %v", l.factor, want)
	}
	now = now.Add(time.Minute)
	l.wait(1, 1, now)
	if l.factor != 1.5 {
		t.Fatalf("a minute later: factor %v, want the ceiling 1.5", l.factor)
	}
}

// TestShardLimiterLastingThrottle: throttled every second, the rate halves
// every second down to the floor; the growth a second brings is taken
// back by the throttle that follows it (found by TestAdaptsToThrottling's
// author: the rate went 1, 0.5, 0.3, 0.2 and settled at a tenth of the
// ceiling rather than the floor).
func TestShardLimiterLastingThrottle(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newShardLimiter(1, now)
	var got []float64
	for i := range 5 {
		at := now.Add(time.Duration(i) * time.Second)
		l.wait(1, 1, at)
		l.throttled(at.Add(10 * time.Millisecond))
		got = append(got, l.factor)
	}
	if want := []float64{0.5, 0.25, 0.125, 0.1, 0.1}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("factor after each second's throttle %v, want %v", got, want)
	}
	l = newShardLimiter(1.5, now)
	for i := range 8 {
		at := now.Add(time.Duration(i) * time.Second)
		l.wait(1, 1, at)
		l.throttled(at.Add(10 * time.Millisecond))
	}
	if l.factor != 0.1 {
		t.Errorf("ceiling 1.5 under a lasting throttle settles at %v, want the floor 0.1", l.factor)
	}
}
