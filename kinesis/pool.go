package kinesis

import (
	"math/bits"
	"sync"
)

// The hot paths' big buffers (a PutRecords body's decoded data, its
// records, the PutRecords and GetRecords answers) are taken from pools
// and given back once the front end has written the answer
// (Request.Release, Response.Release). Without them every call allocated
// several times its body's size, and at the rates ingest runs the
// garbage collector's work on that, not the decoding, was the largest
// cost: the collector runs each time the heap doubles, and a server's
// live heap is small. Giving back is optional: a buffer never given back
// is freed by the collector like any other.
//
// Buffers are pooled by power-of-two capacity, so that a small request
// never holds a large buffer and a large one finds its size. Beyond
// maxPooled they are not pooled at all: rare, and too big to keep idle.
const (
	minPooledShift = 10 // 1 KiB
	maxPooledShift = 24 // 16 MiB
	maxPooled      = 1 << maxPooledShift
)

// bytePools holds one pool per capacity class. A sync.Pool empties itself
// over two collections, so idle buffers do not stay.
var bytePools [maxPooledShift - minPooledShift + 1]sync.Pool

// sizeClass returns the class whose buffers hold n bytes: the smallest
// power of two at least n (and at least 1 KiB).
func sizeClass(n int) int {
	if n <= 1<<minPooledShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minPooledShift
}

// getBytes returns an empty buffer of capacity at least n, pooled when it
// can be.
func getBytes(n int) []byte {
	if n > maxPooled {
		return make([]byte, 0, n)
	}
	c := sizeClass(n)
	if p, ok := bytePools[c].Get().(*[]byte); ok {
		return (*p)[:0]
	}
	return make([]byte, 0, 1<<(c+minPooledShift))
}

// putBytes gives b back. Only buffers of a class's exact capacity go
// back, so that a buffer found in a class always holds the class's size.
func putBytes(b []byte) {
	n := cap(b)
	if n < 1<<minPooledShift || n > maxPooled || n&(n-1) != 0 {
		return
	}
	b = b[:0]
	bytePools[sizeClass(n)].Put(&b)
}

// recordsPool holds the Records slices of decoded PutRecords requests, of
// capacity maxRecords.
var recordsPool sync.Pool

func getRecords() []PutRecordsRequestEntry {
	if p, ok := recordsPool.Get().(*[]PutRecordsRequestEntry); ok {
		return (*p)[:0]
	}
	return make([]PutRecordsRequestEntry, 0, maxRecords)
}

func putRecords(r []PutRecordsRequestEntry) {
	if cap(r) != maxRecords {
		return
	}
	// The entries point at the request's data and keys: cleared, they
	// keep nothing alive while pooled.
	clear(r[:cap(r)])
	r = r[:0]
	recordsPool.Put(&r)
}

// scratch is what decoding a request took from the pools.
type scratch struct {
	bytes   [][]byte
	records []PutRecordsRequestEntry
}

// takeBytes returns a pooled buffer of capacity at least n, or a new one when
// s is nil (decoding outside a Request).
func (s *scratch) takeBytes(n int) []byte {
	b := getBytes(n)
	if s != nil {
		s.bytes = append(s.bytes, b)
	}
	return b
}

// takeRecords returns an empty slice of records of capacity at least n
// (n <= maxRecords), pooled unless s is nil.
func (s *scratch) takeRecords(n int) []PutRecordsRequestEntry {
	if s == nil {
		return make([]PutRecordsRequestEntry, 0, n)
	}
	s.records = getRecords()
	return s.records
}

func (s *scratch) release() {
	for _, b := range s.bytes {
		putBytes(b)
	}
	clear(s.bytes)
	s.bytes = s.bytes[:0]
	if s.records != nil {
		putRecords(s.records)
		s.records = nil
	}
}

// NewBody returns a buffer of length n for a request's Body, from the
// package's pools; Request.Release gives it back.
func NewBody(n int) []byte { return getBytes(n)[:n] }

// Release gives back to the package's pools the request's Body and the
// buffers that decoding it took: neither the body nor the input decoded
// from it (the records of a PutRecords, their data) may be used after,
// nor anything that refers to them. The front end calls it once the
// handler has returned and its answer is written. Calling it is
// optional; a caller that keeps using Body must not.
func (r *Request) Release() {
	r.scratch.release()
	putBytes(r.Body)
	r.Body = nil
}

// Release gives back the response's body to the package's pools when it
// came from them; the body must no longer be used. The front end calls it
// once the body is written. Calling it is optional.
func (r *Response) Release() {
	if r.pooled {
		r.pooled = false
		putBytes(r.Body)
		r.Body = nil
	}
}
