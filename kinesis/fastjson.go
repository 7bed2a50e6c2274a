package kinesis

import (
	"bytes"
	"encoding/base64"
	"sync"
	"unicode/utf8"
)

// The generic decoder (parseJSON, then the binder) parses a body into
// generic values and binds them to the shape by reflection. That design
// words every type error exactly as AWS does, but it costs a third of the
// server's CPU on the ingest path (see docs/benchmarks.md).
//
// decodePutRecordsJSON is a fast path for the one request that dominates
// ingest. It accepts only the plain form every SDK sends: an object with
// known members in their exact case, strings without escapes, base64 that
// decodes strictly. On anything else (an unknown or repeated member, a
// null, a number, an escape, malformed JSON, bad base64) it reports false
// and leaves the request to the generic decoder, which then produces the
// same result or AWS's error. So the fast path can change speed, never
// behaviour; FuzzFastPutRecords checks exactly that.

// putRecordsMember reads the member key of a PutRecords body for both fast
// paths: StreamName and StreamARN through str, Records through records,
// each at most once (seen: StreamName, StreamARN, Records). It reports
// false for anything else, which the generic path then decides.
func putRecordsMember(in *PutRecordsInput, seen *[3]bool, key []byte, str func() ([]byte, bool), records func() bool) bool {
	switch string(key) {
	case "StreamName", "StreamARN":
		i := 0
		if string(key) == "StreamARN" {
			i = 1
		}
		v, ok := str()
		if !ok || seen[i] {
			return false
		}
		seen[i] = true
		s := string(v)
		if i == 0 {
			in.StreamName = &s
		} else {
			in.StreamARN = &s
		}
	case "Records":
		if seen[2] || !records() {
			return false
		}
		seen[2] = true
	default:
		return false
	}
	return true
}

// decodePutRecordsJSON fills in from body and reports whether it could.
// When it reports false, in may hold partial results and must be reset.
func decodePutRecordsJSON(body []byte, in *PutRecordsInput, sc *scratch) bool {
	s := fastScanner{b: body, sc: sc}
	defer s.keys.release()
	if !s.consume('{') {
		return false
	}
	var seen [3]bool // StreamName, StreamARN, Records
	for first := true; ; first = false {
		if s.consume('}') {
			break
		}
		if !first && !s.consume(',') {
			return false
		}
		key, ok := s.plainString()
		if !ok || !s.consume(':') {
			return false
		}
		if !putRecordsMember(in, &seen, key, s.plainString, func() bool { return s.records(in) }) {
			return false
		}
	}
	s.skipSpace()
	return s.i == len(s.b)
}

// records reads the Records array.
//
// A request carries up to 500 records, and allocating each one's data,
// key and key pointer would cost over a thousand allocations a call. So
// the records' data are decoded into one buffer (s.data), each record's a
// slice of it capped at its length, so that an append to one never runs
// into the next; and the partition keys are gathered into one string,
// each key a substring of it, with their pointers into one slice. What
// one record keeps alive is its request's data, no more than the request
// carried.
func (s *fastScanner) records(in *PutRecordsInput) bool {
	if !s.consume('[') {
		return false
	}
	in.Records = s.sc.takeRecords(16)
	// The rest of the body, decoded, bounds the data of every record.
	s.data = s.sc.takeBytes(base64.StdEncoding.DecodedLen(len(s.b) - s.i))
	s.keys.reset()
	for first := true; ; first = false {
		if s.consume(']') {
			break
		}
		if !first && !s.consume(',') {
			return false
		}
		var e PutRecordsRequestEntry
		if !s.entry(&e, len(in.Records)) {
			return false
		}
		in.Records = append(in.Records, e)
	}
	s.keys.setOn(in.Records)
	return true
}

// entry reads the record object of index index. Its partition key is
// set by records, once they are all read.
func (s *fastScanner) entry(e *PutRecordsRequestEntry, index int) bool {
	if !s.consume('{') {
		return false
	}
	var seen [3]bool // Data, PartitionKey, ExplicitHashKey
	for first := true; ; first = false {
		if s.consume('}') {
			return true
		}
		if !first && !s.consume(',') {
			return false
		}
		key, ok := s.plainString()
		if !ok || !s.consume(':') {
			return false
		}
		v, ok := s.plainString()
		if !ok {
			return false
		}
		switch string(key) {
		case "Data":
			if seen[0] {
				return false
			}
			seen[0] = true
			// Strict decoding straight from the body's bytes; any problem
			// is left to the generic path, which words AWS's error.
			if len(v)%4 != 0 {
				return false
			}
			at, size := len(s.data), base64.StdEncoding.DecodedLen(len(v))
			if at+size > cap(s.data) {
				return false // cannot happen: the body bounds the data
			}
			n, err := base64.StdEncoding.Strict().Decode(s.data[at:at+size], v)
			if err != nil {
				return false
			}
			e.Data = s.data[at : at+n : at+n]
			s.data = s.data[:at+n]
		case "PartitionKey":
			if seen[1] {
				return false
			}
			seen[1] = true
			s.keys.add(v, index)
		case "ExplicitHashKey":
			if seen[2] {
				return false
			}
			seen[2] = true
			str := string(v)
			e.ExplicitHashKey = &str
		default:
			return false
		}
	}
}

