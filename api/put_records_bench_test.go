package api

import (
	"context"
	"encoding/json"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/storage"
	"github.com/tributary-io/tributary/storage/discard"
	"github.com/tributary-io/tributary/storage/local"
	"github.com/tributary-io/tributary/stream"
)

// BenchmarkHandlePutRecords measures the whole ingest path below HTTP:
// decoding a PutRecords of 500 records of 100 B, validation, routing by
// MD5, the append (durable on the local engine, thrown away by discard),
// and the encoded answer, in JSON and in CBOR. Besides time per call it
// reports the process's CPU time per record (cpu-ns/record), which is
// what a server sharing its cores with its clients runs out of, and
// which other load on the machine disturbs less than wall time. Run with
// -cpu to vary the number of concurrent callers:
//
//	go test -run '^$' -bench HandlePutRecords -cpu 4 ./api/
func BenchmarkHandlePutRecords(b *testing.B) {
	type entry struct {
		Data         []byte
		PartitionKey string
	}
	entries := make([]entry, 500)
	for i := range entries {
		entries[i] = entry{Data: make([]byte, 100), PartitionKey: fmt.Sprintf("key-%d", i)}
	}
	in := map[string]any{"StreamName": "bench", "Records": entries}
	jsonBody, _ := json.Marshal(in) // Data as base64, as the SDKs send it
	cborBody, _ := cbor.Marshal(in) // Data as a byte string
	// The local engine's metrics count its fsyncs: how many a call
	// costs is what group commit shares among concurrent calls.
	var reg *prometheus.Registry
	engines := []struct {
		name string
		open func(b *testing.B) storage.Engine
	}{
		{"local", func(b *testing.B) storage.Engine {
			reg = prometheus.NewRegistry()
			e, err := local.Open(b.TempDir(), local.Options{Metrics: reg})
			if err != nil {
				b.Fatal(err)
			}
			return e
		}},
		{"discard", func(b *testing.B) storage.Engine { reg = nil; return discard.New(time.Now) }},
	}
	encodings := []struct {
		contentType string
		body        []byte
	}{{kinesis.ContentTypeJSON, jsonBody}, {kinesis.ContentTypeCBOR, cborBody}}
	for _, e := range engines {
		for _, enc := range encodings {
			name := "json"
			if enc.contentType == kinesis.ContentTypeCBOR {
				name = "cbor"
			}
			b.Run(e.name+"/"+name, func(b *testing.B) {
				engine := e.open(b)
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
				b.SetBytes(500 * 100)
				fsyncs0 := journalFsyncs(b, reg)
				cpu0 := cpuTime()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						// As the front end does: the body is read into a
						// pooled buffer, and the request and its answer go
						// back to the pools once the answer is written.
						body := kinesis.NewBody(len(enc.body))
						copy(body, enc.body)
						req := &kinesis.Request{
							Target: kinesis.TargetPrefix + "PutRecords", ContentType: enc.contentType,
							Body: body, Region: "us-east-1", Account: "000000000000",
						}
						r := api.Handle(context.Background(), req)
						if r.Status != 200 {
							b.Errorf("PutRecords: %d %s", r.Status, r.Body)
							return
						}
						r.Release()
						req.Release()
					}
				})
				b.StopTimer()
				records := float64(b.N) * 500
				b.ReportMetric(records/b.Elapsed().Seconds(), "records/s")
				b.ReportMetric(float64(cpuTime()-cpu0)/records, "cpu-ns/record")
				if reg != nil {
					b.ReportMetric((journalFsyncs(b, reg)-fsyncs0)/float64(b.N), "fsyncs/call")
				}
			})
		}
	}
}

// cpuTime is the CPU time (user and system) the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// journalFsyncs is the local engine's count of journal fsyncs so far (0
// without a registry).
func journalFsyncs(b *testing.B, reg *prometheus.Registry) float64 {
	if reg == nil {
		return 0
	}
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "tributary_storage_fsyncs_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "file" && lp.GetValue() == "journal" {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	b.Fatal("no tributary_storage_fsyncs_total{file=\"journal\"}")
	return 0
}
