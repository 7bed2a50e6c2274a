package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/tributary-io/tributary/internal/cli"
	"github.com/tributary-io/tributary/internal/procstat"
)

const (
	// scaleWorkers is how many calls the scale workload has in flight,
	// writing and reading alike: enough to keep a server busy, few
	// enough to leave it the machine's cores.
	scaleWorkers = 8
	// scaleBatch and scaleBatchBytes bound a PutRecords: Kinesis takes
	// up to 500 records and 5 MiB.
	scaleBatch       = 500
	scaleBatchBytes  = 5 << 20
	scaleStreamLimit = 10000
	// scaleReadLimit is GetRecords' Limit: the most Kinesis allows, so
	// that a shard's records come back in one call.
	scaleReadLimit = 10000
)

// ScaleResult is what the scale workload measured beyond a
// WorkloadResult's write figures (Records, RecordsPerSec, MBPerSec and the
// call latencies are those of the writes).
type ScaleResult struct {
	// Streams are the streams made; they are left in place with --scale-keep.
	Streams []string `json:"streams"`
	Kept    bool     `json:"kept"`
	// CreateS is from the first CreateStream to the last stream ACTIVE;
	// it includes the server's CREATING delay (serve --create-delay).
	CreateS float64 `json:"create_s"`
	// ReadS is the time to read every shard back from TRIM_HORIZON
	// (GetShardIterator, then GetRecords to the tip); ReadRecords is what
	// came back, checked shard by shard against what was written.
	ReadS             float64 `json:"read_s"`
	ReadRecords       int64   `json:"read_records"`
	ReadRecordsPerSec float64 `json:"read_records_per_sec"`
	ReadCalls         int64   `json:"read_calls"`
	// The server's RSS after each phase (with --pid).
	RSSAfterCreate MaybeBytes `json:"rss_after_create_bytes,omitzero"`
	RSSAfterWrite  MaybeBytes `json:"rss_after_write_bytes,omitzero"`
	RSSAfterRead   MaybeBytes `json:"rss_after_read_bytes,omitzero"`
	// IdleCPUPercent is the server's CPU time (user and system, from
	// /proc/<pid>/stat) over IdleS seconds in which the benchmark makes
	// no call (after --scale-settle without any either), as a percentage
	// of one core; nil without --pid.
	IdleS          float64  `json:"idle_s"`
	IdleCPUPercent *float64 `json:"idle_cpu_percent,omitempty"`
}

// scaleStream is one of the scale workload's streams.
type scaleStream struct {
	name   string
	shards int
}

// scale measures what many shards cost one server: it creates streams
// totalling --scale-shards shards (at most 10,000 a stream, Kinesis's
// limit), writes --scale-records records of --scale-record-size bytes to
// every shard (explicit hash keys at the middle of each shard's range, in
// PutRecords of up to 500 records and 5 MiB), reads every shard back and
// checks that each holds exactly what was written to it, and then, with
// --pid, measures the server's CPU while nothing happens for --scale-idle
// (after --scale-settle). A server needs an account shard limit
// of at least --scale-shards (Tributary's default in us-east-1 is 20,000;
// serve --shard-limit).
func (b *bench) scale(ctx context.Context) ([]WorkloadResult, error) {
	w := WorkloadResult{Name: WorkloadScale, RecordSize: b.opts.ScaleRecordSize, Producers: scaleWorkers, Shards: b.opts.ScaleShards}
	w.Scale = &ScaleResult{Kept: b.opts.ScaleKeep}
	w.RSSStartBytes = b.rss()
	err := b.scaleRun(ctx, &w)
	w.RSSEndBytes = b.rss()
	return []WorkloadResult{w}, err
}

// scaleRun runs the scale workload's phases, filling in w.
func (b *bench) scaleRun(ctx context.Context, w *WorkloadResult) error {
	sr := w.Scale
	streams := splitShards(b.opts.ScaleShards, scaleStreamLimit)
	var cleanups []func()
	defer func() {
		if b.opts.ScaleKeep {
			return
		}
		for _, c := range cleanups {
			c()
		}
	}()
	start := time.Now()
	for i := range streams {
		streams[i].name = b.streamName(WorkloadScale)
		cleanup, err := b.createStream(ctx, streams[i].name, streams[i].shards)
		cleanups = append(cleanups, cleanup)
		sr.Streams = append(sr.Streams, streams[i].name)
		if err != nil {
			return err
		}
	}
	sr.CreateS = time.Since(start).Seconds()
	sr.RSSAfterCreate = b.rss()
	fmt.Fprintf(b.stderr, "scale: %d shards in %d streams ACTIVE in %.1fs\n", b.opts.ScaleShards, len(streams), sr.CreateS)

	if err := b.scaleWrite(ctx, streams, w); err != nil {
		return err
	}
	sr.RSSAfterWrite = b.rss()
	if err := b.scaleRead(ctx, streams, sr); err != nil {
		return err
	}
	sr.RSSAfterRead = b.rss()
	if err := b.scaleIdle(ctx, sr); err != nil {
		return err
	}
	if b.opts.ScaleKeep {
		fmt.Fprintf(b.stderr, "scale: streams kept: %v\n", sr.Streams)
	}
	return nil
}

