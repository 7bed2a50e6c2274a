package kpl

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// Errors of Deaggregate, wrapped with details; test them with errors.Is.
var (
	// ErrChecksum: the MD5 at the end is not the MD5 of the protobuf body.
	ErrChecksum = errors.New("kpl: the aggregated record's MD5 does not match its body")
	// ErrProtobuf: the body is not an AggregatedRecord message (malformed
	// protobuf, or a required field missing).
	ErrProtobuf = errors.New("kpl: the aggregated record's body is not a valid AggregatedRecord")
	// ErrPartitionKeyIndex: a record's partition key index is not in the
	// partition key table.
	ErrPartitionKeyIndex = errors.New("kpl: partition key index out of range")
	// ErrExplicitHashKeyIndex: a record's explicit hash key index is not
	// in the explicit hash key table.
	ErrExplicitHashKeyIndex = errors.New("kpl: explicit hash key index out of range")
)

// IsAggregated reports whether a Kinesis record's Data is an aggregated
// record: it starts with the magic and has more than the magic and the
// MD5, as KCL requires. It does not check the MD5.
func IsAggregated(data []byte) bool {
	return len(data) > overhead && bytes.Equal(data[:len(magic)], magic[:])
}

// Deaggregate returns the user records of a Kinesis record's Data.
//
// Data that is not aggregated (see IsAggregated) is passed through: the
// result is one Record whose Data is data itself and whose keys are empty,
// for the caller to give the Kinesis record's partition key. Otherwise the
// result holds the aggregate's records in order (none for an aggregate of
// no records), or an error that errors.Is matches to ErrChecksum,
// ErrProtobuf, ErrPartitionKeyIndex or ErrExplicitHashKeyIndex.
//
// The records' Data are slices of data, not copies (capped, so appending
// to one never overwrites the next); the key and tag strings share one
// allocation. Decoding makes a fixed handful of allocations per aggregate
// whatever the number of records.
//
// It reads the message as protobuf's own parsers do, so that what they
// accept is read the same way here and what they refuse is ErrProtobuf:
// fields may come in any order, fields the format does not define are
// skipped, a field that is not repeated but given twice takes its last
// value, and a record without its partition key index or its data, or a
// tag without its key, is malformed (they are required in proto2).
//
// Memory: the records and tags take about 80 and 40 bytes each, and the
// smallest encodings take 6 and 4 bytes, so a hostile aggregate can make
// Deaggregate allocate some 13 times its own size.
func Deaggregate(data []byte) ([]Record, error) {
	if !IsAggregated(data) {
		return []Record{{Data: data}}, nil
	}
	body := data[len(magic) : len(data)-md5.Size]
	if md5.Sum(body) != [md5.Size]byte(data[len(data)-md5.Size:]) {
		return nil, ErrChecksum
	}

	// Three walks over the message, so that everything is allocated once,
	// at its final size, and key tables are complete before records are
	// resolved against them (protobuf allows the fields in any order).
	// 1: count and validate.
	var c counts
	if err := c.scan(body); err != nil {
		return nil, err
	}
	// 2: the key tables, in one string.
	var sb strings.Builder
	sb.Grow(c.strBytes)
	keys := make([]string, c.pks+c.ehks)
	pks, ehks := keys[:0:c.pks], keys[c.pks:c.pks]
	for b := body; len(b) > 0; {
		num, typ, _, v, n, _ := consumeField(b) // scan checked every field
		b = b[n:]
		if typ != protowire.BytesType {
			continue
		}
		switch num {
		case fieldPartitionKeyTable:
			pks = append(pks, intern(&sb, v))
		case fieldExplicitHashKeyTable:
			ehks = append(ehks, intern(&sb, v))
		}
	}
	// 3: the records.
	recs := make([]Record, 0, c.records)
	var tags []Tag
	if c.tags > 0 {
		tags = make([]Tag, 0, c.tags)
	}
	for b := body; len(b) > 0; {
		num, typ, _, v, n, _ := consumeField(b) // scan checked every field
		b = b[n:]
		if num != fieldRecords || typ != protowire.BytesType {
			continue
		}
		var raw rawRecord
		raw.parse(v) // validated by scan
		if raw.pkIdx >= uint64(len(pks)) {
			return nil, fmt.Errorf("%w: record %d has index %d in a table of %d keys", ErrPartitionKeyIndex, len(recs), raw.pkIdx, len(pks))
		}
		r := Record{PartitionKey: pks[raw.pkIdx], Data: raw.data[:len(raw.data):len(raw.data)]}
		if raw.hasEHK {
			if raw.ehkIdx >= uint64(len(ehks)) {
				return nil, fmt.Errorf("%w: record %d has index %d in a table of %d keys", ErrExplicitHashKeyIndex, len(recs), raw.ehkIdx, len(ehks))
			}
			r.ExplicitHashKey = ehks[raw.ehkIdx]
		}
		if raw.tags > 0 {
			start := len(tags)
			for rb := v; len(rb) > 0; {
				num, typ, _, tv, n, _ := consumeField(rb)
				rb = rb[n:]
				if num == fieldTags && typ == protowire.BytesType {
					var rt rawTag
					rt.parse(tv)
					tags = append(tags, Tag{Key: intern(&sb, rt.key), Value: intern(&sb, rt.value), HasValue: rt.hasValue})
				}
			}
			r.Tags = tags[start:len(tags):len(tags)]
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// intern copies v into sb and returns it as a string sharing sb's one
// buffer. sb was grown to hold every string of the aggregate, and a
// strings.Builder never changes bytes it has written, so each string
// stays valid.
func intern(sb *strings.Builder, v []byte) string {
	if len(v) == 0 {
		return ""
	}
	start := sb.Len()
	sb.Write(v)
	return sb.String()[start:]
}

// counts is what Deaggregate needs to know before it allocates.
type counts struct {
	pks, ehks, records, tags int
	strBytes                 int // key and tag bytes, all together
}

// scan walks the AggregatedRecord message, checks that it is well formed
// and that every record and tag has its required fields, and counts.
func (c *counts) scan(body []byte) error {
	for b := body; len(b) > 0; {
		num, typ, _, v, n, err := consumeField(b)
		if err != nil {
			return fmt.Errorf("%w: at byte %d: %v", ErrProtobuf, len(body)-len(b), err)
		}
		b = b[n:]
		if typ != protowire.BytesType {
			continue
		}
		switch num {
		case fieldPartitionKeyTable:
			c.pks++
			c.strBytes += len(v)
		case fieldExplicitHashKeyTable:
			c.ehks++
			c.strBytes += len(v)
		case fieldRecords:
			var raw rawRecord
			if err := raw.parse(v); err != nil {
				return fmt.Errorf("%w: record %d: %v", ErrProtobuf, c.records, err)
			}
			c.records++
			c.tags += raw.tags
			c.strBytes += raw.tagBytes
		}
	}
	return nil
}

// rawRecord is a Record message as read, before its indexes are resolved.
type rawRecord struct {
	pkIdx, ehkIdx  uint64
	hasPK, hasEHK  bool
	data           []byte
	hasData        bool
	tags, tagBytes int
}

var (
	errFieldNumber = errors.New("field number out of range")
	errMissingPK   = errors.New("no partition_key_index")
	errMissingData = errors.New("no data")
	errMissingKey  = errors.New("a tag has no key")
)

func (r *rawRecord) parse(b []byte) error {
	for len(b) > 0 {
		num, typ, x, v, n, err := consumeField(b)
		if err != nil {
			return err
		}
		b = b[n:]
		switch {
		case num == fieldPartitionKeyIndex && typ == protowire.VarintType:
			r.pkIdx, r.hasPK = x, true
		case num == fieldExplicitHashKeyIndex && typ == protowire.VarintType:
			r.ehkIdx, r.hasEHK = x, true
		case num == fieldData && typ == protowire.BytesType:
			r.data, r.hasData = v, true
		case num == fieldTags && typ == protowire.BytesType:
			var t rawTag
			if err := t.parse(v); err != nil {
				return err
			}
			r.tags++
			r.tagBytes += len(t.key) + len(t.value)
		}
	}
	if !r.hasPK {
		return errMissingPK
	}
	if !r.hasData {
		return errMissingData
	}
	return nil
}

// rawTag is a Tag message as read.
type rawTag struct {
	key, value       []byte
	hasKey, hasValue bool
}

func (t *rawTag) parse(b []byte) error {
	for len(b) > 0 {
		num, typ, _, v, n, err := consumeField(b)
		if err != nil {
			return err
		}
		b = b[n:]
		switch {
		case num == fieldTagKey && typ == protowire.BytesType:
			t.key, t.hasKey = v, true
		case num == fieldTagValue && typ == protowire.BytesType:
			t.value, t.hasValue = v, true
		}
	}
	if !t.hasKey {
		return errMissingKey
	}
	return nil
}

// consumeField reads one field at the start of b: its number and wire
// type, its value when it is a varint (x) or length-delimited (v), and the
// bytes it takes, or an error. Other wire types (fixed-size, groups) are
// not in the format and are skipped as protobuf skips unknown fields, with
// the same checks.
func consumeField(b []byte) (num protowire.Number, typ protowire.Type, x uint64, v []byte, n int, err error) {
	// Nearly every field of an aggregate has a one-byte tag and a value or
	// length below 128; reading those here saves a third of the decoding.
	if len(b) >= 2 && b[0] < 0x80 && b[0] >= 1<<3 && b[1] < 0x80 {
		num, typ = protowire.Number(b[0]>>3), protowire.Type(b[0]&7)
		switch typ {
		case protowire.VarintType:
			return num, typ, uint64(b[1]), nil, 2, nil
		case protowire.BytesType:
			if n := 2 + int(b[1]); n <= len(b) {
				return num, typ, 0, b[2:n:n], n, nil
			}
		}
	}
	num, typ, n = protowire.ConsumeTag(b)
	if n < 0 {
		return 0, 0, 0, nil, 0, protowire.ParseError(n)
	}
	// protowire reads any tag that fits in 32 bits; protobuf's decoders
	// refuse numbers past the largest a .proto may declare.
	if num > protowire.MaxValidNumber {
		return 0, 0, 0, nil, 0, errFieldNumber
	}
	var m int
	switch typ {
	case protowire.VarintType:
		x, m = protowire.ConsumeVarint(b[n:])
	case protowire.BytesType:
		v, m = protowire.ConsumeBytes(b[n:])
	default:
		m = protowire.ConsumeFieldValue(num, typ, b[n:])
	}
	if m < 0 {
		return 0, 0, 0, nil, 0, protowire.ParseError(m)
	}
	return num, typ, x, v, n + m, nil
}
