package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tributary-io/tributary/producer"
)

// producerCloseTimeout bounds the wait, after the timed puts, for the
// records the producer still buffers.
const producerCloseTimeout = time.Minute

// producerLoad measures write throughput through the producer library
// (package producer, KPL aggregation on): for each record size,
// --producers goroutines call Put with records under random partition
// keys, as ingest's producers draw theirs, into a fresh stream of
// --shards shards for --ingest-duration; then the producer is closed.
// Records per second counts the records stored, over the time from the
// first Put until the last stored record's answer, so that what the
// producer still held when the puts stopped is paid for. Calls and
// latency are the producer's PutRecords calls.
func (b *bench) producerLoad(ctx context.Context) ([]WorkloadResult, error) {
	var results []WorkloadResult
	for _, size := range b.opts.RecordSizes {
		w, err := b.producerSize(ctx, size)
		results = append(results, w)
		if err != nil {
			return results, err
		}
	}
	return results, nil
}

func (b *bench) producerSize(ctx context.Context, size int) (w WorkloadResult, err error) {
	w = WorkloadResult{
		Name:       WorkloadProducer,
		RecordSize: size,
		Producers:  b.opts.Producers,
		Shards:     b.opts.Shards,
	}
	w.RSSStartBytes = b.rss()
	name := b.streamName(WorkloadProducer)
	defer func() { w.RSSEndBytes = b.rss() }()
	cleanup, err := b.createStream(ctx, name, b.opts.Shards)
	defer cleanup()
	if err != nil {
		return w, err
	}

	// The producer retries refused records itself, keeping each key's
	// order; the SDK's retryer under it would only hide attempts.
	calls := &countingClient{Client: kinesis.New(b.client.Options(), func(o *kinesis.Options) { o.Retryer = aws.NopRetryer{} })}
	reg := prometheus.NewRegistry()
	p, err := producer.New(ctx, producer.Config{
		Stream:    name,
		Client:    calls,
		RateLimit: b.opts.ProducerRateLimit,
		Metrics:   producer.NewMetrics(reg),
	})
	if err != nil {
		return w, fmt.Errorf("starting the producer: %w", err)
	}

	data := make([]byte, size)
	rand.Read(data)
	var count atomic.Int64
	stop := b.progress.start(w.label(), &count)
	polled := make(chan struct{})
	pollDone := make(chan struct{})
	go func() {
		defer close(pollDone)
		t := time.NewTicker(progressInterval / 4)
		defer t.Stop()
		for {
			select {
			case <-polled:
				return
			case <-t.C:
				count.Store(int64(counterSum(reg, "kpl_user_records_put_total")))
			}
		}
	}()

	start := time.Now()
	deadline := start.Add(b.opts.IngestDuration)
	putCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, b.opts.Producers)
	var wg sync.WaitGroup
	for i := range b.opts.Producers {
		keys := make([]string, partitionKeys)
		for j := range keys {
			var k [8]byte
			rand.Read(k[:])
			keys[j] = hex.EncodeToString(k[:])
		}
		rng := mrand.New(mrand.NewPCG(mrand.Uint64(), mrand.Uint64()))
		wg.Go(func() {
			for n := 0; putCtx.Err() == nil; n++ {
				// The clock is read every 256 records: a Put costs far
				// less than time.Now.
				if n%256 == 0 && !time.Now().Before(deadline) {
					return
				}
				if _, err := p.Put(putCtx, producer.Record{PartitionKey: keys[rng.IntN(len(keys))], Data: data}); err != nil {
					if putCtx.Err() == nil { // not stopped by another's failure
						errs[i] = fmt.Errorf("Put: %w", err)
						cancel()
					}
					return
				}
			}
		})
	}
	wg.Wait()
	closeCtx, cancelClose := context.WithTimeout(context.WithoutCancel(ctx), producerCloseTimeout)
	defer cancelClose()
	closeErr := p.Close(closeCtx)
	elapsed := time.Since(start)
	close(polled)
	<-pollDone
	stored := int64(counterSum(reg, "kpl_user_records_put_total"))
	count.Store(stored)
	stop()

	w.Records = stored
	w.FailedRecords = int64(counterSum(reg, "kpl_user_records_received_total")) - stored
	w.KinesisRecords = int64(counterSum(reg, "kpl_kinesis_records_put_total"))
	w.Bytes = stored * int64(size)
	w.Calls, w.LatencyMS = calls.result()
	w.setRates(elapsed, true)
	if closeErr != nil {
		return w, fmt.Errorf("closing the producer: %w (%d records without an outcome)", closeErr, int64(counterSum(reg, "kpl_user_records_pending")))
	}
	if err := errors.Join(errs...); err != nil {
		return w, err
	}
	if w.FailedRecords > 0 {
		return w, fmt.Errorf("%d records failed (kpl_errors_by_code_total has why)", w.FailedRecords)
	}
	return w, ctx.Err()
}

// countingClient is the producer's client, counting its PutRecords calls
// and timing them.
type countingClient struct {
	*kinesis.Client
	mu        sync.Mutex
	latencies []time.Duration
}

func (c *countingClient) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	t0 := time.Now()
	out, err := c.Client.PutRecords(ctx, in, optFns...)
	d := time.Since(t0)
	c.mu.Lock()
	c.latencies = append(c.latencies, d)
	c.mu.Unlock()
	return out, err
}

func (c *countingClient) result() (int64, *Latency) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int64(len(c.latencies)), summarize(c.latencies)
}

// counterSum is the sum of the values of the counters or gauges named
// name in reg, over their labels.
func counterSum(reg *prometheus.Registry, name string) float64 {
	fs, err := reg.Gather()
	if err != nil {
		return 0
	}
	total := 0.0
	for _, f := range fs {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			total += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return total
}
