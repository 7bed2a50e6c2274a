package stream

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Throttling profiles, for Limits.Profile.
const (
	// LimitsOff throttles nothing. It is what the zero Limits means.
	LimitsOff = "off"
	// LimitsAWS applies AWS's default quotas, as the Kinesis Data Streams
	// developer guide ("Quotas and limits") and the API reference's notes
	// on each operation give them, with any nonzero field of Limits
	// overriding its quota.
	LimitsAWS = "aws"
)

// Limits configures throttling. Rates are per second; every bucket holds
// one second's worth, the only burst AWS documents ("per second"). A zero
// field takes the profile's value. The on-demand scaler's notion of a
// shard's capacity (Options.ShardWriteBytesPerSec and
// ShardWriteRecordsPerSec) is separate and unaffected.
type Limits struct {
	// Profile is LimitsAWS or LimitsOff; empty means LimitsOff.
	Profile string

	// Per shard, writes (PutRecord, PutRecords): AWS's 1 MiB/s, data and
	// partition keys together, and 1000 records/s.
	ShardWriteBytesPerSec   int
	ShardWriteRecordsPerSec int
	// Per shard, reads (GetRecords): AWS's 5 calls/s and 2 MiB/s.
	ShardReadCallsPerSec int
	ShardReadBytesPerSec int

	// Control plane, per account and region unless said otherwise: calls
	// per second, AWS's value in parentheses.
	CreateStreamPerSec          int // (5)
	DeleteStreamPerSec          int // (5)
	ListStreamsPerSec           int // (5)
	DescribeStreamPerSec        int // (10)
	DescribeStreamSummaryPerSec int // (20)
	DescribeLimitsPerSec        int // (1)
	ListShardsPerSec            int // per stream (1000)
	GetShardIteratorPerSec      int // per shard (5)
	SplitShardPerSec            int // (5)
	MergeShardsPerSec           int // (5)
	TagsPerSec                  int // each tag operation (5)

	// DryRunPerSec is the rate of requests with DryRun set, per stream
	// and shared by the operations that take it (1).
	DryRunPerSec int
}

// AWS's default quotas (see Limits).
var awsLimits = Limits{
	Profile:                     LimitsAWS,
	ShardWriteBytesPerSec:       1 << 20,
	ShardWriteRecordsPerSec:     1000,
	ShardReadCallsPerSec:        5,
	ShardReadBytesPerSec:        2 << 20,
	CreateStreamPerSec:          5,
	DeleteStreamPerSec:          5,
	ListStreamsPerSec:           5,
	DescribeStreamPerSec:        10,
	DescribeStreamSummaryPerSec: 20,
	DescribeLimitsPerSec:        1,
	ListShardsPerSec:            1000,
	GetShardIteratorPerSec:      5,
	SplitShardPerSec:            5,
	MergeShardsPerSec:           5,
	TagsPerSec:                  5,
	DryRunPerSec:                1,
}

// resolve returns l with its profile's values filled in, or false when
// nothing is throttled.
func (l Limits) resolve() (Limits, bool, error) {
	switch l.Profile {
	case "", LimitsOff:
		return Limits{}, false, nil
	case LimitsAWS:
	default:
		return Limits{}, false, fmt.Errorf("stream: limits profile %q: must be %s or %s", l.Profile, LimitsAWS, LimitsOff)
	}
	out := awsLimits
	fields := []struct {
		name     string
		dst, src *int
	}{
		{"ShardWriteBytesPerSec", &out.ShardWriteBytesPerSec, &l.ShardWriteBytesPerSec},
		{"ShardWriteRecordsPerSec", &out.ShardWriteRecordsPerSec, &l.ShardWriteRecordsPerSec},
		{"ShardReadCallsPerSec", &out.ShardReadCallsPerSec, &l.ShardReadCallsPerSec},
		{"ShardReadBytesPerSec", &out.ShardReadBytesPerSec, &l.ShardReadBytesPerSec},
		{"CreateStreamPerSec", &out.CreateStreamPerSec, &l.CreateStreamPerSec},
		{"DeleteStreamPerSec", &out.DeleteStreamPerSec, &l.DeleteStreamPerSec},
		{"ListStreamsPerSec", &out.ListStreamsPerSec, &l.ListStreamsPerSec},
		{"DescribeStreamPerSec", &out.DescribeStreamPerSec, &l.DescribeStreamPerSec},
		{"DescribeStreamSummaryPerSec", &out.DescribeStreamSummaryPerSec, &l.DescribeStreamSummaryPerSec},
		{"DescribeLimitsPerSec", &out.DescribeLimitsPerSec, &l.DescribeLimitsPerSec},
		{"ListShardsPerSec", &out.ListShardsPerSec, &l.ListShardsPerSec},
		{"GetShardIteratorPerSec", &out.GetShardIteratorPerSec, &l.GetShardIteratorPerSec},
		{"SplitShardPerSec", &out.SplitShardPerSec, &l.SplitShardPerSec},
		{"MergeShardsPerSec", &out.MergeShardsPerSec, &l.MergeShardsPerSec},
		{"TagsPerSec", &out.TagsPerSec, &l.TagsPerSec},
		{"DryRunPerSec", &out.DryRunPerSec, &l.DryRunPerSec},
	}
	for _, f := range fields {
		switch {
		case *f.src < 0:
			return Limits{}, false, fmt.Errorf("stream: limit %s is %d: must not be negative", f.name, *f.src)
		case *f.src > 0:
			*f.dst = *f.src
		}
	}
	return out, true, nil
}

