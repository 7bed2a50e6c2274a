package kinesis

import (
	"encoding/base64"
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

// decodePutRecordsJSON fills in from body and reports whether it could.
// When it reports false, in may hold partial results and must be reset.
func decodePutRecordsJSON(body []byte, in *PutRecordsInput) bool {
	s := fastScanner{b: body}
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
		switch string(key) {
		case "StreamName", "StreamARN":
			i := 0
			if string(key) == "StreamARN" {
				i = 1
			}
			v, ok := s.plainString()
			if !ok || seen[i] {
				return false
			}
			seen[i] = true
			str := string(v)
			if i == 0 {
				in.StreamName = &str
			} else {
				in.StreamARN = &str
			}
		case "Records":
			if seen[2] || !s.records(in) {
				return false
			}
			seen[2] = true
		default:
			return false
		}
	}
	s.skipSpace()
	return s.i == len(s.b)
}

// records reads the Records array.
func (s *fastScanner) records(in *PutRecordsInput) bool {
	if !s.consume('[') {
		return false
	}
	in.Records = make([]PutRecordsRequestEntry, 0, 16)
	for first := true; ; first = false {
		if s.consume(']') {
			return true
		}
		if !first && !s.consume(',') {
			return false
		}
		var e PutRecordsRequestEntry
		if !s.entry(&e) {
			return false
		}
		in.Records = append(in.Records, e)
	}
}

// entry reads one record object.
func (s *fastScanner) entry(e *PutRecordsRequestEntry) bool {
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
			data := make([]byte, base64.StdEncoding.DecodedLen(len(v)))
			n, err := base64.StdEncoding.Strict().Decode(data, v)
			if err != nil {
				return false
			}
			e.Data = data[:n]
		case "PartitionKey":
			if seen[1] {
				return false
			}
			seen[1] = true
			str := string(v)
			e.PartitionKey = &str
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
	b []byte
	i int
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
	start := s.i
	ascii := true
	for ; s.i < len(s.b); s.i++ {
		c := s.b[s.i]
		switch {
		case c == '"':
			v := s.b[start:s.i]
			s.i++
			return v, ascii || utf8.Valid(v)
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= 0x80:
			ascii = false
		}
	}
	return nil, false
}
