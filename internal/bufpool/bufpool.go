// Package bufpool reuses the big byte buffers of the hot paths: request
// and answer bodies, decoded record data, storage frames. Allocated anew
// for every call, they made the garbage collector, not the work, the
// largest cost of ingest: it runs each time the heap grows by its live
// size, and a server's live heap is small next to what passes through it.
//
// Buffers are kept by size class, so that a small request never holds a
// large buffer and a large one finds its size. Classes are a quarter of a
// power of two apart (1 KiB, then 1.25, 1.5, 1.75 and 2 KiB, 2.5 KiB...),
// so a buffer is at most 25 % larger than asked for; beyond MaxPooled
// buffers are not kept. Giving a buffer back is optional: one never given
// back is freed by the collector like any other, and idle ones leave the
// pools over two collections. Giving back one still in use is a bug that
// hands its bytes to another caller: each user documents when its buffers
// go back.
//
// It imports nothing of Tributary, so that the standalone packages (the
// wire protocol, kinesis) may use it.
package bufpool

import (
	"math/bits"
	"sync"
)

const (
	minShift = 10 // the smallest class, 1 KiB
	maxShift = 24 // the largest, 16 MiB
	// MaxPooled is the largest capacity kept.
	MaxPooled = 1 << maxShift
	// stepsPerDouble is how many classes each doubling of size has.
	stepsPerDouble = 4
)

// pools holds one pool per class: class 0 is 1 KiB; then, for each power
// of two 2^e from 1 KiB to 8 MiB, the four classes above it, 5/4, 6/4,
// 7/4 and 8/4 of 2^e.
var pools [1 + (maxShift-minShift)*stepsPerDouble]sync.Pool

// class returns the smallest class whose buffers hold n bytes (n <=
// MaxPooled), and that class's size.
func class(n int) (index, size int) {
	if n <= 1<<minShift {
		return 0, 1 << minShift
	}
	e := bits.Len(uint(n-1)) - 1 // 2^e < n <= 2^(e+1)
	step := 1 << (e - 2)         // a quarter of 2^e
	m := (n + step - 1) / step   // 5 to 8 quarters
	return 1 + (e-minShift)*stepsPerDouble + (m - 5), m * step
}

// Get returns an empty buffer of capacity at least n.
func Get(n int) []byte {
	if n > MaxPooled {
		return make([]byte, 0, n)
	}
	c, size := class(n)
	if p, ok := pools[c].Get().(*[]byte); ok {
		return (*p)[:0]
	}
	return make([]byte, 0, size)
}

// Put gives b back; nothing may use it after. Only a buffer of a class's
// exact capacity is kept (one from Get, unless it grew), so that a buffer
// found in a class always holds the class's size.
func Put(b []byte) {
	n := cap(b)
	if n < 1<<minShift || n > MaxPooled {
		return
	}
	c, size := class(n)
	if size != n {
		return
	}
	b = b[:0]
	pools[c].Put(&b)
}

// Slices keeps slices of T by capacity, in the same classes as the
// package's byte buffers but counted in elements: the big per-call
// slices of records of the read path. The zero Slices is ready to use.
//
// Small slices are not pooled (Get allocates them exactly, Put drops
// them): below minPooledLen elements an allocation costs less than a
// pool's synchronisation, and a small read must not take a large slice.
type Slices[T any] struct {
	pools [len(pools)]sync.Pool
}

// minPooledLen is the smallest length Slices keeps.
const minPooledLen = 1 << minShift

// Get returns an empty slice of capacity at least n.
func (p *Slices[T]) Get(n int) []T {
	if n < minPooledLen || n > MaxPooled {
		return make([]T, 0, n)
	}
	c, size := class(n)
	if s, ok := p.pools[c].Get().(*[]T); ok {
		return (*s)[:0]
	}
	return make([]T, 0, size)
}

// Put gives s back; nothing may use it after. Its elements are zeroed
// first, so that a slice waiting in the pool keeps nothing it pointed to
// alive. As with Put, only a class's exact capacity is kept.
func (p *Slices[T]) Put(s []T) {
	n := cap(s)
	if n < minPooledLen || n > MaxPooled {
		return
	}
	c, size := class(n)
	if size != n {
		return
	}
	clear(s[:cap(s)])
	s = s[:0]
	p.pools[c].Put(&s)
}