// bucket is a token bucket holding at most one second of its rate. It may
// go into debt: a request larger than the bucket (a record above 1 MiB, a
// GetRecords response above 2 MiB) is let through when the bucket is full,
// and the debt then holds back the requests that follow until it is repaid,
// which keeps the average rate at the limit.
type bucket struct {
	tokens float64
	last   time.Time
}

// fill refills b at rate per second up to rate; a new bucket starts full.
func (b *bucket) fill(now time.Time, rate float64) {
	if b.last.IsZero() {
		b.tokens, b.last = rate, now
		return
	}
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(rate, b.tokens+d.Seconds()*rate)
		b.last = now
	}
}

// allows reports whether n tokens may be taken after fill.
func (b *bucket) allows(n, rate float64) bool { return b.tokens >= n || b.tokens >= rate }

// shardThrottle is one shard's buckets and counters.
type shardThrottle struct {
	scope   Scope
	stream  string
	shard   uint32
	writeB  bucket // bytes
	writeR  bucket // records
	readC   bucket // calls
	readB   bucket // bytes
	iterC   bucket // GetShardIterator calls
	penalty time.Time

	writeThrottledRequests, writeThrottledRecords int64
	readThrottledRequests                         int64
	iteratorThrottledRequests                     int64
}

// controlKey names a control-plane bucket: the operation in a scope, and
// for ListShards the stream.
type controlKey struct {
	scope  Scope
	op     string
	stream string
}

type controlThrottle struct {
	b         bucket
	throttled int64
}

// throttler holds every bucket. One mutex guards them all: each check is
// a few float operations, far cheaper than the request around it.
type throttler struct {
	on     bool
	limits Limits
	clock  func() time.Time

	mu      sync.Mutex
	shards  map[shardKey]*shardThrottle
	control map[controlKey]*controlThrottle
}

func newThrottler(l Limits, clock func() time.Time) (*throttler, error) {
	r, on, err := l.resolve()
	if err != nil {
		return nil, err
	}
	return &throttler{
		on: on, limits: r, clock: clock,
		shards:  make(map[shardKey]*shardThrottle),
		control: make(map[controlKey]*controlThrottle),
	}, nil
}

// shard returns rec's shard's state; t.mu is held.
func (t *throttler) shard(scope Scope, rec *streamRecord, index uint32) *shardThrottle {
	k := shardKey{rec.ID, index}
	st := t.shards[k]
	if st == nil {
		st = &shardThrottle{scope: scope, stream: rec.Name, shard: index}
		t.shards[k] = st
	}
	return st
}

// forget drops the state of a deleted stream's shards (by stream id), so
// that a server creating and deleting streams does not grow without bound.
// Its counters leave ThrottleStats with it.
func (t *throttler) forget(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.shards {
		if k.stream == id {
			delete(t.shards, k)
		}
	}
}

// write admits records of the given total size (data plus partition key)
// to a shard, or reports that the shard's write rate is exceeded; a refused
// write takes nothing from the buckets.
func (t *throttler) write(scope Scope, rec *streamRecord, index uint32, records, bytes int) bool {
	if !t.on {
		return true
	}
	now := t.clock()
	br, rr := float64(t.limits.ShardWriteBytesPerSec), float64(t.limits.ShardWriteRecordsPerSec)
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.shard(scope, rec, index)
	st.writeB.fill(now, br)
	st.writeR.fill(now, rr)
	if !st.writeB.allows(float64(bytes), br) || !st.writeR.allows(float64(records), rr) {
		st.writeThrottledRecords += int64(records)
		return false
	}
	st.writeB.tokens -= float64(bytes)
	st.writeR.tokens -= float64(records)
	return true
}