// splitShards shares total shards out over as few streams as hold them at
// perStream each, as evenly as it can.
func splitShards(total, perStream int) []scaleStream {
	n := (total + perStream - 1) / perStream
	out := make([]scaleStream, n)
	for i := range out {
		out[i].shards = total / n
		if i < total%n {
			out[i].shards++
		}
	}
	return out
}

// scaleBatches returns the PutRecords of the write phase: for each
// stream, records rounds over its shards' hash keys, cut into batches of
// at most scaleBatch records and scaleBatchBytes.
func scaleBatches(streams []scaleStream, records, size int) []putBatch {
	data := make([]byte, size)
	rand.Read(data)
	pk := aws.String("k") // required, but the explicit hash key decides
	perBatch := max(min(scaleBatch, scaleBatchBytes/(size+len(*pk))), 1)
	var out []putBatch
	for _, s := range streams {
		keys := spreadHashKeys(s.shards)
		var entries []types.PutRecordsRequestEntry
		for range records {
			for _, k := range keys {
				entries = append(entries, types.PutRecordsRequestEntry{Data: data, PartitionKey: pk, ExplicitHashKey: k})
				if len(entries) == perBatch {
					out = append(out, putBatch{stream: s.name, entries: entries})
					entries = nil
				}
			}
		}
		if len(entries) > 0 {
			out = append(out, putBatch{stream: s.name, entries: entries})
		}
	}
	return out
}

type putBatch struct {
	stream  string
	entries []types.PutRecordsRequestEntry
}

// scaleWrite sends the batches with scaleWorkers workers. Records that
// PutRecords refuses one by one are sent again, so that every shard ends
// with exactly --scale-records records, which the read phase checks.
func (b *bench) scaleWrite(ctx context.Context, streams []scaleStream, w *WorkloadResult) error {
	batches := scaleBatches(streams, b.opts.ScaleRecords, b.opts.ScaleRecordSize)
	var count, failed, calls, retriedCalls atomic.Int64
	stop := b.progress.start("scale write", &count)
	defer stop()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan putBatch)
	var mu sync.Mutex
	var latencies []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	for range scaleWorkers {
		wg.Go(func() {
			var mine []time.Duration
			defer func() {
				mu.Lock()
				latencies = append(latencies, mine...)
				mu.Unlock()
			}()
			for pb := range work {
				pending := pb.entries
				for len(pending) > 0 {
					t0 := time.Now()
					out, err := b.client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(pb.stream), Records: pending})
					mine = append(mine, time.Since(t0))
					calls.Add(1)
					if err != nil {
						cancel(fmt.Errorf("PutRecords to %s: %w", pb.stream, err))
						return
					}
					if retried(out.ResultMetadata, nil) {
						retriedCalls.Add(1)
					}
					var again []types.PutRecordsRequestEntry
					for i, r := range out.Records {
						if r.ErrorCode != nil {
							again = append(again, pending[i])
						}
					}
					count.Add(int64(len(pending) - len(again)))
					failed.Add(int64(len(again)))
					pending = again
				}
			}
		})
	}
send:
	for _, pb := range batches {
		select {
		case work <- pb:
		case <-ctx.Done():
			break send
		}
	}
	close(work)
	wg.Wait()
	w.Records, w.FailedRecords = count.Load(), failed.Load()
	w.Calls, w.RetriedCalls = calls.Load(), retriedCalls.Load()
	w.Bytes = w.Records * int64(b.opts.ScaleRecordSize)
	w.setRates(time.Since(start), true)
	w.LatencyMS = summarize(latencies)
	return context.Cause(ctx)
}

