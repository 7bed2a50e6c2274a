package kinesis

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/fxamacker/cbor/v2"
)

// sdkRequestBodies sends a spread of requests with the real aws-sdk-go-v2
// client and returns the bodies it wrote, as fuzz seeds. Requests the fake
// service rejects (it validates) still count: the SDK sent them.
func sdkRequestBodies(tb testing.TB) [][]byte {
	tb.Helper()
	client, svc := newSDKClient(tb, nil)
	ctx := context.Background()
	at := time.Date(2024, 1, 2, 3, 4, 5, 678_000_000, time.UTC)
	arn := aws.String("arn:aws:kinesis:us-east-1:123456789012:stream/s")
	calls := []func() error{
		func() error {
			_, err := client.PutRecord(ctx, &sdk.PutRecordInput{StreamName: aws.String("s"), Data: []byte{0, 1, 2},
				PartitionKey: aws.String("k"), ExplicitHashKey: aws.String("1"), SequenceNumberForOrdering: aws.String("2")})
			return err
		},
		func() error {
			_, err := client.PutRecords(ctx, &sdk.PutRecordsInput{StreamARN: arn, Records: []types.PutRecordsRequestEntry{
				{Data: []byte("a"), PartitionKey: aws.String("1")}, {Data: []byte{}, PartitionKey: aws.String("2"), ExplicitHashKey: aws.String("0")}}})
			return err
		},
		func() error {
			_, err := client.GetShardIterator(ctx, &sdk.GetShardIteratorInput{StreamName: aws.String("s"), ShardId: aws.String("shardId-0"),
				ShardIteratorType: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(at)})
			return err
		},
		func() error {
			_, err := client.GetRecords(ctx, &sdk.GetRecordsInput{ShardIterator: aws.String("AAAA"), Limit: aws.Int32(100)})
			return err
		},
		func() error {
			_, err := client.CreateStream(ctx, &sdk.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(2),
				Tags: map[string]string{"k": "v"}, StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand},
				MaxRecordSizeInKiB: aws.Int32(2048), WarmThroughputMiBps: aws.Int32(10)})
			return err
		},
		func() error {
			_, err := client.ListShards(ctx, &sdk.ListShardsInput{StreamName: aws.String("s"), MaxResults: aws.Int32(5),
				StreamCreationTimestamp: aws.Time(at), ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAfterShardId,
					ShardId: aws.String("shardId-1")}})
			return err
		},
		func() error {
			_, err := client.AddTagsToStream(ctx, &sdk.AddTagsToStreamInput{StreamName: aws.String("s"), Tags: map[string]string{"a": "b"}})
			return err
		},
		func() error {
			_, err := client.RemoveTagsFromStream(ctx, &sdk.RemoveTagsFromStreamInput{StreamName: aws.String("s"), TagKeys: []string{"a"}})
			return err
		},
		func() error {
			_, err := client.EnableEnhancedMonitoring(ctx, &sdk.EnableEnhancedMonitoringInput{StreamName: aws.String("s"),
				ShardLevelMetrics: []types.MetricsName{types.MetricsNameAll}})
			return err
		},
		func() error {
			_, err := client.UpdateStreamMode(ctx, &sdk.UpdateStreamModeInput{StreamARN: arn,
				StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeProvisioned}})
			return err
		},
		func() error {
			_, err := client.ListStreamConsumers(ctx, &sdk.ListStreamConsumersInput{StreamARN: arn, StreamCreationTimestamp: aws.Time(at)})
			return err
		},
		func() error {
			_, err := client.UpdateAccountSettings(ctx, &sdk.UpdateAccountSettingsInput{
				MinimumThroughputBillingCommitment: &types.MinimumThroughputBillingCommitmentInput{
					Status: types.MinimumThroughputBillingCommitmentInputStatusEnabled}})
			return err
		},
	}
	for _, call := range calls {
		if err := call(); err != nil {
			tb.Fatalf("seed request: %v", err)
		}
	}
	svc.mu.Lock()
	defer svc.mu.Unlock()
	return svc.bodies
}

// checkDecode is the property both fuzzers check: decoding any bytes into
// any input shape, then validating, never panics, and fails only with the
// client errors AWS would give; whatever decodes also encodes.
func checkDecode(t *testing.T, contentType string, data []byte) {
	for _, op := range Operations() {
		in, _ := NewInput(op)
		err := DecodeRequest(&Request{ContentType: contentType, Body: data}, in)
		if err != nil {
			if (err.Type != ErrSerialization && err.Type != ErrValidation) || err.Status != 400 {
				t.Fatalf("%s: unexpected error %v (status %d)", op, err, err.Status)
			}
			if err.Type == ErrSerialization {
				continue
			}
		}
		checkMembersExact(t, contentType, data, in)
		if _, encErr := Encode(contentType, in); encErr != nil {
			t.Fatalf("%s: re-encoding decoded input: %v", op, encErr)
		}
		resp := ErrorResponse(contentType, err)
		if resp.Status == 0 {
			t.Fatalf("%s: error response without status", op)
		}
	}
}

