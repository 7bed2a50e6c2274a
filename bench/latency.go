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

// The two read paths the latency workload times, as named in its results
// (WorkloadResult.Path).
const (
	PathGetRecords       = "GetRecords"
	PathSubscribeToShard = "SubscribeToShard"
)

const (
	latencyRecordSize = 100
	// latencySenders is how many PutRecord calls may be in flight at once.
	// The writer offers records at a fixed rate whatever the server's
	// answer time (an open loop), so it needs calls in flight whenever a
	// call takes longer than the interval between two records: with an
	// fsync per write, a call takes a few milliseconds and 1,000 records/s
	// is one a millisecond. Fewer than the client's idle connections
	// (newClient), so that no call opens a connection of its own.
	latencySenders = 32
	// latencyGrace is how long the reader waits for the last records
	// after the writer is done.
	latencyGrace = 10 * time.Second
	// latencyConsumer is the name of the stream consumer the
	// SubscribeToShard path registers.
	latencyConsumer = "bench-latency"
)

// latency measures end-to-end latency on one shard, for each read path in
// turn: a writer offers --latency-samples records at --latency-rate
// records/s with PutRecord, each carrying the time just before its call,
// and a reader in the same process (so the same clock) takes the time it
// got each record. The GetRecords reader polls from LATEST: again at once
// after a call that returned records, --poll-interval after one that
// returned none (0: at once). The SubscribeToShard reader is a
// registered consumer subscribed from LATEST, renewing its subscription
// from the last continuation number whenever the server ends it (every 5
// minutes on AWS).
//
// The paths run one after the other, not together, so that neither reader
// takes the CPU from the other.
func (b *bench) latency(ctx context.Context) ([]WorkloadResult, error) {
	get := WorkloadResult{Name: WorkloadLatency, Path: PathGetRecords, RecordSize: latencyRecordSize, Shards: 1}
	sub := WorkloadResult{Name: WorkloadLatency, Path: PathSubscribeToShard, RecordSize: latencyRecordSize, Shards: 1}
	for _, w := range []*WorkloadResult{&get, &sub} {
		rate := float64(b.opts.LatencyRate)
		w.OfferedRate = &rate
	}
	pause := ms(b.opts.PollInterval)
	get.PollIntervalMS = &pause

	get.RSSStartBytes = b.rss()
	name := b.streamName(WorkloadLatency)
	cleanup, err := b.createStream(ctx, name, 1)
	defer cleanup()
	if err != nil {
		get.RSSEndBytes = b.rss()
		get.Error = err.Error()
		return []WorkloadResult{get}, err
	}

	errGet := b.measureLatency(ctx, name, &get, b.pollReader)
	get.RSSEndBytes = b.rss()
	if errGet != nil {
		get.Error = errGet.Error()
		errGet = fmt.Errorf("%s: %w", PathGetRecords, errGet)
	}
	if ctx.Err() != nil {
		return []WorkloadResult{get}, errGet
	}
	sub.RSSStartBytes = b.rss()
	errSub := b.measureLatency(ctx, name, &sub, b.subscribeReader)
	sub.RSSEndBytes = b.rss()
	if errSub != nil {
		sub.Error = errSub.Error()
		errSub = fmt.Errorf("%s: %w", PathSubscribeToShard, errSub)
	}
	return []WorkloadResult{get, sub}, errors.Join(errGet, errSub)
}

// putLatencyRecord writes what each record of the latency workload
// carries at the start of its data: its index among the records sent, to tell a duplicate
// from a new record, and the time just before its PutRecord call, in
// nanoseconds of the monotonic clock since the collector's base (a wall
// clock could step between send and receipt).
func putLatencyRecord(data []byte, index int, sentAt time.Duration) {
	binary.BigEndian.PutUint64(data[0:8], uint64(index))
	binary.BigEndian.PutUint64(data[8:16], uint64(sentAt))
}

// collector gathers the times of each record and tells when every
// acknowledged record has been read. deliver is called by the one reader
// goroutine; answered by the senders; done by the writer's goroutine.
type collector struct {
	base time.Time // the clock the times are offsets from
	// By record index: when the PutRecord call was answered (0 if it
	// failed or was not made), and when the reader got it (0 if not).
	ackAt    []atomic.Int64
	gotAt    []time.Duration
	seen     []bool
	received atomic.Int64 // distinct records read, for the progress line
	dups     int64
	// latencies are gotAt minus the send time, in the order read.
	latencies []time.Duration
	lastSeen  time.Time

	mu         sync.Mutex
	writerDone bool
	acked      int64         // records the writer had acknowledged when done
	complete   chan struct{} // closed once every acknowledged record is read
}

func newCollector(n int) *collector {
	return &collector{
		base: time.Now(), ackAt: make([]atomic.Int64, n), gotAt: make([]time.Duration, n), seen: make([]bool, n),
		complete: make(chan struct{}),
	}
}

