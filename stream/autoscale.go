package stream

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"sync"
	"time"
)

// Automatic scaling of ON_DEMAND streams.
//
// What AWS documents (Kinesis Data Streams developer guide, "Choose the
// data stream capacity mode", on-demand mode section,
// https://docs.aws.amazon.com/streams/latest/dev/how-do-i-size-a-stream.html):
// a new on-demand stream has a write capacity of 4 MB/s and 4,000 records
// per second; the stream accommodates up to double the peak write
// throughput observed in the previous 30 days, and write throttling can
// occur if traffic grows to more than double the previous peak within 15
// minutes. Every shard, in either mode, takes 1 MB/s and 1,000 records per
// second of writes ("Create and manage Kinesis data streams",
// https://docs.aws.amazon.com/streams/latest/dev/working-with-streams.html).
// AWS does not document how it picks the shards it splits or merges.
//
// Tributary's policy approximates that with the same split and merge as
// SplitShard and MergeShards, so consumers see real lineage. Every
// Options.AutoscaleInterval the scaler looks at each ACTIVE ON_DEMAND
// stream with no reshard pending and makes at most one change to it:
//
//   - Split: the hottest open shard whose write rate over the last interval
//     exceeds AutoscaleSplitThreshold of a shard's capacity (bytes or
//     records, whichever is nearer its limit) is split at the middle of its
//     hash range. With the default threshold of 0.8 a shard is split before
//     it throttles, and a split doubles the capacity of the hot key range:
//     AWS's "double the peak" applied where the peak is, one shard at a
//     time, instead of to the stream as a whole.
//   - Merge: otherwise, two adjacent open shards that have both stayed below
//     AutoscaleMergeThreshold of capacity for AutoscaleCooldown are merged,
//     if together they span exactly the hash range of a shard the stream
//     once had; that is, a merge only undoes an earlier split. So the
//     stream never shrinks below the layout it started with (4 shards for
//     a new on-demand stream, as on AWS, or the shards it had when it
//     switched to ON_DEMAND), and in any case never below 4 open shards.
//     The cooldown stands in for AWS's slow scale-down: capacity once
//     needed is kept for a while.
//
// A split is refused once the stream would have more open shards than the
// account's shard limit (the ShardLimit option) or than the 10000 shards a
// stream may have. AWS counts its shard quota over provisioned streams only
// (see usage), so checkShardLimit, which counts those, would let an
// on-demand stream grow without bound; the cap per stream is the nearest
// reading of that limit for on-demand streams.
//
// Write rates are counted in memory per Service: a restart starts them
// from zero, which delays a split by at most one interval.

// Defaults of the autoscaling options.
const (
	defaultAutoscaleInterval = time.Minute
	defaultSplitThreshold    = 0.8
	defaultMergeThreshold    = 0.2
	defaultAutoscaleCooldown = 15 * time.Minute
	// A shard takes 1 MiB/s and 1000 records/s of writes (see above).
	defaultShardBytesPerSec   = 1 << 20
	defaultShardRecordsPerSec = 1000
	// minOnDemandShards is the shard count of a new on-demand stream, below
	// which the scaler never merges.
	minOnDemandShards = defaultOnDemandShards
)

// Bounds of the rate window's buckets: at most a second wide, so that
// writes leave the window within a second of growing older than it, and at
// most maxRateBuckets per shard, so that a long interval costs bounded
// memory.
const (
	maxBucketWidth = time.Second
	minRateBuckets = 10
	maxRateBuckets = 600
)

// autoscaleConfig is the scaler's settings with the defaults applied.
type autoscaleConfig struct {
	interval                       time.Duration // <= 0: no scaler goroutine
	splitThreshold, mergeThreshold float64
	cooldown                       time.Duration
	bytesPerSec, recordsPerSec     float64
}

