package stream

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tributary-io/tributary/storage"
)

// SubscribeToShard sessions.
//
// A session is a push reader over one shard's log for one consumer. It
// reads from its starting position and, at the tip, blocks in
// ShardLog.Wait until a record is durable, so records reach the subscriber
// as soon as they can be read, without polling. AWS's rules (API reference,
// SubscribeToShard):
//
//   - the consumer must be ACTIVE;
//   - an event at least every 5 seconds, records or not;
//   - the session ends after 5 minutes;
//   - a second call for the same consumer and shard within 5 seconds of
//     the first fails with ResourceInUseException; after that, the new
//     session takes over and the old one ends;
//   - 2 MiB/s per consumer per shard, and one call per second per consumer
//     and shard (LimitExceededException), both only under Limits "aws";
//   - at the end of a closed shard the last event carries ChildShards and
//     no ContinuationSequenceNumber, and the session ends.

const (
	defaultSubscriptionLifetime  = 5 * time.Minute
	defaultSubscriptionHeartbeat = 5 * time.Second
	// takeoverGrace is how long a session is protected from a second
	// SubscribeToShard for the same consumer and shard.
	takeoverGrace = 5 * time.Second
	// subscribeInterval is AWS's one SubscribeToShard call per second per
	// consumer and shard.
	subscribeInterval = time.Second
	// subscriptionBytesPerSec is AWS's per-consumer, per-shard read rate.
	subscriptionBytesPerSec = 2 << 20
	// maxEventRecords and maxEventBytes bound one event, so that a
	// subscriber far behind gets the backlog in pieces it can take.
	maxEventRecords = 10000
	maxEventBytes   = 1 << 20
)

// StartingPosition is where a subscription starts: Type is one of the
// iterator types, with SequenceNumber for AT_ and AFTER_SEQUENCE_NUMBER and
// Timestamp for AT_TIMESTAMP.
type StartingPosition struct {
	Type           ShardIteratorType
	SequenceNumber string
	Timestamp      *time.Time
}

// SubscribeToShardInput is SubscribeToShard's request.
type SubscribeToShardInput struct {
	ConsumerARN      string
	ShardID          string
	StartingPosition StartingPosition
	DryRun           bool
}

// SubscribeToShardEvent is one event of a session. ContinuationSequenceNumber
// is where a new session continues with AFTER_SEQUENCE_NUMBER (the last
// record sent, or a number just before the next record); it is empty in the
// last event of a closed shard, which carries ChildShards.
type SubscribeToShardEvent struct {
	Records                    []Record
	ContinuationSequenceNumber string
	MillisBehindLatest         int64
	ChildShards                []ChildShard
}

// subscriptions tracks the live sessions, one per consumer and shard, and
// the time of each pair's last SubscribeToShard call.
type subscriptions struct {
	mu       sync.Mutex
	active   map[string]*Subscription // by subKey
	lastCall map[string]time.Time
}

func newSubscriptions() *subscriptions {
	return &subscriptions{active: make(map[string]*Subscription), lastCall: make(map[string]time.Time)}
}

// subKey is consumer ARN, a space (which no ARN holds), and shard id.
func subKey(consumerARN, shard string) string { return consumerARN + " " + shard }

// endWhere ends the sessions whose key satisfies match, with err.
func (t *subscriptions) endWhere(match func(key string) bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, sub := range t.active {
		if match(k) {
			sub.End(err)
		}
	}
}

// endConsumer ends a consumer's sessions.
func (t *subscriptions) endConsumer(arn string, err error) {
	t.endWhere(func(k string) bool { return strings.HasPrefix(k, arn+" ") }, err)
}

// endStream ends the sessions of a stream's consumers.
func (t *subscriptions) endStream(streamARN string, err error) {
	t.endWhere(func(k string) bool { return strings.HasPrefix(k, streamARN+"/consumer/") }, err)
}

// Subscription is one SubscribeToShard session. Next returns its events;
// Close releases it. Next is for one goroutine; End may be called from any.
type Subscription struct {
	s     *Service
	scope Scope
	key   string

	stream   string
	tag      uint32
	index    uint32
	consumer string
	created  time.Time // the consumer's

	ctx    context.Context
	cancel context.CancelCauseFunc

	start   storage.Start
	started time.Time
	// lastEvent is when the last event was made (at first, the start):
	// the heartbeat is due SubscriptionHeartbeat after it.
	lastEvent time.Time
	// lastArrival is the arrival time (Unix ms) of the last record sent,
	// for the continuation number; zero before any.
	lastArrival int64
	deadline    time.Time
	finished    bool
	paced       bool
	paceAt      time.Time // under limits: no read before this

	// The session's metrics; cm is nil when metrics are off.
	cm *consumerMetrics
	// lag is what the scrape reads of the session (see lag); Next's
	// goroutine writes it.
	lagState
	// synced is true once a read reached the shard's tip in this process:
	// lagBase is exact from then on. appendedBefore is the shard's
	// appended count taken just before the latest read.
	synced         bool
	appendedBefore int64
}

