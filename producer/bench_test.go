package producer

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/tributary-io/tributary/internal/inproc"
	"github.com/tributary-io/tributary/storage/local"
)

// The ingest benchmarks put 100-byte records of 1,000 keys into 8 shards
// of an in-process Tributary on the local engine (fsync per write, limits
// off), through the producer and through a plain PutRecords loop of 500
// entries with 4 requests at once, so that the two can be compared in one
// run:
//
//	go test -run '^$' -bench Ingest -benchtime 200000x ./producer/
//
// The producer's rate limiter is set far above AWS's limits, which the
// server does not apply here.

func benchTributary(b *testing.B) *kinesis.Client {
	b.Helper()
	ctx := context.Background()
	engine, err := local.Open(b.TempDir(), local.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { engine.Close() })
	kc := inproc.Start(b, inproc.Options{Engine: engine})
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(8)}); err != nil {
		b.Fatal(err)
	}
	return kc
}

var benchKeys = func() []string {
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprint("key-", i)
	}
	return keys
}()

func BenchmarkIngestProducer(b *testing.B) { benchmarkIngestProducer(b, false) }

// BenchmarkIngestProducerNoIDs is the producer without the records' IDs
// (exactly-once off), to measure what they cost.
func BenchmarkIngestProducerNoIDs(b *testing.B) { benchmarkIngestProducer(b, true) }

func benchmarkIngestProducer(b *testing.B, disableIDs bool) {
	ctx := context.Background()
	kc := benchTributary(b)
	p, err := New(ctx, Config{Stream: "s", Client: kc, RateLimit: 1000, Linger: 5 * time.Millisecond, DisableIDs: disableIDs})
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 100)
	b.ReportAllocs()
	b.ResetTimer()
	var last *Future
	for i := range b.N {
		if last, err = p.Put(ctx, Record{PartitionKey: benchKeys[i%len(benchKeys)], Data: data}); err != nil {
			b.Fatal(err)
		}
	}
	if err := p.Close(ctx); err != nil {
		b.Fatal(err)
	}
	if res, _ := last.Wait(ctx); res.Err != nil {
		b.Fatal(res.Err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkIngestPutRecords(b *testing.B) {
	ctx := context.Background()
	kc := benchTributary(b)
	data := make([]byte, 100)
	batches := make(chan []types.PutRecordsRequestEntry)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for batch := range batches {
				out, err := kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: batch})
				if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
					b.Errorf("PutRecords: %v", err)
					return
				}
			}
		})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += 500 {
		batch := make([]types.PutRecordsRequestEntry, 0, 500)
		for j := i; j < min(i+500, b.N); j++ {
			batch = append(batch, types.PutRecordsRequestEntry{PartitionKey: aws.String(benchKeys[j%len(benchKeys)]), Data: data})
		}
		batches <- batch
	}
	close(batches)
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
