package producer

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tributary-io/tributary/faults"
	"github.com/tributary-io/tributary/internal/inproc"
	"github.com/tributary-io/tributary/kpl"
)

// sentEntry is one PutRecords entry the producer sent: when, to which
// shard (as the map predicts it), how large, and whether it was stored.
type sentEntry struct {
	at     time.Time
	shard  string
	bytes  int
	stored bool
}

// watchingClient is a Client that notes every entry the producer sends.
type watchingClient struct {
	*kinesis.Client
	m       *ShardMap
	mu      sync.Mutex
	entries []sentEntry
}

func (c *watchingClient) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	at := time.Now()
	out, err := c.Client.PutRecords(ctx, in, optFns...)
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range in.Records {
		h := kpl.HashKeyOf(aws.ToString(e.PartitionKey))
		if e.ExplicitHashKey != nil {
			h, _ = kpl.ParseHashKey(*e.ExplicitHashKey)
		}
		stored := err == nil && i < len(out.Records) && out.Records[i].ErrorCode == nil
		c.entries = append(c.entries, sentEntry{at: at, shard: c.m.Lookup(h).ID, bytes: len(e.Data) + len(aws.ToString(e.PartitionKey)), stored: stored})
	}
	return out, err
}

// rates returns, per shard, the bytes a second sent and stored in
// [from, to).
func (c *watchingClient) rates(from, to time.Time) (sent, stored map[string]float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sent, stored = map[string]float64{}, map[string]float64{}
	secs := to.Sub(from).Seconds()
	for _, e := range c.entries {
		if e.at.Before(from) || !e.at.Before(to) {
			continue
		}
		sent[e.shard] += float64(e.bytes) / secs
		if e.stored {
			stored[e.shard] += float64(e.bytes) / secs
		}
	}
	return sent, stored
}