// lagState is a session's position as the consumer lag sees it; atomics,
// because the scrape reads them while Next runs.
type lagState struct {
	// measured is false until the first event.
	measured atomic.Bool
	// lagBase is the shard's appended count (shardMetrics.appended) at
	// the session's position: the lag in records is appended - lagBase.
	lagBase atomic.Int64
	// delivered is the arrival time (Unix ms) of the last record sent, or
	// of the tip's when an event found nothing new; tip is the newest
	// record's arrival time at the latest read.
	delivered, tip atomic.Int64
	// behind is the latest event's MillisBehindLatest.
	behind atomic.Int64
}

// SubscribeToShard starts a session. The checks AWS makes before the event
// stream starts are made here and fail the call; failures after it has
// started end the session through Next. ctx bounds the whole session.
func (s *Service) SubscribeToShard(ctx context.Context, scope Scope, in SubscribeToShardInput) (*Subscription, error) {
	streamARN, cname, epoch, ok := parseConsumerARN(in.ConsumerARN)
	if !ok {
		return nil, newError(CodeInvalidArgument, "ConsumerARN %s is invalid.", in.ConsumerARN)
	}
	name, err := streamOfConsumer(scope, streamARN)
	if err != nil {
		return nil, err
	}
	e, st, err := s.get(ctx, scope, name)
	if err != nil {
		return nil, internal("subscribe to shard", err)
	}
	rec := e.rec
	now := s.clock()
	c := rec.consumer(cname, now)
	if c == nil || c.Created.Unix() != epoch {
		return nil, errConsumerNotFound(cname, name, scope.Account)
	}
	if cst, _ := c.status(now); cst != ConsumerActive {
		return nil, errConsumerNotActive(c, name, scope.Account)
	}
	index, ok := parseShardID(in.ShardID)
	if !ok {
		return nil, errBadShardID(in.ShardID, name, scope.Account)
	}
	if st == StatusCreating || st == StatusDeleting || int(index) >= len(rec.Shards) {
		return nil, errShardNotFound(shardID(index), name, scope.Account)
	}
	p := in.StartingPosition
	start, err := s.startOf(ctx, scope, rec, index, p.Type, p.SequenceNumber, p.Timestamp, s.now())
	if err != nil {
		return nil, err
	}

	key := subKey(consumerARN(rec, c), shardID(index))
	s.subs.mu.Lock()
	defer s.subs.mu.Unlock()
	if old := s.subs.active[key]; old != nil {
		if now.Sub(old.started) < takeoverGrace {
			if !in.DryRun {
				s.metrics.subscribeRefused(rec, cname)
			}
			return nil, newError(CodeInUse, "Another active subscription exists for this consumer: %s:%s:%s:%s",
				scope.Account, name, shardID(index), cname)
		}
	}
	if in.DryRun {
		// Neither the call rate nor the session table is touched: the
		// running session, if any, goes on.
		return nil, s.dryRun(scope, name)
	}
	if s.throttle.on {
		for k, t := range s.subs.lastCall {
			if now.Sub(t) >= subscribeInterval {
				delete(s.subs.lastCall, k)
			}
		}
		if _, recent := s.subs.lastCall[key]; recent {
			s.metrics.subscribeRefused(rec, cname)
			return nil, newError(CodeLimitExceeded,
				"Rate exceeded for consumer %s and shard %s: at most one SubscribeToShard call per second.", cname, shardID(index))
		}
		s.subs.lastCall[key] = now
	}
	if old := s.subs.active[key]; old != nil {
		// Takeover: the old session ends cleanly, as AWS ends it.
		old.End(io.EOF)
	}
	sctx, cancel := context.WithCancelCause(ctx)
	sub := &Subscription{
		s: s, scope: scope, key: key,
		stream: name, tag: rec.Tag, index: index, consumer: cname, created: c.Created,
		ctx: sctx, cancel: cancel,
		start:     start,
		started:   now,
		lastEvent: now,
		deadline:  now.Add(s.subLifetime),
		paced:     s.throttle.on,
		cm:        s.metrics.subscribed(rec, index, cname),
	}
	s.subs.active[key] = sub
	return sub, nil
}

// End ends the session: the next call of Next returns err (io.EOF for a
// clean end). Ending an ended session changes nothing.
func (sub *Subscription) End(err error) { sub.cancel(err) }

