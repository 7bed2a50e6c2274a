package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/storage/local"
	"github.com/tributary-io/tributary/stream"
)

// BenchmarkHandlePutRecords measures the whole ingest path below HTTP:
// decoding a PutRecords of 500 records of 100 B, validation, routing by
// MD5, the durable append on the local engine, and the encoded answer.
// Run with -cpu to vary the number of concurrent callers:
//
//	go test -run '^$' -bench HandlePutRecords -cpu 1,4 ./api/
func BenchmarkHandlePutRecords(b *testing.B) {
	engine, err := local.Open(b.TempDir(), local.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer engine.Close()
	svc, err := stream.New(context.Background(), engine, stream.Options{CreateDelay: stream.NoDelay})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	api := New(svc, Options{})
	if r := call(api, kinesis.ContentTypeJSON, "CreateStream", `{"StreamName":"bench","ShardCount":4}`); r.Status != 200 {
		b.Fatalf("CreateStream: %d %s", r.Status, r.Body)
	}

	type entry struct{ Data, PartitionKey string }
	entries := make([]entry, 500)
	data := base64.StdEncoding.EncodeToString(make([]byte, 100))
	for i := range entries {
		entries[i] = entry{Data: data, PartitionKey: fmt.Sprintf("key-%d", i)}
	}
	body, _ := json.Marshal(map[string]any{"StreamName": "bench", "Records": entries})

	b.SetBytes(500 * 100)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := call(api, kinesis.ContentTypeJSON, "PutRecords", string(body))
			if r.Status != 200 {
				b.Errorf("PutRecords: %d %s", r.Status, r.Body)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)*500/b.Elapsed().Seconds(), "records/s")
}
