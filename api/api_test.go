package api

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/storage/local"
	"github.com/tributary-io/tributary/stream"
)

// newTestAPI returns an API over a fresh local engine with no delays, and
// the engine so a test can break it.
func newTestAPI(t testing.TB) (*API, *local.Engine) {
	t.Helper()
	engine, err := local.Open(t.TempDir(), local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := stream.New(context.Background(), engine, stream.Options{
		CreateDelay: stream.NoDelay, DeleteDelay: stream.NoDelay, UpdateDelay: stream.NoDelay,
	})
	if err != nil {
		engine.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		svc.Close()
		engine.Close()
	})
	return New(svc, Options{}), engine
}

func call(a *API, contentType, op, body string) *kinesis.Response {
	return a.Handle(context.Background(), &kinesis.Request{
		Target:      kinesis.TargetPrefix + op,
		ContentType: contentType,
		Body:        []byte(body),
		Region:      "us-east-1",
		Account:     "000000000000",
	})
}

func wantResponse(t *testing.T, got *kinesis.Response, status int, body string) {
	t.Helper()
	if got.Status != status || string(got.Body) != body {
		t.Fatalf("got %d %s, want %d %s", got.Status, got.Body, status, body)
	}
}

const testARN = "arn:aws:kinesis:us-east-1:000000000000:stream/s"

func ptr[T any](v T) *T { return &v }

// unimplementedOps lists, with a body that passes validation, every
// operation that has a shape but no implementation in package stream.
var unimplementedOps = []struct{ op, body string }{
	{kinesis.OpDescribeAccountSettings, `{}`},
	{kinesis.OpUpdateAccountSettings, `{"MinimumThroughputBillingCommitment":{"Status":"DISABLED"}}`},
	{kinesis.OpUpdateStreamRecordDistributionStrategy, `{"StreamARN":"` + testARN + `","RecordDistributionStrategy":"AUTO"}`},
	{kinesis.OpUpdateStreamWarmThroughput, `{"StreamName":"s","WarmThroughputMiBps":10}`},
}

func TestHandleUnimplemented(t *testing.T) {
	a, _ := newTestAPI(t)
	for _, tc := range unimplementedOps {
		t.Run(tc.op, func(t *testing.T) {
			want := `{"__type":"UnknownOperationException","message":"Tributary does not implement ` + tc.op + ` yet."}`
			wantResponse(t, call(a, kinesis.ContentTypeJSON, tc.op, tc.body), 400, want)
		})
	}
}

// TestHandleCoversOperations keeps the handler table and the list above
// in step with the shapes: every operation is either served or listed.
func TestHandleCoversOperations(t *testing.T) {
	var got []string
	for op := range handlers {
		got = append(got, op)
	}
	for _, tc := range unimplementedOps {
		if _, dup := handlers[tc.op]; dup {
			t.Errorf("%s is both handled and listed as unimplemented", tc.op)
		}
		got = append(got, tc.op)
	}
	slices.Sort(got)
	if want := kinesis.Operations(); !slices.Equal(got, want) {
		t.Fatalf("handled+unimplemented = %v, want %v", got, want)
	}
}

func TestHandleValidatesBeforeUnimplemented(t *testing.T) {
	a, _ := newTestAPI(t)
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpUpdateStreamWarmThroughput, `{"StreamName":"s"}`), 400,
		`{"__type":"ValidationException","message":"1 validation error detected: Value null at 'warmThroughputMiBps' failed to satisfy constraint: Member must not be null"}`)
}

func TestHandleUnknownTarget(t *testing.T) {
	a, _ := newTestAPI(t)
	wantResponse(t, call(a, kinesis.ContentTypeJSON, "Nope", `{}`), 400, `{"__type":"UnknownOperationException"}`)
	wantResponse(t, a.Handle(context.Background(), &kinesis.Request{ContentType: kinesis.ContentTypeJSON, Body: []byte(`{}`)}), 400,
		`{"__type":"UnknownOperationException"}`)
}

func TestHandleRoundTrip(t *testing.T) {
	a, _ := newTestAPI(t)
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpCreateStream, `{"StreamName":"s","ShardCount":1}`), 200, ``)
	resp := call(a, kinesis.ContentTypeJSON, kinesis.OpPutRecord, `{"StreamName":"s","PartitionKey":"k","Data":"aGk="}`)
	var put kinesis.PutRecordOutput
	if resp.Status != 200 || json.Unmarshal(resp.Body, &put) != nil || put.ShardID != "shardId-000000000000" || put.SequenceNumber == "" {
		t.Fatalf("PutRecord = %d %s", resp.Status, resp.Body)
	}
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpListStreams, `{}`), 200, ``+
		`{"StreamNames":["s"],"HasMoreStreams":false,"StreamSummaries":[{"StreamName":"s","StreamARN":"`+testARN+`","StreamStatus":"ACTIVE",`+
		`"StreamModeDetails":{"StreamMode":"PROVISIONED"},"StreamCreationTimestamp":`+streamCreation(t, a)+`}]}`)
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpDescribeStream, `{"StreamName":"nope"}`), 400,
		`{"__type":"ResourceNotFoundException","message":"Stream nope under account 000000000000 not found."}`)
}

