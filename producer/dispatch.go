package producer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/tributary-io/tributary/kpl"
	"github.com/tributary-io/tributary/sdkhttp"
)

// The dispatcher is one goroutine that owns every queue; PutRecords calls
// run in their own goroutines and report back to it. Order per partition
// key holds by two invariants, kept here and nowhere else:
//
//  1. Each record is queued in the queue of the shard the map predicts for
//     its hash key, and queues are kept in Put order (by pending.seq). A
//     key's records are therefore all in one queue.
//  2. A queue has at most one entry in flight, and an entry is taken from
//     the head of its queue. When the entry fails, its records go back to
//     the head: nothing of the queue was sent after them, so they are
//     again before every record put after them.
//
// A request carries entries of several queues, never two of one (by 2),
// so a request that half fails cannot store a key's later record and
// refuse its earlier one. An entry is one KPL aggregated record of its
// queue's next records (buildEntry), stored or refused as a whole, or one
// record alone.
//
// When the map changes, the queues are rebuilt from it; that waits until
// no request is in flight, so that no record of a key is under way from
// an old queue while the key's next records leave from a new one.
//
// An aggregate built on a stale map can land in a shard (a child of the
// one predicted) whose range does not hold all its records. AWS's KCL
// drops such an aggregate whole, so its records are not done: they wait
// in d.misplaced for the new map and, if any lies outside the shard the
// aggregate landed in, all of them go back to the head of their new
// queues (setMap keeps Put order), to be stored again where KCL reads
// them. Readers that do not drop the first copy see those records twice;
// they carry the producer's id and sequence to be recognised by.
//
// Exactly once into Tributary: every record of an aggregate carries its
// ID (kpl.ID), and Tributary stores an aggregate whose IDs it has stored
// once only (stream/dedup.go), recognising it by its first and last IDs
// and its count. So an entry whose outcome is uncertain (no answer, or a
// 5xx) is frozen: from then on it is sent again exactly as it was, never
// rebuilt with other records, until an answer says where it is stored.
// A frozen entry stays at the head of its queue (shardQueue.frozen), so
// invariant 2 holds for it as for any refused entry.

const (
	maxRequestEntries = 500     // PutRecords' limit
	maxRequestBytes   = 5 << 20 // PutRecords' limit, data and partition keys
	mapRefreshEvery   = time.Minute
)

type shardQueue struct {
	shard Shard
	// frozen are entries to send again as they are, before recs.
	frozen  []entry
	recs    []*pending // in Put order
	bytes   int64      // the records' sizes, summed
	busy    bool       // an entry of this queue is in flight
	retryAt time.Time  // after a failure, when the head may go again
	limiter *shardLimiter
	// isolate sends the queue's next entry in a request of its own: a
	// request it was in was refused whole as invalid, and alone it either
	// goes through or fails without taking others with it.
	isolate bool
}

// entry is one PutRecords entry: one record alone, or the KPL aggregate
// of a queue's next records.
type entry struct {
	q          *shardQueue
	recs       []*pending
	aggregated bool
	ids        bool // its records carry their IDs
	frozen     bool // sent with an uncertain outcome: resend as it is
	pk, ehk    string
	data       []byte
}

func (e *entry) size() int { return len(e.data) + len(e.pk) }

type answer struct {
	entries []entry
	out     *kinesis.PutRecordsOutput
	err     error
}

type dispatcher struct {
	p        *Producer
	sm       *streamMetrics // the dispatcher's own: not safe for concurrent use
	m        *ShardMap
	queues   map[string]*shardQueue
	answers  chan answer
	inFlight int
	nextSeq  uint64
	queued   int
	draining bool
	// flushes are the Flush calls waiting: each for the records put
	// before it (seq up to upTo), left of them still unanswered.
	flushes []*flushWait
	// refresh is set when the map should be read again; the queues are
	// rebuilt once nothing is in flight.
	refresh   bool
	refreshAt time.Time
	// aborted is Close's ctx's error once it ended: nothing more is sent.
	aborted error
	// misplaced are stored aggregates that landed in a shard the map did
	// not predict, waiting for the new map to tell whether KCL reads them.
	misplaced []misplaced
}

// misplaced is an aggregate stored in a shard the map did not predict.
type misplaced struct {
	e       entry
	shardID string
	seqNum  string
}

func newDispatcher(p *Producer, m *ShardMap) *dispatcher {
	d := &dispatcher{p: p, answers: make(chan answer), refreshAt: time.Now().Add(mapRefreshEvery), sm: p.cfg.Metrics.forStream(p.cfg.Stream)}
	d.setMap(m, time.Now(), nil)
	return d
}

