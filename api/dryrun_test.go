package api

import (
	"encoding/json"
	"io"
	"reflect"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/tributary-io/tributary/faults"
	"github.com/tributary-io/tributary/kinesis"
)

const dryRunBody = `{"__type":"DryRunOperationException","message":"The request would have succeeded without the DryRun parameter."}`

// TestHandleDryRun checks the wire answers to dry runs: a valid request
// gets DryRunOperationException (400) and changes nothing; an invalid one
// gets the error it would get without DryRun.
func TestHandleDryRun(t *testing.T) {
	a := newFaultAPI(t, nil)
	consumer := setupConsumer(t, a) // stream s holds one record, "hi"
	r := call(a, kinesis.ContentTypeJSON, kinesis.OpGetShardIterator, `{"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"TRIM_HORIZON"}`)
	var it kinesis.GetShardIteratorOutput
	if err := json.Unmarshal(r.Body, &it); err != nil || it.ShardIterator == nil {
		t.Fatalf("GetShardIterator: %d %s", r.Status, r.Body)
	}
	iter := *it.ShardIterator

	tests := []struct {
		name, op, body string
		status         int
		want           string
	}{
		{"PutRecord", kinesis.OpPutRecord, `{"StreamName":"s","PartitionKey":"k","Data":"eA==","DryRun":true}`, 400, dryRunBody},
		{"PutRecords", kinesis.OpPutRecords, `{"StreamName":"s","Records":[{"PartitionKey":"k","Data":"eA=="}],"DryRun":true}`, 400, dryRunBody},
		{"PutRecords with DryRun first", kinesis.OpPutRecords, `{"DryRun":true,"StreamName":"s","Records":[{"PartitionKey":"k","Data":"eA=="}]}`, 400, dryRunBody},
		{"GetShardIterator", kinesis.OpGetShardIterator, `{"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"LATEST","DryRun":true}`, 400, dryRunBody},
		{"GetRecords", kinesis.OpGetRecords, `{"ShardIterator":"` + iter + `","DryRun":true}`, 400, dryRunBody},
		{"SubscribeToShard", kinesis.OpSubscribeToShard, `{"ConsumerARN":"` + consumer + `","ShardId":"shardId-000000000000",` +
			`"StartingPosition":{"Type":"TRIM_HORIZON"},"DryRun":true}`, 400, dryRunBody},
		{"DryRun false is a real call", kinesis.OpGetShardIterator,
			`{"StreamName":"s","ShardId":"shardId-000000000007","ShardIteratorType":"LATEST","DryRun":false}`, 400,
			`{"__type":"ResourceNotFoundException","message":"Shard shardId-000000000007 in stream s under account 000000000000 does not exist"}`},
		{"validation error", kinesis.OpPutRecord, `{"StreamName":"x y","PartitionKey":"k","Data":"eA==","DryRun":true}`, 400,
			`{"__type":"ValidationException","message":"1 validation error detected: Value 'x y' at 'streamName' failed to satisfy constraint: ` +
				`Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"}`},
		{"missing stream", kinesis.OpPutRecords, `{"StreamName":"nope","Records":[{"PartitionKey":"k","Data":"eA=="}],"DryRun":true}`, 400,
			`{"__type":"ResourceNotFoundException","message":"Stream nope under account 000000000000 not found."}`},
		{"forged iterator", kinesis.OpGetRecords, `{"ShardIterator":"AAAA","DryRun":true}`, 400,
			`{"__type":"InvalidArgumentException","message":"Invalid ShardIterator."}`},
		{"DryRun not a boolean", kinesis.OpPutRecord, `{"StreamName":"s","PartitionKey":"k","Data":"eA==","DryRun":"yes"}`, 400,
			`{"__type":"SerializationException","Message":"'YES' can not be converted to an Boolean"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantResponse(t, call(a, kinesis.ContentTypeJSON, tc.op, tc.body), tc.status, tc.want)
		})
	}
	if got := readShard(t, a); !reflect.DeepEqual(got, []string{"hi"}) {
		t.Errorf("shard holds %v after the dry runs, want [hi]", got)
	}
	// The dry-run SubscribeToShard started no session to take over from.
	resp := call(a, kinesis.ContentTypeJSON, kinesis.OpSubscribeToShard, subscribeBody(consumer))
	if resp.Stream == nil {
		t.Fatalf("real SubscribeToShard after a dry run: %d %s", resp.Status, resp.Body)
	}
	resp.Stream(t.Context(), func([]byte) error { return io.EOF }) // ends the session
}

func TestHandleDryRunCBOR(t *testing.T) {
	a := newFaultAPI(t, nil)
	body, err := cbor.Marshal(map[string]any{"StreamName": "s", "PartitionKey": "k", "Data": []byte("x"), "DryRun": true})
	if err != nil {
		t.Fatal(err)
	}
	r := a.Handle(t.Context(), &kinesis.Request{Target: kinesis.TargetPrefix + kinesis.OpPutRecord, ContentType: kinesis.ContentTypeCBOR, Body: body,
		Region: "us-east-1", Account: "000000000000"})
	var got map[string]string
	if r.Status != 400 || cbor.Unmarshal(r.Body, &got) != nil || got["__type"] != kinesis.ErrDryRunOperation ||
		got["message"] != "The request would have succeeded without the DryRun parameter." {
		t.Fatalf("got %d %x", r.Status, r.Body)
	}
	if got := readShard(t, a); len(got) != 0 {
		t.Errorf("shard holds %v after a dry run, want nothing", got)
	}
}

// TestFaultPutRecordsFailuresSpareDryRuns: entry failures are injected
// as records are written, which a dry run does not do, so a dry run that
// meets such a rule still answers DryRunOperationException.
func TestFaultPutRecordsFailuresSpareDryRuns(t *testing.T) {
	inj := faults.New(1)
	a := newFaultAPI(t, inj)
	addRule(t, inj, faults.Rule{Operation: kinesis.OpPutRecords, Effect: faults.EffectPutRecordsFailures, Fraction: 1})
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpPutRecords, `{"StreamName":"s","Records":[{"PartitionKey":"k","Data":"eA=="}],"DryRun":true}`),
		400, dryRunBody)
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpPutRecords, `{"StreamName":"nope","Records":[{"PartitionKey":"k","Data":"eA=="}],"DryRun":true}`),
		400, `{"__type":"ResourceNotFoundException","message":"Stream nope under account 000000000000 not found."}`)
	if got := readShard(t, a); len(got) != 0 {
		t.Errorf("shard holds %v, want nothing", got)
	}
}
