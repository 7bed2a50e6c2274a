package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/tributary-io/tributary/faults"
	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/storage/mem"
	"github.com/tributary-io/tributary/stream"
)

// newFaultAPI returns an API with injector inj over an in-memory engine,
// with a one-shard ACTIVE stream "s".
func newFaultAPI(t *testing.T, inj *faults.Injector) *API {
	t.Helper()
	engine := mem.New(mem.Options{})
	svc, err := stream.New(context.Background(), engine, stream.Options{
		CreateDelay: stream.NoDelay, DeleteDelay: stream.NoDelay, UpdateDelay: stream.NoDelay,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		svc.Close()
		engine.Close()
	})
	a := New(svc, Options{Faults: inj})
	if r := call(a, kinesis.ContentTypeJSON, kinesis.OpCreateStream, `{"StreamName":"s","ShardCount":1}`); r.Status != 200 {
		t.Fatalf("CreateStream: %d %s", r.Status, r.Body)
	}
	return a
}

func addRule(t *testing.T, inj *faults.Injector, r faults.Rule) {
	t.Helper()
	if _, err := inj.Add(r); err != nil {
		t.Fatal(err)
	}
}

func TestFaultError(t *testing.T) {
	inj := faults.New(1)
	a := newFaultAPI(t, inj)
	addRule(t, inj, faults.Rule{Operation: kinesis.OpPutRecord, Stream: "s", Effect: faults.EffectError, ErrorType: kinesis.ErrProvisionedThroughputExceeded})
	addRule(t, inj, faults.Rule{Operation: kinesis.OpGetShardIterator, Shard: "shardId-000000000000", Effect: faults.EffectError, ErrorType: kinesis.ErrInternalFailure})

	tests := []struct {
		name, op, body string
		status         int
		typ, message   string
	}{
		{"by name", kinesis.OpPutRecord, `{"StreamName":"s","PartitionKey":"k","Data":"AA=="}`, 400,
			kinesis.ErrProvisionedThroughputExceeded, "Rate exceeded for stream s under account 000000000000."},
		{"by ARN", kinesis.OpPutRecord, `{"StreamARN":"` + testARN + `","PartitionKey":"k","Data":"AA=="}`, 400,
			kinesis.ErrProvisionedThroughputExceeded, "Rate exceeded for stream s under account 000000000000."},
		{"shard", kinesis.OpGetShardIterator, `{"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"LATEST"}`, 500,
			kinesis.ErrInternalFailure, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := map[string]any{"__type": tt.typ}
			if tt.message != "" {
				want["message"] = tt.message
			}
			r := call(a, kinesis.ContentTypeJSON, tt.op, tt.body)
			var got map[string]any
			if err := json.Unmarshal(r.Body, &got); err != nil || r.Status != tt.status || !reflect.DeepEqual(got, want) {
				t.Errorf("JSON: got %d %s, want %d %v", r.Status, r.Body, tt.status, want)
			}

			var in map[string]any
			if err := json.Unmarshal([]byte(tt.body), &in); err != nil {
				t.Fatal(err)
			}
			if d, ok := in["Data"]; ok && d == "AA==" {
				in["Data"] = []byte{0}
			}
			body, err := cbor.Marshal(in)
			if err != nil {
				t.Fatal(err)
			}
			r = call(a, kinesis.ContentTypeCBOR, tt.op, string(body))
			got = nil
			if err := cbor.Unmarshal(r.Body, &got); err != nil || r.Status != tt.status || r.ContentType != kinesis.ContentTypeCBOR || !reflect.DeepEqual(got, want) {
				t.Errorf("CBOR: got %d %v (%v), want %d %v", r.Status, got, err, tt.status, want)
			}
		})
	}
	// Other streams and operations are untouched.
	if r := call(a, kinesis.ContentTypeJSON, kinesis.OpDescribeStreamSummary, `{"StreamName":"s"}`); r.Status != 200 {
		t.Errorf("DescribeStreamSummary: %d %s", r.Status, r.Body)
	}
}

func TestFaultErrorBeforeValidationIsNotInjected(t *testing.T) {
	inj := faults.New(1)
	a := newFaultAPI(t, inj)
	addRule(t, inj, faults.Rule{Operation: "*", Effect: faults.EffectError, ErrorType: kinesis.ErrInternalFailure})
	// An invalid request is answered by validation; faults apply only to
	// calls that would reach the service.
	r := call(a, kinesis.ContentTypeJSON, kinesis.OpPutRecord, `{"StreamName":"s"}`)
	if r.Status != 400 || !strings.Contains(string(r.Body), kinesis.ErrValidation) {
		t.Errorf("got %d %s", r.Status, r.Body)
	}
}