func newAutoscaleConfig(o Options) (autoscaleConfig, error) {
	c := autoscaleConfig{
		interval:       o.AutoscaleInterval,
		splitThreshold: o.AutoscaleSplitThreshold,
		mergeThreshold: o.AutoscaleMergeThreshold,
		cooldown:       o.AutoscaleCooldown,
		bytesPerSec:    float64(o.ShardWriteBytesPerSec),
		recordsPerSec:  float64(o.ShardWriteRecordsPerSec),
	}
	if c.interval == 0 {
		c.interval = defaultAutoscaleInterval
	}
	if c.splitThreshold == 0 {
		c.splitThreshold = defaultSplitThreshold
	}
	if c.mergeThreshold == 0 {
		c.mergeThreshold = defaultMergeThreshold
	}
	if c.cooldown <= 0 {
		c.cooldown = defaultAutoscaleCooldown
	}
	if c.bytesPerSec <= 0 {
		c.bytesPerSec = defaultShardBytesPerSec
	}
	if c.recordsPerSec <= 0 {
		c.recordsPerSec = defaultShardRecordsPerSec
	}
	// A merge must not make a shard the next evaluation splits again.
	if c.splitThreshold < 0 || c.mergeThreshold < 0 || 2*c.mergeThreshold >= c.splitThreshold {
		return autoscaleConfig{}, fmt.Errorf("stream: autoscale thresholds: merge threshold %g must be positive and below half the split threshold %g",
			c.mergeThreshold, c.splitThreshold)
	}
	return c, nil
}

// window is the span write rates are measured over: the evaluation interval,
// so that each evaluation sees the traffic since the previous one.
func (c autoscaleConfig) window() time.Duration {
	if c.interval <= 0 {
		return defaultAutoscaleInterval
	}
	return c.interval
}

// rateBucket counts the writes of one bucket-wide slice of time; slot is
// the slice's number (Unix nanoseconds / width) so that a bucket left over
// from an earlier turn of the ring is recognised as stale.
type rateBucket struct {
	slot           int64
	bytes, records int64
}

// rateWindow is a ring of per-slot write counts covering the last
// len(buckets)*width of time. It does not allocate after newRateWindow.
type rateWindow struct {
	width   time.Duration
	buckets []rateBucket
}

// newRateWindow returns a window over span, in buckets of at most a second
// (and between minRateBuckets and maxRateBuckets of them).
func newRateWindow(span time.Duration) *rateWindow {
	width := min(maxBucketWidth, span/minRateBuckets)
	width = max(width, span/maxRateBuckets, time.Millisecond)
	n := int((span + width - 1) / width)
	return &rateWindow{width: width, buckets: make([]rateBucket, n)}
}

func (w *rateWindow) slot(now time.Time) int64 { return now.UnixNano() / int64(w.width) }

func (w *rateWindow) add(now time.Time, bytes, records int) {
	s := w.slot(now)
	b := &w.buckets[int(s%int64(len(w.buckets)))]
	if b.slot != s {
		*b = rateBucket{slot: s}
	}
	b.bytes += int64(bytes)
	b.records += int64(records)
}

// rate is the bytes and records per second written over the window ending
// at now: the buckets of the last len(buckets) slots, the current one
// included, divided by the window's span.
func (w *rateWindow) rate(now time.Time) (bytesPerSec, recordsPerSec float64) {
	cur, n := w.slot(now), int64(len(w.buckets))
	var bytes, records int64
	for _, b := range w.buckets {
		if b.slot > cur-n && b.slot <= cur {
			bytes += b.bytes
			records += b.records
		}
	}
	secs := (time.Duration(n) * w.width).Seconds()
	return float64(bytes) / secs, float64(records) / secs
}

// shardKey names a shard of a stream creation (streamRecord.ID).
type shardKey struct {
	stream string
	index  uint32
}

// shardMeter is one shard's write counts and the scaler's memory of it.
type shardMeter struct {
	mu sync.Mutex
	w  *rateWindow
	// coldSince is when the scaler first saw the shard below the merge
	// threshold in its current cold spell; zero while it is not cold.
	coldSince time.Time
}

// meters counts writes per open shard of on-demand streams. The hot path
// takes a read lock on the map and the shard's own mutex, and allocates only
// the first time a shard is written.
type meters struct {
	span time.Duration
	mu   sync.RWMutex
	m    map[shardKey]*shardMeter
}

func newMeters(span time.Duration) *meters {
	return &meters{span: span, m: make(map[shardKey]*shardMeter)}
}

func (ms *meters) get(k shardKey) *shardMeter {
	ms.mu.RLock()
	m := ms.m[k]
	ms.mu.RUnlock()
	if m != nil {
		return m
	}
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if m = ms.m[k]; m == nil {
		m = &shardMeter{w: newRateWindow(ms.span)}
		ms.m[k] = m
	}
	return m
}

// add counts an appended batch of records and bytes.
func (ms *meters) add(k shardKey, now time.Time, bytes, records int) {
	m := ms.get(k)
	m.mu.Lock()
	m.w.add(now, bytes, records)
	m.mu.Unlock()
}