// streamCreation is the creation timestamp of stream s as the JSON
// encoding writes it.
func streamCreation(t *testing.T, a *API) string {
	t.Helper()
	resp := call(a, kinesis.ContentTypeJSON, kinesis.OpDescribeStreamSummary, `{"StreamName":"s"}`)
	var out struct {
		StreamDescriptionSummary struct{ StreamCreationTimestamp json.Number }
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		t.Fatalf("DescribeStreamSummary %s: %v", resp.Body, err)
	}
	return out.StreamDescriptionSummary.StreamCreationTimestamp.String()
}

func TestHandleRecordSize(t *testing.T) {
	a, _ := newTestAPI(t)
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpCreateStream, `{"StreamName":"s","ShardCount":1}`), 200, ``)

	// Over the stream's 1 MiB (data and key together): package stream's
	// InvalidArgumentException, in the request's encoding.
	body, err := cbor.Marshal(map[string]any{"StreamName": "s", "PartitionKey": "k", "Data": make([]byte, 1<<20)})
	if err != nil {
		t.Fatal(err)
	}
	resp := a.Handle(context.Background(), &kinesis.Request{
		Target: kinesis.TargetPrefix + kinesis.OpPutRecord, ContentType: kinesis.ContentTypeCBOR, Body: body,
		Region: "us-east-1", Account: "000000000000",
	})
	var got map[string]string
	if err := cbor.Unmarshal(resp.Body, &got); err != nil || resp.Status != 400 || resp.ContentType != kinesis.ContentTypeCBOR {
		t.Fatalf("got %d %s %x: %v", resp.Status, resp.ContentType, resp.Body, err)
	}
	want := map[string]string{
		"__type":  "InvalidArgumentException",
		"message": "Record size 1048577 bytes, data and partition key together, exceeds the maximum record size of 1024 KiB of stream s under account 000000000000.",
	}
	if got["__type"] != want["__type"] || got["message"] != want["message"] {
		t.Fatalf("got %v, want %v", got, want)
	}

	// Over 10 MiB, more than any stream takes: the model's
	// ValidationException, before the stream is looked up.
	big, err := kinesis.Encode(kinesis.ContentTypeJSON, &kinesis.PutRecordsInput{
		StreamName: ptr("missing"),
		Records:    []kinesis.PutRecordsRequestEntry{{PartitionKey: ptr("k"), Data: make([]byte, 10<<20+1)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp = call(a, kinesis.ContentTypeJSON, kinesis.OpPutRecords, string(big))
	if resp.Status != 400 || !strings.HasPrefix(string(resp.Body), `{"__type":"ValidationException","message":"1 validation error detected: Value `) ||
		!strings.HasSuffix(string(resp.Body), ` at 'records.1.member.data' failed to satisfy constraint: Member must have length less than or equal to 10485760"}`) {
		t.Fatalf("got %d %.300s", resp.Status, resp.Body)
	}
}

func TestHandleInternalFailure(t *testing.T) {
	a, engine := newTestAPI(t)
	var logs bytes.Buffer
	a.log = slog.New(slog.NewTextHandler(&logs, nil))
	engine.Close()
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpCreateStream, `{"StreamName":"s","ShardCount":1}`), 500, `{"__type":"InternalFailure"}`)
	// The client learns nothing, so the cause must be in the log.
	if got := logs.String(); !strings.Contains(got, `msg="operation failed" op=CreateStream`) || !strings.Contains(got, "error=") {
		t.Fatalf("log = %q, want the failed operation and its error", got)
	}
}

// TestHandleResharding checks the resharding operations' wire shapes: no
// body for SplitShard, MergeShards and UpdateStreamMode, UpdateShardCount's
// counts, and domain errors in AWS's form.
func TestHandleResharding(t *testing.T) {
	a, _ := newTestAPI(t)
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpCreateStream, `{"StreamName":"s","ShardCount":2}`), 200, ``)
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpSplitShard,
		`{"StreamName":"s","ShardToSplit":"shardId-000000000000","NewStartingHashKey":"85070591730234615865843651857942052864"}`), 200, ``)
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpMergeShards,
		`{"StreamARN":"`+testARN+`","ShardToMerge":"shardId-000000000002","AdjacentShardToMerge":"shardId-000000000003"}`), 200, ``)
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpMergeShards,
		`{"StreamName":"s","ShardToMerge":"shardId-000000000000","AdjacentShardToMerge":"shardId-000000000001"}`), 400,
		`{"__type":"InvalidArgumentException","message":"Shard shardId-000000000000 in stream s under account 000000000000 has already been merged or split, and thus is not eligible for merging or splitting."}`)
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpUpdateShardCount, `{"StreamName":"s","TargetShardCount":4,"ScalingType":"UNIFORM_SCALING"}`), 200,
		`{"StreamName":"s","CurrentShardCount":2,"TargetShardCount":4,"StreamARN":"`+testARN+`"}`)
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpUpdateShardCount, `{"StreamName":"s","TargetShardCount":9,"ScalingType":"UNIFORM_SCALING"}`), 400,
		`{"__type":"LimitExceededException","message":"UpdateShardCount cannot scale up over double your current open shard count. Current open shard count: 4, Target shard count: 9"}`)
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpUpdateStreamMode, `{"StreamARN":"`+testARN+`","StreamModeDetails":{"StreamMode":"ON_DEMAND"}}`), 200, ``)
	resp := call(a, kinesis.ContentTypeJSON, kinesis.OpDescribeStreamSummary, `{"StreamName":"s"}`)
	if !strings.Contains(string(resp.Body), `"StreamModeDetails":{"StreamMode":"ON_DEMAND"}`) || !strings.Contains(string(resp.Body), `"OpenShardCount":4`) {
		t.Errorf("DescribeStreamSummary %s", resp.Body)
	}
}