// writeRequestThrottled counts a PutRecord or PutRecords call that had at
// least one record throttled.
func (t *throttler) writeRequestThrottled(scope Scope, rec *streamRecord, index uint32) {
	t.mu.Lock()
	t.shard(scope, rec, index).writeThrottledRequests++
	t.mu.Unlock()
}

// readBegin admits a GetRecords call on a shard. A call is refused beyond
// the calls per second, while the bytes read before are in debt, and during
// the penalty after a large response (see readEnd).
func (t *throttler) readBegin(scope Scope, rec *streamRecord, index uint32) bool {
	if !t.on {
		return true
	}
	now := t.clock()
	cr, br := float64(t.limits.ShardReadCallsPerSec), float64(t.limits.ShardReadBytesPerSec)
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.shard(scope, rec, index)
	st.readC.fill(now, cr)
	st.readB.fill(now, br)
	if now.Before(st.penalty) || st.readB.tokens < 0 || !st.readC.allows(1, cr) {
		st.readThrottledRequests++
		return false
	}
	st.readC.tokens--
	return true
}

// readEnd charges a served GetRecords response of the given size. AWS
// documents the read rate as an average of 2 MiB/s, and that a 10 MiB
// response makes the calls of the next 5 seconds fail: a response larger
// than one second's budget therefore blocks the shard's reads for as long
// as the response took of the rate, 5 seconds for 10 MiB at 2 MiB/s.
func (t *throttler) readEnd(scope Scope, rec *streamRecord, index uint32, bytes int) {
	if !t.on || bytes == 0 {
		return
	}
	now := t.clock()
	br := float64(t.limits.ShardReadBytesPerSec)
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.shard(scope, rec, index)
	st.readB.fill(now, br)
	st.readB.tokens -= float64(bytes)
	if float64(bytes) > br {
		until := now.Add(time.Duration(float64(bytes) / br * float64(time.Second)))
		if until.After(st.penalty) {
			st.penalty = until
		}
	}
}

// iterator admits a GetShardIterator call on a shard.
func (t *throttler) iterator(scope Scope, rec *streamRecord, index uint32) bool {
	if !t.on {
		return true
	}
	now := t.clock()
	r := float64(t.limits.GetShardIteratorPerSec)
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.shard(scope, rec, index)
	st.iterC.fill(now, r)
	if !st.iterC.allows(1, r) {
		st.iteratorThrottledRequests++
		return false
	}
	st.iterC.tokens--
	return true
}

// Control-plane operations with a rate limit, as Limits names them.
const (
	opCreateStream          = "CreateStream"
	opDeleteStream          = "DeleteStream"
	opListStreams           = "ListStreams"
	opDescribeStream        = "DescribeStream"
	opDescribeStreamSummary = "DescribeStreamSummary"
	opDescribeLimits        = "DescribeLimits"
	opListShards            = "ListShards"
	opSplitShard            = "SplitShard"
	opMergeShards           = "MergeShards"
	opAddTagsToStream       = "AddTagsToStream"
	opRemoveTagsFromStream  = "RemoveTagsFromStream"
	opListTagsForStream     = "ListTagsForStream"
	opTagResource           = "TagResource"
	opUntagResource         = "UntagResource"
	opListTagsForResource   = "ListTagsForResource"
	// opDryRun counts the dry runs of every operation that takes DryRun.
	opDryRun = "DryRun"
)

func (l *Limits) controlRate(op string) int {
	switch op {
	case opCreateStream:
		return l.CreateStreamPerSec
	case opDeleteStream:
		return l.DeleteStreamPerSec
	case opListStreams:
		return l.ListStreamsPerSec
	case opDescribeStream:
		return l.DescribeStreamPerSec
	case opDescribeStreamSummary:
		return l.DescribeStreamSummaryPerSec
	case opDescribeLimits:
		return l.DescribeLimitsPerSec
	case opListShards:
		return l.ListShardsPerSec
	case opSplitShard:
		return l.SplitShardPerSec
	case opMergeShards:
		return l.MergeShardsPerSec
	case opDryRun:
		return l.DryRunPerSec
	}
	return l.TagsPerSec
}