// keep drops the meters of every shard not in live: closed shards and
// deleted streams.
func (ms *meters) keep(live map[shardKey]bool) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	for k := range ms.m {
		if !live[k] {
			delete(ms.m, k)
		}
	}
}

// shardLoad is what the scaler knows of one open shard at an evaluation.
type shardLoad struct {
	sh                         *shardRecord
	bytesPerSec, recordsPerSec float64
	util                       float64 // the larger fraction of capacity used
	coldSince                  time.Time
}

// observe reads each open shard's rates at now and updates its cold spell.
// The result is in hash key order.
func (s *Service) observe(rec *streamRecord, now time.Time) []shardLoad {
	var loads []shardLoad
	for i := range rec.Shards {
		sh := &rec.Shards[i]
		if !sh.open() {
			continue
		}
		m := s.meters.get(shardKey{rec.ID, sh.Index})
		m.mu.Lock()
		b, r := m.w.rate(now)
		l := shardLoad{sh: sh, bytesPerSec: b, recordsPerSec: r,
			util: max(b/s.autoscale.bytesPerSec, r/s.autoscale.recordsPerSec)}
		switch {
		case l.util >= s.autoscale.mergeThreshold:
			m.coldSince = time.Time{}
		case m.coldSince.IsZero():
			m.coldSince = now
		}
		l.coldSince = m.coldSince
		m.mu.Unlock()
		loads = append(loads, l)
	}
	slices.SortFunc(loads, func(a, b shardLoad) int { return a.sh.StartHash.cmp(b.sh.StartHash) })
	return loads
}

// midHash is the first hash key of the upper half of start..end, which
// must hold at least two keys.
func midHash(start, end uint128) uint128 {
	lo, borrow := bits.Sub64(end.lo, start.lo, 0)
	hi, _ := bits.Sub64(end.hi, start.hi, borrow)
	half := uint128{hi: hi >> 1, lo: lo>>1 | hi<<63}
	lo, carry := bits.Add64(start.lo, half.lo, 0)
	hi, _ = bits.Add64(start.hi, half.hi, carry)
	return uint128{hi: hi, lo: lo}.add1()
}

// autoscaleDecision is one change the scaler makes to a stream.
type autoscaleDecision struct {
	split  *shardLoad    // the shard to split, or nil
	merge  [2]*shardLoad // the pair to merge, lower hash keys first
	reason string
}

// decide picks at most one reshard for a stream from its shards' loads (in
// hash key order): a split of the hottest shard over the split threshold
// if the stream may have another shard, else a merge of a cold pair that
// undoes a split, else nothing.
func (s *Service) decide(rec *streamRecord, loads []shardLoad, now time.Time, maxShards int) *autoscaleDecision {
	var hot *shardLoad
	for i := range loads {
		l := &loads[i]
		if l.util > s.autoscale.splitThreshold && l.sh.StartHash != l.sh.EndHash && (hot == nil || l.util > hot.util) {
			hot = l
		}
	}
	if hot != nil {
		if len(loads)+1 > maxShards {
			return nil // at the limit: the hot shard throttles, as on AWS
		}
		return &autoscaleDecision{split: hot, reason: "write rate over split threshold"}
	}
	if len(loads) <= minOnDemandShards {
		return nil
	}
	cold := func(l *shardLoad) bool {
		return !l.coldSince.IsZero() && now.Sub(l.coldSince) >= s.autoscale.cooldown
	}
	for i := 1; i < len(loads); i++ {
		a, b := &loads[i-1], &loads[i]
		if cold(a) && cold(b) && adjacent(a.sh, b.sh) && wasShard(rec, a.sh.StartHash, b.sh.EndHash) {
			return &autoscaleDecision{merge: [2]*shardLoad{a, b}, reason: "write rates under merge threshold for the cooldown"}
		}
	}
	return nil
}

// wasShard reports whether a closed shard of rec covered exactly start..end.
func wasShard(rec *streamRecord, start, end uint128) bool {
	for i := range rec.Shards {
		sh := &rec.Shards[i]
		if !sh.open() && sh.StartHash == start && sh.EndHash == end {
			return true
		}
	}
	return false
}

// autoscaleLoop evaluates the on-demand streams every interval until ctx is
// done.
func (s *Service) autoscaleLoop(ctx context.Context) {
	defer close(s.autoscaleDone)
	t := time.NewTicker(s.autoscale.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.tasks.Run("autoscaler", func() error {
			err := s.autoscaleOnce(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.Error("stream: on-demand scaling failed; will retry", "err", err)
			}
			return err
		})
	}
}

