package api

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/storage/local"
	"github.com/tributary-io/tributary/stream"
)

// BenchmarkHandleGetRecords measures the whole read path below HTTP, as
// the drain workload drives it: a GetRecords of 10,000 records of 100 B
// from the local engine (read from the page cache, as a consumer close
// behind the producers reads), turned into sequence numbers and encoded
// in JSON. Besides time per call it reports the process's CPU time per
// record and the bytes allocated per call:
//
//	go test -run '^$' -bench HandleGetRecords -benchmem ./api/
func BenchmarkHandleGetRecords(b *testing.B) {
	e, err := local.Open(b.TempDir(), local.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	svc, err := stream.New(context.Background(), e, stream.Options{CreateDelay: stream.NoDelay})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	api := New(svc, Options{})
	if r := call(api, kinesis.ContentTypeJSON, "CreateStream", `{"StreamName":"bench","ShardCount":1}`); r.Status != 200 {
		b.Fatalf("CreateStream: %d %s", r.Status, r.Body)
	}
	type entry struct {
		Data         []byte
		PartitionKey string
	}
	const pages = 3
	entries := make([]entry, 500)
	for i := range entries {
		entries[i] = entry{Data: make([]byte, 100), PartitionKey: fmt.Sprintf("key-%d", i)}
	}
	put, _ := json.Marshal(map[string]any{"StreamName": "bench", "Records": entries})
	for range pages * 10000 / len(entries) {
		if r := call(api, kinesis.ContentTypeJSON, "PutRecords", string(put)); r.Status != 200 {
			b.Fatalf("PutRecords: %d %s", r.Status, r.Body)
		}
	}
	r := call(api, kinesis.ContentTypeJSON, "GetShardIterator", `{"StreamName":"bench","ShardId":"shardId-000000000000","ShardIteratorType":"TRIM_HORIZON"}`)
	var it struct{ ShardIterator string }
	if err := json.Unmarshal(r.Body, &it); err != nil || r.Status != 200 {
		b.Fatalf("GetShardIterator: %d %s", r.Status, r.Body)
	}
	get := []byte(`{"ShardIterator":"` + it.ShardIterator + `","Limit":10000}`)
	b.SetBytes(10000 * 100)
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		body := kinesis.NewBody(len(get))
		copy(body, get)
		req := &kinesis.Request{
			Target: kinesis.TargetPrefix + "GetRecords", ContentType: kinesis.ContentTypeJSON,
			Body: body, Region: "us-east-1", Account: "000000000000",
		}
		r := api.Handle(context.Background(), req)
		if r.Status != 200 || len(r.Body) < 10000*100 {
			b.Fatalf("GetRecords: %d %.200s", r.Status, r.Body)
		}
		r.Release()
		req.Release()
	}
	b.StopTimer()
	records := float64(b.N) * 10000
	b.ReportMetric(records/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/records, "cpu-ns/record")
}