// Close releases the session; a new one for the same consumer and shard no
// longer meets it. Close is idempotent.
func (sub *Subscription) Close() {
	sub.cancel(io.EOF)
	t := sub.s.subs
	t.mu.Lock()
	if t.active[sub.key] == sub {
		delete(t.active, sub.key)
	}
	t.mu.Unlock()
}

// ended reports why the session is over, or nil.
func (sub *Subscription) ended() error {
	if sub.finished {
		return io.EOF
	}
	if sub.ctx.Err() != nil {
		if err := context.Cause(sub.ctx); err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		return sub.ctx.Err()
	}
	if !sub.s.clock().Before(sub.deadline) {
		return io.EOF
	}
	return nil
}

// sleep waits for d or the session's end.
func (sub *Subscription) sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-sub.ctx.Done():
	}
}

// Next returns the session's next event: as soon as records are durable
// after the last one sent, or an empty event after SubscriptionHeartbeat
// at the tip. It returns io.EOF when the session is over (its lifetime
// passed, another session took over, or a closed shard was sent to its
// end), an *Error when it ended with one (the consumer was deregistered,
// the stream deleted), or the context's error.
func (sub *Subscription) Next() (*SubscribeToShardEvent, error) {
	s := sub.s
	heartbeat := sub.lastEvent.Add(s.subHeartbeat)
	var backoff sealedBackoff
	for {
		if err := sub.ended(); err != nil {
			sub.finished = true
			return nil, err
		}
		rec, sh, err := sub.check()
		if err != nil {
			// An end given by End (a deregistration, which also makes the
			// check fail) is the more precise answer.
			if end := sub.ended(); end != nil {
				err = end
			}
			sub.finished = true
			return nil, err
		}
		l, err := s.shardLog(sub.ctx, rec, sub.index)
		if err != nil {
			sub.finished = true
			if errors.Is(err, storage.ErrNotFound) {
				return nil, errShardNotFound(shardID(sub.index), sub.stream, sub.scope.Account)
			}
			return nil, internal("subscribe to shard", err)
		}
		if sub.paced {
			sub.sleep(sub.paceAt.Sub(s.clock()))
			if sub.ended() != nil {
				continue
			}
		}
		if sub.cm != nil {
			sub.appendedBefore = sub.cm.shard.appended.Load()
		}
		res, err := l.Read(sub.ctx, sub.start, storage.ReadLimits{MaxRecords: maxEventRecords, MaxBytes: maxEventBytes})
		if err != nil {
			if sub.ctx.Err() != nil || errors.Is(err, storage.ErrNotFound) {
				continue // ended, or the stream was deleted: the checks say which
			}
			sub.finished = true
			if kerr := kmsError(err, rec); kerr != nil {
				return nil, kerr
			}
			return nil, internal("subscribe to shard", err)
		}
		closedEnd := res.Sealed && !sh.open()
		now := s.clock()
		if len(res.Records) > 0 || closedEnd || !now.Before(heartbeat) {
			return sub.event(rec, sh, res, closedEnd), nil
		}
		if res.Sealed {
			// Sealed while the catalogue still shows the shard open: a
			// reshard between its steps (c) and (d); the children are
			// recorded in a moment.
			_ = backoff.wait(sub.ctx) // an end is seen at the top of the loop
			continue
		}
		wake := min(heartbeat.Sub(now), sub.deadline.Sub(now))
		wctx, cancel := context.WithTimeout(sub.ctx, wake)
		err = l.Wait(wctx, res.Next)
		cancel()
		if err != nil && !errors.Is(err, storage.ErrSealed) && wctx.Err() == nil {
			if errors.Is(err, storage.ErrNotFound) {
				continue
			}
			sub.finished = true
			if kerr := kmsError(err, rec); kerr != nil {
				return nil, kerr
			}
			return nil, internal("subscribe to shard", err)
		}
	}
}

// check re-reads the catalogue: the stream and the consumer must still be
// there and the consumer ACTIVE.
func (sub *Subscription) check() (*streamRecord, *shardRecord, error) {
	s := sub.s
	e, st, err := s.get(sub.ctx, sub.scope, sub.stream)
	if err != nil {
		return nil, nil, internal("subscribe to shard", err)
	}
	rec := e.rec
	if rec.Tag != sub.tag || st == StatusDeleting {
		return nil, nil, errStreamNotFound(sub.stream, sub.scope.Account)
	}
	now := s.clock()
	c := rec.consumer(sub.consumer, now)
	if c == nil || !c.Created.Equal(sub.created) {
		return nil, nil, errConsumerNotFound(sub.consumer, sub.stream, sub.scope.Account)
	}
	if cst, _ := c.status(now); cst != ConsumerActive {
		return nil, nil, errConsumerNotActive(c, sub.stream, sub.scope.Account)
	}
	return rec, &rec.Shards[sub.index], nil
}

