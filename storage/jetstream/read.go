package jetstream

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/nats-io/nats.go"

	"github.com/tributary-io/tributary/storage"
)

// Direct gets bring messages in pages: at most readPageMsgs messages and
// about readPageBytes bytes a round trip (always at least one message).
const (
	readPageMsgs  = 256
	readPageBytes = 4 << 20
)

// cutoff is the oldest arrival time retention keeps at the engine's clock:
// a record is kept while arrival >= cutoff.
func (st *logState) cutoff(t tail) int64 {
	if t.entry.Retention <= 0 {
		return math.MinInt64
	}
	return st.e.now().UnixMilli() - t.entry.Retention.Milliseconds()
}

// next returns the first message of the subject at or after seq. upTo is
// a sequence the subject is known to hold (upTo): an answer of "none" at
// or before it comes from a replica that is behind, and is asked again.
func (st *logState) next(ctx context.Context, seq, upTo uint64) (decoded, bool, error) {
	msg, found, err := st.nextMsg(ctx, seq, upTo)
	if err != nil || !found {
		return decoded{}, false, err
	}
	got, err := msgSeq(msg)
	if err != nil {
		return decoded{}, false, err
	}
	d, err := decode(st.subject, got, msg.Data)
	return d, err == nil, err
}

// nextMsg is next's message as the replica sent it.
func (st *logState) nextMsg(ctx context.Context, seq, upTo uint64) (*nats.Msg, bool, error) {
	seq = max(seq, 1)
	for wait := retryFirst; ; wait = min(2*wait, retryMax) {
		msg, found, err := st.e.getOne(ctx, st.stream, getRequest{Seq: seq, NextFor: st.subject})
		if err != nil {
			return nil, false, err
		}
		if found || seq > upTo {
			return msg, found, nil
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, false, fmt.Errorf("a replica of %s stays behind sequence %d: %w", st.stream, upTo, err)
		}
	}
}

// firstKept returns the sequence of the first message at or after fromSeq
// that is not a batch older than minArrival, or 0 when there is none.
func (st *logState) firstKept(ctx context.Context, fromSeq uint64, minArrival int64, t tail) (uint64, error) {
	d, ok, err := st.firstKeptMsg(ctx, fromSeq, minArrival, t)
	if err != nil || !ok {
		return 0, err
	}
	return d.seq, nil
}

// firstKeptMsg returns the first message at or after fromSeq that is not a
// batch older than minArrival. Arrival times never decrease along a
// subject, so "the first message at or after s is kept" is false and then
// true as s grows: a binary search over sequences finds it in O(log n)
// direct gets, without scanning the log or keeping an index of times. The
// common case, nothing expired, costs one.
func (st *logState) firstKeptMsg(ctx context.Context, fromSeq uint64, minArrival int64, t tail) (decoded, bool, error) {
	kept := func(d decoded) bool { return d.batch == nil || d.batch.arrival >= minArrival }
	upTo := st.upTo(t)
	d, ok, err := st.next(ctx, fromSeq, upTo)
	if err != nil || !ok || kept(d) {
		return d, ok, err
	}
	// The answer is in [lo, hi]; hi past the tail stands for "none".
	lo, hi := d.seq+1, max(t.lastSeq, d.seq)+1
	var found decoded
	for lo < hi {
		mid := lo + (hi-lo)/2
		d, ok, err := st.next(ctx, mid, upTo)
		if err != nil {
			return decoded{}, false, err
		}
		if !ok || kept(d) {
			hi, found = mid, d
		} else {
			lo = mid + 1
		}
	}
	if found.seq != 0 && found.seq >= lo {
		// The probe at lo found it already (the first message at or
		// after lo, and it is kept).
		return found, true, nil
	}
	d, ok, err = st.next(ctx, lo, upTo)
	if err != nil || !ok || !kept(d) {
		return decoded{}, false, err
	}
	return d, true, nil
}

