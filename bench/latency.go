package bench

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
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
	latencyRecordSize = 100
	// latencyPace is the time between two records of the latency
	// producer: slow enough that each record is read on its own, so the
	// figure is the latency of one record and not of a queue.
	latencyPace = 5 * time.Millisecond
	// latencyGrace is how long the poller waits for the last records
	// after the producer is done.
	latencyGrace = 10 * time.Second
)

// latency measures end-to-end latency: a producer puts one record every
// 5 ms carrying its send time, and a poller reading the shard with
// GetRecords from LATEST takes the time each record comes back. Poller and
// producer share a clock, being one process.
//
// The poller polls without pause by default (--poll-interval 0), to
// measure the server rather than the polling interval. A subscriber
// variant with SubscribeToShard is to come with enhanced fan-out, which
// Tributary does not support yet.
func (b *bench) latency(ctx context.Context) ([]WorkloadResult, error) {
	w := WorkloadResult{Name: WorkloadLatency, RecordSize: latencyRecordSize, Producers: 1, Shards: 1}
	w.RSSStartBytes = b.rss()
	name := b.streamName(WorkloadLatency)
	cleanup, err := b.createStream(ctx, name, 1)
	defer cleanup()
	if err == nil {
		err = b.measureLatency(ctx, name, &w)
	}
	w.RSSEndBytes = b.rss()
	return []WorkloadResult{w}, err
}

func (b *bench) measureLatency(ctx context.Context, name string, w *WorkloadResult) error {
	// The iterator is taken before the first record is sent, so LATEST
	// is before all of them.
	iter, err := b.onlyShardIterator(ctx, name, types.ShardIteratorTypeLatest)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		received   atomic.Int64
		sent       atomic.Int64
		sendDone   = make(chan struct{})
		latencies  []time.Duration
		pollErr    error
		pollRetry  int64
		lastSeen   time.Time
		wg         sync.WaitGroup
		stop       = b.progress.start(w.label(), &received)
		start      = time.Now()
		sendCalls  int64
		sendRetry  int64
		sendFailed int64
	)

	wg.Go(func() {
		latencies, lastSeen, pollRetry, pollErr = b.poll(ctx, iter, &received, &sent, sendDone)
		if pollErr != nil {
			cancel(pollErr)
		}
	})

	data := make([]byte, latencyRecordSize)
	rand.Read(data)
	key := aws.String("latency")
	tick := time.NewTicker(latencyPace)
	var sendErr error
	for range b.opts.LatencySamples {
		binary.BigEndian.PutUint64(data, uint64(time.Now().UnixNano()))
		out, err := b.client.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(name), PartitionKey: key, Data: data})
		if err != nil && ctx.Err() != nil {
			break
		}
		sendCalls++
		var md middleware.Metadata
		if out != nil {
			md = out.ResultMetadata
		}
		if retried(md, err) {
			sendRetry++
		}
		if err != nil {
			sendFailed++
			sendErr = fmt.Errorf("PutRecord: %w", err)
			break
		}
		sent.Add(1)
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
	}
	tick.Stop()
	close(sendDone)
	wg.Wait()
	stop()

	w.Records = received.Load()
	w.Bytes = w.Records * latencyRecordSize
	w.Calls = sendCalls
	w.FailedRecords = sendFailed
	w.RetriedCalls = sendRetry + pollRetry
	w.LatencyMS = summarize(latencies)
	if !lastSeen.IsZero() {
		w.setRates(lastSeen.Sub(start), false)
	}
	if err := errors.Join(sendErr, pollErr); err != nil {
		return err
	}
	// Without errors of its own, ctx is only done if the run was
	// interrupted.
	return ctx.Err()
}

// poll reads the shard from iter and returns the latency of each record,
// the time it saw the last one and the number of retried calls. It stops
// when it has seen every record sent after the producer is done, or
// latencyGrace after that.
func (b *bench) poll(ctx context.Context, iter *string, received, sent *atomic.Int64, sendDone <-chan struct{}) (latencies []time.Duration, lastSeen time.Time, retriedCalls int64, err error) {
	var graceEnd <-chan time.Time
	for {
		if graceEnd == nil {
			select {
			case <-sendDone:
				graceEnd = time.After(latencyGrace)
			default:
			}
		}
		if graceEnd != nil && received.Load() >= sent.Load() {
			return latencies, lastSeen, retriedCalls, nil
		}
		select {
		case <-graceEnd:
			return latencies, lastSeen, retriedCalls, fmt.Errorf("saw %d of %d records %v after the last was sent", received.Load(), sent.Load(), latencyGrace)
		default:
		}
		if iter == nil {
			return latencies, lastSeen, retriedCalls, errors.New("shard closed while polling")
		}
		out, gerr := b.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(drainLimit)})
		now := time.Now()
		var md middleware.Metadata
		if out != nil {
			md = out.ResultMetadata
		}
		if retried(md, gerr) {
			retriedCalls++
		}
		if gerr != nil {
			if ctx.Err() != nil {
				return latencies, lastSeen, retriedCalls, nil // the producer failed; it reports why
			}
			return latencies, lastSeen, retriedCalls, fmt.Errorf("GetRecords: %w", gerr)
		}
		for _, r := range out.Records {
			if len(r.Data) < 8 {
				return latencies, lastSeen, retriedCalls, fmt.Errorf("record %s of %d bytes has no send time", aws.ToString(r.SequenceNumber), len(r.Data))
			}
			sentAt := time.Unix(0, int64(binary.BigEndian.Uint64(r.Data)))
			latencies = append(latencies, now.Sub(sentAt))
			lastSeen = now
		}
		received.Add(int64(len(out.Records)))
		iter = out.NextShardIterator
		if len(out.Records) == 0 && b.opts.PollInterval > 0 {
			select {
			case <-time.After(b.opts.PollInterval):
			case <-ctx.Done():
			}
		}
	}
}