// fastScanner reads the small subset of JSON the fast path accepts.
type fastScanner struct {
	b  []byte
	i  int
	sc *scratch // where buffers come from; nil allocates them

	// Records' data and partition keys, as records gathers them.
	data []byte
	keys partitionKeys
}

// partitionKeys gathers the partition keys of a request's records into
// one string, for both fast paths: each record's key is a substring of
// it, and the pointers the shape needs point into one slice.
type partitionKeys struct {
	*keyBuffers
}

// keyBuffers are partitionKeys' working buffers. Their contents are
// copied out by setOn, so they serve one decoding and go back to
// keyBuffersPool when it ends.
type keyBuffers struct {
	buf    []byte // the keys, one after another
	ends   []int  // where each key ends in buf
	owners []int  // the record each key belongs to
}

var keyBuffersPool = sync.Pool{New: func() any { return new(keyBuffers) }}

// reset readies k for a request's keys.
func (k *partitionKeys) reset() {
	if k.keyBuffers == nil {
		k.keyBuffers = keyBuffersPool.Get().(*keyBuffers)
	}
	k.buf, k.ends, k.owners = k.buf[:0], k.ends[:0], k.owners[:0]
}

// release gives the buffers back once decoding is over.
func (k *partitionKeys) release() {
	if k.keyBuffers != nil {
		keyBuffersPool.Put(k.keyBuffers)
		k.keyBuffers = nil
	}
}

// add gathers key, the partition key of record index.
func (k *partitionKeys) add(key []byte, index int) {
	k.buf = append(k.buf, key...)
	k.ends = append(k.ends, len(k.buf))
	k.owners = append(k.owners, index)
}

// setOn sets the PartitionKey of the records the keys belong to.
func (k *partitionKeys) setOn(records []PutRecordsRequestEntry) {
	if k.keyBuffers == nil || len(k.ends) == 0 {
		return
	}
	text := string(k.buf)
	strs := make([]string, len(k.ends))
	start := 0
	for i, end := range k.ends {
		strs[i] = text[start:end]
		start = end
		records[k.owners[i]].PartitionKey = &strs[i]
	}
}

func (s *fastScanner) skipSpace() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// consume skips white space and then c, reporting whether c was there.
func (s *fastScanner) consume(c byte) bool {
	s.skipSpace()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// plainString reads a string with no escapes and no control characters,
// made of valid UTF-8: exactly the strings whose bytes are their value.
// (encoding/json would replace invalid UTF-8 with U+FFFD; such strings
// go to the generic path.)
func (s *fastScanner) plainString() ([]byte, bool) {
	if !s.consume('"') {
		return nil, false
	}
	// The closing quote is found with IndexByte's vector search; a
	// backslash before it would make it an escaped quote, but a string
	// with a backslash is declined anyway (the generic path reads
	// escapes), so the first quote ends every string this path accepts.
	end := bytes.IndexByte(s.b[s.i:], '"')
	if end < 0 {
		return nil, false
	}
	v := s.b[s.i : s.i+end]
	var class byte
	for _, c := range v {
		class |= byteClass[c]
	}
	if class&classEscape != 0 {
		return nil, false
	}
	s.i += end + 1
	return v, class&classHigh == 0 || utf8.Valid(v)
}

// byteClass sorts the bytes of a JSON string: classEscape for those
// written escaped (a quote, a backslash, a control character), which
// plainString declines, classHigh for a byte of a multi-byte UTF-8
// sequence, which needs checking. Or-ing the classes of a string's bytes
// asks both questions in one pass without a branch per byte;
// appendJSONString copies the run of bytes of class 0 whole.
var byteClass = func() (t [256]byte) {
	for c := range 0x20 {
		t[c] = classEscape
	}
	t['\\'], t['"'] = classEscape, classEscape
	for c := 0x80; c < 0x100; c++ {
		t[c] = classHigh
	}
	return t
}()

const (
	classEscape = 1 << iota
	classHigh
)
