package kpl_test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/tributary-io/tributary/kpl"
)

// golden is an aggregate of goldenRecords written out by hand from
// aggregation-format.md and the proto2 wire format, so that the encoder
// and the decoder are each checked against the format, not against each
// other. Every field here has a one-byte tag, (number << 3) | wire type,
// wire type 0 for varints and 2 for length-delimited fields.
//
//	f3 89 9a c2                       magic
//	0a 01 61                          partition_key_table[0] = "a"   (1<<3|2 = 0x0a)
//	0a 01 62                          partition_key_table[1] = "b"
//	12 01 37                          explicit_hash_key_table[0] = "7" (2<<3|2 = 0x12)
//	1a 0d                             records[0], 13 bytes            (3<<3|2 = 0x1a)
//	   08 00                            partition_key_index = 0       (1<<3|0)
//	   10 00                            explicit_hash_key_index = 0   (2<<3|0)
//	   1a 02 68 69                      data = "hi"                   (3<<3|2)
//	   22 03 0a 01 74                   tags[0] = {key "t"}           (4<<3|2; inside, key is 1<<3|2)
//	1a 0c                             records[1], 12 bytes
//	   08 01                            partition_key_index = 1
//	   1a 00                            data = "" (required, so present though empty)
//	   22 06 0a 01 6b 12 01 76          tags[0] = {key "k", value "v"}
//	1a 05                             records[2], 5 bytes
//	   08 00                            partition_key_index = 0 (the shared "a")
//	   1a 01 21                         data = "!"
//	26 74 dc 1d ... c0 f7             MD5 of the 45 bytes between magic and MD5,
//	                                  from md5sum, outside Go:
//	printf '\x0a\x01a\x0a\x01b\x12\x017\x1a\x0d\x08\x00\x10\x00\x1a\x02hi\x22\x03\x0a\x01t\x1a\x0c\x08\x01\x1a\x00\x22\x06\x0a\x01k\x12\x01v\x1a\x05\x08\x00\x1a\x01!' | md5sum
const golden = "f3899ac2" +
	"0a0161" + "0a0162" + "120137" +
	"1a0d" + "0800" + "1000" + "1a026869" + "22030a0174" +
	"1a0c" + "0801" + "1a00" + "22060a016b120176" +
	"1a05" + "0800" + "1a0121" +
	"2674dc1d53172b5fff281a9a0898c0f7"

