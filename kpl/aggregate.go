package kpl

import (
	"crypto/md5"
	"errors"

	"google.golang.org/protobuf/encoding/protowire"
)

// DefaultMaxRecordSize is the largest Kinesis record a stream takes unless
// UpdateMaxRecordSize raised it: 1 MiB of data and partition key together.
const DefaultMaxRecordSize = 1 << 20

// magic opens the Data of every aggregated record.
var magic = [4]byte{0xF3, 0x89, 0x9A, 0xC2}

// overhead is what an aggregate adds around its protobuf body: the magic
// and the MD5.
const overhead = len(magic) + md5.Size

// Field numbers of aggregated.proto, which the encoder and the decoder
// write and read directly (see "The generated code" in doc.go).
const (
	fieldPartitionKeyTable    protowire.Number = 1 // AggregatedRecord
	fieldExplicitHashKeyTable protowire.Number = 2
	fieldRecords              protowire.Number = 3

	fieldPartitionKeyIndex    protowire.Number = 1 // AggregatedRecord.Record
	fieldExplicitHashKeyIndex protowire.Number = 2
	fieldData                 protowire.Number = 3
	fieldTags                 protowire.Number = 4

	fieldTagKey   protowire.Number = 1 // AggregatedRecord.Tag
	fieldTagValue protowire.Number = 2
)

// Record is one user record inside an aggregate.
type Record struct {
	// PartitionKey is the user record's partition key. The format stores
	// any byte string; Kinesis's rules for partition keys (1 to 256
	// characters) are the producer's to apply, not the format's.
	PartitionKey string
	// ExplicitHashKey is the user record's explicit hash key, a decimal
	// number, or "" for none: the format leaves the index out then.
	ExplicitHashKey string
	// Data is the user record's payload. Deaggregate returns it as a
	// slice of the aggregate it read, not a copy.
	Data []byte
	// Tags are the format's key/value annotations, which KPL and KCL do
	// not expose; Tributary's producer carries its metadata there.
	Tags []Tag
}

// Tag is one annotation of a Record. The format tells an absent value
// from an empty one, so HasValue says which.
type Tag struct {
	Key      string
	Value    string
	HasValue bool
}

// ErrFull is Add's answer when the record would take the aggregate over
// its limit although it would fit in an empty one: send the aggregate,
// Reset, and add the record again.
var ErrFull = errors.New("kpl: the record does not fit in the aggregate")

// ErrTooLarge is Add's answer when the record would not fit even in an
// empty aggregate: it has to be sent on its own, if the stream takes it.
var ErrTooLarge = errors.New("kpl: the record is too large for an aggregate of this size")

// Aggregator builds one aggregated record. It counts sizes as Kinesis
// does, exactly: the encoded Data (magic, protobuf, MD5) plus the length
// in bytes of the outer partition key the aggregate will be put with, so
// that an aggregate it builds is accepted as a record of its limit.
// Explicit hash keys, inner or outer, are not counted by Kinesis and are
// not counted here except as the bytes they take in the encoding.
//
// It keeps the three parts of the message apart (partition key table,
// explicit hash key table, records) and joins them in Bytes, so that the
// output has its fields in field-number order, as protobuf's own
// serializers and the KPL write them, whatever order keys first appear in.
//
// The zero Aggregator is not usable; make one with NewAggregator. An
// Aggregator is not safe for concurrent use.
type Aggregator struct {
	maxSize  int // the largest Kinesis record allowed, data and outer key
	outerKey int // bytes of the outer partition key

	// Encoded fields of the message, each with its tag: field 1 entries,
	// field 2 entries, field 3 entries.
	pkTable, ehkTable, records []byte
	// The index of every key already in a table.
	pkIndex, ehkIndex map[string]uint64
	n                 int
}

// NewAggregator returns an empty Aggregator whose aggregates, put with an
// outer partition key of outerKeyLen bytes (its UTF-8 length), stay within
// maxRecordSize bytes as Kinesis counts them (DefaultMaxRecordSize, or the
// stream's maximum). The KPL uses the one-byte key "a" and addresses the
// aggregate with an explicit hash key.
func NewAggregator(maxRecordSize, outerKeyLen int) *Aggregator {
	return &Aggregator{
		maxSize:  maxRecordSize,
		outerKey: outerKeyLen,
		pkIndex:  make(map[string]uint64),
		ehkIndex: make(map[string]uint64),
	}
}

// Len returns the number of records added since the last Reset.
func (a *Aggregator) Len() int { return a.n }

// Size returns the size Kinesis will count for the aggregate:
// len(Bytes()) plus the outer partition key's length; 0 when it is empty.
func (a *Aggregator) Size() int {
	if a.n == 0 {
		return 0
	}
	return a.outerKey + overhead + a.bodyLen()
}

func (a *Aggregator) bodyLen() int { return len(a.pkTable) + len(a.ehkTable) + len(a.records) }

