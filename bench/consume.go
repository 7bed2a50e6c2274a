package bench

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/tributary-io/tributary/consumer"
)

const (
	// consumeShards and consumeWorkers are the drain through the
	// consumer library: 8 shards read by 2 workers.
	consumeShards  = 8
	consumeWorkers = 2
)

// consume measures read throughput through the consumer library (package
// consumer): it fills a stream of 8 shards with --drain-records records of
// 100 B, as drain fills its one (not timed), then times two workers, each
// with a Processor that counts and checkpoints every batch (leases in
// memory), until every record is processed. Compare with drain, which
// reads one shard with raw GetRecords.
func (b *bench) consume(ctx context.Context) ([]WorkloadResult, error) {
	w := WorkloadResult{Name: WorkloadConsume, RecordSize: drainRecordSize, Shards: consumeShards}
	w.RSSStartBytes = b.rss()
	defer func() { w.RSSEndBytes = b.rss() }()
	name := b.streamName(WorkloadConsume)
	cleanup, err := b.createStream(ctx, name, consumeShards)
	defer cleanup()
	if err == nil {
		err = b.fill(ctx, name, &w)
	}
	if err != nil {
		return []WorkloadResult{w}, err
	}

	var count atomic.Int64
	want := int64(b.opts.DrainRecords)
	done := make(chan struct{})
	var once sync.Once
	counter := &countingProcessor{count: &count, want: want, done: func() { once.Do(func() { close(done) }) }}
	store := consumer.NewMemoryLeaseStore()
	client := kinesis.New(b.client.Options(), func(o *kinesis.Options) { o.Retryer = aws.NopRetryer{} })
	runCtx, stopWorkers := context.WithCancel(ctx)
	defer stopWorkers()
	var workers sync.WaitGroup
	errs := make([]error, consumeWorkers)
	stop := b.progress.start(w.label(), &count)
	start := time.Now()
	readInterval := b.opts.ConsumeReadInterval
	if readInterval == 0 {
		readInterval = -1 // the consumer's "do not wait"
	}
	for i := range consumeWorkers {
		wk, err := consumer.NewWorker(consumer.Config{
			Stream: name, Client: client, Leases: store, WorkerID: fmt.Sprintf("bench-%d", i),
			NewProcessor: func(string) consumer.Processor { return counter },
			// Rounds every third of a second, so that the second worker
			// takes its half of the leases (one a round, by handoff)
			// within the first seconds.
			FailoverTime: time.Second, IdleTime: 100 * time.Millisecond, ReadInterval: readInterval,
			Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			return []WorkloadResult{w}, err
		}
		workers.Go(func() { errs[i] = wk.Run(runCtx) })
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
	elapsed := time.Since(start)
	stopWorkers()
	workers.Wait()
	stop()
	w.Records = count.Load()
	w.Bytes = w.Records * drainRecordSize
	w.setRates(elapsed, false)
	for _, err := range errs {
		if err != nil {
			return []WorkloadResult{w}, err
		}
	}
	if w.Records < want {
		return []WorkloadResult{w}, fmt.Errorf("%d of %d records processed: %w", w.Records, want, ctx.Err())
	}
	return []WorkloadResult{w}, nil
}

// countingProcessor counts records for every shard (one for all: the
// counter is shared) and checkpoints each batch, as an application would.
type countingProcessor struct {
	count *atomic.Int64
	want  int64
	done  func()
}

func (p *countingProcessor) Initialize(context.Context, consumer.InitializeInput) error { return nil }

func (p *countingProcessor) ProcessRecords(ctx context.Context, in consumer.ProcessRecordsInput) error {
	if p.count.Add(int64(len(in.Records))) >= p.want {
		p.done()
	}
	return in.Checkpointer.Checkpoint(ctx)
}

func (p *countingProcessor) LeaseLost(context.Context) {}

func (p *countingProcessor) ShardEnded(ctx context.Context, cp consumer.Checkpointer) error {
	return cp.Checkpoint(ctx)
}

func (p *countingProcessor) ShutdownRequested(ctx context.Context, cp consumer.Checkpointer) error {
	return cp.Checkpoint(ctx)
}