// setMap replaces the map and puts every queued record into the queue the
// new map predicts for it, keeping Put order. Only called with nothing in
// flight (see the type's comment).
func (d *dispatcher) setMap(m *ShardMap, now time.Time, requeue []*pending) {
	all := requeue
	var frozen []entry
	old := d.queues
	for _, q := range old {
		all = append(all, q.recs...)
		frozen = append(frozen, q.frozen...)
	}
	slices.SortFunc(all, func(a, b *pending) int { return cmpSeq(a.seq, b.seq) })
	slices.SortFunc(frozen, func(a, b entry) int { return cmpSeq(a.recs[0].seq, b.recs[0].seq) })
	d.m = m
	d.queues = make(map[string]*shardQueue, len(m.shards))
	for _, s := range m.shards {
		q := &shardQueue{shard: s}
		if o, ok := old[s.ID]; ok && o.shard == s {
			q.limiter, q.retryAt = o.limiter, o.retryAt
		} else {
			q.limiter = newShardLimiter(d.p.cfg.RateLimit, now)
		}
		d.queues[s.ID] = q
	}
	// A frozen entry goes where its hash key (its head's) now lands, before
	// the records: they were all put after it.
	for _, e := range frozen {
		e.q = d.queues[m.Lookup(e.recs[0].hash).ID]
		e.q.frozen = append(e.q.frozen, e)
	}
	for _, pd := range all {
		d.queues[m.Lookup(pd.hash).ID].push(pd)
	}
}

func cmpSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (d *dispatcher) run() {
	defer close(d.p.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		if d.refresh && d.inFlight == 0 && d.aborted == nil {
			d.reloadMap(now)
		}
		wake := d.send(now)
		if d.draining && d.queued == 0 && d.inFlight == 0 {
			return
		}
		if d.aborted != nil {
			wake = time.Hour // only answers to wait for
		}
		timer.Reset(wake)
		puts, stop := d.p.puts, d.p.stop
		if d.draining {
			puts, stop = nil, nil
		}
		// Every record queued is older than any Flush that comes in now,
		// so a Flush waits for d.queued records.
		select {
		case pd := <-puts:
			d.nextSeq++
			pd.seq, pd.put = d.nextSeq, time.Now()
			if d.ids() {
				pd.idTag = kpl.ID{Producer: d.p.id, Seq: pd.seq}.Tag()
			}
			d.queues[d.m.Lookup(pd.hash).ID].push(pd)
			d.queued++
			d.sm.received.Inc()
			d.sm.pending.Inc()
		case a := <-d.answers:
			d.inFlight--
			d.handle(a, time.Now())
		case f := <-d.p.flushes:
			f.upTo, f.left = d.nextSeq, d.queued
			if f.left == 0 {
				close(f.done)
			} else {
				d.flushes = append(d.flushes, f)
			}
		case <-timer.C:
		case <-stop:
			d.draining = true
		case err := <-d.p.abort:
			d.abort(err)
		}
	}
}

// reloadMap reads the map again and rebuilds the queues from it. On
// failure it keeps the old map and tries again later: the old map only
// predicts worse, Kinesis routes every record by its hash key regardless.
func (d *dispatcher) reloadMap(now time.Time) {
	d.refresh = false
	d.refreshAt = now.Add(mapRefreshEvery)
	ctx, cancel := context.WithTimeout(context.Background(), d.p.cfg.RequestTimeout)
	defer cancel()
	m, err := FetchShardMap(ctx, d.p.cfg.Client, d.p.cfg.Stream)
	if err != nil {
		d.refreshAt = now.Add(time.Second)
		return
	}
	requeue, err := d.settleMisplaced(ctx, m)
	if err != nil {
		d.refreshAt = now.Add(time.Second)
		return
	}
	d.setMap(m, now, requeue)
}

// settleMisplaced decides, with the ranges of the shards they landed in,
// which misplaced aggregates KCL reads: those whose every record hashes
// into the shard are done; the records of the others are returned, to be
// queued again. A shard the new map does not hold (closed since) is
// looked up among all the stream's shards.
func (d *dispatcher) settleMisplaced(ctx context.Context, m *ShardMap) ([]*pending, error) {
	if len(d.misplaced) == 0 {
		return nil, nil
	}
	ranges := make(map[string]Shard)
	for _, s := range m.shards {
		ranges[s.ID] = s
	}
	for _, mp := range d.misplaced {
		if _, ok := ranges[mp.shardID]; !ok {
			all, err := listAllShards(ctx, d.p.cfg.Client, d.p.cfg.Stream)
			if err != nil {
				return nil, err
			}
			for _, s := range all {
				ranges[s.ID] = s
			}
			break
		}
	}
	var requeue []*pending
	for _, mp := range d.misplaced {
		s, known := ranges[mp.shardID]
		inside := known
		for _, pd := range mp.e.recs {
			inside = inside && s.Start.Cmp(pd.hash) <= 0 && pd.hash.Cmp(s.End) <= 0
		}
		if inside {
			d.stored(mp.e, mp.shardID, mp.seqNum)
			continue
		}
		d.p.cfg.Metrics.misplacedRecords.WithLabelValues(d.p.cfg.Stream).Add(float64(len(mp.e.recs)))
		requeue = append(requeue, mp.e.recs...)
	}
	d.misplaced = nil
	return requeue, nil
}

