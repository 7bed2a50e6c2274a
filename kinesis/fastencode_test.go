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
			fast, ok := appendGetRecordsJSON(nil, out)
			if !ok {
				t.Fatal("fast path declined")
			}
			generic, err := encodeGeneric(EncodingJSON, out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(fast, generic) {
				t.Fatalf("fast:\n%s\ngeneric:\n%s", fast, generic)
			}
			fastCBOR, ok := appendGetRecordsCBOR(out)
			if !ok {
				t.Fatal("CBOR fast path declined")
			}
			genericCBOR, err := encodeGeneric(EncodingCBOR, out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(fastCBOR, genericCBOR) {
				t.Fatalf("CBOR fast:\n%x\ngeneric:\n%x", fastCBOR, genericCBOR)
			}
		})
	}
	if _, ok := appendGetRecordsCBOR(&GetRecordsOutput{ChildShards: []ChildShard{{ShardID: "shardId-000000000001"}}}); ok {
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
		fastCBOR, _ := appendGetRecordsCBOR(out)
		if genericCBOR, err := encodeGeneric(EncodingCBOR, out); err == nil && !bytes.Equal(fastCBOR, genericCBOR) {
			t.Fatalf("CBOR fast:\n%x\ngeneric:\n%x", fastCBOR, genericCBOR)
		}
	})
}
