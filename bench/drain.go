package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go/middleware"
)

const (
	drainRecordSize = 100
	// drainLimit is the GetRecords page size: the most Kinesis allows.
	drainLimit = 10000
	// drainMaxEmpty bounds the empty pages read in a row before all
	// records have come back. Tributary never returns an empty page
	// before the tip; AWS may, now and then, but not this many times.
	drainMaxEmpty = 1000
)

// drain measures read throughput: it fills a one-shard stream with
// --drain-records records of 100 B (not timed), then times reading them
// all from TRIM_HORIZON with GetRecords of up to 10,000 records.
func (b *bench) drain(ctx context.Context) ([]WorkloadResult, error) {
	w := WorkloadResult{Name: WorkloadDrain, RecordSize: drainRecordSize, Shards: 1}
	w.RSSStartBytes = b.rss()
	name := b.streamName(WorkloadDrain)
	cleanup, err := b.createStream(ctx, name, 1)
	defer cleanup()
	if err == nil {
		err = b.fill(ctx, name, &w)
	}
	if err == nil {
		err = b.readAll(ctx, name, &w)
	}
	w.RSSEndBytes = b.rss()
	return []WorkloadResult{w}, err
}

// fill writes --drain-records records to the stream with --producers
// producers. Records that PutRecords rejects one by one are counted in
// FailedRecords and sent again, so that exactly --drain-records are
// written.
func (b *bench) fill(ctx context.Context, name string, w *WorkloadResult) error {
	data := make([]byte, drainRecordSize)
	rand.Read(data)
	var count, failed, retriedCalls atomic.Int64
	stop := b.progress.start("drain fill", &count)
	defer stop()

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	producers := min(b.opts.Producers, b.opts.DrainRecords)
	var wg sync.WaitGroup
	for p := range producers {
		// Share the records out evenly; the first producers take the
		// remainder.
		n := b.opts.DrainRecords / producers
		if p < b.opts.DrainRecords%producers {
			n++
		}
		wg.Go(func() {
			key := aws.String(fmt.Sprintf("p%d", p))
			var pending []types.PutRecordsRequestEntry
			for n > 0 || len(pending) > 0 {
				for len(pending) < ingestBatch && n > 0 {
					pending = append(pending, types.PutRecordsRequestEntry{Data: data, PartitionKey: key})
					n--
				}
				out, err := b.client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(name), Records: pending})
				var md middleware.Metadata
				if out != nil {
					md = out.ResultMetadata
				}
				if retried(md, err) {
					retriedCalls.Add(1)
				}
				if err != nil {
					cancel(fmt.Errorf("filling the stream: PutRecords: %w", err))
					return
				}
				// Keep the rejected records, in order, for the next call.
				kept := pending[:0]
				for i, r := range out.Records {
					if r.ErrorCode != nil {
						kept = append(kept, pending[i])
					}
				}
				failed.Add(int64(len(kept)))
				count.Add(int64(len(pending) - len(kept)))
				pending = kept
			}
		})
	}
	wg.Wait()
	w.FailedRecords += failed.Load()
	w.RetriedCalls += retriedCalls.Load()
	return context.Cause(ctx)
}

// readAll times reading the stream's one shard from TRIM_HORIZON until
// --drain-records records have come back.
func (b *bench) readAll(ctx context.Context, name string, w *WorkloadResult) error {
	iter, err := b.onlyShardIterator(ctx, name, types.ShardIteratorTypeTrimHorizon)
	if err != nil {
		return err
	}

	var count atomic.Int64
	stop := b.progress.start(w.label(), &count)
	want := int64(b.opts.DrainRecords)
	empty := 0
	start := time.Now()
	for w.Records < want {
		if iter == nil {
			err = fmt.Errorf("shard closed after %d of %d records", w.Records, want)
			break
		}
		out, gerr := b.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(drainLimit)})
		var md middleware.Metadata
		if out != nil {
			md = out.ResultMetadata
		}
		w.Calls++
		if retried(md, gerr) {
			w.RetriedCalls++
		}
		if gerr != nil {
			err = fmt.Errorf("GetRecords after %d of %d records: %w", w.Records, want, gerr)
			break
		}
		if len(out.Records) == 0 {
			if empty++; empty > drainMaxEmpty {
				err = fmt.Errorf("%d empty pages in a row after %d of %d records", empty, w.Records, want)
				break
			}
		} else {
			empty = 0
		}
		for _, r := range out.Records {
			w.Bytes += int64(len(r.Data))
		}
		w.Records += int64(len(out.Records))
		count.Store(w.Records)
		iter = out.NextShardIterator
	}
	elapsed := time.Since(start)
	stop()
	w.setRates(elapsed, true)
	return err
}