// TestHandleRecordDistributionStrategy: every stream routes by partition
// key, so CreateStream takes USER_PARTITION_KEY and refuses AUTO rather
// than ignore it.
func TestHandleRecordDistributionStrategy(t *testing.T) {
	tests := []struct {
		name, body string
		status     int
		want       string
	}{
		{"USER_PARTITION_KEY", `{"StreamName":"a","ShardCount":1,"RecordDistributionStrategy":"USER_PARTITION_KEY"}`, 200, ``},
		{"AUTO on a provisioned stream", `{"StreamName":"b","ShardCount":1,"RecordDistributionStrategy":"AUTO"}`, 400,
			`{"__type":"InvalidArgumentException","message":"RecordDistributionStrategy AUTO is only supported for streams in ON_DEMAND capacity mode."}`},
		{"AUTO on an on-demand stream", `{"StreamName":"c","StreamModeDetails":{"StreamMode":"ON_DEMAND"},"RecordDistributionStrategy":"AUTO"}`, 400,
			`{"__type":"InvalidArgumentException","message":"Tributary does not support RecordDistributionStrategy AUTO yet; ` +
				`streams route records by partition key (USER_PARTITION_KEY)."}`},
	}
	a, _ := newTestAPI(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpCreateStream, tc.body), tc.status, tc.want)
		})
	}
	var list struct{ StreamNames []string }
	if r := call(a, kinesis.ContentTypeJSON, kinesis.OpListStreams, `{}`); json.Unmarshal(r.Body, &list) != nil || !slices.Equal(list.StreamNames, []string{"a"}) {
		t.Fatalf("streams %v, want only [a] created", list.StreamNames)
	}
}

// TestHandleRefusesFractionalShardCount is the end-to-end view of the
// above: a fractional ShardCount creates no stream.
func TestHandleRefusesFractionalShardCount(t *testing.T) {
	a, _ := newTestAPI(t)
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpCreateStream, `{"StreamName":"s","ShardCount":1.5}`), 400,
		`{"__type":"SerializationException","Message":"'1.5' can not be converted to an Integer"}`)
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpListStreams, `{"Limit":1.9}`), 400,
		`{"__type":"SerializationException","Message":"'1.9' can not be converted to an Integer"}`)
	resp := call(a, kinesis.ContentTypeJSON, kinesis.OpListStreams, `{}`)
	wantResponse(t, resp, 200, `{"StreamNames":[],"HasMoreStreams":false,"StreamSummaries":[]}`)
}

// A call whose client went away fails with its context's error, which is
// no fault of the server's: logged at debug, not as an error.
func TestHandleCanceledIsNotAnError(t *testing.T) {
	a, _ := newTestAPI(t)
	var logs bytes.Buffer
	a.log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpCreateStream, `{"StreamName":"s","ShardCount":1}`), 200, ``)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a.Handle(ctx, &kinesis.Request{
		Target: kinesis.TargetPrefix + kinesis.OpPutRecord, ContentType: kinesis.ContentTypeJSON,
		Body: []byte(`{"StreamName":"s","PartitionKey":"k","Data":"AA=="}`), Region: "us-east-1", Account: "000000000000",
	})
	got := logs.String()
	if strings.Contains(got, "level=ERROR") {
		t.Fatalf("log = %q, want no error for a canceled call", got)
	}
	if !strings.Contains(got, `level=DEBUG msg="operation failed" op=PutRecord`) {
		t.Fatalf("log = %q, want the canceled call at debug", got)
	}
}
