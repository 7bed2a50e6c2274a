package kinesis

import (
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// integerMembers lists every integer member of every input shape, found
// by reflection so that a member added later is covered too: the
// operation, the member's wire name, and an empty input to decode into.
func integerMembers(t *testing.T) []struct{ op, member string } {
	t.Helper()
	var out []struct{ op, member string }
	for _, op := range Operations() {
		in, _ := NewInput(op)
		typ := reflect.TypeOf(in).Elem()
		for i := range typ.NumField() {
			f := typ.Field(i)
			if f.Type != reflect.TypeFor[*int32]() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			out = append(out, struct{ op, member string }{op, name})
		}
	}
	if len(out) < 10 {
		t.Fatalf("found only %d integer members: %v", len(out), out)
	}
	return out
}

// intMember returns the value decoded into member of in.
func intMember(in Input, member string) *int32 {
	v := reflect.ValueOf(in).Elem()
	for i := range v.NumField() {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		if name == member {
			return v.Field(i).Interface().(*int32)
		}
	}
	return nil
}

func TestIntegerMembersTakeOnlyIntegers(t *testing.T) {
	bignum := new(big.Int).Lsh(big.NewInt(1), 70)
	tests := []struct {
		name    string
		json    string // the member's JSON text, or "" for a CBOR-only case
		cbor    any    // the member's CBOR value, or nil for a JSON-only case
		want    int32  // when accepted
		refused string // the text in the SerializationException, "" when accepted
		// cborText is the text for the CBOR value when it differs: CBOR
		// floats are printed in Go's shortest form.
		cborText string
	}{
		{name: "fraction", json: "1.5", cbor: 1.5, refused: "1.5"},
		{name: "fraction just below the next integer", json: "1.9", cbor: float32(1.9), refused: "1.9", cborText: "1.899999976158142"},
		{name: "negative fraction", json: "-0.5", cbor: -0.5, refused: "-0.5"},
		// An integer beyond the member's range is clamped to it, as AWS
		// clamped ShardCount 100000000000 to 2147483647 (kinesalite's
		// test/createStream.js; see integerOf). These cases refused such
		// values before, after Smithy's restJson1 tests.
		{name: "beyond int32", json: "2147483648", cbor: uint64(2147483648), want: math.MaxInt32},
		{name: "below int32", json: "-2147483649", cbor: int64(-2147483649), want: math.MinInt32},
		{name: "AWS's capture", json: "100000000000", cbor: uint64(100000000000), want: math.MaxInt32},
		{name: "1e20", json: "1e20", cbor: 1e20, want: math.MaxInt32},
		{name: "-1e20", json: "-1e20", cbor: -1e20, want: math.MinInt32},
		{name: "2^63", json: "9223372036854775808", cbor: uint64(1) << 63, want: math.MaxInt32},
		{name: "largest uint64", cbor: uint64(math.MaxUint64), want: math.MaxInt32},
		{name: "bignum", cbor: bignum, want: math.MaxInt32},
		{name: "negative bignum", cbor: new(big.Int).Neg(bignum), want: math.MinInt32},
		{name: "beyond float64", json: "1e400", want: math.MaxInt32},
		{name: "below -float64", json: "-1e400", want: math.MinInt32},
		{name: "integral beyond int32 with a fraction written", json: "3000000000.0", cbor: 3e9, want: math.MaxInt32},
		{name: "fraction beyond int32", json: "3000000000.5", cbor: 3000000000.5, refused: "3000000000.5", cborText: "3.0000000005e+09"},
		{name: "below float64 precision", json: "1e-400", refused: "1e-400"},
		{name: "NaN", cbor: math.NaN(), refused: "NaN"},
		{name: "infinity", cbor: math.Inf(1), refused: "Infinity"},
		{name: "negative infinity", cbor: math.Inf(-1), refused: "-Infinity"},
		{name: "integral fraction", json: "7.0", cbor: 7.0, want: 7},
		{name: "integral exponent", json: "1e2", cbor: float32(100), want: 100},
		{name: "negative zero", json: "-0.0", cbor: math.Copysign(0, -1), want: 0},
		{name: "largest int32", json: "2147483647", cbor: uint64(2147483647), want: math.MaxInt32},
		{name: "smallest int32", json: "-2147483648", cbor: float64(math.MinInt32), want: math.MinInt32},
		// JSON text is read exactly, not through float64 (the fuzzer's
		// find: 10000000000000000.1 once read as the integer 10^16).
		{name: "fraction below float64 precision", json: "10000000000000000.1", refused: "10000000000000000.1"},
		{name: "fraction one digit past the point", json: "1.0000000000000001", refused: "1.0000000000000001"},
		{name: "fraction moved by a negative exponent", json: "15e-1", refused: "15e-1"},
		{name: "integer written with a negative exponent", json: "1500e-2", want: 15},
		{name: "integer written with leading zeros in the fraction", json: "0.0012E+4", want: 12},
		{name: "zero with a huge exponent", json: "0e999999999999999999999", want: 0},
		{name: "huge exponent", json: "1e999999999999999999999", want: math.MaxInt32},
		{name: "tiny exponent", json: "1e-999999999999999999999", refused: "1e-999999999999999999999"},
		{name: "smallest int64 as a Long would read it", json: "-9223372036854775808", want: math.MinInt32},
	}
	for _, m := range integerMembers(t) {
		for _, tc := range tests {
			t.Run(m.op+"/"+m.member+"/"+tc.name, func(t *testing.T) {
				var bodies []struct {
					contentType string
					body        []byte
				}
				if tc.json != "" {
					bodies = append(bodies, struct {
						contentType string
						body        []byte
					}{ContentTypeJSON, []byte(`{"` + m.member + `":` + tc.json + `}`)})
				}
				if tc.cbor != nil {
					b, err := cbor.Marshal(map[string]any{m.member: tc.cbor})
					if err != nil {
						t.Fatal(err)
					}
					bodies = append(bodies, struct {
						contentType string
						body        []byte
					}{ContentTypeCBOR, b})
				}
				for _, b := range bodies {
					in, _ := NewInput(m.op)
					err := Decode(b.contentType, b.body, in)
					if tc.refused != "" {
						if err == nil {
							t.Fatalf("%s %x: accepted as %d", b.contentType, b.body, *intMember(in, m.member))
						}
						text := tc.refused
						if b.contentType == ContentTypeCBOR && tc.cborText != "" {
							text = tc.cborText
						}
						want := "'" + text + "' can not be converted to an Integer"
						if err.Type != ErrSerialization || err.Status != 400 || err.Message != want {
							t.Fatalf("%s: got %s %d %q, want SerializationException 400 %q", b.contentType, err.Type, err.Status, err.Message, want)
						}
						continue
					}
					if err != nil {
						t.Fatalf("%s: %v", b.contentType, err)
					}
					if got := intMember(in, m.member); got == nil || *got != tc.want {
						t.Fatalf("%s: decoded %v, want %d", b.contentType, got, tc.want)
					}
				}
			})
		}
	}
}

// timestampMembers lists where a timestamp can stand in a request: the
// operation and a function putting a value in that place.
var timestampMembers = []struct {
	op    string
	place func(v any) map[string]any
}{
	{OpGetShardIterator, func(v any) map[string]any {
		return map[string]any{"StreamName": "s", "ShardId": "shardId-0", "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": v}
	}},
	{OpListShards, func(v any) map[string]any { return map[string]any{"StreamName": "s", "StreamCreationTimestamp": v} }},
	{OpListShards, func(v any) map[string]any {
		return map[string]any{"StreamName": "s", "ShardFilter": map[string]any{"Type": "AT_TIMESTAMP", "Timestamp": v}}
	}},
	{OpListStreamConsumers, func(v any) map[string]any { return map[string]any{"StreamARN": testARN, "StreamCreationTimestamp": v} }},
	{OpSubscribeToShard, func(v any) map[string]any {
		return map[string]any{"ConsumerARN": testARN + "/consumer/c:1", "ShardId": "shardId-0",
			"StartingPosition": map[string]any{"Type": "AT_TIMESTAMP", "Timestamp": v}}
	}},
}

func TestCBORTimestampsRefuseNonFinite(t *testing.T) {
	tests := []struct {
		name  string
		value any
		text  string
	}{
		{"tag 1 NaN", cbor.Tag{Number: 1, Content: math.NaN()}, "NaN"},
		{"tag 1 infinity", cbor.Tag{Number: 1, Content: math.Inf(1)}, "Infinity"},
		{"tag 1 negative infinity", cbor.Tag{Number: 1, Content: math.Inf(-1)}, "-Infinity"},
		{"tag 1 float32 NaN", cbor.Tag{Number: 1, Content: float32(math.NaN())}, "NaN"},
		{"tag 1 beyond year 9999", cbor.Tag{Number: 1, Content: 1e300}, "1e+300"},
		{"untagged NaN", math.NaN(), "NaN"},
		{"untagged infinity", math.Inf(1), "Infinity"},
	}
	for _, m := range timestampMembers {
		for _, tc := range tests {
			t.Run(m.op+"/"+tc.name, func(t *testing.T) {
				body, err := cbor.Marshal(m.place(tc.value))
				if err != nil {
					t.Fatal(err)
				}
				for _, b := range [][]byte{body, append([]byte{0xd9, 0xd9, 0xf7}, body...)} { // also self-described
					in, _ := NewInput(m.op)
					assertSerialization(t, Decode(ContentTypeCBOR, b, in), "'"+tc.text+"' can not be converted to milliseconds since epoch")
				}
			})
		}
	}
}

func TestCBORTimestampsStillDecode(t *testing.T) {
	// The values on either side of the zero time.Time the CBOR library
	// used to produce for NaN, and a tag-0 date, which names its instant.
	tests := []struct {
		name  string
		value any
		ms    int64
	}{
		{"tag 1 integer", cbor.Tag{Number: 1, Content: int64(1700000000123)}, 1700000000123},
		{"tag 1 float", cbor.Tag{Number: 1, Content: 1700000000123.0}, 1700000000123},
		{"tag 1 year-one seconds", cbor.Tag{Number: 1, Content: int64(-62135596800)}, -62135596800},
		{"tag 1 zero", cbor.Tag{Number: 1, Content: 0}, 0},
		{"tag 0", cbor.Tag{Number: 0, Content: "2023-11-14T22:13:20.123Z"}, 1700000000123},
		{"untagged", int64(1700000000123), 1700000000123},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, err := cbor.Marshal(timestampMembers[0].place(tc.value))
			if err != nil {
				t.Fatal(err)
			}
			var in GetShardIteratorInput
			if err := Decode(ContentTypeCBOR, body, &in); err != nil {
				t.Fatal(err)
			}
			if in.Timestamp == nil || in.Timestamp.UnixMilli() != tc.ms {
				t.Fatalf("decoded %v, want %d ms", in.Timestamp, tc.ms)
			}
		})
	}
}
