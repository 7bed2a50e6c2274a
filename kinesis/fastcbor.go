package kinesis

import (
	"encoding/binary"
	"unicode/utf8"
)

// decodePutRecordsCBOR is decodePutRecordsJSON for CBOR, the encoding of
// the Java SDK (and so of the KPL and the KCL). The generic path decodes
// a CBOR body into a tree of maps and binds it by reflection, an
// allocation or more per value; this one reads the plain form the SDKs
// send straight into the shape, with the same per-request buffers as the
// JSON fast path. It accepts only: a map of definite length with text
// keys StreamName, StreamARN (text) and Records (an array of definite
// length of maps with Data, a byte string, and PartitionKey and
// ExplicitHashKey, text), each at most once, texts of valid UTF-8, and
// nothing after the map. On anything else (a tag, an indefinite length, a
// null, an unknown or repeated member, another type) it reports false and
// the generic decoder decides, so the fast path changes speed, never
// behaviour: FuzzFastPutRecordsCBOR holds it to that.
//
// When it reports false, in may hold partial results and must be reset.
func decodePutRecordsCBOR(body []byte, in *PutRecordsInput, sc *scratch) bool {
	s := cborScanner{b: body, sc: sc}
	defer s.keys.release()
	n, ok := s.head(cborMajorMap)
	if !ok {
		return false
	}
	var seen [3]bool // StreamName, StreamARN, Records
	for range n {
		key, ok := s.text()
		if !ok {
			return false
		}
		if !putRecordsMember(in, &seen, key, s.text, func() bool { return s.records(in) }) {
			return false
		}
	}
	return s.i == len(s.b)
}

// records reads the Records array into in, the records' data and keys
// gathered as fastScanner.records gathers them.
func (s *cborScanner) records(in *PutRecordsInput) bool {
	n, ok := s.head(cborMajorArray)
	// The count sizes an allocation: beyond the 500 records a request may
	// hold, the generic path decodes (and refuses) it as it comes.
	if !ok || n > maxRecords {
		return false
	}
	in.Records = s.sc.takeRecords(int(n))[:n]
	// The rest of the body bounds the data of every record.
	s.data = s.sc.takeBytes(len(s.b) - s.i)
	s.keys.reset()
	for i := range in.Records {
		e := &in.Records[i]
		fields, ok := s.head(cborMajorMap)
		if !ok {
			return false
		}
		var seen [3]bool // Data, PartitionKey, ExplicitHashKey
		for range fields {
			key, ok := s.text()
			if !ok {
				return false
			}
			switch string(key) {
			case "Data":
				v, ok := s.bytes()
				if !ok || seen[0] {
					return false
				}
				seen[0] = true
				at := len(s.data)
				s.data = append(s.data, v...)
				e.Data = s.data[at:len(s.data):len(s.data)]
			case "PartitionKey":
				v, ok := s.text()
				if !ok || seen[1] {
					return false
				}
				seen[1] = true
				s.keys.add(v, i)
			case "ExplicitHashKey":
				v, ok := s.text()
				if !ok || seen[2] {
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
	s.keys.setOn(in.Records)
	return true
}

// cborScanner reads the small subset of CBOR the fast path accepts.
type cborScanner struct {
	b    []byte
	i    int
	sc   *scratch // where buffers come from; nil allocates them
	data []byte   // the records' data, one after another
	keys partitionKeys
}

// CBOR major types the fast path reads, besides cborMajorArray and
// cborMajorMap.
const (
	cborMajorBytes = 2
	cborMajorText  = 3
)

// head reads an item's head of major type major with a definite
// argument, returning the argument (a length or a count).
func (s *cborScanner) head(major byte) (uint64, bool) {
	if s.i >= len(s.b) || s.b[s.i]>>5 != major {
		return 0, false
	}
	info := s.b[s.i] & 0x1f
	s.i++
	var size int
	switch {
	case info < 24:
		return uint64(info), true
	case info == 24:
		size = 1
	case info == 25:
		size = 2
	case info == 26:
		size = 4
	case info == 27:
		size = 8
	default: // 28-30 are reserved, 31 is an indefinite length
		return 0, false
	}
	if len(s.b)-s.i < size {
		return 0, false
	}
	var buf [8]byte
	copy(buf[8-size:], s.b[s.i:s.i+size])
	s.i += size
	return binary.BigEndian.Uint64(buf[:]), true
}

// str reads a byte or text string of major type major, aliasing the body.
func (s *cborScanner) str(major byte) ([]byte, bool) {
	n, ok := s.head(major)
	if !ok || n > uint64(len(s.b)-s.i) {
		return nil, false
	}
	v := s.b[s.i : s.i+int(n)]
	s.i += int(n)
	return v, true
}

// bytes reads a byte string.
func (s *cborScanner) bytes() ([]byte, bool) { return s.str(cborMajorBytes) }

// text reads a text string of valid UTF-8, as the generic decoder
// requires (cbor.UTF8RejectInvalid).
func (s *cborScanner) text() ([]byte, bool) {
	v, ok := s.str(cborMajorText)
	return v, ok && utf8.Valid(v)
}