// TestAdaptsToThrottling: a writer puts 100-byte records of 100 keys as
// fast as it can into 2 shards; for 2.5 s the server refuses half of
// every PutRecords' entries with ProvisionedThroughputExceededException
// (put_records_failures, its default ErrorCode), then the rule is
// removed. Every record ends stored once, each key in Put order; and the
// bytes a second the producer sends to each shard (what its limiter lets
// through, retries included, seen by a client wrapper) fall while the
// shard is throttled and rise again once it is not.
//
// The figures follow from the limiter (ratelimit.go) and the config:
//
//   - RateLimit 0.5: each shard's ceiling is 512 KiB/s (and 500
//     entries/s, which does not bind: an 8 KiB aggregate is one entry).
//     Half of AWS's limit so that the limiter, not the machine, sets the
//     pace even when CI's other packages share its two cores (with a
//     ceiling of 1 MiB/s, a loaded run sent only 650 KiB/s before the
//     fault, and the measure meant nothing). The floor is 0.1 of AWS's
//     limits, 102 KiB/s.
//   - Throttled, the rate halves at most once a second, and the growth
//     step of the second before is taken back, so a lasting throttle
//     takes the shard from 0.5 to 0.25, 0.125, 0.1 of AWS's limits, a
//     second apart (see the timeline the test logs). Over the fault's
//     last second that is 102 to 128 KiB/s, which the test asks to be at
//     most half the rate before the fault.
//   - Unthrottled, it grows by a tenth of the ceiling a second: over the
//     last of the 4 s after the removal about 0.3 of AWS's limits (300
//     KiB/s, 2.5 times the throttled second), which the test asks to be
//     at least 1.5 times the throttled second's rate. Full recovery takes
//     8 s, too long for the test: growth is a tenth of the ceiling a
//     second whatever the config (RateLimit scales the ceiling and the
//     step together), so the test watches the climb, not its end.
//   - Before the fault the limiter sets the pace too: 512 KiB/s a shard
//     (more under the race detector, whose slower start leaves some of
//     the first second's full bucket for the measured second).
//   - Aggregates of at most 8 KiB (AggregationMaxSize), so that a second
//     at the throttled rate (about 110 KiB/s) is some 14 entries, not
//     the 5 that the default 50 KiB would make it: a rate measured over a
//     second is then not a matter of one entry more or less.
//   - RetryDelay 5 ms, so that the backoff after a refusal (up to 32
//     times it) does not slow the shard more than its limiter does.
//   - MaxBufferedBytes 512 KiB, so that what is buffered when the writer
//     stops drains within a second at the recovered rate.
func TestAdaptsToThrottling(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about 9 s")
	}
	const (
		keys       = 100
		recordSize = 100
		shards     = 2
		before     = 1500 * time.Millisecond // unthrottled, then
		throttled  = 2500 * time.Millisecond // half the entries refused, then
		after      = 4 * time.Second         // unthrottled again
	)
	ctx := context.Background()
	inj := faults.New(11)
	kc := inproc.Start(t, inproc.Options{Faults: inj})
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(shards)}); err != nil {
		t.Fatal(err)
	}
	m, err := FetchShardMap(ctx, kc, "s")
	if err != nil {
		t.Fatal(err)
	}
	client := &watchingClient{Client: kc, m: m}
	reg := prometheus.NewRegistry()
	metrics := NewMetrics(reg)
	p, err := New(ctx, Config{Stream: "s", Client: client, RateLimit: 0.5, AggregationMaxSize: 8 << 10, RetryDelay: 5 * time.Millisecond,
		Linger: 5 * time.Millisecond, MaxBufferedBytes: 512 << 10, Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	stopAt := start.Add(before + throttled + after)
	rounds := make(chan int, 1)
	go func() {
		// Whole rounds (every key once), so that each key has as many
		// records as the others.
		n := 0
		for ; time.Now().Before(stopAt); n++ {
			for k := range keys {
				data := record(k, n) + "|" + strings.Repeat("x", recordSize)
				if _, err := p.Put(ctx, Record{PartitionKey: fmt.Sprint("key-", k), Data: []byte(data[:recordSize])}); err != nil {
					t.Error(err)
					rounds <- n
					return
				}
			}
		}
		rounds <- n
	}()

	time.Sleep(time.Until(start.Add(before)))
	rule, err := inj.Add(faults.Rule{Operation: "PutRecords", Effect: faults.EffectPutRecordsFailures, Fraction: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	throttledAt := time.Now()
	time.Sleep(time.Until(throttledAt.Add(throttled)))
	if !inj.Clear(rule.ID) {
		t.Fatal("the fault rule was gone before it was removed")
	}
	clearedAt := time.Now()
	perKey := <-rounds
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := p.Close(cctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	closed := time.Since(start)

	// The whole run, half a second at a time, for the log.
	var timeline []string
	for at := start; at.Before(clearedAt.Add(after)); at = at.Add(500 * time.Millisecond) {
		sent, _ := client.rates(at, at.Add(500*time.Millisecond))
		var v []string
		for _, s := range m.Shards() {
			v = append(v, fmt.Sprintf("%.0f", sent[s.ID]/(1<<10)))
		}
		timeline = append(timeline, fmt.Sprintf("%.1fs %s", at.Sub(start).Seconds(), strings.Join(v, "/")))
	}
	t.Logf("KiB/s sent per shard, half a second at a time (fault from %.1f s to %.1f s): %s",
		throttledAt.Sub(start).Seconds(), clearedAt.Sub(start).Seconds(), strings.Join(timeline, ", "))

	// The last second of each phase.
	second := func(end time.Time) (sent, stored map[string]float64) { return client.rates(end.Add(-time.Second), end) }
	sentA, storedA := second(throttledAt)
	sentB, storedB := second(clearedAt)
	sentC, storedC := second(clearedAt.Add(after))
	const kib = 1 << 10
	for _, s := range m.Shards() {
		id := s.ID
		t.Logf("%s: KiB/s sent (stored) in the last second before the fault %.0f (%.0f), of the fault %.0f (%.0f), of the %v after it %.0f (%.0f)",
			id, sentA[id]/kib, storedA[id]/kib, sentB[id]/kib, storedB[id]/kib, after, sentC[id]/kib, storedC[id]/kib)
		if sentA[id] < 400*kib {
			t.Errorf("%s: %.0f KiB/s sent before the fault; want it near the 512 KiB/s ceiling, or the writer, not the limiter, set the pace", id, sentA[id]/kib)
		}
		if sentB[id] > sentA[id]/2 {
			t.Errorf("%s: %.0f KiB/s sent while throttled, %.0f before: the rate did not fall", id, sentB[id]/kib, sentA[id]/kib)
		}
		if sentC[id] < 1.5*sentB[id] {
			t.Errorf("%s: %.0f KiB/s sent %v after the fault, %.0f during it: the rate did not come back up", id, sentC[id]/kib, after, sentB[id]/kib)
		}
	}
	pte := testutil.ToFloat64(metrics.errorsByCode.WithLabelValues("s", "ProvisionedThroughputExceededException"))
	t.Logf("%d records of %d keys in %.1f s; %v entries refused with ProvisionedThroughputExceededException", perKey*keys, keys, closed.Seconds(), pte)
	if pte == 0 {
		t.Fatal("no entry was refused: the fault rule did not act")
	}
	if put := sum(t, reg, "kpl_user_records_put_total"); put != float64(perKey*keys) {
		t.Errorf("%v records stored of %d put", put, perKey*keys)
	}

	read := readAll(t, kc)
	for shard, recs := range read {
		for i, r := range recs {
			recs[i], _, _ = strings.Cut(r, "|")
		}
		read[shard] = recs
	}
	outOfOrder, dups, missing := checkOrder(read, keys, perKey)
	if outOfOrder != 0 || dups != 0 || missing != 0 {
		t.Errorf("%d keys out of order, %d duplicates, %d missing; want none", outOfOrder, dups, missing)
	}
}