// Read returns records from start, bounded by limits.
func (l *shardLog) Read(ctx context.Context, start storage.Start, limits storage.ReadLimits) (storage.ReadResult, error) {
	st := l.st
	if err := l.check(); err != nil {
		return storage.ReadResult{}, l.fail("read", err)
	}
	lead, err := st.refresh(ctx)
	if err != nil {
		return storage.ReadResult{}, l.fail("read", err)
	}
	before := st.snapshot()
	// In a cluster a read returns nothing past the leader's last message
	// as refresh found it: a follower may apply a committed message before
	// the leader does, and a record read there could be past what the
	// leader tells the next read, whose Next would then go back to before
	// it (and its reader read it twice). Whatever a reader saw, the
	// leader has applied, and its answers only grow. Single node, the one
	// store is the leader.
	capSeq, endPos := uint64(math.MaxUint64), before.lastPos
	if st.e.cluster != nil {
		capSeq, endPos = lead.seq, lead.lastPos
	}
	minArrival := st.cutoff(before)
	var fromPos uint64
	switch start.Kind {
	case storage.FromOldest:
	case storage.FromPosition:
		fromPos = start.Position
	case storage.FromTime:
		minArrival = max(minArrival, start.Time)
	case storage.FromLatest:
		fromPos = math.MaxUint64
	default:
		return storage.ReadResult{}, fmt.Errorf("jetstream: read %q: unknown start kind %d", st.name, start.Kind)
	}
	var recs []storage.StoredRecord
	if fromPos != math.MaxUint64 {
		first, ok, err := st.firstKeptMsg(ctx, seqOf(fromPos), minArrival, before)
		if err != nil {
			return storage.ReadResult{}, l.fail("read", err)
		}
		if ok && first.seq <= capSeq {
			if recs, err = st.scan(ctx, first, fromPos, minArrival, limits, min(st.upTo(before), capSeq), capSeq); err != nil {
				return storage.ReadResult{}, l.fail("read", err)
			}
		}
	}

	after := st.snapshot()
	if after.deleted {
		return storage.ReadResult{}, l.fail("read", storage.ErrNotFound)
	}
	res := storage.ReadResult{Records: recs, LastPosition: after.lastPos, LastArrival: after.lastArrival}
	if n := len(recs); n > 0 {
		noteMax(&st.readPos, recs[n-1].Position)
		res.Next = recs[n-1].Position + 1
		// An append may be stored before its writer moves the tail.
		res.LastPosition = max(res.LastPosition, recs[n-1].Position)
		res.LastArrival = max(res.LastArrival, recs[n-1].ArrivalTime)
	} else {
		// Nothing at or after fromPos now, so the next record lands after
		// the tail read before looking, whatever fromPos was.
		res.Next = endPos + 1
		if start.Kind == storage.FromPosition && fromPos > res.Next {
			// The cached tail may lag records already stored (a writer
			// moves it after its publish returns) that this reader has
			// read: going back to it would read them twice. The subject's
			// true last position bounds Next instead.
			last, err := st.storedLastPos(ctx)
			if err != nil {
				return storage.ReadResult{}, l.fail("read", err)
			}
			// The answer may lag records this engine already read from
			// a replica (a stream leader just elected that has not
			// applied every entry yet, presumably): once, during a
			// drain, TestClusterDrainAndAdd saw a reader sent back to
			// the record it had just read. The highest position read,
			// a stored record, bounds Next too.
			last = max(last, st.readPos.Load())
			res.Next = max(res.Next, min(fromPos, last+1))
		}
	}
	res.Sealed = after.sealed && res.Next > after.lastPos
	return res, nil
}

// scan collects the records of first and the messages after it, skipping
// those before fromPos or older than minArrival, until limits or a marker;
// the subject is known to hold upTo, so a replica that runs out before it
// is asked again (upTo). Messages after capSeq end the read.
func (st *logState) scan(ctx context.Context, first decoded, fromPos uint64, minArrival int64, limits storage.ReadLimits, upTo, capSeq uint64) ([]storage.StoredRecord, error) {
	maxRecords := max(limits.MaxRecords, 1)
	var (
		recs []storage.StoredRecord
		size int
		done bool
		// msgs and taken count the messages and records seen, to size
		// the next page: a message holds a whole batch, so asking for one
		// message per record wanted would fetch far too much.
		msgs, taken int
	)
	// take adds the records of d; it returns false once the read is
	// complete.
	take := func(d decoded) (bool, error) {
		if d.seq > capSeq {
			done = true
			return false, nil
		}
		if d.marker != nil {
			if d.marker.kind == kindTombstone {
				return false, storage.ErrNotFound
			}
			done = true // nothing follows a seal
			return false, nil
		}
		msgs++
		taken += d.batch.count
		if d.batch.arrival < minArrival || position(d.seq, d.batch.count-1) < fromPos {
			return true, nil
		}
		if d.batch.encrypted && d.batch.records == nil {
			if err := st.e.openBatch(ctx, st.subject, d.seq, d.batch); err != nil {
				return false, err
			}
		}
		for i, r := range d.batch.records {
			pos := position(d.seq, i)
			if pos < fromPos {
				continue
			}
			n := len(r.Key) + len(r.Data)
			if len(recs) > 0 && limits.MaxBytes > 0 && size+n > limits.MaxBytes {
				done = true
				return false, nil
			}
			recs = append(recs, storage.StoredRecord{Record: r, Encrypted: d.batch.encrypted, Position: pos, ArrivalTime: d.batch.arrival})
			size += n
			if len(recs) == maxRecords {
				done = true
				return false, nil
			}
		}
		return true, nil
	}
	if more, err := take(first); err != nil || !more {
		return recs, err
	}
	wait := retryFirst
	for seq := first.seq + 1; !done; {
		budget := readPageBytes
		if limits.MaxBytes > 0 {
			budget = min(budget, limits.MaxBytes-size+msgOverhead)
		}
		perMsg := max(taken/msgs, 1)
		want := (maxRecords-len(recs)+perMsg-1)/perMsg + 1
		req := getRequest{Seq: seq, NextFor: st.subject, Batch: min(want, readPageMsgs), MaxBytes: budget}
		var last uint64
		pending, err := st.e.getBatch(ctx, st.stream, req, func(mseq uint64, msg *nats.Msg) (bool, error) {
			d, err := decode(st.subject, mseq, msg.Data)
			if err != nil {
				return false, err
			}
			last = mseq
			return take(d)
		})
		if err != nil {
			return nil, err
		}
		if last != 0 {
			seq, wait = last+1, retryFirst
		}
		if pending == 0 && !done {
			if seq > upTo {
				break // the end, as the leader had it when the read began
			}
			// The replica has nothing past seq yet: it is behind.
			if err := sleep(ctx, wait); err != nil {
				return nil, fmt.Errorf("a replica of %s stays behind sequence %d: %w", st.stream, upTo, err)
			}
			wait = min(2*wait, retryMax)
		}
	}
	return recs, nil
}

