package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/storage"
	"github.com/tributary-io/tributary/storage/discard"
	"github.com/tributary-io/tributary/storage/local"
	"github.com/tributary-io/tributary/stream"
)

// BenchmarkMetricsCost measures what the Kinesis metrics cost the hot
// paths: PutRecords of 500 records of 100 B to 4 shards, and GetRecords
// of up to 500 such records, with stream.Options.Metrics nil ("off") and
// a registry with enhanced monitoring of ALL turned on ("on", the most
// the metrics do per request). "discard" keeps positions and drops the
// records, so the handler's own CPU is what is measured; "local" adds the
// durable append. Compare off and on with benchstat:
//
//	go test -run '^$' -bench MetricsCost -count 5 ./api/ > m.txt
//	benchstat -col /metrics m.txt
func BenchmarkMetricsCost(b *testing.B) {
	engines := []struct {
		name string
		open func(b *testing.B) storage.Engine
	}{
		{"discard", func(b *testing.B) storage.Engine { return discard.New(nil) }},
		{"local", func(b *testing.B) storage.Engine {
			e, err := local.Open(b.TempDir(), local.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return e
		}},
	}
	for _, eng := range engines {
		for _, on := range []bool{false, true} {
			metrics := "off"
			if on {
				metrics = "on"
			}
			b.Run(fmt.Sprintf("engine=%s/op=PutRecords/metrics=%s", eng.name, metrics), func(b *testing.B) {
				api := benchAPI(b, eng.open(b), on)
				body := putRecordsBody()
				b.SetBytes(500 * 100)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						r := call(api, kinesis.ContentTypeJSON, "PutRecords", body)
						if r.Status != 200 {
							b.Errorf("PutRecords: %d %s", r.Status, r.Body)
							return
						}
						r.Release() // as the server does once the answer is written
					}
				})
				b.ReportMetric(float64(b.N)*500/b.Elapsed().Seconds(), "records/s")
			})
			if eng.name == "discard" {
				continue // it returns no records to read
			}
			b.Run(fmt.Sprintf("engine=%s/op=GetRecords/metrics=%s", eng.name, metrics), func(b *testing.B) {
				api := benchAPI(b, eng.open(b), on)
				body := putRecordsBody()
				for range 20 {
					call(api, kinesis.ContentTypeJSON, "PutRecords", body)
				}
				r := call(api, kinesis.ContentTypeJSON, "GetShardIterator", `{"StreamName":"bench","ShardId":"shardId-000000000000","ShardIteratorType":"TRIM_HORIZON"}`)
				var it kinesis.GetShardIteratorOutput
				if err := json.Unmarshal(r.Body, &it); err != nil || it.ShardIterator == nil {
					b.Fatalf("GetShardIterator: %d %s", r.Status, r.Body)
				}
				get := `{"ShardIterator":"` + *it.ShardIterator + `","Limit":500}`
				b.ResetTimer()
				for range b.N {
					r := call(api, kinesis.ContentTypeJSON, "GetRecords", get)
					if r.Status != 200 {
						b.Fatalf("GetRecords: %d %s", r.Status, r.Body)
					}
					r.Release()
				}
				b.ReportMetric(float64(b.N)*500/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
}

func benchAPI(b *testing.B, engine storage.Engine, metrics bool) *API {
	b.Helper()
	opts := stream.Options{CreateDelay: stream.NoDelay, UpdateDelay: stream.NoDelay}
	if metrics {
		opts.Metrics = prometheus.NewRegistry()
	}
	svc, err := stream.New(context.Background(), engine, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		svc.Close()
		engine.Close()
	})
	api := New(svc, Options{})
	if r := call(api, kinesis.ContentTypeJSON, "CreateStream", `{"StreamName":"bench","ShardCount":4}`); r.Status != 200 {
		b.Fatalf("CreateStream: %d %s", r.Status, r.Body)
	}
	if metrics {
		if r := call(api, kinesis.ContentTypeJSON, "EnableEnhancedMonitoring", `{"StreamName":"bench","ShardLevelMetrics":["ALL"]}`); r.Status != 200 {
			b.Fatalf("EnableEnhancedMonitoring: %d %s", r.Status, r.Body)
		}
	}
	return api
}

// putRecordsBody is a PutRecords of 500 records of 100 B over 500 keys.
func putRecordsBody() string {
	type entry struct{ Data, PartitionKey string }
	entries := make([]entry, 500)
	data := base64.StdEncoding.EncodeToString(make([]byte, 100))
	for i := range entries {
		entries[i] = entry{Data: data, PartitionKey: fmt.Sprintf("key-%d", i)}
	}
	body, _ := json.Marshal(map[string]any{"StreamName": "bench", "Records": entries})
	return string(body)
}