func TestFaultLatency(t *testing.T) {
	const delay = 50 * time.Millisecond
	inj := faults.New(1)
	a := newFaultAPI(t, inj)
	addRule(t, inj, faults.Rule{Operation: kinesis.OpDescribeStreamSummary, Effect: faults.EffectLatency, Latency: faults.Duration(delay)})
	start := time.Now()
	r := call(a, kinesis.ContentTypeJSON, kinesis.OpDescribeStreamSummary, `{"StreamName":"s"}`)
	// Only a lower bound: an upper one would flake on a loaded machine.
	if elapsed := time.Since(start); elapsed < delay {
		t.Errorf("took %v, want at least %v", elapsed, delay)
	}
	if r.Status != 200 {
		t.Errorf("got %d %s", r.Status, r.Body)
	}
}

// putTen puts records "r0".."r9" in one PutRecords call and returns the
// output.
func putTen(t *testing.T, a *API) kinesis.PutRecordsOutput {
	t.Helper()
	var entries []string
	for i := range 10 {
		entries = append(entries, fmt.Sprintf(`{"PartitionKey":"k%d","Data":%q}`, i, base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "r%d", i))))
	}
	r := call(a, kinesis.ContentTypeJSON, kinesis.OpPutRecords, `{"StreamName":"s","Records":[`+strings.Join(entries, ",")+`]}`)
	if r.Status != 200 {
		t.Fatalf("PutRecords: %d %s", r.Status, r.Body)
	}
	var out kinesis.PutRecordsOutput
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func readShard(t *testing.T, a *API) []string {
	t.Helper()
	r := call(a, kinesis.ContentTypeJSON, kinesis.OpGetShardIterator, `{"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"TRIM_HORIZON"}`)
	var it kinesis.GetShardIteratorOutput
	if err := json.Unmarshal(r.Body, &it); err != nil || it.ShardIterator == nil {
		t.Fatalf("GetShardIterator: %d %s", r.Status, r.Body)
	}
	r = call(a, kinesis.ContentTypeJSON, kinesis.OpGetRecords, `{"ShardIterator":"`+*it.ShardIterator+`"}`)
	var out struct{ Records []struct{ Data []byte } }
	if err := json.Unmarshal(r.Body, &out); err != nil || r.Status != 200 {
		t.Fatalf("GetRecords: %d %s", r.Status, r.Body)
	}
	var data []string
	for _, rec := range out.Records {
		data = append(data, string(rec.Data))
	}
	return data
}

func TestFaultPutRecordsFailures(t *testing.T) {
	tests := []struct {
		code, message string
	}{
		{"", "Rate exceeded for stream s under account 000000000000."},
		{kinesis.ErrInternalFailure, "Internal service failure."},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			rule := faults.Rule{Operation: kinesis.OpPutRecords, Effect: faults.EffectPutRecordsFailures, Fraction: 0.5, ErrorCode: tt.code}
			var runs [][]int
			for range 2 {
				inj := faults.New(7)
				a := newFaultAPI(t, inj)
				addRule(t, inj, rule)
				out := putTen(t, a)

				var failed []int
				var want []string
				for i, e := range out.Records {
					if e.ErrorCode != nil {
						failed = append(failed, i)
						if *e.ErrorCode != rule.ErrorCode && !(tt.code == "" && *e.ErrorCode == kinesis.ErrProvisionedThroughputExceeded) ||
							str(e.ErrorMessage) != tt.message || e.SequenceNumber != nil {
							t.Errorf("entry %d: %s %s", i, str(e.ErrorCode), str(e.ErrorMessage))
						}
						continue
					}
					if e.SequenceNumber == nil || str(e.ShardID) != "shardId-000000000000" {
						t.Errorf("entry %d: no sequence number or shard", i)
					}
					want = append(want, fmt.Sprintf("r%d", i))
				}
				if len(failed) == 0 || len(failed) == 10 {
					t.Fatalf("failed %v: want some but not all of 10 with this seed", failed)
				}
				if got := int(*out.FailedRecordCount); got != len(failed) {
					t.Errorf("FailedRecordCount %d, want %d", got, len(failed))
				}
				if got := readShard(t, a); !reflect.DeepEqual(got, want) {
					t.Errorf("read %v, want only the entries that succeeded, %v", got, want)
				}
				runs = append(runs, failed)
			}
			if !reflect.DeepEqual(runs[0], runs[1]) {
				t.Errorf("same seed failed different entries: %v and %v", runs[0], runs[1])
			}
		})
	}
}