// scaleRead reads every shard of every stream from TRIM_HORIZON to its
// tip and checks that it holds --scale-records records.
func (b *bench) scaleRead(ctx context.Context, streams []scaleStream, sr *ScaleResult) error {
	type shard struct{ stream, id string }
	var shards []shard
	for _, s := range streams {
		ids, err := b.shardIDs(ctx, s.name)
		if err != nil {
			return err
		}
		if len(ids) != s.shards {
			return fmt.Errorf("stream %s lists %d shards, want %d", s.name, len(ids), s.shards)
		}
		for _, id := range ids {
			shards = append(shards, shard{s.name, id})
		}
	}
	var count, calls atomic.Int64
	stop := b.progress.start("scale read", &count)
	defer stop()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan shard)
	var wg sync.WaitGroup
	start := time.Now()
	for range scaleWorkers {
		wg.Go(func() {
			for sh := range work {
				n, c, err := b.readShard(ctx, sh.stream, sh.id)
				calls.Add(c)
				count.Add(n)
				if err == nil && n != int64(b.opts.ScaleRecords) {
					err = fmt.Errorf("shard %s of %s holds %d records, %d were written to it", sh.id, sh.stream, n, b.opts.ScaleRecords)
				}
				if err != nil {
					cancel(err)
					return
				}
			}
		})
	}
send:
	for _, sh := range shards {
		select {
		case work <- sh:
		case <-ctx.Done():
			break send
		}
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	sr.ReadS, sr.ReadRecords, sr.ReadCalls = elapsed.Seconds(), count.Load(), calls.Load()
	if sr.ReadS > 0 {
		sr.ReadRecordsPerSec = float64(sr.ReadRecords) / sr.ReadS
	}
	return context.Cause(ctx)
}

// readShard reads a shard from TRIM_HORIZON until a GetRecords says it
// is at the tip, and returns the records read and the calls made.
func (b *bench) readShard(ctx context.Context, stream, id string) (records, calls int64, err error) {
	it, err := b.client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName:        aws.String(stream),
		ShardId:           aws.String(id),
		ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	})
	calls++
	if err != nil {
		return 0, calls, fmt.Errorf("GetShardIterator on %s of %s: %w", id, stream, err)
	}
	iter := it.ShardIterator
	for iter != nil {
		out, err := b.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(scaleReadLimit)})
		calls++
		if err != nil {
			return records, calls, fmt.Errorf("GetRecords on %s of %s: %w", id, stream, err)
		}
		records += int64(len(out.Records))
		if aws.ToInt64(out.MillisBehindLatest) == 0 && len(out.Records) < scaleReadLimit {
			break
		}
		iter = out.NextShardIterator
	}
	return records, calls, nil
}

// scaleIdle makes no call for --scale-settle and then --scale-idle, and
// measures the CPU time the server used in the second; without --pid
// there is nothing to measure.
func (b *bench) scaleIdle(ctx context.Context, sr *ScaleResult) error {
	if b.opts.PID == 0 {
		return nil
	}
	fmt.Fprintf(b.stderr, "scale: settling for %v\n", b.opts.ScaleSettle)
	select {
	case <-time.After(b.opts.ScaleSettle):
	case <-ctx.Done():
		return ctx.Err()
	}
	before, err := procstat.CPUTime(b.opts.PID)
	if err != nil {
		return fmt.Errorf("reading the server's CPU time: %w", err)
	}
	fmt.Fprintf(b.stderr, "scale: idle for %v\n", b.opts.ScaleIdle)
	start := time.Now()
	select {
	case <-time.After(b.opts.ScaleIdle):
	case <-ctx.Done():
		return ctx.Err()
	}
	after, err := procstat.CPUTime(b.opts.PID)
	if err != nil {
		return fmt.Errorf("reading the server's CPU time: %w", err)
	}
	elapsed := time.Since(start)
	sr.IdleS = elapsed.Seconds()
	pct := 100 * (after - before).Seconds() / elapsed.Seconds()
	sr.IdleCPUPercent = &pct
	if after < before {
		return errors.New("the server's CPU time went down: was it restarted?")
	}
	return nil
}

// writeScaleSummary writes the scale workload's figures under the table,
// whose row for it holds the writes'.
func writeScaleSummary(w io.Writer, s *ScaleResult) {
	idle := "not measured (no --pid)"
	if s.IdleCPUPercent != nil {
		idle = fmt.Sprintf("%.2f %% of a core over %.0fs", *s.IdleCPUPercent, s.IdleS)
	}
	fmt.Fprintf(w, "\nscale: %d streams ACTIVE in %.1fs; read back %s records in %.1fs (%s rec/s, %s calls); idle CPU %s\n",
		len(s.Streams), s.CreateS, cli.Thousands(s.ReadRecords), s.ReadS, cli.Thousands(int64(s.ReadRecordsPerSec)),
		cli.Thousands(s.ReadCalls), idle)
	fmt.Fprintf(w, "scale: server RSS after create %s, after write %s, after read %s\n",
		s.RSSAfterCreate, s.RSSAfterWrite, s.RSSAfterRead)
}