// checkMembersExact is the property that an accepted integer or
// timestamp member means exactly what was sent: no fraction truncated, no
// NaN or infinity turned into some instant, and an integer changed only
// by the clamp to its type's range that AWS applies (see integerOf). The
// body is
// read again here, member by member, with the standard library and the
// CBOR library's own raw types, independently of the binder.
func checkMembersExact(t *testing.T, contentType string, body []byte, in Input) {
	enc, _ := EncodingOf(contentType)
	members, ok := rawMembers(enc, body)
	if !ok {
		return
	}
	checkStructExact(t, enc, members, reflect.ValueOf(in).Elem())
}

func checkStructExact(t *testing.T, enc Encoding, members map[string][]byte, v reflect.Value) {
	for i := range v.NumField() {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		raw, present := members[name]
		f := v.Field(i)
		if !present || f.Kind() != reflect.Pointer || f.IsNil() {
			continue
		}
		switch x := f.Interface().(type) {
		case *int32:
			n, ok := rawNumber(enc, raw)
			if !ok || !n.IsInt() {
				t.Fatalf("%s: %q decoded as the integer %d", name, raw, *x)
			}
			want := n.Num()
			if lo := big.NewInt(math.MinInt32); want.Cmp(lo) < 0 {
				want = lo
			} else if hi := big.NewInt(math.MaxInt32); want.Cmp(hi) > 0 {
				want = hi
			}
			if want.Int64() != int64(*x) {
				t.Fatalf("%s: %q decoded as the integer %d, want %v", name, raw, *x, want)
			}
		case *Timestamp:
			ms, ok := rawMillis(enc, raw)
			if ok && (math.IsNaN(ms) || math.IsInf(ms, 0) || int64(math.Round(ms)) != x.UnixMilli()) {
				t.Fatalf("%s: %q (%v ms) decoded as %v", name, raw, ms, x.Time)
			}
		default:
			if f.Elem().Kind() == reflect.Struct {
				if sub, ok := rawMembers(enc, raw); ok {
					checkStructExact(t, enc, sub, f.Elem())
				}
			}
		}
	}
}

// rawMembers splits an object into its members' encoded values.
func rawMembers(enc Encoding, body []byte) (map[string][]byte, bool) {
	out := make(map[string][]byte)
	if enc == EncodingCBOR {
		var m map[string]cbor.RawMessage
		if cbor.Unmarshal(body, &m) != nil {
			return nil, false
		}
		for k, v := range m {
			out[k] = v
		}
		return out, true
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return nil, false
	}
	for k, v := range m {
		out[k] = v
	}
	return out, true
}

// rawNumber reads an encoded number exactly, or reports that it is no
// finite number this test can read (which the binder must have refused).
func rawNumber(enc Encoding, raw []byte) (*big.Rat, bool) {
	if enc == EncodingJSON {
		text := strings.TrimSpace(string(raw))
		f, err := strconv.ParseFloat(text, 64)
		if err != nil && math.IsInf(f, 0) {
			// Beyond float64 (1e400): an integer beyond every member's
			// range, which ±2^64 stands for.
			return new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(int64(math.Copysign(1, f))), 64)), true
		}
		if err != nil {
			return nil, false
		}
		mantissa, _, _ := strings.Cut(strings.ToLower(text), "e")
		switch {
		case f == 0 && strings.ContainsAny(mantissa, "123456789"):
			return nil, false // below float64's range
		case f != 0 && len(text) <= 64:
			// Exact; cheap, since a finite f bounds the exponent.
			return new(big.Rat).SetString(text)
		}
		return new(big.Rat).SetFloat64(f), true
	}
	var v any
	if cbor.Unmarshal(untagSelfDescribed(raw), &v) != nil {
		return nil, false
	}
	switch x := v.(type) {
	case uint64:
		return new(big.Rat).SetInt(new(big.Int).SetUint64(x)), true
	case int64:
		return big.NewRat(x, 1), true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, false
		}
		return new(big.Rat).SetFloat64(x), true
	case big.Int:
		return new(big.Rat).SetInt(&x), true
	}
	return nil, false
}