func TestFaultPutRecordsAllFail(t *testing.T) {
	inj := faults.New(1)
	a := newFaultAPI(t, inj)
	addRule(t, inj, faults.Rule{Operation: kinesis.OpPutRecords, Effect: faults.EffectPutRecordsFailures, Fraction: 1})
	out := putTen(t, a)
	if *out.FailedRecordCount != 10 || len(out.Records) != 10 {
		t.Fatalf("got %d failed of %d", *out.FailedRecordCount, len(out.Records))
	}
	if got := readShard(t, a); len(got) != 0 {
		t.Errorf("read %v, want nothing", got)
	}
}

func TestFaultExpireIterators(t *testing.T) {
	const maxAge = 20 * time.Millisecond
	inj := faults.New(1)
	a := newFaultAPI(t, inj)
	addRule(t, inj, faults.Rule{Operation: kinesis.OpGetRecords, Stream: "s", Effect: faults.EffectExpireIterators, MaxAge: faults.Duration(maxAge)})

	r := call(a, kinesis.ContentTypeJSON, kinesis.OpGetShardIterator, `{"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"TRIM_HORIZON"}`)
	var it kinesis.GetShardIteratorOutput
	if err := json.Unmarshal(r.Body, &it); err != nil || it.ShardIterator == nil {
		t.Fatalf("GetShardIterator: %d %s", r.Status, r.Body)
	}
	// A fresh iterator still works; this GetRecords happens well within
	// maxAge unless the machine stalls, in which case the expiry below is
	// what the test checks anyway.
	start := time.Now()
	r = call(a, kinesis.ContentTypeJSON, kinesis.OpGetRecords, `{"ShardIterator":"`+*it.ShardIterator+`"}`)
	if time.Since(start) < maxAge/2 && r.Status != 200 {
		t.Fatalf("fresh iterator: %d %s", r.Status, r.Body)
	}

	time.Sleep(2 * maxAge)
	r = call(a, kinesis.ContentTypeJSON, kinesis.OpGetRecords, `{"ShardIterator":"`+*it.ShardIterator+`"}`)
	var got map[string]string
	if err := json.Unmarshal(r.Body, &got); err != nil || r.Status != 400 || got["__type"] != kinesis.ErrExpiredIterator ||
		!strings.HasPrefix(got["message"], "Iterator expired. The iterator was created at time ") ||
		!strings.HasSuffix(got["message"], " which is further in the future than the tolerated delay of 20 milliseconds.") {
		t.Errorf("got %d %s", r.Status, r.Body)
	}

}

// TestFaultLoseAnswer: the call is served, and answered InternalFailure.
func TestFaultLoseAnswer(t *testing.T) {
	inj := faults.New(1)
	a := newFaultAPI(t, inj)
	addRule(t, inj, faults.Rule{Operation: kinesis.OpPutRecord, Effect: faults.EffectLoseAnswer, Count: 1})
	r := call(a, kinesis.ContentTypeJSON, kinesis.OpPutRecord, `{"StreamName":"s","PartitionKey":"k","Data":"AA=="}`)
	if r.Status != 500 || !strings.Contains(string(r.Body), kinesis.ErrInternalFailure) {
		t.Fatalf("PutRecord under lose_answer: %d %s, want 500 InternalFailure", r.Status, r.Body)
	}
	// The record was stored all the same: the next one comes after it.
	r = call(a, kinesis.ContentTypeJSON, kinesis.OpGetShardIterator, `{"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"TRIM_HORIZON"}`)
	var it struct{ ShardIterator string }
	if err := json.Unmarshal(r.Body, &it); err != nil || r.Status != 200 {
		t.Fatalf("GetShardIterator: %d %s", r.Status, r.Body)
	}
	r = call(a, kinesis.ContentTypeJSON, kinesis.OpGetRecords, `{"ShardIterator":"`+it.ShardIterator+`"}`)
	var got struct{ Records []struct{ Data string } }
	if err := json.Unmarshal(r.Body, &got); err != nil || len(got.Records) != 1 || got.Records[0].Data != "AA==" {
		t.Fatalf("GetRecords after a lost answer: %d %s, want the record", r.Status, r.Body)
	}
}
