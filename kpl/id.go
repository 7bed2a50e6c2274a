package kpl

import (
	"bytes"
	"crypto/md5"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// Record identities: Tributary's producer marks each user record it
// aggregates with one tag naming the producer and the record's place among
// that producer's records, so that a copy sent again (after an answer was
// lost) can be recognised: by Tributary's server, which stores an
// aggregate once, and by consumers reading from AWS, which drop the copy.
// KPL and KCL ignore tags, so the payloads and keys are untouched.
//
// The tag's key is IDTagKey and its value "PRODUCER.SEQ": PRODUCER is the
// producer's id (1 to 64 letters, digits, '-' or '_'), SEQ its sequence in
// decimal, from 1, increasing in the order the producer took the records.

// IDTagKey is the key of the tag that carries a record's ID.
const IDTagKey = "tributary"

const maxProducerLen = 64

// ID is a user record's identity.
type ID struct {
	Producer string
	Seq      uint64
}

// Tag returns id as the tag that carries it.
func (id ID) Tag() Tag {
	b := make([]byte, 0, len(id.Producer)+21)
	b = append(b, id.Producer...)
	b = append(b, '.')
	b = strconv.AppendUint(b, id.Seq, 10)
	return Tag{Key: IDTagKey, Value: string(b), HasValue: true}
}

// ValidProducer reports whether p may be a producer's id.
func ValidProducer(p string) bool { return validProducer([]byte(p)) }

func validProducer(p []byte) bool {
	if len(p) == 0 || len(p) > maxProducerLen {
		return false
	}
	for _, c := range p {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// IDOf returns the ID a record's tags carry, if one does.
func IDOf(tags []Tag) (ID, bool) {
	for _, t := range tags {
		if t.Key == IDTagKey && t.HasValue {
			p, s, ok := parseID([]byte(t.Value))
			if ok {
				return ID{Producer: string(p), Seq: s}, true
			}
		}
	}
	return ID{}, false
}

func parseID(v []byte) (producer []byte, seq uint64, ok bool) {
	i := bytes.LastIndexByte(v, '.')
	if i < 0 || !validProducer(v[:i]) {
		return nil, 0, false
	}
	digits := v[i+1:]
	if len(digits) == 0 || len(digits) > 20 || (len(digits) > 1 && digits[0] == '0') {
		return nil, 0, false
	}
	seq, err := strconv.ParseUint(string(digits), 10, 64)
	if err != nil || seq == 0 {
		return nil, 0, false
	}
	return v[:i], seq, true
}

// Span identifies an aggregate of one producer's records: the IDs of its
// first and last records and how many it holds. A producer never gives
// two records one ID and takes each record once into its sequence, so two
// aggregates with one Span hold the same records (an aggregate built
// again from some of the same records and others differs in its first or
// last ID or in its count).
type Span struct {
	Producer    string
	First, Last uint64
	Records     int
}

// SpanOf returns the Span of a Kinesis record's Data when it is an
// aggregate whose MD5 is right and whose first and last records carry IDs
// of one producer. It reads only what it needs: the records' fields at the
// top level, and the tags of the first and last records; it does not
// check the rest of the aggregate as Deaggregate does. Anything else
// (not aggregated, no IDs, malformed) is not a Span.
func SpanOf(data []byte) (Span, bool) {
	if !IsAggregated(data) {
		return Span{}, false
	}
	body := data[len(magic) : len(data)-md5.Size]
	var first, last []byte
	n := 0
	for b := body; len(b) > 0; {
		num, typ, _, v, m, err := consumeField(b)
		if err != nil {
			return Span{}, false
		}
		b = b[m:]
		if num == fieldRecords && typ == protowire.BytesType {
			if n == 0 {
				first = v
			}
			last = v
			n++
		}
	}
	if n == 0 {
		return Span{}, false
	}
	p1, s1, ok1 := recordID(first)
	p2, s2, ok2 := recordID(last)
	if !ok1 || !ok2 || !bytes.Equal(p1, p2) || s2 < s1 || uint64(n) > s2-s1+1 {
		return Span{}, false
	}
	// The checksum last: an aggregate without IDs (AWS's KPL) costs a
	// walk of its fields, not an MD5 of its body, on the server's hot path.
	if md5.Sum(body) != [md5.Size]byte(data[len(data)-md5.Size:]) {
		return Span{}, false
	}
	return Span{Producer: string(p1), First: s1, Last: s2, Records: n}, true
}

// recordID returns the ID in the tags of an encoded Record message.
func recordID(rec []byte) (producer []byte, seq uint64, ok bool) {
	for len(rec) > 0 {
		num, typ, _, v, n, err := consumeField(rec)
		if err != nil {
			return nil, 0, false
		}
		rec = rec[n:]
		if num != fieldTags || typ != protowire.BytesType {
			continue
		}
		var t rawTag
		if t.parse(v) != nil || !t.hasValue || string(t.key) != IDTagKey {
			continue
		}
		if p, s, ok := parseID(t.value); ok {
			return p, s, true
		}
	}
	return nil, 0, false
}