// abort fails every record not under way with err, and makes the answers
// to come final.
func (d *dispatcher) abort(err error) {
	d.aborted = err
	fail := func(recs []*pending) {
		for _, pd := range recs {
			d.finish(pd, Result{Attempts: pd.attempts, Err: fmt.Errorf("producer: closed before the record was stored: %w", err)})
		}
	}
	for _, q := range d.queues {
		for _, e := range q.frozen {
			fail(e.recs)
		}
		fail(q.recs)
		q.frozen, q.recs, q.bytes = nil, nil, 0
	}
	for _, mp := range d.misplaced {
		fail(mp.e.recs)
	}
	d.misplaced = nil
}

// send starts every request it can and returns how long to sleep before
// something may be ready.
func (d *dispatcher) send(now time.Time) time.Duration {
	wake := time.Hour
	if d.aborted != nil {
		return wake
	}
	if !d.refresh && !now.Before(d.refreshAt) {
		d.refresh = true
	}
	if d.refresh {
		// Rebuilding the queues waits for the requests in flight.
		return min(wake, time.Second)
	}
	for d.inFlight < d.p.cfg.MaxInFlight {
		var entries []entry
		bytes := 0
		for _, q := range d.queues {
			if len(entries) == maxRequestEntries {
				break
			}
			if q.busy || q.empty() || (q.isolate && len(entries) > 0) {
				continue
			}
			d.expire(q, now)
			if q.empty() {
				continue
			}
			// Wait for the backoff after a failure, for others to share
			// the request and the aggregate (Linger) unless an aggregate's
			// worth is already waiting, and for the shard's rate.
			if w := q.retryAt.Sub(now); w > 0 {
				wake = min(wake, w)
				continue
			}
			var e entry
			if len(q.frozen) > 0 {
				e = q.frozen[0]
			} else {
				if !d.draining && len(d.flushes) == 0 && q.bytes < int64(d.p.cfg.AggregationMaxSize) {
					if w := q.recs[0].put.Add(d.p.cfg.Linger).Sub(now); w > 0 {
						wake = min(wake, w)
						continue
					}
				}
				e = d.buildEntry(q)
			}
			if bytes+e.size() > maxRequestBytes && len(entries) > 0 {
				continue
			}
			if w := q.limiter.wait(1, e.size(), now); w > 0 {
				wake = min(wake, w)
				continue
			}
			q.busy = true
			if e.frozen {
				q.frozen = q.frozen[1:]
			} else {
				q.take(len(e.recs))
			}
			entries = append(entries, e)
			bytes += e.size()
			if q.isolate {
				q.isolate = false
				break
			}
		}
		if len(entries) == 0 {
			break
		}
		d.inFlight++
		go d.call(entries)
	}
	return wake
}

// expire fails the records at the head of q whose TTL has passed. Only
// the head: a record behind it is younger.
func (d *dispatcher) expire(q *shardQueue, now time.Time) {
	for len(q.frozen) > 0 && now.Sub(q.frozen[0].recs[0].put) > d.p.cfg.RecordTTL {
		e := q.frozen[0]
		q.frozen = q.frozen[1:]
		for _, pd := range e.recs {
			d.finish(pd, Result{Attempts: pd.attempts, Err: fmt.Errorf("producer: record not known to be stored within its TTL of %v (an answer was lost, so it may be): %w", d.p.cfg.RecordTTL, pd.lastErr)})
		}
	}
	for len(q.recs) > 0 && q.recs[0].attempts > 0 && now.Sub(q.recs[0].put) > d.p.cfg.RecordTTL {
		pd := q.recs[0]
		q.take(1)
		d.finish(pd, Result{Attempts: pd.attempts, Err: fmt.Errorf("producer: record not stored within its TTL of %v: %w", d.p.cfg.RecordTTL, pd.lastErr)})
	}
}

