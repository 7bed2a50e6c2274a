package kinesis

import (
	"bytes"
	"testing"
	"time"
)

func getRecordsCases() map[string]*GetRecordsOutput {
	at := TimestampOf(time.Date(2024, 1, 1, 0, 0, 0, 123_000_000, time.UTC))
	return map[string]*GetRecordsOutput{
		"empty page":      {Records: []Record{}, NextShardIterator: ptr("AAAA"), MillisBehindLatest: ptr[int64](0)},
		"nil records":     {MillisBehindLatest: ptr[int64](5)},
		"bench page":      benchRecords(50),
		"odd strings":     {Records: []Record{{SequenceNumber: "1", ApproximateArrivalTimestamp: at, Data: []byte{0, 0xff}, PartitionKey: "quote\" back\\ tab\t ключ <&> \u2028"}}},
		"no timestamp":    {Records: []Record{{SequenceNumber: "2", Data: nil, PartitionKey: ""}}},
		"encryption type": {Records: []Record{{SequenceNumber: "3", Data: []byte("x"), PartitionKey: "k", EncryptionType: ptr("KMS")}}, NextShardIterator: ptr("it")},
	}
}

func TestFastGetRecordsMatchesGeneric(t *testing.T) {
	for name, out := range getRecordsCases() {
		t.Run(name, func(t *testing.T) {
			checkFastMatchesGeneric(t, out, appendGetRecordsJSON, appendGetRecordsCBOR)
		})
	}
	if _, ok := appendGetRecordsCBOR(nil, &GetRecordsOutput{ChildShards: []ChildShard{{ShardID: "shardId-000000000001"}}}); ok {
		t.Fatal("CBOR fast path took a page with ChildShards")
	}
	withChildren := &GetRecordsOutput{Records: []Record{}, ChildShards: []ChildShard{{ShardID: "shardId-000000000001"}}}
	if _, ok := appendGetRecordsJSON(nil, withChildren); ok {
		t.Fatal("fast path took a page with ChildShards")
	}
}

// FuzzFastGetRecords builds pages from fuzzed strings and bytes and checks
// the fast encoder writes the generic encoder's bytes.
func FuzzFastGetRecords(f *testing.F) {
	f.Add("49590338271490256608559692538361571095921575989136588898", "pk", []byte("data"), int64(1_700_000_000_123), "iterator", int64(0))
	f.Add("", "\x00\"\\\u2028ü\xff", []byte{}, int64(-1), "", int64(-5))
	f.Fuzz(func(t *testing.T, seq, pk string, data []byte, ms int64, iter string, behind int64) {
		at := TimestampOf(time.UnixMilli(ms))
		out := &GetRecordsOutput{
			Records:            []Record{{SequenceNumber: seq, ApproximateArrivalTimestamp: at, Data: data, PartitionKey: pk}, {SequenceNumber: pk, Data: data, PartitionKey: seq}},
			NextShardIterator:  &iter,
			MillisBehindLatest: &behind,
		}
		fast, ok := appendGetRecordsJSON(nil, out)
		if !ok {
			t.Fatal("fast path declined")
		}
		generic, err := encodeGeneric(EncodingJSON, out)
		if err != nil {
			return // nothing to compare with
		}
		if !bytes.Equal(fast, generic) {
			t.Fatalf("fast:\n%q\ngeneric:\n%q", fast, generic)
		}
		fastCBOR, _ := appendGetRecordsCBOR(nil, out)
		if genericCBOR, err := encodeGeneric(EncodingCBOR, out); err == nil && !bytes.Equal(fastCBOR, genericCBOR) {
			t.Fatalf("CBOR fast:\n%x\ngeneric:\n%x", fastCBOR, genericCBOR)
		}
	})
}

func putRecordsCases() map[string]*PutRecordsOutput {
	seq := "49590338271490256608559692538361571095921575989136588898"
	many := &PutRecordsOutput{FailedRecordCount: ptr[int32](0), Records: make([]PutRecordsResultEntry, 500)}
	for i := range many.Records {
		many.Records[i] = PutRecordsResultEntry{SequenceNumber: ptr(seq), ShardID: ptr("shardId-000000000003")}
	}
	return map[string]*PutRecordsOutput{
		"500 stored": many,
		"mixed": {FailedRecordCount: ptr[int32](2), Records: []PutRecordsResultEntry{
			{SequenceNumber: ptr(seq), ShardID: ptr("shardId-000000000000")},
			{ErrorCode: ptr("ProvisionedThroughputExceededException"), ErrorMessage: ptr("Rate exceeded for shard shardId-000000000001 in stream s under account 000000000000.")},
			{ErrorCode: ptr("InternalFailure"), ErrorMessage: ptr("Internal service failure.")},
		}},
		"no records":      {FailedRecordCount: ptr[int32](0), Records: []PutRecordsResultEntry{}},
		"no count":        {Records: []PutRecordsResultEntry{{SequenceNumber: ptr("1")}}},
		"empty entry":     {Records: []PutRecordsResultEntry{{}}},
		"encryption type": {FailedRecordCount: ptr[int32](0), Records: []PutRecordsResultEntry{{SequenceNumber: ptr("1"), ShardID: ptr("s")}}, EncryptionType: ptr("KMS")},
		"odd strings":     {Records: []PutRecordsResultEntry{{ErrorCode: ptr("\"\\\t<&>\u2028ü"), ErrorMessage: ptr("")}}},
	}
}