// control admits a control-plane call, or returns AWS's
// LimitExceededException. stream is the stream the call names, empty for
// ListStreams and DescribeLimits; ListShards is limited per stream, the
// others per account and region.
func (t *throttler) controlCall(scope Scope, op, stream string) error {
	k := controlKey{scope: scope, op: op}
	if op == opListShards {
		k.stream = stream
	}
	if !t.admit(k) {
		return errControlRate(stream, scope.Account)
	}
	return nil
}

// dryRun admits a request with DryRun set to a stream, or returns the
// ThrottlingException AWS documents for dry runs beyond their rate.
func (t *throttler) dryRun(scope Scope, stream string) error {
	if !t.admit(controlKey{scope: scope, op: opDryRun, stream: stream}) {
		return errDryRunRate(stream, scope.Account)
	}
	return nil
}

// admit takes a call from k's bucket, or counts it throttled.
func (t *throttler) admit(k controlKey) bool {
	if !t.on {
		return true
	}
	now := t.clock()
	r := float64(t.limits.controlRate(k.op))
	t.mu.Lock()
	defer t.mu.Unlock()
	ct := t.control[k]
	if ct == nil {
		ct = &controlThrottle{}
		t.control[k] = ct
	}
	ct.b.fill(now, r)
	if !ct.b.allows(1, r) {
		ct.throttled++
		return false
	}
	ct.b.tokens--
	return true
}

// ShardThrottleStats counts one shard's throttled requests since the
// service started.
type ShardThrottleStats struct {
	Scope  Scope
	Stream string
	Shard  string
	// WriteThrottledRequests counts PutRecord calls refused and PutRecords
	// calls with at least one entry refused; WriteThrottledRecords counts
	// the records refused.
	WriteThrottledRequests int64
	WriteThrottledRecords  int64
	// ReadThrottledRequests counts GetRecords calls refused.
	ReadThrottledRequests int64
	// IteratorThrottledRequests counts GetShardIterator calls refused.
	IteratorThrottledRequests int64
}

// ControlThrottleStats counts one control-plane operation's refused calls
// in a scope (and, for ListShards, on one stream).
type ControlThrottleStats struct {
	Scope     Scope
	Operation string
	Stream    string // ListShards only
	Throttled int64
}

// ThrottleStats is a snapshot of the throttling counters, for a metrics
// exporter. Shards and operations appear once they have been called with
// throttling on, in order of scope, stream and shard (or operation).
type ThrottleStats struct {
	Shards       []ShardThrottleStats
	ControlPlane []ControlThrottleStats
}

// ThrottleStats returns the throttling counters.
func (s *Service) ThrottleStats() ThrottleStats {
	t := s.throttle
	t.mu.Lock()
	var out ThrottleStats
	for _, st := range t.shards {
		out.Shards = append(out.Shards, ShardThrottleStats{
			Scope: st.scope, Stream: st.stream, Shard: shardID(st.shard),
			WriteThrottledRequests:    st.writeThrottledRequests,
			WriteThrottledRecords:     st.writeThrottledRecords,
			ReadThrottledRequests:     st.readThrottledRequests,
			IteratorThrottledRequests: st.iteratorThrottledRequests,
		})
	}
	for k, ct := range t.control {
		out.ControlPlane = append(out.ControlPlane, ControlThrottleStats{Scope: k.scope, Operation: k.op, Stream: k.stream, Throttled: ct.throttled})
	}
	t.mu.Unlock()
	slices.SortFunc(out.Shards, func(a, b ShardThrottleStats) int {
		return cmpJoin(a.Scope.Account, b.Scope.Account, a.Scope.Region, b.Scope.Region, a.Stream, b.Stream, a.Shard, b.Shard)
	})
	slices.SortFunc(out.ControlPlane, func(a, b ControlThrottleStats) int {
		return cmpJoin(a.Scope.Account, b.Scope.Account, a.Scope.Region, b.Scope.Region, a.Operation, b.Operation, a.Stream, b.Stream)
	})
	return out
}

// cmpJoin compares pairs of strings in turn: a1 with b1, then a2 with b2...
func cmpJoin(pairs ...string) int {
	for i := 0; i+1 < len(pairs); i += 2 {
		if c := strings.Compare(pairs[i], pairs[i+1]); c != 0 {
			return c
		}
	}
	return 0
}