// since is the time since the collector's base, on the monotonic clock.
func (c *collector) since() time.Duration { return time.Since(c.base) }

// deliver takes a record the reader got at at (an offset from base).
func (c *collector) deliver(data []byte, at time.Duration) error {
	if len(data) < 16 {
		return fmt.Errorf("a record of %d bytes has no index and send time", len(data))
	}
	index := binary.BigEndian.Uint64(data[0:8])
	if index >= uint64(len(c.seen)) {
		return fmt.Errorf("a record has index %d, beyond the %d sent", index, len(c.seen))
	}
	if c.seen[index] {
		// A PutRecord the SDK retried after its answer was lost.
		c.dups++
		return nil
	}
	c.seen[index] = true
	c.gotAt[index] = at
	sentAt := time.Duration(binary.BigEndian.Uint64(data[8:16]))
	c.latencies = append(c.latencies, at-sentAt)
	c.lastSeen = c.base.Add(at)
	n := c.received.Add(1)
	c.mu.Lock()
	if c.writerDone && n >= c.acked {
		closeOnce(c.complete)
	}
	c.mu.Unlock()
	return nil
}

// answered notes when the PutRecord call of record index was answered.
func (c *collector) answered(index int, at time.Duration) { c.ackAt[index].Store(int64(at)) }

// afterAnswer returns, for each record read whose call was answered, the
// time from the answer to the reader's receipt: what the read path adds
// once the writer knows the record is stored. A record can be read before
// its answer reaches the writer, so some are negative. Call it once the
// reader and the senders are done.
func (c *collector) afterAnswer() []time.Duration {
	var out []time.Duration
	for i, got := range c.gotAt {
		if ack := c.ackAt[i].Load(); c.seen[i] && ack != 0 {
			out = append(out, got-time.Duration(ack))
		}
	}
	return out
}

// done tells the collector that the writer is done with acked records
// acknowledged.
func (c *collector) done(acked int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writerDone, c.acked = true, acked
	if c.received.Load() >= acked {
		closeOnce(c.complete)
	}
}