func (d *dispatcher) call(entries []entry) {
	in := &kinesis.PutRecordsInput{Records: make([]types.PutRecordsRequestEntry, len(entries))}
	if isARN(d.p.cfg.Stream) {
		in.StreamARN = aws.String(d.p.cfg.Stream)
	} else {
		in.StreamName = aws.String(d.p.cfg.Stream)
	}
	for i, e := range entries {
		in.Records[i] = types.PutRecordsRequestEntry{Data: e.data, PartitionKey: aws.String(e.pk)}
		if e.ehk != "" {
			in.Records[i].ExplicitHashKey = aws.String(e.ehk)
		}
		for _, pd := range e.recs {
			if pd.attempts == 0 {
				d.sm.wait.Observe(time.Since(pd.put).Seconds())
			}
			pd.attempts++
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), d.p.cfg.RequestTimeout)
	start := time.Now()
	out, err := d.p.cfg.Client.PutRecords(ctx, in, safeBodies)
	d.p.cfg.Metrics.requestTime.WithLabelValues(d.p.cfg.Stream).Observe(time.Since(start).Seconds())
	cancel()
	if err == nil && len(out.Records) != len(entries) {
		err = fmt.Errorf("producer: PutRecords answered %d entries for %d", len(out.Records), len(entries))
	}
	d.answers <- answer{entries: entries, out: out, err: err}
}

// safeBodies gives a call the client's HTTP client wrapped by package
// sdkhttp, unless it is already: with the SDK's own, a call Kinesis
// answered can fail as the SDK closes the connection under the answer
// (sdkhttp's documentation), which would make a stored entry's outcome
// uncertain for nothing.
func safeBodies(o *kinesis.Options) {
	o.HTTPClient = sdkhttp.Ensure(o.HTTPClient)
}

// handle takes a request's answer: stored records are done, refused ones
// go back to the head of their queue (invariant 2) or fail.
func (d *dispatcher) handle(a answer, now time.Time) {
	m, stream := d.p.cfg.Metrics, d.p.cfg.Stream
	if a.err != nil {
		m.errorsByCode.WithLabelValues(stream, errorCode(a.err)).Inc()
		m.allErrors.WithLabelValues(stream).Inc()
	}
	for i, e := range a.entries {
		e.q.busy = false
		err := a.err
		if err == nil {
			res := a.out.Records[i]
			if res.ErrorCode == nil {
				shard := aws.ToString(res.ShardId)
				m.kinesisRecordsPut.WithLabelValues(stream, shard).Inc()
				m.kinesisRecordsDataPut.WithLabelValues(stream, shard).Add(float64(e.size()))
				if shard != e.q.shard.ID {
					d.refresh = true // the map is out of date
					if e.aggregated && d.aborted == nil {
						// Done only once the new map shows KCL reads it
						// (see the invariants above).
						d.misplaced = append(d.misplaced, misplaced{e: e, shardID: shard, seqNum: aws.ToString(res.SequenceNumber)})
						continue
					}
				}
				d.stored(e, shard, aws.ToString(res.SequenceNumber))
				continue
			}
			err = &entryError{code: aws.ToString(res.ErrorCode), message: aws.ToString(res.ErrorMessage)}
			m.errorsByCode.WithLabelValues(stream, aws.ToString(res.ErrorCode)).Inc()
			m.allErrors.WithLabelValues(stream).Inc()
			if aws.ToString(res.ErrorCode) == "ProvisionedThroughputExceededException" {
				e.q.limiter.throttled(now)
			}
		}
		for _, pd := range e.recs {
			pd.lastErr = err
		}
		if d.aborted != nil {
			for _, pd := range e.recs {
				d.finish(pd, Result{Attempts: pd.attempts, Err: fmt.Errorf("producer: closed before the record was stored: %w", err)})
			}
			continue
		}
		if a.err != nil && len(a.entries) > 1 && invalid(a.err) {
			// Refused whole for one entry, perhaps not this one: each
			// entry goes again alone, before anything after it.
			e.q.isolate = true
			if e.frozen {
				e.q.frozen = append([]entry{e}, e.q.frozen...)
			} else {
				e.q.pushFront(e.recs)
			}
			continue
		}
		if !retryable(err) {
			for _, pd := range e.recs {
				d.finish(pd, Result{Attempts: pd.attempts, Err: err})
			}
			continue
		}
		// Back to the head (invariant 2). When the answer was lost the
		// entry may be stored already: sending it again keeps the order
		// (the copy lands before anything later of its key). With IDs it
		// is frozen, so that Tributary recognises the copy; without, it
		// may be stored twice.
		if e.frozen || (e.ids && uncertain(err)) {
			e.frozen = true
			e.q.frozen = append([]entry{e}, e.q.frozen...)
		} else {
			e.q.pushFront(e.recs)
		}
		e.q.retryAt = now.Add(backoff(d.p.cfg.RetryDelay, e.recs[0].attempts))
	}
}