// event builds the event for a read and moves the session past it.
func (sub *Subscription) event(rec *streamRecord, sh *shardRecord, res storage.ReadResult, closedEnd bool) *SubscribeToShardEvent {
	ev := &SubscribeToShardEvent{}
	var bytes int
	seq := rec.shardSeq(sub.index)
	ev.Records, bytes, ev.MillisBehindLatest = readRecords(seq, res)
	sub.start = storage.At(res.Next)
	sub.lastEvent = sub.s.clock()
	if sub.cm != nil {
		sub.measure(res, bytes, ev.MillisBehindLatest)
	}
	if closedEnd {
		ev.ChildShards = childShards(rec, sh)
		sub.finished = true
		return ev
	}
	// AFTER_SEQUENCE_NUMBER of this number resumes exactly at res.Next:
	// every record before res.Next has been sent, and positions are never
	// zero.
	// It is the number of the last record sent, which arrived at
	// lastArrival (the shard's epoch before any record).
	if n := len(res.Records); n > 0 {
		sub.lastArrival = res.Records[n-1].ArrivalTime
	}
	arrival := sub.lastArrival
	if arrival == 0 {
		arrival = seq.epoch * 1000
	}
	ev.ContinuationSequenceNumber = seq.number(max(res.Next, 1)-1, arrival)
	if sub.paced && bytes > 0 {
		from := sub.s.clock()
		if sub.paceAt.After(from) {
			from = sub.paceAt
		}
		sub.paceAt = from.Add(time.Duration(float64(bytes) / subscriptionBytesPerSec * float64(time.Second)))
	}
	return ev
}

// Stream and Shard name what the session reads, for logs and fault rules.
func (sub *Subscription) Stream() string { return sub.stream }
func (sub *Subscription) Shard() string  { return shardID(sub.index) }

// measure counts an event (SubscribeToShardEvent.Bytes, Records, Success
// and the shard's outgoing records) and moves the session's lag state past
// the read res.
//
// How the lag in records is counted: storage positions need not be
// contiguous, so the difference of two positions is not a number of
// records. Instead each shard counts the records this process appended to
// it (shardMetrics.appended), and a session keeps that count at its
// position (lagBase), so that the lag is appended - lagBase, computed when
// scraped. A read that reaches the tip has delivered every record
// appended before it: lagBase becomes the count taken just before the read
// (a record appended in between is counted as not delivered until the next
// event, so the lag may be over-stated for a moment, never hidden). After
// that, a read that stops short of the tip moves lagBase by the records it
// delivered. Until a session has reached the tip once in this process
// (after a start, or starting far behind), the count is not known: the
// lag is then the difference of positions between the tip and the last
// record delivered, an upper bound.
func (sub *Subscription) measure(res storage.ReadResult, bytes int, behind int64) {
	cm := sub.cm
	n := len(res.Records)
	cm.eventBytes.Add(float64(bytes))
	cm.eventRecords.Add(float64(n))
	cm.event.Inc()
	cm.stream.outgoing(cm.shard, n, bytes)

	atTip := res.Next > res.LastPosition
	switch {
	case atTip:
		sub.lagBase.Store(sub.appendedBefore)
		sub.synced = true
	case sub.synced:
		sub.lagBase.Add(int64(n))
	default:
		sub.lagBase.Store(sub.appendedBefore - int64(res.LastPosition-(res.Next-1)))
	}
	switch {
	case n > 0:
		sub.delivered.Store(res.Records[n-1].ArrivalTime)
	case atTip:
		sub.delivered.Store(res.LastArrival)
	}
	sub.tip.Store(res.LastArrival)
	sub.behind.Store(behind)
	sub.measured.Store(true)
}

// consumerLag is a live session's lag, as scraped.
type consumerLag struct {
	records, millis int64
	// millisBehind is the latest event's MillisBehindLatest.
	millisBehind int64
}

// lag returns the session's lag now, or false before its first event,
// after its end, or with metrics off. Any goroutine may call it.
func (sub *Subscription) lag() (consumerLag, bool) {
	if sub.cm == nil || !sub.measured.Load() || sub.ctx.Err() != nil {
		return consumerLag{}, false
	}
	sh := sub.cm.shard
	out := consumerLag{records: max(0, sh.appended.Load()-sub.lagBase.Load()), millisBehind: sub.behind.Load()}
	if out.records > 0 {
		tip := max(sh.lastArrival.Load(), sub.tip.Load())
		out.millis = max(0, tip-sub.delivered.Load())
	}
	return out, true
}
