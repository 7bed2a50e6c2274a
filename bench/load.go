package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go/middleware"
)

// batcher returns the next PutRecords batch of one producer. The producer
// sends a batch before it asks for the next, so a batcher may reuse the
// slice it returned last time.
type batcher func() []types.PutRecordsRequestEntry

// putLoad is a timed PutRecords load: producers goroutines, each sending
// the batches of its batcher one call at a time until duration has passed.
type putLoad struct {
	label      string
	stream     string
	producers  int
	recordSize int // bytes of data per record, for the byte count
	duration   time.Duration
	newBatcher func(producer int) batcher
}

// producerStats is what one producer counted.
type producerStats struct {
	records, failed, calls, retried int64
	latencies                       []time.Duration
	err                             error
}

// run runs the load and returns its counts and per-call latencies in w.
// A call that fails even after the SDK's retries stops the load and is
// returned as the error, with the figures up to then; records that
// PutRecords rejects one by one (FailedRecordCount) are counted, not
// errors, since throttling of single records is part of what a benchmark
// of a real endpoint measures.
func (b *bench) run(ctx context.Context, l putLoad, w *WorkloadResult) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var count atomic.Int64
	stop := b.progress.start(l.label, &count)

	stats := make([]producerStats, l.producers)
	start := time.Now()
	deadline := start.Add(l.duration)
	var wg sync.WaitGroup
	for p := range l.producers {
		next := l.newBatcher(p)
		wg.Go(func() {
			s := &stats[p]
			for ctx.Err() == nil && time.Now().Before(deadline) {
				entries := next()
				t0 := time.Now()
				out, err := b.client.PutRecords(ctx, &kinesis.PutRecordsInput{
					StreamName: aws.String(l.stream),
					Records:    entries,
				})
				elapsed := time.Since(t0)
				if err != nil && ctx.Err() != nil {
					return // stopped by another producer's failure or by the user
				}
				s.calls++
				var md middleware.Metadata
				if out != nil {
					md = out.ResultMetadata
				}
				if retried(md, err) {
					s.retried++
				}
				if err != nil {
					s.failed += int64(len(entries))
					s.err = fmt.Errorf("PutRecords: %w", err)
					cancel()
					return
				}
				failed := int64(aws.ToInt32(out.FailedRecordCount))
				ok := int64(len(entries)) - failed
				s.records += ok
				s.failed += failed
				s.latencies = append(s.latencies, elapsed)
				count.Add(ok)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	stop()

	var latencies []time.Duration
	var firstErr error
	for _, s := range stats {
		w.Records += s.records
		w.FailedRecords += s.failed
		w.Calls += s.calls
		w.RetriedCalls += s.retried
		latencies = append(latencies, s.latencies...)
		if firstErr == nil {
			firstErr = s.err
		}
	}
	w.Bytes = w.Records * int64(l.recordSize)
	w.LatencyMS = summarize(latencies)
	w.setRates(elapsed, true)
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}