// autoscaleOnce evaluates every on-demand stream once, making at most one
// reshard per stream, and forgets the meters of shards no longer open.
func (s *Service) autoscaleOnce(ctx context.Context) error {
	entries, err := s.meta.List(ctx, streamsPrefix)
	if err != nil {
		return fmt.Errorf("autoscale: %w", err)
	}
	now := s.clock()
	live := make(map[shardKey]bool)
	var errs []error
	for _, me := range entries {
		e, err := s.decoded.decode(me)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if e.rec.Mode != ModeOnDemand {
			continue
		}
		// Each stream is a task of its own: a bug met on one stream must
		// not stop the others from scaling.
		err = s.tasks.Run("autoscale", func() error { return s.autoscaleStream(ctx, e.rec, now, live) }, "stream", e.rec.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("stream %s: %w", e.rec.Name, err))
		}
	}
	s.meters.keep(live)
	return errors.Join(errs...)
}

// autoscaleStream observes an on-demand stream's write rates, marking its
// open shards in live, and makes at most one reshard of it.
func (s *Service) autoscaleStream(ctx context.Context, rec *streamRecord, now time.Time, live map[shardKey]bool) error {
	st, ok := rec.status(s.now())
	if !ok || st == StatusDeleting {
		return nil
	}
	for i := range rec.Shards {
		if rec.Shards[i].open() {
			live[shardKey{rec.ID, rec.Shards[i].Index}] = true
		}
	}
	loads := s.observe(rec, now)
	if st != StatusActive || rec.Pending != nil {
		return nil
	}
	scope := Scope{Account: rec.Account, Region: rec.Region}
	maxShards := min(maxStreamShards, s.shardLimitFor(scope))
	d := s.decide(rec, loads, now, maxShards)
	if d == nil {
		return nil
	}
	return s.applyAutoscale(ctx, scope, rec, d, maxShards)
}

// errAutoscaleStale abandons a decision made on a record that has changed
// since (another reshard, a mode switch, a deletion).
var errAutoscaleStale = errors.New("stream changed since the autoscale decision")

// applyAutoscale runs the decision through reshard, which records it only
// if the stream is still as the decision saw it (the limits checked again
// under reshard's lock, as a SplitShard may have run since), and logs it.
func (s *Service) applyAutoscale(ctx context.Context, scope Scope, seen *streamRecord, d *autoscaleDecision, maxShards int) error {
	var parents []*shardLoad
	if d.split != nil {
		parents = []*shardLoad{d.split}
	} else {
		parents = d.merge[:]
	}
	err := s.reshard(ctx, scope, seen.Name, func(rec *streamRecord, st StreamStatus) (*pendingReshard, error) {
		if rec.ID != seen.ID || rec.Mode != ModeOnDemand || st != StatusActive {
			return nil, errAutoscaleStale
		}
		for _, p := range parents {
			if int(p.sh.Index) >= len(rec.Shards) || !rec.Shards[p.sh.Index].open() {
				return nil, errAutoscaleStale
			}
		}
		if d.split != nil {
			if rec.openShards()+1 > maxShards {
				return nil, errAutoscaleStale
			}
			sh := &rec.Shards[d.split.sh.Index]
			return splitPlan(rec, sh, midHash(sh.StartHash, sh.EndHash)), nil
		}
		if rec.openShards() <= minOnDemandShards {
			return nil, errAutoscaleStale
		}
		return mergePlan(rec, &rec.Shards[d.merge[0].sh.Index], &rec.Shards[d.merge[1].sh.Index]), nil
	})
	var e *Error
	if errors.Is(err, errAutoscaleStale) || errors.As(err, &e) {
		// Not an error: the next evaluation sees the stream as it is now.
		return nil
	}
	if err != nil {
		return err
	}
	attrs := []any{"stream", seen.Name, "account", scope.Account, "region", scope.Region, "reason", d.reason}
	for k, p := range parents {
		attrs = append(attrs,
			fmt.Sprintf("shard%d", k+1), shardID(p.sh.Index),
			fmt.Sprintf("shard%d_bytes_per_sec", k+1), int64(p.bytesPerSec),
			fmt.Sprintf("shard%d_records_per_sec", k+1), int64(p.recordsPerSec))
	}
	if d.split != nil {
		s.log.Info("stream: on-demand split", attrs...)
	} else {
		s.log.Info("stream: on-demand merge", attrs...)
	}
	return nil
}
