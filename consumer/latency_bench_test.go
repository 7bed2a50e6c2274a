package consumer_test

import (
	"context"
	"encoding/binary"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/tributary-io/tributary/consumer"
	"github.com/tributary-io/tributary/internal/inproc"
	"github.com/tributary-io/tributary/storage/local"
)

// latencyProc notes, for each record, the time from its put (in its data)
// to its delivery.
type latencyProc struct {
	mu   *sync.Mutex
	lats *[]time.Duration
}

func (p latencyProc) Initialize(context.Context, consumer.InitializeInput) error { return nil }
func (p latencyProc) ProcessRecords(ctx context.Context, in consumer.ProcessRecordsInput) error {
	now := time.Now()
	p.mu.Lock()
	for _, r := range in.Records {
		*p.lats = append(*p.lats, now.Sub(time.Unix(0, int64(binary.BigEndian.Uint64(r.Data)))))
	}
	p.mu.Unlock()
	return nil
}
func (p latencyProc) LeaseLost(context.Context) {}
func (p latencyProc) ShardEnded(ctx context.Context, cp consumer.Checkpointer) error {
	return cp.Checkpoint(ctx)
}
func (p latencyProc) ShutdownRequested(context.Context, consumer.Checkpointer) error { return nil }

// BenchmarkPutToProcess measures, for b.N records put one at a time with
// PutRecord at 1,000 a second into a 1-shard stream of an in-process
// Tributary on the local engine (fsync before each answer), the time from
// the put to the processor's delivery, by enhanced fan-out and by polling
// (the consumer's defaults: an idle read every second, reads 200 ms
// apart). Run with -benchtime 3000x.
func BenchmarkPutToProcess(b *testing.B) {
	for _, tc := range []struct {
		name   string
		fanOut string
	}{{"fanout", "app"}, {"polling", ""}} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			engine, err := local.Open(b.TempDir(), local.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { engine.Close() })
			kc := inproc.Start(b, inproc.Options{HTTP2: true, Engine: engine})
			if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(1)}); err != nil {
				b.Fatal(err)
			}
			var mu sync.Mutex
			var lats []time.Duration
			w, err := consumer.NewWorker(consumer.Config{Stream: "s", Client: kc, Leases: consumer.NewMemoryLeaseStore(),
				NewProcessor:    func(string) consumer.Processor { return latencyProc{&mu, &lats} },
				InitialPosition: consumer.Latest, FanOut: tc.fanOut, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			wctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); w.Run(wctx) }()
			defer func() { cancel(); <-done }()
			for len(w.Held()) == 0 {
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(2 * time.Second) // the subscription or the first reads are under way
			b.ResetTimer()
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			data := make([]byte, 100)
			for range b.N {
				<-tick.C
				binary.BigEndian.PutUint64(data, uint64(time.Now().UnixNano()))
				if _, err := kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: data}); err != nil {
					b.Fatal(err)
				}
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				mu.Lock()
				n := len(lats)
				mu.Unlock()
				if n >= b.N || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			b.StopTimer()
			mu.Lock()
			defer mu.Unlock()
			if len(lats) < b.N {
				b.Fatalf("%d of %d records delivered", len(lats), b.N)
			}
			slices.Sort(lats)
			pct := func(p float64) float64 { return float64(lats[int(p*float64(len(lats)-1))].Microseconds()) / 1000 }
			b.ReportMetric(pct(0.5), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(pct(1), "max-ms")
		})
	}
}
