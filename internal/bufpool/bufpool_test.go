package bufpool

import "testing"

func TestGetGivesTheClassCapacity(t *testing.T) {
	for _, c := range []struct{ n, cap int }{
		{0, 1 << 10}, {1, 1 << 10}, {1 << 10, 1 << 10}, {1<<10 + 1, 1 << 11},
		{70_000, 1 << 17}, {MaxPooled, MaxPooled}, {MaxPooled + 1, MaxPooled + 1},
	} {
		b := Get(c.n)
		if len(b) != 0 || cap(b) != c.cap {
			t.Errorf("Get(%d): len %d cap %d, want 0 and %d", c.n, len(b), cap(b), c.cap)
		}
	}
}

func TestPutKeepsOnlyClassSizes(t *testing.T) {
	// A buffer of another capacity must never come out of a class: Get
	// would hand out less room than asked for.
	Put(make([]byte, 0, 3000))
	Put(make([]byte, 10, 1<<12))
	for range 100 {
		if b := Get(2500); cap(b) != 1<<12 || len(b) != 0 {
			t.Fatalf("Get(2500) after Put: len %d cap %d, want 0 and %d", len(b), cap(b), 1<<12)
		}
	}
}
