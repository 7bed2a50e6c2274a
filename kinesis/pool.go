package kinesis

import (
	"sync"

	"github.com/tributary-io/tributary/internal/bufpool"
)

// The hot paths' big buffers (a PutRecords body, its decoded data and
// records, the PutRecords and GetRecords answers) come from pools (package
// bufpool) and go back once the front end has written the answer
// (Request.Release, Response.Release).

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
	b := bufpool.Get(n)
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
		bufpool.Put(b)
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
func NewBody(n int) []byte { return bufpool.Get(n)[:n] }

// Release gives back to the package's pools the request's Body and the
// buffers that decoding it took: neither the body nor the input decoded
// from it (the records of a PutRecords, their data) may be used after,
// nor anything that refers to them. The front end calls it once the
// handler has returned and its answer is written. Calling it is
// optional; a caller that keeps using Body must not.
func (r *Request) Release() {
	r.scratch.release()
	bufpool.Put(r.Body)
	r.Body = nil
}

// Release gives back the response's body to the package's pools when it
// came from them; the body must no longer be used. The front end calls it
// once the body is written. Calling it is optional.
func (r *Response) Release() {
	if r.pooled {
		r.pooled = false
		bufpool.Put(r.Body)
		r.Body = nil
	}
}