// TestFastPutRecordsMatchesGeneric: the PutRecords fast paths write the
// generic encoder's bytes, in JSON and CBOR, and decline a nil Records.
func TestFastPutRecordsMatchesGeneric(t *testing.T) {
	for name, out := range putRecordsCases() {
		t.Run(name, func(t *testing.T) {
			checkFastMatchesGeneric(t, out, appendPutRecordsJSON, appendPutRecordsCBOR)
		})
	}
	if _, ok := appendPutRecordsJSON(nil, &PutRecordsOutput{}); ok {
		t.Fatal("fast path took a nil Records")
	}
	if _, ok := appendPutRecordsCBOR(nil, &PutRecordsOutput{}); ok {
		t.Fatal("CBOR fast path took a nil Records")
	}
	// And EncodeAs takes it (the generic encoder would allocate per
	// field; the fast path a buffer and no more).
	out := putRecordsCases()["500 stored"]
	if n := testing.AllocsPerRun(10, func() { EncodeAs(EncodingJSON, out) }); n > 1 {
		t.Errorf("EncodeAs(JSON) of 500 entries: %v allocations, want 1", n)
	}
}

// checkFastMatchesGeneric checks that an answer's fast encoders take it
// and write the generic encoder's bytes, in JSON and in CBOR.
func checkFastMatchesGeneric[T any](t *testing.T, out *T, appendJSON, appendCBOR func([]byte, *T) ([]byte, bool)) {
	t.Helper()
	for _, c := range []struct {
		enc  Encoding
		fast func([]byte, *T) ([]byte, bool)
	}{{EncodingJSON, appendJSON}, {EncodingCBOR, appendCBOR}} {
		fast, ok := c.fast(nil, out)
		if !ok {
			t.Fatalf("%v: fast path declined", c.enc)
		}
		generic, err := encodeGeneric(c.enc, out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fast, generic) {
			t.Fatalf("%v fast:\n%q\ngeneric:\n%q", c.enc, fast, generic)
		}
	}
}

// FuzzFastPutRecordsAnswer builds answers from fuzzed strings, each field
// present or not, and checks the fast encoders write the generic ones'
// bytes.
func FuzzFastPutRecordsAnswer(f *testing.F) {
	f.Add("49590338271490256608559692538361571095921575989136588898", "shardId-000000000000", "", "", int32(0), uint8(0b0011))
	f.Add("", "", "InternalFailure", "\x00\"\\\u2028ü\xff", int32(-3), uint8(0b11111100))
	f.Fuzz(func(t *testing.T, seq, shard, code, msg string, failed int32, present uint8) {
		field := func(bit uint, s string) *string {
			if present&(1<<bit) == 0 {
				return nil
			}
			return &s
		}
		out := &PutRecordsOutput{Records: []PutRecordsResultEntry{
			{SequenceNumber: field(0, seq), ShardID: field(1, shard), ErrorCode: field(2, code), ErrorMessage: field(3, msg)},
			{SequenceNumber: field(4, msg), ShardID: field(5, code), ErrorCode: field(6, shard), ErrorMessage: field(7, seq)},
		}}
		if present&1 == 0 {
			out.FailedRecordCount = &failed
		}
		if present&2 == 0 {
			out.EncryptionType = &code
		}
		fast, _ := appendPutRecordsJSON(nil, out)
		generic, err := encodeGeneric(EncodingJSON, out)
		if err != nil {
			return // nothing to compare with
		}
		if !bytes.Equal(fast, generic) {
			t.Fatalf("fast:\n%q\ngeneric:\n%q", fast, generic)
		}
		fastCBOR, _ := appendPutRecordsCBOR(nil, out)
		if genericCBOR, err := encodeGeneric(EncodingCBOR, out); err == nil && !bytes.Equal(fastCBOR, genericCBOR) {
			t.Fatalf("CBOR fast:\n%x\ngeneric:\n%x", fastCBOR, genericCBOR)
		}
	})
}