// upTo is the sequence reads must find in the store for the tail t: its
// last message's, which is never purged. Single node, the one store is
// the one that acknowledged every write, and reads need not check.
func (st *logState) upTo(t tail) uint64 {
	if st.e.cluster == nil {
		return 0
	}
	return t.lastSeq
}

// refresh moves the tail to the subject's last message as a replica has
// it that applied a barrier published after refresh began, so that a read
// sees every write acknowledged before it began, through whichever node,
// even while a leader cut off with a minority still answers (barrier.go);
// and it loads the log's entry from the bucket's leader (loadEntry), so
// that it applies a retention set through another node. The two go to
// different streams at once. A single node's tail moves with each write
// before its acknowledgement, and its entry with each change: it needs
// neither.
//
// It returns the subject's last message as confirmed (zero on a single
// node, or when the subject holds none): a read goes no further.
func (st *logState) refresh(ctx context.Context) (leaderTail, error) {
	if st.e.cluster == nil {
		return leaderTail{}, nil
	}
	entryErr := make(chan error, 1)
	go func() { entryErr <- st.loadEntry(ctx) }()
	lead, err := st.refreshTail(ctx)
	return lead, errors.Join(err, <-entryErr)
}

// leaderTail is the subject's last message as refresh confirmed it: its
// sequence and the last position it carries (zero: none).
type leaderTail struct{ seq, lastPos uint64 }

// refreshTail is refresh's half for the tail.
func (st *logState) refreshTail(ctx context.Context) (leaderTail, error) {
	ctx, cancel := context.WithTimeout(ctx, readBudget)
	defer cancel()
	b, err := st.e.confirm(ctx, st.stream, st.barrier)
	if err != nil {
		return leaderTail{}, err
	}
	msg, found, err := st.lastAfter(ctx, b)
	if err != nil || !found {
		return leaderTail{}, err
	}
	return st.observeLast(msg)
}

// peek moves the tail to the subject's last message as the stream's
// leader has it: cheaper than refresh, for a waiter that only needs to
// notice a write it was not told of (Wait), not to exclude a stale answer.
func (st *logState) peek(ctx context.Context) error {
	msg, found, err := st.e.lastFor(ctx, st.stream, st.subject)
	if err != nil || !found {
		return err
	}
	_, err = st.observeLast(msg)
	return err
}

// observeLast moves the tail to msg, the subject's last message.
func (st *logState) observeLast(msg *nats.Msg) (leaderTail, error) {
	seq, err := msgSeq(msg)
	if err != nil {
		return leaderTail{}, err
	}
	d, err := decode(st.subject, seq, msg.Data)
	if err != nil {
		return leaderTail{}, err
	}
	m := markOf(d)
	st.observe(seq, m)
	if d.marker != nil && d.marker.kind == kindTombstone {
		st.e.forget(st)
	}
	lead := leaderTail{seq: seq, lastPos: m.n}
	if m.kind == kindBatch {
		lead.lastPos = position(seq, int(m.n)-1)
	}
	return lead, nil
}

// storedLastPos is the position of the subject's last record as stored,
// which the cached tail may not show yet.
func (st *logState) storedLastPos(ctx context.Context) (uint64, error) {
	msg, found, err := st.e.lastFor(ctx, st.stream, st.subject)
	if err != nil || !found {
		return 0, err
	}
	seq, err := msgSeq(msg)
	if err != nil {
		return 0, err
	}
	d, err := decode(st.subject, seq, msg.Data)
	if err != nil {
		return 0, err
	}
	if d.batch != nil {
		return position(seq, d.batch.count-1), nil
	}
	return d.marker.lastPos, nil
}

// noteMax raises v to x if x is higher.
func noteMax(v *atomic.Uint64, x uint64) {
	for {
		old := v.Load()
		if x <= old || v.CompareAndSwap(old, x) {
			return
		}
	}
}