// rawMillis reads an encoded timestamp as AWS's milliseconds; false for
// forms it does not check (a tag-0 date).
func rawMillis(enc Encoding, raw []byte) (float64, bool) {
	if enc == EncodingJSON {
		f, err := strconv.ParseFloat(strings.TrimSpace(string(raw)), 64)
		return f * 1000, err == nil
	}
	raw = untagSelfDescribed(raw)
	if len(raw) > 0 && raw[0]>>5 == cborMajorTag {
		var tag cbor.RawTag
		if cbor.Unmarshal(raw, &tag) != nil || tag.Number != 1 {
			return 0, false
		}
		raw = untagSelfDescribed(tag.Content)
	}
	var v any
	if cbor.Unmarshal(raw, &v) != nil {
		return 0, false
	}
	switch x := v.(type) {
	case uint64:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// untagSelfDescribed strips tag 55799, which means nothing.
func untagSelfDescribed(raw []byte) []byte {
	for bytes.HasPrefix(raw, []byte{0xd9, 0xd9, 0xf7}) {
		raw = raw[3:]
	}
	return raw
}

func FuzzDecodeJSON(f *testing.F) {
	for _, body := range sdkRequestBodies(f) {
		f.Add(body)
	}
	for _, seed := range []string{
		``, `{}`, `null`, `[]`, `{"Records":[null,{}]}`, `{"Timestamp":1.700000000123E9}`,
		`{"Limit":1e400}`, `{"Data":"=="}`, `{"Tags":{"":null}}`, `{"StreamName":"\ud800"}`,
		`{"ShardFilter":{"Type":"AT_TIMESTAMP","Timestamp":-1e20}}`,
		`{"ShardCount":1.5}`, `{"Limit":-0.0}`, `{"MaxResults":1e2}`, `{"TargetShardCount":9223372036854775808}`,
		`{"RetentionPeriodHours":1e-400}`, `{"ShardCount":10000000000000000.1}`, `{"Limit":1500e-2}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, ContentTypeJSON, data)
	})
}

func FuzzDecodeCBOR(f *testing.F) {
	// The SDK's requests, re-encoded the way the Java SDK would send them
	// (byte-string blobs, tag-1 millisecond timestamps).
	for _, body := range sdkRequestBodies(f) {
		for _, op := range Operations() {
			in, _ := NewInput(op)
			if Decode(ContentTypeJSON, body, in) != nil {
				continue
			}
			if cb, err := Encode(ContentTypeCBOR, in); err == nil && len(cb) > 1 {
				f.Add(cb)
			}
		}
	}
	ms := time.Date(2024, 1, 2, 3, 4, 5, 678_000_000, time.UTC).UnixMilli()
	for _, v := range []any{
		map[string]any{"Timestamp": cbor.Tag{Number: 1, Content: ms}, "ShardId": "shardId-0", "ShardIteratorType": "AT_TIMESTAMP"},
		map[string]any{"Timestamp": cbor.Tag{Number: 1, Content: float64(ms)}},
		map[string]any{"Records": []any{map[string]any{"Data": []byte{1}, "PartitionKey": "p"}, nil}},
		map[string]any{"StreamName": cbor.Tag{Number: 2, Content: []byte{1}}},
		map[string]any{"Limit": 1.5e300, "Tags": map[string]any{"k": []byte("v")}},
		map[string]any{"ShardCount": 1.5, "MaxResults": float32(2), "Limit": uint64(1) << 63},
		map[string]any{"ShardFilter": map[string]any{"Type": "AT_TIMESTAMP", "Timestamp": cbor.Tag{Number: 1, Content: math.Inf(1)}}},
		map[string]any{"StartingPosition": map[string]any{"Type": "AT_TIMESTAMP", "Timestamp": cbor.Tag{Number: 1, Content: math.NaN()}}},
		[]any{1, 2},
	} {
		b, err := cbor.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, seed := range [][]byte{
		nil, {0xa0}, {0xbf, 0xff}, {0xf6}, {0xbf, 0x64, 'D', 'a', 't', 'a', 0x5f, 0x41, 0x00, 0xff, 0xff},
		{0xa1, 0x69, 'T', 'i', 'm', 'e', 's', 't', 'a', 'm', 'p', 0xc1, 0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0},
	} {
		f.Add(seed)
	}
	canonical, err := cbor.CanonicalEncOptions().EncMode()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, ContentTypeCBOR, data)
		// parseCBOR's two ways of decoding agree wherever it takes the
		// faster one (compared encoded, since NaN is unequal to itself).
		var whole any
		if cborDecMode.Unmarshal(data, &whole) == nil && !holdsTime(whole) {
			var item cborItem
			if err := cborDecMode.Unmarshal(data, &item); err != nil {
				t.Fatalf("cborItem refused what the library took: %v", err)
			}
			a, errA := canonical.Marshal(whole)
			b, errB := canonical.Marshal(item.v)
			if errA != nil || errB != nil || !bytes.Equal(a, b) {
				t.Fatalf("library %#v\ncborItem %#v", whole, item.v)
			}
		}
	})
}
