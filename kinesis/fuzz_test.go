package kinesis

import (
	"context"
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
				{Data: []byte("a"), PartitionKey: aws.String("1")}, {Data: []byte{}, ExplicitHashKey: aws.String("0")}}})
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
		_ = ValidateDataSize(in, 1<<20)
		if _, encErr := Encode(contentType, in); encErr != nil {
			t.Fatalf("%s: re-encoding decoded input: %v", op, encErr)
		}
		resp := ErrorResponse(contentType, err)
		if resp.Status == 0 {
			t.Fatalf("%s: error response without status", op)
		}
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, body := range sdkRequestBodies(f) {
		f.Add(body)
	}
	for _, seed := range []string{
		``, `{}`, `null`, `[]`, `{"Records":[null,{}]}`, `{"Timestamp":1.700000000123E9}`,
		`{"Limit":1e400}`, `{"Data":"=="}`, `{"Tags":{"":null}}`, `{"StreamName":"\ud800"}`,
		`{"ShardFilter":{"Type":"AT_TIMESTAMP","Timestamp":-1e20}}`,
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
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, ContentTypeCBOR, data)
	})
}
