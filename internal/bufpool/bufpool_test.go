package bufpool

import "testing"

func TestGetGivesTheClassCapacity(t *testing.T) {
	for _, c := range []struct{ n, cap int }{
		{0, 1 << 10}, {1, 1 << 10}, {1 << 10, 1 << 10},
		{1<<10 + 1, 1280}, {1280, 1280}, {1281, 1536}, {1792, 1792}, {1793, 2048}, {2048, 2048}, {2049, 2560},
		{70_000, 81920}, // 2^16 = 65536 < 70000 <= 5/4 × 65536
		{MaxPooled, MaxPooled}, {MaxPooled + 1, MaxPooled + 1},
	} {
		b := Get(c.n)
		if len(b) != 0 || cap(b) != c.cap {
			t.Errorf("Get(%d): len %d cap %d, want 0 and %d", c.n, len(b), cap(b), c.cap)
		}
	}
}

// Every size up to MaxPooled gets a class at least as large and at most
// a quarter larger, and the classes are numbered in order of size.
func TestClasses(t *testing.T) {
	lastIndex, lastSize := 0, 1<<minShift
	for n := 1; n <= MaxPooled; n += 1 + n/97 {
		index, size := class(n)
		if size < n || n > 1<<minShift && size > n+n/4 {
			t.Fatalf("class(%d) has size %d", n, size)
		}
		if index < lastIndex || index == lastIndex && size != lastSize || index > lastIndex && size <= lastSize {
			t.Fatalf("class(%d) = %d (size %d) after class %d (size %d)", n, index, size, lastIndex, lastSize)
		}
		if index >= len(pools) {
			t.Fatalf("class(%d) = %d, beyond the %d pools", n, index, len(pools))
		}
		lastIndex, lastSize = index, size
	}
}

func TestPutKeepsOnlyClassSizes(t *testing.T) {
	// A buffer of another capacity must never come out of a class: Get
	// would hand out less room than asked for.
	Put(make([]byte, 0, 2400))
	Put(make([]byte, 10, 2560))
	for range 100 {
		if b := Get(2300); cap(b) != 2560 || len(b) != 0 {
			t.Fatalf("Get(2300) after Put: len %d cap %d, want 0 and 2560", len(b), cap(b))
		}
	}
}

func TestSlices(t *testing.T) {
	type rec struct {
		key  string
		data []byte
	}
	var p Slices[rec]
	// Small slices are made to measure and never pooled.
	if s := p.Get(10); len(s) != 0 || cap(s) != 10 {
		t.Fatalf("Get(10): len %d cap %d, want 0 and 10", len(s), cap(s))
	}
	s := p.Get(3000)
	if len(s) != 0 || cap(s) != 3072 {
		t.Fatalf("Get(3000): len %d cap %d, want 0 and 3072", len(s), cap(s))
	}
	s = append(s, rec{"k", []byte("v")})
	p.Put(s)
	// Whatever Get returns next, of that class, is empty and holds no
	// pointer to what the last user kept in it.
	for range 10 {
		got := p.Get(2900)
		if len(got) != 0 || cap(got) != 3072 {
			t.Fatalf("Get(2900): len %d cap %d, want 0 and 3072", len(got), cap(got))
		}
		if r := got[:1][0]; r.key != "" || r.data != nil {
			t.Fatalf("Get(2900) after Put: first element %+v, want zero", r)
		}
		p.Put(got)
	}
	// A slice of another capacity is not kept.
	p.Put(make([]rec, 0, 3000))
	if got := p.Get(2990); cap(got) != 3072 {
		t.Fatalf("Get(2990) after Put of capacity 3000: cap %d, want 3072", cap(got))
	}
}
