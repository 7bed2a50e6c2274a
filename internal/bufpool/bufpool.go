// Package bufpool reuses the big byte buffers of the hot paths: request
// and answer bodies, decoded record data, storage frames. Allocated anew
// for every call, they made the garbage collector, not the work, the
// largest cost of ingest: it runs each time the heap grows by its live
// size, and a server's live heap is small next to what passes through it.
//
// Buffers are kept by power-of-two capacity, so that a small request never
// holds a large buffer and a large one finds its size; beyond MaxPooled
// they are not kept. Giving a buffer back is optional: one never given
// back is freed by the collector like any other. Giving back one still in
// use is a bug that hands its bytes to another caller: each user documents
// when its buffers go back.
//
// It imports nothing of Tributary, so that the standalone packages (the
// wire protocol, kinesis) may use it.
package bufpool

import (
	"math/bits"
	"sync"
)

const (
	minShift = 10 // 1 KiB
	maxShift = 24 // 16 MiB
	// MaxPooled is the largest capacity kept.
	MaxPooled = 1 << maxShift
)

// pools holds one pool per capacity class. A sync.Pool empties itself
// over two collections, so idle buffers do not stay.
var pools [maxShift - minShift + 1]sync.Pool

// class returns the class whose buffers hold n bytes: the smallest power
// of two at least n, and at least 1 KiB.
func class(n int) int {
	if n <= 1<<minShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minShift
}

// Get returns an empty buffer of capacity at least n.
func Get(n int) []byte {
	if n > MaxPooled {
		return make([]byte, 0, n)
	}
	c := class(n)
	if p, ok := pools[c].Get().(*[]byte); ok {
		return (*p)[:0]
	}
	return make([]byte, 0, 1<<(c+minShift))
}

// Put gives b back; nothing may use it after. Only a buffer of a class's
// exact capacity is kept (one from Get, unless it grew), so that a buffer
// found in a class always holds the class's size.
func Put(b []byte) {
	n := cap(b)
	if n < 1<<minShift || n > MaxPooled || n&(n-1) != 0 {
		return
	}
	b = b[:0]
	pools[class(n)].Put(&b)
}