func closeOnce(ch chan struct{}) {
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// reader reads the stream's one shard and hands each record to c with
// the time it got it. It calls ready once it reads from a position before
// the first record the writer will send, and returns when ctx is done
// (nil then) or on a failure; readCalls and retriedCalls count its calls.
type reader func(ctx context.Context, name string, c *collector, ready func(), readCalls, retriedCalls *atomic.Int64) error

// measureLatency runs one path: it starts the reader, waits until it is
// ready, offers the records and waits for the reader to see them all.
func (b *bench) measureLatency(ctx context.Context, name string, w *WorkloadResult, read reader) error {
	n := b.opts.LatencySamples
	c := newCollector(n)
	readCtx, stopReader := context.WithCancel(ctx)
	defer stopReader()
	var (
		readCalls, readRetried atomic.Int64
		readErr                error
		readDone               = make(chan struct{})
		ready                  = make(chan struct{})
	)
	go func() {
		defer close(readDone)
		readErr = read(readCtx, name, c, func() { close(ready) }, &readCalls, &readRetried)
	}()
	fail := func(err error) error {
		stopReader()
		<-readDone
		w.ReadCalls, w.RetriedCalls = readCalls.Load(), readRetried.Load()
		return err
	}
	select {
	case <-ready:
	case <-readDone:
		if readErr == nil {
			readErr = ctx.Err()
		}
		return fail(readErr)
	}

	stop := b.progress.start(w.label(), &c.received)
	start := time.Now()
	// A reader that fails stops the writer too: nothing would time the
	// records still to send.
	writeCtx, stopWriter := context.WithCancel(ctx)
	defer stopWriter()
	go func() {
		select {
		case <-readDone:
			stopWriter()
		case <-writeCtx.Done():
		}
	}()
	sent, sendErr := b.offer(writeCtx, name, c)
	stopWriter()
	c.done(sent.acked)
	var waitErr error
	select {
	case <-c.complete:
	case <-readDone:
	case <-ctx.Done():
	case <-time.After(latencyGrace):
		waitErr = fmt.Errorf("read %d of %d records %v after the last was sent", c.received.Load(), sent.acked, latencyGrace)
	}
	stopReader()
	<-readDone
	stop()

	w.Records = c.received.Load()
	w.Bytes = w.Records * latencyRecordSize
	w.Calls = sent.calls
	w.FailedRecords = sent.failed
	w.DuplicateRecords = c.dups
	w.ReadCalls = readCalls.Load()
	w.RetriedCalls = sent.retried + readRetried.Load()
	w.LatencyMS = summarize(c.latencies)
	w.PutLatencyMS = summarize(sent.callTimes)
	w.ReadAfterAnswerMS = summarize(c.afterAnswer())
	if !c.lastSeen.IsZero() {
		w.setRates(c.lastSeen.Sub(start), false)
	}
	if readErr == nil && waitErr == nil && sendErr == nil && w.Records < sent.acked && ctx.Err() == nil {
		readErr = fmt.Errorf("the reader stopped after %d of %d records", w.Records, sent.acked)
	}
	if err := errors.Join(sendErr, readErr, waitErr); err != nil {
		return err
	}
	// Without errors of its own, ctx is only done if the run was
	// interrupted.
	return ctx.Err()
}

// sendCounts are the writer's counts, and the time each PutRecord call
// took that succeeded.
type sendCounts struct {
	calls, acked, failed, retried int64
	callTimes                     []time.Duration
}

// offer puts the collector's records, one every 1/--latency-rate seconds
// from the start, with latencySenders calls in flight at most. A record
// whose time comes while every sender is busy goes as soon as one is
// free, and the schedule does not slow down for it: the records behind
// it go at their own times, so a slow call delays the records sent in
// its shadow, as it would in a real application, instead of lowering the
// rate offered. It stops at the first failed call.
func (b *bench) offer(ctx context.Context, name string, c *collector) (sendCounts, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	n := len(c.seen)
	period := time.Second / time.Duration(b.opts.LatencyRate)
	indexes := make(chan int)
	var (
		calls, acked, failed, retries atomic.Int64
		wg                            sync.WaitGroup
		mu                            sync.Mutex
		callTimes                     = make([]time.Duration, 0, n)
	)
	key := aws.String("latency")
	for range min(latencySenders, n) {
		wg.Go(func() {
			data := make([]byte, latencyRecordSize)
			rand.Read(data)
			var took []time.Duration
			defer func() {
				mu.Lock()
				callTimes = append(callTimes, took...)
				mu.Unlock()
			}()
			for i := range indexes {
				sentAt := c.since()
				putLatencyRecord(data, i, sentAt)
				out, err := b.client.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(name), PartitionKey: key, Data: data})
				if err != nil && ctx.Err() != nil {
					return
				}
				calls.Add(1)
				var md middleware.Metadata
				if out != nil {
					md = out.ResultMetadata
				}
				if retried(md, err) {
					retries.Add(1)
				}
				if err != nil {
					failed.Add(1)
					cancel(fmt.Errorf("PutRecord: %w", err))
					return
				}
				acked.Add(1)
				at := c.since()
				c.answered(i, at)
				took = append(took, at-sentAt)
			}
		})
	}
	first := c.since()
	timer := time.NewTimer(0)
	<-timer.C
send:
	for i := range n {
		if d := first + time.Duration(i)*period - c.since(); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				break send
			}
		}
		select {
		case indexes <- i:
		case <-ctx.Done():
			break send
		}
	}
	timer.Stop()
	close(indexes)
	wg.Wait()
	counts := sendCounts{calls: calls.Load(), acked: acked.Load(), failed: failed.Load(), retried: retries.Load(), callTimes: callTimes}
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return counts, err
	}
	return counts, nil
}

// pollReader is the GetRecords path's reader: it polls the shard from
// LATEST, taken before the writer starts.
func (b *bench) pollReader(ctx context.Context, name string, c *collector, ready func(), readCalls, retriedCalls *atomic.Int64) error {
	iter, err := b.onlyShardIterator(ctx, name, types.ShardIteratorTypeLatest)
	if err != nil {
		return err
	}
	ready()
	for ctx.Err() == nil {
		if iter == nil {
			return errors.New("shard closed while polling")
		}
		out, err := b.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(drainLimit)})
		at := c.since()
		if ctx.Err() != nil {
			return nil
		}
		readCalls.Add(1)
		var md middleware.Metadata
		if out != nil {
			md = out.ResultMetadata
		}
		if retried(md, err) {
			retriedCalls.Add(1)
		}
		if err != nil {
			return fmt.Errorf("GetRecords: %w", err)
		}
		for _, r := range out.Records {
			if err := c.deliver(r.Data, at); err != nil {
				return fmt.Errorf("record %s: %w", aws.ToString(r.SequenceNumber), err)
			}
		}
		iter = out.NextShardIterator
		// A call that returned records may have left more behind it, so
		// the next goes at once; after an empty one, the pause (if any)
		// is where the poll interval bounds the latency.
		if len(out.Records) == 0 && b.opts.PollInterval > 0 {
			sleep(ctx, b.opts.PollInterval)
		}
	}
	return nil
}