// Add appends r to the aggregate if the aggregate then stays within its
// limit. Otherwise it changes nothing and returns ErrFull, or ErrTooLarge
// when r would not fit even alone. Add copies r.Data, so the caller may
// reuse it; the key and tag strings are kept.
func (a *Aggregator) Add(r Record) error {
	pkIdx, pkOld := a.pkIndex[r.PartitionKey]
	if !pkOld {
		pkIdx = uint64(len(a.pkIndex))
	}
	hasEHK := r.ExplicitHashKey != ""
	var ehkIdx uint64
	ehkOld := true
	if hasEHK {
		ehkIdx, ehkOld = a.ehkIndex[r.ExplicitHashKey]
		if !ehkOld {
			ehkIdx = uint64(len(a.ehkIndex))
		}
	}

	grow := sizeField(recordLen(&r, pkIdx, hasEHK, ehkIdx))
	if !pkOld {
		grow += sizeField(len(r.PartitionKey))
	}
	if !ehkOld {
		grow += sizeField(len(r.ExplicitHashKey))
	}
	if a.outerKey+overhead+a.bodyLen()+grow > a.maxSize {
		// Alone, r would have both keys new at index 0.
		alone := sizeField(recordLen(&r, 0, hasEHK, 0)) + sizeField(len(r.PartitionKey))
		if hasEHK {
			alone += sizeField(len(r.ExplicitHashKey))
		}
		if a.n == 0 || a.outerKey+overhead+alone > a.maxSize {
			return ErrTooLarge
		}
		return ErrFull
	}

	if !pkOld {
		a.pkIndex[r.PartitionKey] = pkIdx
		a.pkTable = protowire.AppendTag(a.pkTable, fieldPartitionKeyTable, protowire.BytesType)
		a.pkTable = protowire.AppendString(a.pkTable, r.PartitionKey)
	}
	if !ehkOld {
		a.ehkIndex[r.ExplicitHashKey] = ehkIdx
		a.ehkTable = protowire.AppendTag(a.ehkTable, fieldExplicitHashKeyTable, protowire.BytesType)
		a.ehkTable = protowire.AppendString(a.ehkTable, r.ExplicitHashKey)
	}
	b := protowire.AppendTag(a.records, fieldRecords, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(recordLen(&r, pkIdx, hasEHK, ehkIdx)))
	b = protowire.AppendTag(b, fieldPartitionKeyIndex, protowire.VarintType)
	b = protowire.AppendVarint(b, pkIdx)
	if hasEHK {
		b = protowire.AppendTag(b, fieldExplicitHashKeyIndex, protowire.VarintType)
		b = protowire.AppendVarint(b, ehkIdx)
	}
	b = protowire.AppendTag(b, fieldData, protowire.BytesType)
	b = protowire.AppendBytes(b, r.Data)
	for i := range r.Tags {
		t := &r.Tags[i]
		b = protowire.AppendTag(b, fieldTags, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(tagLen(t)))
		b = protowire.AppendTag(b, fieldTagKey, protowire.BytesType)
		b = protowire.AppendString(b, t.Key)
		if t.HasValue {
			b = protowire.AppendTag(b, fieldTagValue, protowire.BytesType)
			b = protowire.AppendString(b, t.Value)
		}
	}
	a.records = b
	a.n++
	return nil
}

// sizeField is the encoded size of a length-delimited field of n bytes
// whose number is below 16 (a one-byte tag), as all of the format's are.
func sizeField(n int) int { return 1 + protowire.SizeVarint(uint64(n)) + n }

// sizeVarintField is the encoded size of a varint field with a one-byte tag.
func sizeVarintField(v uint64) int { return 1 + protowire.SizeVarint(v) }

// recordLen is the encoded size of r's Record message, without its own
// tag and length.
func recordLen(r *Record, pkIdx uint64, hasEHK bool, ehkIdx uint64) int {
	n := sizeVarintField(pkIdx) + sizeField(len(r.Data))
	if hasEHK {
		n += sizeVarintField(ehkIdx)
	}
	for i := range r.Tags {
		n += sizeField(tagLen(&r.Tags[i]))
	}
	return n
}

// tagLen is the encoded size of a Tag message, without its own tag and
// length.
func tagLen(t *Tag) int {
	n := sizeField(len(t.Key))
	if t.HasValue {
		n += sizeField(len(t.Value))
	}
	return n
}

// Bytes returns the aggregate as a Kinesis record's Data, in a new slice
// the caller owns; nil when no record was added (an aggregate of nothing
// is 20 bytes that KCL takes for a plain record). It does not reset the
// Aggregator.
func (a *Aggregator) Bytes() []byte {
	if a.n == 0 {
		return nil
	}
	body := a.bodyLen()
	out := make([]byte, 0, overhead+body)
	out = append(out, magic[:]...)
	out = append(out, a.pkTable...)
	out = append(out, a.ehkTable...)
	out = append(out, a.records...)
	sum := md5.Sum(out[len(magic):])
	return append(out, sum[:]...)
}

// Reset empties the Aggregator for the next aggregate, keeping its limit
// and its buffers, so that a steady producer allocates nothing per
// aggregate but the slice Bytes returns.
func (a *Aggregator) Reset() {
	a.pkTable = a.pkTable[:0]
	a.ehkTable = a.ehkTable[:0]
	a.records = a.records[:0]
	clear(a.pkIndex)
	clear(a.ehkIndex)
	a.n = 0
}