// stored finishes the records of an entry stored at shard and seqNum.
func (d *dispatcher) stored(e entry, shard, seqNum string) {
	for j, pd := range e.recs {
		r := Result{ShardID: shard, SequenceNumber: seqNum, Attempts: pd.attempts}
		if e.aggregated {
			r.SubSequenceNumber, r.Aggregated = j, true
		}
		d.finish(pd, r)
	}
}

func (d *dispatcher) finish(pd *pending, res Result) {
	pd.fut.res = res
	close(pd.fut.done)
	d.queued--
	d.sm.pending.Dec()
	d.sm.retries.Observe(float64(max(pd.attempts-1, 0)))
	if res.Err == nil {
		d.sm.recordsPut(res.ShardID).Inc()
	}
	d.p.release(pd)
	d.flushes = slices.DeleteFunc(d.flushes, func(f *flushWait) bool {
		if pd.seq > f.upTo {
			return false
		}
		f.left--
		if f.left == 0 {
			close(f.done)
			return true
		}
		return false
	})
}

// flushWait is a Flush call's wait.
type flushWait struct {
	upTo uint64
	left int
	done chan struct{}
}

// entryError is a PutRecords entry's failure.
type entryError struct{ code, message string }

func (e *entryError) Error() string { return e.code + ": " + e.message }

// ErrorCode is the entry's ErrorCode, as smithy.APIError has it.
func (e *entryError) ErrorCode() string { return e.code }

func (q *shardQueue) empty() bool { return len(q.frozen) == 0 && len(q.recs) == 0 }

// ids reports whether records carry their IDs.
func (d *dispatcher) ids() bool { return !d.p.cfg.DisableIDs && !d.p.cfg.DisableAggregation }

func (q *shardQueue) push(pd *pending) {
	q.recs = append(q.recs, pd)
	q.bytes += pd.size
}

// pushFront puts recs, taken from the head, back at the head.
func (q *shardQueue) pushFront(recs []*pending) {
	q.recs = append(slices.Clone(recs), q.recs...)
	for _, pd := range recs {
		q.bytes += pd.size
	}
}

// take removes the first n records.
func (q *shardQueue) take(n int) {
	for _, pd := range q.recs[:n] {
		q.bytes -= pd.size
	}
	q.recs = q.recs[n:]
}

// buildEntry makes the next entry of q from its head: the KPL aggregate of
// as many of its next records as fit in AggregationMaxSize, in Put order,
// or the head alone when aggregation is off, when the head is too large
// to aggregate, or when only one record would be in it and records carry
// no IDs (with IDs, one record is aggregated too, to carry its ID). The
// aggregate is put with the head's partition key and hash key, so it
// lands in the head's shard, which the map predicts for every record of
// the queue.
func (d *dispatcher) buildEntry(q *shardQueue) entry {
	head := q.recs[0]
	alone := entry{q: q, recs: q.recs[:1:1], pk: head.rec.PartitionKey, ehk: head.rec.ExplicitHashKey, data: head.rec.Data}
	ids := d.ids()
	if d.p.cfg.DisableAggregation || (len(q.recs) == 1 && !ids) {
		return alone
	}
	agg := kpl.NewAggregator(d.p.cfg.AggregationMaxSize, len(head.rec.PartitionKey))
	var tags [1]kpl.Tag
	n := 0
	for _, pd := range q.recs {
		r := kpl.Record{PartitionKey: pd.rec.PartitionKey, ExplicitHashKey: pd.rec.ExplicitHashKey, Data: pd.rec.Data}
		if ids {
			tags[0] = pd.idTag
			r.Tags = tags[:]
		}
		if agg.Add(r) != nil {
			break // full, or this record is too large to aggregate: it goes next
		}
		n++
	}
	if n == 0 || (n == 1 && !ids) {
		return alone
	}
	return entry{q: q, recs: q.recs[:n:n], aggregated: true, ids: ids, pk: head.rec.PartitionKey, ehk: head.hash.String(), data: agg.Bytes()}
}

// errorCode names a failed request's error for ErrorsByCode: the AWS
// error code, or "Timeout" or "Transport" when there was no answer.
func errorCode(err error) string {
	var api interface{ ErrorCode() string }
	switch {
	case errors.As(err, &api):
		return api.ErrorCode()
	case errors.Is(err, context.DeadlineExceeded):
		return "Timeout"
	}
	return "Transport"
}