var goldenRecords = []kpl.Record{
	{PartitionKey: "a", ExplicitHashKey: "7", Data: []byte("hi"), Tags: []kpl.Tag{{Key: "t"}}},
	{PartitionKey: "b", Data: []byte{}, Tags: []kpl.Tag{{Key: "k", Value: "v", HasValue: true}}},
	{PartitionKey: "a", Data: []byte("!")},
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGoldenEncode(t *testing.T) {
	want := unhex(t, golden)
	agg := kpl.NewAggregator(kpl.DefaultMaxRecordSize, 1)
	for _, r := range goldenRecords {
		if err := agg.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if got := agg.Bytes(); !bytes.Equal(got, want) {
		t.Fatalf("Bytes:\n got %x\nwant %x", got, want)
	}
	if agg.Len() != 3 || agg.Size() != len(want)+1 {
		t.Fatalf("Len %d Size %d, want 3 and %d", agg.Len(), agg.Size(), len(want)+1)
	}
}

func TestGoldenDecode(t *testing.T) {
	data := unhex(t, golden)
	if !kpl.IsAggregated(data) {
		t.Fatal("IsAggregated = false")
	}
	got, err := kpl.Deaggregate(data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := diffRecords(got, goldenRecords); diff != "" {
		t.Fatal(diff)
	}
	// And the generated code reads the hand-written bytes the same way,
	// which checks aggregated.proto against the format too.
	var m kpl.AggregatedRecord
	if err := proto.Unmarshal(data[4:len(data)-16], &m); err != nil {
		t.Fatal(err)
	}
	if diff := diffRecords(fromPB(t, &m), goldenRecords); diff != "" {
		t.Fatal("generated code: ", diff)
	}
}

// roundTrips are the cases every encoding is checked with.
var roundTrips = []struct {
	name    string
	records []kpl.Record
}{
	{"one record", []kpl.Record{{PartitionKey: "k", Data: []byte("v")}}},
	{"empty data", []kpl.Record{{PartitionKey: "k", Data: nil}, {PartitionKey: "k", Data: []byte{}}}},
	{"unicode keys", []kpl.Record{
		{PartitionKey: "clé-été", Data: []byte("1")},
		{PartitionKey: "键", ExplicitHashKey: "340282366920938463463374607431768211455", Data: []byte("2")},
		{PartitionKey: "🦀", Data: []byte("3"), Tags: []kpl.Tag{{Key: "ключ", Value: "значение", HasValue: true}}},
	}},
	{"explicit hash keys", []kpl.Record{
		{PartitionKey: "a", ExplicitHashKey: "0", Data: []byte("1")},
		{PartitionKey: "b", ExplicitHashKey: "170141183460469231731687303715884105728", Data: []byte("2")},
	}},
	{"mixed explicit hash keys", []kpl.Record{
		{PartitionKey: "a", Data: []byte("1")},
		{PartitionKey: "a", ExplicitHashKey: "5", Data: []byte("2")},
		{PartitionKey: "b", Data: []byte("3")},
		{PartitionKey: "b", ExplicitHashKey: "5", Data: []byte("4")},
	}},
	{"shared keys", []kpl.Record{
		{PartitionKey: "x", ExplicitHashKey: "1", Data: []byte("1")},
		{PartitionKey: "y", ExplicitHashKey: "2", Data: []byte("2")},
		{PartitionKey: "x", ExplicitHashKey: "2", Data: []byte("3")},
		{PartitionKey: "y", ExplicitHashKey: "1", Data: []byte("4")},
		{PartitionKey: "x", ExplicitHashKey: "1", Data: []byte("5")},
	}},
	{"tags", []kpl.Record{
		{PartitionKey: "a", Data: []byte("1"), Tags: []kpl.Tag{{Key: "no value"}}},
		{PartitionKey: "a", Data: []byte("2"), Tags: []kpl.Tag{{Key: "empty value", HasValue: true}}},
		{PartitionKey: "a", Data: []byte("3"), Tags: []kpl.Tag{{Key: "p", Value: "producer-1", HasValue: true}, {Key: "s", Value: "42", HasValue: true}, {Key: ""}}},
		{PartitionKey: "a", Data: []byte("4")},
	}},
	{"binary data and keys", []kpl.Record{
		{PartitionKey: "\x00\xff", Data: []byte{0, 1, 2, 0xf3, 0x89, 0x9a, 0xc2}},
		{PartitionKey: "\xf3\x89\x9a\xc2", Data: bytes.Repeat([]byte{0xff}, 300)},
	}},
	{"an aggregate inside", []kpl.Record{{PartitionKey: "a", Data: []byte(golden)}, {PartitionKey: "b", Data: hexOrPanic(golden)}}},
	{"many", manyRecords(1000, 50, 300)},
}

func hexOrPanic(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// manyRecords returns n records over keys distinct partition keys, of up
// to maxData bytes, some with explicit hash keys and tags.
func manyRecords(n, keys, maxData int) []kpl.Record {
	rng := rand.New(rand.NewPCG(1, 2))
	recs := make([]kpl.Record, n)
	for i := range recs {
		r := &recs[i]
		r.PartitionKey = fmt.Sprintf("key-%d", rng.IntN(keys))
		if rng.IntN(3) == 0 {
			r.ExplicitHashKey = fmt.Sprint(rng.Uint64())
		}
		r.Data = make([]byte, rng.IntN(maxData+1))
		for j := range r.Data {
			r.Data[j] = byte(rng.Uint32())
		}
		if rng.IntN(4) == 0 {
			r.Tags = []kpl.Tag{{Key: "seq", Value: fmt.Sprint(i), HasValue: true}}
		}
	}
	return recs
}

func TestRoundTrip(t *testing.T) {
	for _, tt := range roundTrips {
		t.Run(tt.name, func(t *testing.T) {
			const outerKey = 3
			agg := kpl.NewAggregator(10<<20, outerKey)
			for _, r := range tt.records {
				if err := agg.Add(r); err != nil {
					t.Fatal(err)
				}
			}
			data := agg.Bytes()
			if agg.Size() != len(data)+outerKey {
				t.Errorf("Size %d, want len(Bytes()) %d + %d", agg.Size(), len(data), outerKey)
			}
			if !kpl.IsAggregated(data) {
				t.Fatal("IsAggregated = false")
			}
			got, err := kpl.Deaggregate(data)
			if err != nil {
				t.Fatal(err)
			}
			if diff := diffRecords(got, tt.records); diff != "" {
				t.Fatal(diff)
			}

			// The generated code's encoding of the same message, with
			// tables in order of first use as the KPL builds them, is the
			// same bytes: the hand encoder is canonical protobuf.
			body := data[4 : len(data)-16]
			want, err := proto.MarshalOptions{Deterministic: true}.Marshal(toPB(tt.records))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(body, want) {
				t.Fatalf("body differs from proto.Marshal's:\n got %x\nwant %x", body, want)
			}
			if sum := md5.Sum(body); !bytes.Equal(data[len(data)-16:], sum[:]) {
				t.Fatal("trailer is not the MD5 of the body")
			}

			// Each key is in its table once.
			var m kpl.AggregatedRecord
			if err := proto.Unmarshal(body, &m); err != nil {
				t.Fatal(err)
			}
			for _, table := range [][]string{m.PartitionKeyTable, m.ExplicitHashKeyTable} {
				if len(dedup(table)) != len(table) {
					t.Errorf("a key table repeats a key: %q", table)
				}
			}
			var pks, ehks []string
			for _, r := range tt.records {
				pks = append(pks, r.PartitionKey)
				if r.ExplicitHashKey != "" {
					ehks = append(ehks, r.ExplicitHashKey)
				}
			}
			if len(m.PartitionKeyTable) != len(dedup(pks)) || len(m.ExplicitHashKeyTable) != len(dedup(ehks)) {
				t.Errorf("tables hold %d and %d keys, want %d and %d",
					len(m.PartitionKeyTable), len(m.ExplicitHashKeyTable), len(dedup(pks)), len(dedup(ehks)))
			}
		})
	}
}

func dedup(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// TestDataIsCopiedIn checks that the caller may reuse a record's Data
// after Add, and that a decoded Data cannot be appended over the next.
func TestDataIsCopiedIn(t *testing.T) {
	agg := kpl.NewAggregator(kpl.DefaultMaxRecordSize, 1)
	buf := []byte("first")
	if err := agg.Add(kpl.Record{PartitionKey: "a", Data: buf}); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXX")
	if err := agg.Add(kpl.Record{PartitionKey: "a", Data: []byte("second")}); err != nil {
		t.Fatal(err)
	}
	recs, err := kpl.Deaggregate(agg.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if string(recs[0].Data) != "first" {
		t.Fatalf("Data %q, want first", recs[0].Data)
	}
	_ = append(recs[0].Data, "!!!!"...)
	if string(recs[1].Data) != "second" {
		t.Fatalf("appending to record 0 changed record 1 to %q", recs[1].Data)
	}
}

func TestNotAggregated(t *testing.T) {
	empty := md5.Sum(nil)
	for _, data := range [][]byte{
		nil,
		{},
		[]byte("hello"),
		{0xf3, 0x89, 0x9a},       // part of the magic
		{0xf3, 0x89, 0x9a, 0xc2}, // the magic alone
		// The magic and a valid MD5 of an empty body: an aggregate of
		// nothing, but KCL takes 20 bytes for a plain record, and so do we.
		append([]byte{0xf3, 0x89, 0x9a, 0xc2}, empty[:]...),
		append([]byte{0xf3, 0x89, 0x9a, 0xc3}, make([]byte, 40)...), // almost the magic
	} {
		if kpl.IsAggregated(data) {
			t.Errorf("IsAggregated(%x) = true", data)
		}
		recs, err := kpl.Deaggregate(data)
		if err != nil {
			t.Errorf("Deaggregate(%x): %v", data, err)
			continue
		}
		if len(recs) != 1 || !bytes.Equal(recs[0].Data, data) || recs[0].PartitionKey != "" || recs[0].ExplicitHashKey != "" || recs[0].Tags != nil {
			t.Errorf("Deaggregate(%x) = %+v, want the data passed through", data, recs)
		}
	}
}

// withMD5 frames body as an aggregate, with its correct MD5.
func withMD5(body []byte) []byte {
	sum := md5.Sum(body)
	return append(append([]byte{0xf3, 0x89, 0x9a, 0xc2}, body...), sum[:]...)
}

// rec encodes a Record message from its fields (already encoded).
func rec(fields ...[]byte) []byte {
	var b []byte
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	return protowire.AppendBytes(b, slices.Concat(fields...))
}

func varintField(num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
}

func bytesField(num protowire.Number, v string) []byte {
	return protowire.AppendString(protowire.AppendTag(nil, num, protowire.BytesType), v)
}

func TestDeaggregateErrors(t *testing.T) {
	good := unhex(t, golden)
	body := good[4 : len(good)-16]
	flip := func(b []byte, i int) []byte { b = slices.Clone(b); b[i] ^= 1; return b }
	pk := bytesField(1, "a")
	ehk := bytesField(2, "7")
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"MD5 changed", flip(good, len(good)-1), kpl.ErrChecksum},
		{"body changed", flip(good, 10), kpl.ErrChecksum},
		{"record cut short", good[:len(good)-1], kpl.ErrChecksum},
		{"body truncated, MD5 recomputed", withMD5(body[:len(body)-1]), kpl.ErrProtobuf},
		{"length beyond the body", withMD5([]byte{0x1a, 0x7f, 0x08, 0x00}), kpl.ErrProtobuf},
		{"varint never ends", withMD5([]byte{0x08, 0xff, 0xff, 0xff}), kpl.ErrProtobuf},
		{"field number 0", withMD5([]byte{0x02, 0x00}), kpl.ErrProtobuf},
		{"stray end group", withMD5([]byte{0x0c}), kpl.ErrProtobuf},
		// Field 2^29, one past the largest a .proto may declare, as a
		// varint: protowire reads the tag, protobuf refuses it (found by
		// FuzzDeaggregate).
		{"field number too large", withMD5(slices.Concat(protowire.AppendVarint(nil, 1<<29<<3), []byte{0x00})), kpl.ErrProtobuf},
		{"record without data", withMD5(slices.Concat(pk, rec(varintField(1, 0)))), kpl.ErrProtobuf},
		{"record without partition key index", withMD5(slices.Concat(pk, rec(bytesField(3, "d")))), kpl.ErrProtobuf},
		{"index with the wrong wire type", withMD5(slices.Concat(pk, rec(bytesField(1, "0"), bytesField(3, "d")))), kpl.ErrProtobuf},
		{"tag without key", withMD5(slices.Concat(pk, rec(varintField(1, 0), bytesField(3, "d"), bytesField(4, string(bytesField(2, "v")))))), kpl.ErrProtobuf},
		{"malformed record", withMD5(slices.Concat(pk, rec([]byte{0x08}))), kpl.ErrProtobuf},
		{"partition key index out of range", withMD5(slices.Concat(pk, rec(varintField(1, 1), bytesField(3, "d")))), kpl.ErrPartitionKeyIndex},
		{"partition key index with no table", withMD5(rec(varintField(1, 0), bytesField(3, "d"))), kpl.ErrPartitionKeyIndex},
		{"huge partition key index", withMD5(slices.Concat(pk, rec(varintField(1, 1<<63), bytesField(3, "d")))), kpl.ErrPartitionKeyIndex},
		{"explicit hash key index out of range", withMD5(slices.Concat(pk, ehk, rec(varintField(1, 0), varintField(2, 1), bytesField(3, "d")))), kpl.ErrExplicitHashKeyIndex},
		{"explicit hash key index with no table", withMD5(slices.Concat(pk, rec(varintField(1, 0), varintField(2, 0), bytesField(3, "d")))), kpl.ErrExplicitHashKeyIndex},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !kpl.IsAggregated(tt.data) {
				t.Fatal("the case is not an aggregate")
			}
			recs, err := kpl.Deaggregate(tt.data)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Deaggregate = %v, %v; want %v", recs, err, tt.want)
			}
			if recs != nil {
				t.Fatalf("records %v with the error", recs)
			}
			// Protobuf's own parser agrees on what is malformed.
			if tt.want == kpl.ErrProtobuf {
				var m kpl.AggregatedRecord
				if err := proto.Unmarshal(tt.data[4:len(tt.data)-16], &m); err == nil {
					t.Fatal("proto.Unmarshal accepts it")
				}
			}
		})
	}
}

// TestDeaggregateAnyFieldOrder checks what protobuf allows and the
// encoder never writes: fields out of order and interleaved, unknown
// fields of every wire type, and a scalar given twice (the last wins).
func TestDeaggregateAnyFieldOrder(t *testing.T) {
	body := slices.Concat(
		rec(bytesField(3, "first"), varintField(1, 1), bytesField(4, string(bytesField(1, "t")))),
		bytesField(2, "99"),
		varintField(15, 7), // unknown varint
		protowire.AppendFixed32(protowire.AppendTag(nil, 16, protowire.Fixed32Type), 1),
		[]byte{0xab, 0x01, 0x08, 0x01, 0xac, 0x01}, // unknown group 21 holding a varint
		bytesField(1, "a"),
		rec(varintField(1, 5), varintField(2, 0), bytesField(3, "old"), bytesField(3, "second"), varintField(1, 0),
			protowire.AppendFixed64(protowire.AppendTag(nil, 9, protowire.Fixed64Type), 1)),
		bytesField(1, "b"),
		varintField(1, 3), // partition_key_table with the wrong wire type: unknown
	)
	want := []kpl.Record{
		{PartitionKey: "b", Data: []byte("first"), Tags: []kpl.Tag{{Key: "t"}}},
		{PartitionKey: "a", ExplicitHashKey: "99", Data: []byte("second")},
	}
	got, err := kpl.Deaggregate(withMD5(body))
	if err != nil {
		t.Fatal(err)
	}
	if diff := diffRecords(got, want); diff != "" {
		t.Fatal(diff)
	}
	var m kpl.AggregatedRecord
	if err := proto.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	if diff := diffRecords(fromPB(t, &m), want); diff != "" {
		t.Fatal("generated code: ", diff)
	}
}

func TestSizeAccounting(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, limit := range []int{100, 300, 1000, 5000, kpl.DefaultMaxRecordSize} {
		for _, outerKey := range []int{1, 20} {
			agg := kpl.NewAggregator(limit, outerKey)
			var added []kpl.Record
			full, tooLarge := 0, 0
			iterations := 2000
			if limit > 100000 {
				iterations = 200 // each full aggregate costs MD5s of a MiB
			}
			for range iterations {
				r := randomRecord(rng, limit)
				size, n := agg.Size(), agg.Len()
				err := agg.Add(r)
				// The size it would have: the generated encoder's, as the
				// independent count.
				would := 20 + outerKey + proto.Size(toPB(append(slices.Clone(added), r)))
				alone := 20 + outerKey + proto.Size(toPB([]kpl.Record{r}))
				switch {
				case err == nil:
					added = append(added, r)
					if would > limit {
						t.Fatalf("limit %d: added a record that makes %d", limit, would)
					}
					if agg.Size() != would {
						t.Fatalf("limit %d: Size %d, want %d", limit, agg.Size(), would)
					}
				case errors.Is(err, kpl.ErrFull), errors.Is(err, kpl.ErrTooLarge):
					if would <= limit {
						t.Fatalf("limit %d: refused (%v) a record that makes %d", limit, err, would)
					}
					if errors.Is(err, kpl.ErrTooLarge) != (alone > limit) {
						t.Fatalf("limit %d: %v for a record of %d alone", limit, err, alone)
					}
					got := agg.Bytes()
					if !bytes.Equal(got, encode(t, added)) || agg.Size() != size || agg.Len() != n {
						t.Fatalf("limit %d: a refused Add changed the aggregate", limit)
					}
					if len(got) > 0 && size != len(got)+outerKey {
						t.Fatalf("limit %d: Size %d, want len(Bytes()) %d + %d", limit, size, len(got), outerKey)
					}
					if errors.Is(err, kpl.ErrFull) {
						full++
						// A full aggregate is sent and the record starts the next.
						checkAggregate(t, agg, added)
						agg.Reset()
						added = added[:0]
						if err := agg.Add(r); err != nil {
							t.Fatalf("limit %d: after Reset: %v", limit, err)
						}
						added = append(added, r)
					} else {
						tooLarge++
					}
				default:
					t.Fatal(err)
				}
			}
			checkAggregate(t, agg, added)
			if full == 0 || (limit < 1000 && tooLarge == 0) {
				t.Errorf("limit %d: %d full, %d too large: the cases were not met", limit, full, tooLarge)
			}
		}
	}
}

// randomRecord is a record of any size up to a bit over limit.
func randomRecord(rng *rand.Rand, limit int) kpl.Record {
	r := kpl.Record{PartitionKey: strings.Repeat("k", 1+rng.IntN(20)), Data: make([]byte, rng.IntN(limit/4+1))}
	if rng.IntN(8) == 0 {
		r.Data = make([]byte, limit-30+rng.IntN(10))
	}
	if rng.IntN(2) == 0 {
		r.ExplicitHashKey = fmt.Sprint(rng.IntN(50))
	}
	if rng.IntN(4) == 0 {
		r.Tags = []kpl.Tag{{Key: "t", Value: strings.Repeat("v", rng.IntN(200)), HasValue: true}}
	}
	return r
}

func checkAggregate(t *testing.T, agg *kpl.Aggregator, want []kpl.Record) {
	t.Helper()
	got, err := kpl.Deaggregate(agg.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		return // Bytes is nil, passed through as one empty record
	}
	if diff := diffRecords(got, want); diff != "" {
		t.Fatal(diff)
	}
}

// TestSizeBoundary checks the limit to the byte: a record that makes the
// aggregate exactly the limit fits, one byte more does not.
func TestSizeBoundary(t *testing.T) {
	r := kpl.Record{PartitionKey: "pk", Data: make([]byte, 100)}
	exact := 20 + 1 + proto.Size(toPB([]kpl.Record{r}))
	if err := kpl.NewAggregator(exact, 1).Add(r); err != nil {
		t.Fatalf("limit %d: %v", exact, err)
	}
	if err := kpl.NewAggregator(exact-1, 1).Add(r); !errors.Is(err, kpl.ErrTooLarge) {
		t.Fatalf("limit %d: %v, want ErrTooLarge", exact-1, err)
	}
	if err := kpl.NewAggregator(exact, 2).Add(r); !errors.Is(err, kpl.ErrTooLarge) {
		t.Fatalf("limit %d with a 2-byte outer key: %v, want ErrTooLarge", exact, err)
	}

	// Two records: the second, sharing the key, adds its record field only.
	two := 20 + 1 + proto.Size(toPB([]kpl.Record{r, r}))
	agg := kpl.NewAggregator(two, 1)
	if err := agg.Add(r); err != nil {
		t.Fatal(err)
	}
	if err := agg.Add(r); err != nil {
		t.Fatalf("second record at limit %d: %v", two, err)
	}
	if agg.Size() != two {
		t.Fatalf("Size %d, want %d", agg.Size(), two)
	}
	agg = kpl.NewAggregator(two-1, 1)
	_ = agg.Add(r)
	if err := agg.Add(r); !errors.Is(err, kpl.ErrFull) {
		t.Fatalf("second record at limit %d: %v, want ErrFull", two-1, err)
	}
}

func TestEmptyAndReset(t *testing.T) {
	agg := kpl.NewAggregator(kpl.DefaultMaxRecordSize, 1)
	if agg.Bytes() != nil || agg.Size() != 0 || agg.Len() != 0 {
		t.Fatalf("empty: Bytes %x Size %d Len %d", agg.Bytes(), agg.Size(), agg.Len())
	}
	for _, r := range goldenRecords {
		_ = agg.Add(kpl.Record{PartitionKey: "other" + r.PartitionKey, ExplicitHashKey: "1" + r.ExplicitHashKey, Data: r.Data})
	}
	agg.Reset()
	if agg.Bytes() != nil || agg.Size() != 0 || agg.Len() != 0 {
		t.Fatalf("after Reset: Bytes %x Size %d Len %d", agg.Bytes(), agg.Size(), agg.Len())
	}
	// After a Reset the tables start again from index 0.
	for _, r := range goldenRecords {
		if err := agg.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if got := agg.Bytes(); !bytes.Equal(got, unhex(t, golden)) {
		t.Fatalf("after Reset:\n got %x\nwant %s", got, golden)
	}
}

// encode is the aggregate of records as the generated code encodes it,
// nil for none.
func encode(t testing.TB, records []kpl.Record) []byte {
	t.Helper()
	if len(records) == 0 {
		return nil
	}
	body, err := proto.MarshalOptions{Deterministic: true}.Marshal(toPB(records))
	if err != nil {
		t.Fatal(err)
	}
	return withMD5(body)
}

// toPB is the generated code's message for records, tables in order of
// first use.
func toPB(records []kpl.Record) *kpl.AggregatedRecord {
	m := &kpl.AggregatedRecord{}
	pks, ehks := map[string]uint64{}, map[string]uint64{}
	index := func(table *[]string, seen map[string]uint64, k string) uint64 {
		i, ok := seen[k]
		if !ok {
			i = uint64(len(*table))
			seen[k] = i
			*table = append(*table, k)
		}
		return i
	}
	for _, r := range records {
		pr := &kpl.AggregatedRecord_Record{
			PartitionKeyIndex: proto.Uint64(index(&m.PartitionKeyTable, pks, r.PartitionKey)),
			Data:              r.Data,
		}
		if pr.Data == nil {
			pr.Data = []byte{} // the field is required: nil would leave it out
		}
		if r.ExplicitHashKey != "" {
			pr.ExplicitHashKeyIndex = proto.Uint64(index(&m.ExplicitHashKeyTable, ehks, r.ExplicitHashKey))
		}
		for _, tg := range r.Tags {
			pt := &kpl.AggregatedRecord_Tag{Key: proto.String(tg.Key)}
			if tg.HasValue {
				pt.Value = proto.String(tg.Value)
			}
			pr.Tags = append(pr.Tags, pt)
		}
		m.Records = append(m.Records, pr)
	}
	return m
}

// fromPB reads records out of the generated code's message.
func fromPB(t testing.TB, m *kpl.AggregatedRecord) []kpl.Record {
	t.Helper()
	var recs []kpl.Record
	for i, pr := range m.Records {
		if pr.GetPartitionKeyIndex() >= uint64(len(m.PartitionKeyTable)) {
			t.Fatalf("record %d: partition key index %d out of range", i, pr.GetPartitionKeyIndex())
		}
		r := kpl.Record{PartitionKey: m.PartitionKeyTable[pr.GetPartitionKeyIndex()], Data: pr.Data}
		if pr.ExplicitHashKeyIndex != nil {
			if *pr.ExplicitHashKeyIndex >= uint64(len(m.ExplicitHashKeyTable)) {
				t.Fatalf("record %d: explicit hash key index %d out of range", i, *pr.ExplicitHashKeyIndex)
			}
			r.ExplicitHashKey = m.ExplicitHashKeyTable[*pr.ExplicitHashKeyIndex]
		}
		for _, pt := range pr.Tags {
			r.Tags = append(r.Tags, kpl.Tag{Key: pt.GetKey(), Value: pt.GetValue(), HasValue: pt.Value != nil})
		}
		recs = append(recs, r)
	}
	return recs
}

// diffRecords describes the first difference between two lists of
// records, "" when there is none. Nil and empty Data or Tags are equal:
// the format does not tell them apart.
func diffRecords(got, want []kpl.Record) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d records, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.PartitionKey != w.PartitionKey || g.ExplicitHashKey != w.ExplicitHashKey || !bytes.Equal(g.Data, w.Data) ||
			!slices.Equal(g.Tags, w.Tags) && len(g.Tags)+len(w.Tags) > 0 {
			return fmt.Sprintf("record %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	return ""
}