// subscribeReader is the SubscribeToShard path's reader: it registers a
// consumer of the stream, waits until it is ACTIVE and subscribes to the
// shard from LATEST, then again from the last continuation number each
// time a subscription ends, until ctx is done.
func (b *bench) subscribeReader(ctx context.Context, name string, c *collector, ready func(), readCalls, retriedCalls *atomic.Int64) error {
	shard, consumerARN, err := b.latencyConsumer(ctx, name)
	if err != nil {
		return err
	}
	// A client of its own, because the SDK's event stream decoder is
	// shared by all the calls of a client (see soak_read.go).
	kc := kinesis.New(b.client.Options())
	pos := &types.StartingPosition{Type: types.ShardIteratorTypeLatest}
	bo := backoff{min: 100 * time.Millisecond, max: time.Second}
	isReady := false
	for ctx.Err() == nil {
		out, err := kc.SubscribeToShard(ctx, &kinesis.SubscribeToShardInput{
			ConsumerARN: aws.String(consumerARN), ShardId: aws.String(shard), StartingPosition: pos})
		if ctx.Err() != nil {
			return nil
		}
		readCalls.Add(1)
		var md middleware.Metadata
		if out != nil {
			md = out.ResultMetadata
		}
		if retried(md, err) {
			retriedCalls.Add(1)
		}
		var inUse *types.ResourceInUseException
		var limit *types.LimitExceededException
		switch {
		case errors.As(err, &inUse) || errors.As(err, &limit):
			// The server protects a session for 5 seconds from the next
			// call, and allows one call a second per consumer and shard.
			sleep(ctx, bo.next())
			continue
		case err != nil:
			return fmt.Errorf("SubscribeToShard: %w", err)
		}
		bo.reset()
		if !isReady {
			// The server fixed LATEST when it answered.
			isReady = true
			ready()
		}
		cont, err := b.readSubscription(ctx, out.GetStream(), c)
		if err != nil {
			return err
		}
		if cont == "" {
			return errors.New("a subscription ended without a continuation sequence number")
		}
		pos = &types.StartingPosition{Type: types.ShardIteratorTypeAfterSequenceNumber, SequenceNumber: aws.String(cont)}
	}
	return nil
}

// readSubscription delivers a subscription's records to c until it ends,
// and returns the last continuation sequence number.
func (b *bench) readSubscription(ctx context.Context, es *kinesis.SubscribeToShardEventStream, c *collector) (cont string, err error) {
	defer es.Close()
	for ev := range es.Events() {
		at := c.since()
		e, ok := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent)
		if !ok {
			continue
		}
		for _, r := range e.Value.Records {
			if err := c.deliver(r.Data, at); err != nil {
				return cont, fmt.Errorf("record %s: %w", aws.ToString(r.SequenceNumber), err)
			}
		}
		if s := aws.ToString(e.Value.ContinuationSequenceNumber); s != "" {
			cont = s
		}
	}
	if err := es.Err(); err != nil && ctx.Err() == nil {
		return cont, fmt.Errorf("SubscribeToShard events: %w", err)
	}
	return cont, nil
}

// latencyConsumer registers the SubscribeToShard path's consumer of the
// one-shard stream name and waits until it is ACTIVE. It returns the
// shard's id and the consumer's ARN. The consumer goes with the stream
// (DeleteStream with EnforceConsumerDeletion).
func (b *bench) latencyConsumer(ctx context.Context, name string) (shard, arn string, err error) {
	ids, err := b.shardIDs(ctx, name)
	if err != nil {
		return "", "", err
	}
	if len(ids) != 1 {
		return "", "", fmt.Errorf("stream %s has %d shards, want 1", name, len(ids))
	}
	sum, err := b.client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
	if err != nil {
		return "", "", fmt.Errorf("describing stream %s: %w", name, err)
	}
	streamARN := sum.StreamDescriptionSummary.StreamARN
	reg, err := b.client.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{
		StreamARN: streamARN, ConsumerName: aws.String(latencyConsumer)})
	if err != nil {
		return "", "", fmt.Errorf("RegisterStreamConsumer: %w", err)
	}
	arn = aws.ToString(reg.Consumer.ConsumerARN)
	wctx, cancel := context.WithTimeout(ctx, b.opts.CreateTimeout)
	defer cancel()
	for {
		out, err := b.client.DescribeStreamConsumer(wctx, &kinesis.DescribeStreamConsumerInput{ConsumerARN: aws.String(arn)})
		switch {
		case err == nil && out.ConsumerDescription.ConsumerStatus == types.ConsumerStatusActive:
			return ids[0], arn, nil
		case err != nil && wctx.Err() == nil:
			return "", "", fmt.Errorf("DescribeStreamConsumer: %w", err)
		}
		select {
		case <-wctx.Done():
			return "", "", fmt.Errorf("consumer %s not ACTIVE after %v: %w", arn, b.opts.CreateTimeout, wctx.Err())
		case <-time.After(activePoll):
		}
	}
}
