package jetstream

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tributary-io/tributary/internal/datakey"
	"github.com/tributary-io/tributary/storage"
)

// logState is what the engine knows of one log. Handles share it.
type logState struct {
	e       *Engine
	name    string
	subject string
	stream  string
	// barrier is the subject of the stream's barriers (barrier.go).
	barrier string

	// mu serialises this engine's operations that write the subject or
	// the entry (Append, Seal, DeleteLog, SetRetention), so that they do
	// not make each other's expected last sequence wrong; a write from
	// elsewhere still can, and publish's check catches it. It is held
	// across the publish and its fsync.
	mu sync.Mutex
	// loaded is false until the tail fields below reflect the subject
	// (Engine.state loads it before handing the state out; CreateLog's
	// subject is empty). stale is set when a publish ended without telling
	// whether it landed, so the next writer reloads the tail first; until
	// then readers may not see that batch in LastPosition, nor Wait wake
	// for it. Both under mu.
	loaded, stale bool

	// q holds the appends waiting for the message being published.
	q appendQueue
	// dk is the data key of the log's sealed messages (crypt.go), under mu.
	dk *datakey.Key

	// tmu guards the fields readers look at, so that readers never wait
	// for a writer's fsync. The tail fields change only in observe (and
	// the entry in updateEntry, under mu too).
	tmu sync.Mutex
	// entry and rev are the log's entry in the logs bucket.
	entry logEntry
	rev   uint64
	// lastSeq is the sequence of the subject's last message (a batch or
	// a marker), the value the next write expects; zero when the subject
	// is empty.
	lastSeq uint64
	// lastPos and lastArrival describe the newest record ever appended
	// (the seal marker carries them once purges removed its batch).
	lastPos     uint64
	lastArrival int64
	sealed      bool
	deleted     bool
	// changed is closed and replaced whenever the tail moves, the log is
	// sealed or deleted: Wait's wake-up.
	changed chan struct{}

	// readPos is the highest position a Read through this engine
	// returned: a record known to be stored, which a later Read's Next
	// must not fall back below (read.go) even when the leader's answer
	// about the tail lags it.
	readPos atomic.Uint64
}

func newLogState(e *Engine, name string, entry logEntry, rev uint64) *logState {
	e.seePlacement(entry.Placement)
	return &logState{
		e: e, name: name, subject: entry.subject(), stream: streamName(entry.Placement), barrier: barrierSubject(entry.Placement),
		entry: entry, rev: rev, changed: make(chan struct{}), q: appendQueue{stalls: e.stalls},
	}
}

// tail is a consistent copy of the fields under tmu.
type tail struct {
	entry       logEntry
	lastSeq     uint64
	lastPos     uint64
	lastArrival int64
	sealed      bool
	deleted     bool
}

func (st *logState) snapshot() tail {
	st.tmu.Lock()
	defer st.tmu.Unlock()
	return tail{st.entry, st.lastSeq, st.lastPos, st.lastArrival, st.sealed, st.deleted}
}

// notify wakes the waiters. tmu must be held.
func (st *logState) notify() {
	close(st.changed)
	st.changed = make(chan struct{})
}

// loadTail reads the subject's last message and sets the tail from it.
// st.mu must be held.
func (st *logState) loadTail(ctx context.Context) error {
	// From the leader: a writer that expects a lagging replica's last
	// sequence would only be refused, again and again.
	msg, found, err := st.e.lastFor(ctx, st.stream, st.subject)
	if err != nil {
		return err
	}
	if !found {
		// The last message is never purged, so the subject is empty.
		st.loaded, st.stale = true, false
		return nil
	}
	seq, err := msgSeq(msg)
	if err != nil {
		return err
	}
	d, err := decode(st.subject, seq, msg.Data)
	if err != nil {
		return err
	}
	st.observe(seq, markOf(d))
	st.loaded, st.stale = true, false
	return nil
}

// observe moves the tail to the message at seq, described by m, unless
// the tail is past it already: the writer's acknowledgement, the stream's
// republication of the stored message (subscribe.go) and loadTail all
// report messages, in any order, some more than once.
func (st *logState) observe(seq uint64, m tailMark) {
	st.tmu.Lock()
	defer st.tmu.Unlock()
	if seq < st.lastSeq {
		return
	}
	st.lastSeq = seq
	switch m.kind {
	case kindBatch:
		st.lastPos, st.lastArrival = position(seq, int(m.n)-1), m.arrival
	case kindSeal:
		st.lastPos, st.lastArrival, st.sealed = m.n, m.arrival, true
	case kindTombstone:
		st.lastPos, st.lastArrival, st.deleted = m.n, m.arrival, true
	}
	st.notify()
}

// fence is publish's answer when the tail's last message is a marker that
// forbids a message of kind: after a tombstone nothing (ErrNotFound), after
// a seal anything but a tombstone (ErrSealed): a sealed log can still be
// deleted.
func (t tail) fence(kind byte) error {
	switch {
	case t.deleted:
		return storage.ErrNotFound
	case t.sealed && kind != kindTombstone:
		return storage.ErrSealed
	}
	return nil
}

// publish writes the message build makes from the tail as the subject's
// next message, moves the tail to it and returns its sequence. st.mu must
// be held.
//
// The fence: every message carries Nats-Expected-Last-Subject-Sequence, the
// sequence of the subject's last message as this writer knows it, and the
// stream stores it only if that is still the subject's last message when
// it applies it (in the stream's single order of writes, on the leader in
// a cluster). A writer that finds it is not reloads the last message and
// retries only if it is a batch: once a seal or tombstone marker is stored
// no writer ever expects a sequence before it, and none expects the
// marker's own sequence for a batch, since reading the marker ends its
// append with ErrSealed or ErrNotFound. So no batch is ever stored after a
// marker, whichever node it comes from. build is called again after a
// reload, so that the arrival time follows the tail.
//
// In a cluster, publish also makes sure that one call stores its message
// at most once, though it may send it several times (see send, findSent
// and settle), and it answers within writeBudget.
func (st *logState) publish(ctx context.Context, kind byte, build func(tail) ([]byte, tailMark)) (uint64, error) {
	if st.e.cluster != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, writeBudget)
		defer cancel()
	}
	// In a cluster, the ids of the messages this call sent, each with
	// the sequence it expected: a "wrong last sequence" answer is not
	// always the truth there (findSent), so before building the message
	// again publish looks for the ones it sent. unsettled is set when an
	// attempt's answer was lost, or when refusals keep coming while the
	// leader's word for the tail does not move (stuck): the look then
	// waits for a barrier first (settle).
	var (
		sent        map[string]uint64
		looked      map[uint64]bool
		unsettled   bool
		lastRefused uint64
		stuckSince  time.Time
	)
	// unknown is the error of a call that may have stored a message.
	unknown := func(err error) error {
		if len(sent) == 0 {
			return err
		}
		return fmt.Errorf("%w: %w", errUnknownFate, err)
	}
	for {
		settled := false
		if unsettled {
			seq, found, err := st.settle(ctx, sent, looked)
			if err != nil {
				st.stale = true
				return 0, unknown(err)
			}
			if found != nil {
				return st.found(seq, found)
			}
			// None of them is stored, and none can be any more: build
			// the message again, on the tail settle read.
			unsettled, settled, stuckSince = false, true, time.Time{}
		} else if st.stale || !st.loaded {
			if err := st.loadTail(ctx); err != nil {
				return 0, unknown(err)
			}
		}
		// One snapshot for the fence and the expected sequence: the
		// republication of another writer's seal may move the tail at any
		// moment, and a batch must never expect a marker's sequence.
		t := st.snapshot()
		if len(sent) > 0 && !settled {
			// Before sending again on top of the tail: is a message sent
			// earlier there? Then that one is this write, stored once;
			// and one landing later than the tail read would make the
			// next expect the wrong sequence, so at most one is stored.
			seq, found, err := st.findSent(ctx, sent, looked, t.lastSeq)
			if err != nil {
				return 0, unknown(err)
			}
			if found != nil {
				return st.found(seq, found)
			}
		}
		if err := t.fence(kind); err != nil {
			return 0, err
		}
		body, mark := build(t)
		msg := nats.NewMsg(st.subject)
		msg.Data = body
		msg.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(t.lastSeq, 10))
		msg.Header.Set(hdrTail, mark.String())
		ack, id, uncertain, err := st.e.send(ctx, msg)
		if err == nil {
			st.observe(ack.Sequence, mark)
			return ack.Sequence, nil
		}
		// The tail is unknown until reloaded (or until the stream
		// republishes what was stored).
		st.stale = true
		if !isWrongLast(err) {
			if uncertain {
				// Out of time while the stream had no leader answering.
				return 0, fmt.Errorf("%w: %w", errUnknownFate, err)
			}
			// An earlier round's message may yet be stored.
			return 0, unknown(err)
		}
		if st.e.cluster == nil {
			continue // someone else wrote the subject: reload, look again
		}
		if sent == nil {
			sent, looked = map[string]uint64{}, map[uint64]bool{}
		}
		sent[id] = t.lastSeq
		// Refused by a node that still took itself for the leader while
		// the leader stored it, or because an earlier attempt was stored
		// (a lost answer), or because someone else wrote the subject: the
		// next round looks for the ones sent, after a barrier if an
		// answer was lost. A refusal of the tail the leader's word gave
		// again, round after round, is a node taking itself for the
		// leader answering both (traced for 5 s after a pause ended): a
		// barrier gives the true tail, which no stale node can.
		// (Another writer's message still being stored refuses it too,
		// for milliseconds: hence the time before settling.)
		if t.lastSeq != lastRefused || stuckSince.IsZero() {
			lastRefused, stuckSince = t.lastSeq, time.Now()
		}
		unsettled = unsettled || uncertain || time.Since(stuckSince) >= stuckFor
		if !unsettled && st.awaitMove(ctx, t.lastSeq) {
			// The stream republished a later message (another writer's):
			// expect it at once rather than ask the leader, which would
			// leave this writer a round trip behind that one's next
			// write, every time (traced: a writer refused for 15 s by
			// one on another node writing the same shard).
			st.stale = false
		}
	}
}

// stuckFor is how long refusals of a tail the leader's word keeps giving
// last before an append settles with a barrier.
const stuckFor = 500 * time.Millisecond

// awaitMoveFor bounds awaitMove's wait: a republication arrives within
// about a round trip of the write's acknowledgement.
const awaitMoveFor = 20 * time.Millisecond

// awaitMove waits up to awaitMoveFor for the tail to move past seq (the
// stream's republication of a stored message, subscribe.go), and tells
// whether it did. A tail moved so is a stored message, which a write may
// expect; one that is no longer the last only gets the write refused.
func (st *logState) awaitMove(ctx context.Context, seq uint64) bool {
	timer := time.NewTimer(awaitMoveFor)
	defer timer.Stop()
	for {
		st.tmu.Lock()
		moved, changed := st.lastSeq > seq, st.changed
		st.tmu.Unlock()
		if moved {
			return true
		}
		select {
		case <-changed:
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// found moves the tail to msg, the message at seq that an earlier attempt
// of this call stored, and returns seq: the call's answer.
func (st *logState) found(seq uint64, msg *nats.Msg) (uint64, error) {
	d, err := decode(st.subject, seq, msg.Data)
	if err != nil {
		return 0, err
	}
	st.stale = true // others may have written after it
	st.observe(seq, markOf(d))
	return seq, nil
}

// send publishes msg. In a cluster it resends it while the stream has no
// leader (a node died and the others elect another, which takes seconds),
// with a message id: if an earlier send was stored after all, the stream
// answers the resend with that message's sequence rather than store it
// twice. Resends stop with ctx.
//
// The id does not settle every case: a "wrong last sequence" answer may
// come from a node that still takes itself for the leader, while the
// leader stores the message (or an earlier attempt of it, whose answer was
// lost, lands later). So send returns the id, and whether an attempt's
// answer was lost, for publish to look for it (findSent, settle) before
// taking that answer as "not stored".
func (e *Engine) send(ctx context.Context, msg *nats.Msg) (ack *jetstream.PubAck, id string, uncertain bool, err error) {
	if e.cluster == nil {
		ack, err = e.publishMsg(ctx, msg)
		return ack, "", false, err
	}
	var raw [12]byte
	_, _ = rand.Read(raw[:]) // crypto/rand.Read never fails
	id = hex.EncodeToString(raw[:])
	msg.Header.Set(jetstream.MsgIDHeader, id)
	for wait := retryFirst; ; wait = min(2*wait, retryMax) {
		// Each attempt waits a few seconds at most for its answer, so
		// that one sent to a leader that just died is resent in time.
		actx, acancel := context.WithTimeout(ctx, attemptTimeout)
		ack, err = e.publishMsg(actx, msg)
		acancel()
		if err == nil || !(retryable(err) || errors.Is(err, context.DeadlineExceeded)) || ctx.Err() != nil {
			return ack, id, uncertain, err
		}
		// No responders: no server took it. Anything else (a timeout, an
		// error from a stream between leaders) may have been stored.
		if !errors.Is(err, nats.ErrNoResponders) {
			uncertain = true
		}
		if sleep(ctx, wait) != nil {
			return nil, id, uncertain, err
		}
	}
}

// publishMsg sends one message to its stream and waits for the answer.
// Tests put faults between the engine and the server here.
func (e *Engine) publishMsg(ctx context.Context, msg *nats.Msg) (*jetstream.PubAck, error) {
	if e.faults != nil {
		if ack, err, handled := e.faults(ctx, msg); handled {
			return ack, err
		}
	}
	return e.js.PublishMsg(ctx, msg, jetstream.WithRetryAttempts(0))
}

// findSent looks for a message this call sent (sent: its id and the
// sequence it expected) among the subject's messages up to upTo, which the
// subject is known to hold: a publish answered "wrong last sequence" may
// have been stored all the same, when the answer came from a node that
// had not yet learnt it is no longer the leader (a node back from a
// partition or a pause answers from its stale store before the real
// leader's acknowledgement arrives).
//
// A message stored with expected sequence x is the subject's first
// message after x (the stream checks that x is the subject's last when it
// stores it), so for each x only that one message can be this call's:
// one direct get per expected sequence, not a scan; and once that
// message exists it never changes, so looked, which the caller keeps
// across rounds, remembers the sequences decided already.
func (st *logState) findSent(ctx context.Context, sent map[string]uint64, looked map[uint64]bool, upTo uint64) (uint64, *nats.Msg, error) {
	for _, x := range sent {
		if x >= upTo || looked[x] {
			continue
		}
		looked[x] = true
		msg, found, err := st.nextMsg(ctx, x+1, upTo)
		if err != nil {
			return 0, nil, err
		}
		if !found {
			continue // purged meanwhile
		}
		if _, ours := sent[msg.Header.Get(jetstream.MsgIDHeader)]; ours {
			seq, err := msgSeq(msg)
			if err != nil {
				return 0, nil, err
			}
			return seq, msg, nil
		}
	}
	return 0, nil, nil
}

// errUnknownFate says a write may or may not have been stored.
var errUnknownFate = errors.New("the write's answer was lost in a change of leader")

// writeBudget bounds an append in a cluster, resends, barrier and looks
// included: past it, the write's fate is reported unknown to the client
// (InternalFailure), which may retry it. Elections take 4 to 9 s; SDK
// clients wait far longer than 20 s for an answer.
const writeBudget = 20 * time.Second

// attemptTimeout bounds one send; a write's fsync on a busy disk is well
// under it, and a lost answer (a leader that died or is paused) is resent
// after it. A resend that finds the first still being stored is answered
// "duplicate pending", and sent again.
const attemptTimeout = 3 * time.Second

func isWrongLast(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) &&
		(apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// writeTombstone fences the subject for DeleteLog. st.mu must be held.
func (st *logState) writeTombstone(ctx context.Context) error {
	_, err := st.publish(ctx, kindTombstone, func(t tail) ([]byte, tailMark) {
		return encodeMarker(kindTombstone, t.lastPos, t.lastArrival), tailMark{kindTombstone, t.lastPos, t.lastArrival}
	})
	if errors.Is(err, storage.ErrNotFound) {
		return nil // a tombstone is there already
	}
	return err
}

// shardLog is a handle on a log.
type shardLog struct {
	st *logState
}

var _ storage.ShardLog = (*shardLog)(nil)

func (l *shardLog) Name() string { return l.st.name }

// check returns the error every method returns once the engine is closed
// or the log deleted.
func (l *shardLog) check() error {
	if l.st.e.isClosed() {
		return storage.ErrClosed
	}
	if l.st.snapshot().deleted {
		return storage.ErrNotFound
	}
	return nil
}

func (l *shardLog) fail(op string, err error) error {
	return l.st.e.fail(fmt.Sprintf("%s %q", op, l.st.name), err)
}

// Append appends the batch in one message, with the batches of the log's
// other appends queued meanwhile (groupcommit.go): atomic and contiguous by
// construction.
func (l *shardLog) Append(ctx context.Context, batch []storage.Record) ([]storage.Appended, error) {
	st := l.st
	// The queue counts the append queued (join), this its return.
	r, joined := st.e.stalls.begin(ctx), false
	defer func() {
		if joined {
			st.e.stalls.change(r, returned)
		} else {
			st.e.stalls.change(r, refused)
		}
	}()
	if err := ctx.Err(); err != nil {
		return nil, l.fail("append to", err)
	}
	if err := l.check(); err != nil {
		return nil, l.fail("append to", err)
	}
	if err := storage.ValidateBatch(batch); err != nil {
		return nil, l.fail("append to", err)
	}
	if len(batch) > maxBatch {
		return nil, l.fail("append to", fmt.Errorf("%w: %d records in one batch, the limit is %d", storage.ErrTooLarge, len(batch), maxBatch))
	}
	if n := batchSize(batch); n > maxPayload-msgOverhead {
		return nil, l.fail("append to", fmt.Errorf("%w: a batch of %d bytes, the limit is %d", storage.ErrTooLarge, n, maxPayload-msgOverhead))
	}
	if len(batch) == 0 {
		return l.appendNothing(ctx)
	}
	// Encoded before joining the queue: copying up to 64 MiB need not hold
	// up the log's other appenders. The arrival time is set in build.
	p := &pendingAppend{
		ctx: ctx, body: encodeBatch(0, 0, batch), count: len(batch),
		now: st.e.now().UnixMilli(), wake: make(chan struct{}), req: r,
	}
	joined = true
	if !st.q.join(p) {
		select {
		case <-p.wake:
		case <-ctx.Done():
			if st.q.leave(p) {
				return nil, l.fail("append to", ctx.Err())
			}
			// Woken meanwhile: answered, or the publisher now.
		}
	}
	if p.lead {
		l.publishQueued(ctx)
	}
	return p.app, p.err
}

// appendNothing is an empty Append: still refused on a sealed log, as a
// real one would be.
func (l *shardLog) appendNothing(ctx context.Context) ([]storage.Appended, error) {
	st := l.st
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := l.check(); err != nil {
		return nil, l.fail("append to", err)
	}
	if !st.loaded || st.stale {
		if err := st.loadTail(ctx); err != nil {
			return nil, l.fail("append to", err)
		}
	}
	if err := st.snapshot().fence(kindBatch); err != nil {
		return nil, l.fail("append to", err)
	}
	return []storage.Appended{}, nil
}

// publishQueued publishes the log's queued appends as one message, answers
// each and hands the publisher's role on (groupcommit.go). The caller must
// be the publisher.
//
// st.mu is held across the publish, as for every write of the subject, so
// every Append through this engine whose message is stored returns before
// a Seal takes st.mu, and one queued meanwhile meets the seal's fence.
func (l *shardLog) publishQueued(ctx context.Context) {
	st := l.st
	if end := st.q.linger(ctx, st.e.groupWait); end != lingerNone {
		st.e.metrics.lingers[end].Inc()
	}
	st.mu.Lock()
	// Taken under st.mu: what arrived while a Seal or another write held
	// it joins this message.
	msg := st.q.take()
	if len(msg) > 0 {
		l.publishBatch(msg)
	}
	st.mu.Unlock()
	st.q.done(msg)
}

// publishBatch publishes msg's appends as one message and sets each one's
// answer: its own positions, or the message's error (an unknown fate is
// every one's). st.mu must be held.
func (l *shardLog) publishBatch(msg []*pendingAppend) {
	st := l.st
	fail := func(err error) {
		err = l.fail("append to", err)
		for _, p := range msg {
			p.err = err
		}
	}
	if err := l.check(); err != nil {
		fail(err)
		return
	}
	var (
		bodies  = make([][]byte, len(msg))
		now     int64
		records int
	)
	for i, p := range msg {
		bodies[i] = p.body
		now = max(now, p.now)
		records += p.count
	}
	body := bodies[0]
	if len(msg) > 1 {
		body = joinBatches(bodies)
	}
	ctx, cancel := untilAllDone(msg)
	defer cancel()
	// Sealed under the key the entry names now: SetEncryption changes it
	// under st.mu, so every append that begins after it returns is
	// published by a publisher that sees it.
	dk, err := st.dataKey(ctx)
	if err != nil {
		fail(err)
		return
	}
	if dk != nil {
		if body, err = sealBatch(body, dk); err != nil {
			fail(err)
			return
		}
	}
	var arrival int64
	seq, err := st.publish(ctx, kindBatch, func(t tail) ([]byte, tailMark) {
		// A clock that steps back must not make arrival times decrease.
		arrival = max(now, t.lastArrival)
		binary.BigEndian.PutUint64(body[1:], uint64(arrival))
		return body, tailMark{kindBatch, uint64(records), arrival}
	})
	if err != nil {
		fail(err)
		return
	}
	st.e.metrics.groupRecords.Observe(float64(records))
	st.e.metrics.groupAppends.Observe(float64(len(msg)))
	offset := 0
	for _, p := range msg {
		p.app = make([]storage.Appended, p.count)
		for i := range p.app {
			p.app[i] = storage.Appended{Position: position(seq, offset+i), ArrivalTime: arrival}
		}
		offset += p.count
	}
}

// Seal writes the seal marker: see publish for why no batch can follow it.
// Appends' publishers hold st.mu across their publish, so every Append
// through this engine that succeeds has its message stored before Seal
// takes st.mu.
func (l *shardLog) Seal(ctx context.Context) (uint64, error) {
	st := l.st
	if err := l.check(); err != nil {
		return 0, l.fail("seal", err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := l.check(); err != nil {
		return 0, l.fail("seal", err)
	}
	_, err := st.publish(ctx, kindSeal, func(t tail) ([]byte, tailMark) {
		return encodeMarker(kindSeal, t.lastPos, t.lastArrival), tailMark{kindSeal, t.lastPos, t.lastArrival}
	})
	// ErrSealed: sealed already (by us earlier, or by another writer):
	// the same position again.
	if err != nil && !errors.Is(err, storage.ErrSealed) {
		return 0, l.fail("seal", err)
	}
	return st.snapshot().lastPos, nil
}

// waitRefresh is how often a waiter in a cluster asks the leader for the
// tail, in case a republication was lost.
const waitRefresh = time.Second

// Wait blocks until the log holds a record at or after p.
//
// Waiters are woken when the tail moves: by an append through this
// engine, or by the republished headers of a message another writer
// stored (subscribe.go).
func (l *shardLog) Wait(ctx context.Context, p uint64) error {
	st := l.st
	var refresh <-chan time.Time // never, single node
	if st.e.cluster != nil {
		t := time.NewTicker(waitRefresh)
		defer t.Stop()
		refresh = t.C
	}
	for {
		if err := l.check(); err != nil {
			return l.fail("wait on", err)
		}
		if err := ctx.Err(); err != nil {
			return l.fail("wait on", err)
		}
		st.tmu.Lock()
		lastPos, sealed, changed := st.lastPos, st.sealed, st.changed
		st.tmu.Unlock()
		if lastPos > 0 && lastPos >= p {
			return nil
		}
		if sealed {
			return l.fail("wait on", storage.ErrSealed)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return l.fail("wait on", ctx.Err())
		case <-st.e.closed:
			return l.fail("wait on", storage.ErrClosed)
		case <-refresh:
			// A republication is lost when the leader dies between
			// storing a message and republishing it: ask the leader.
			// Failing, it is asked again at the next tick.
			_ = st.peek(ctx)
		}
	}
}

// Info describes the log.
func (l *shardLog) Info(ctx context.Context) (storage.LogInfo, error) {
	st := l.st
	if err := l.check(); err != nil {
		return storage.LogInfo{}, l.fail("info of", err)
	}
	if _, err := st.refresh(ctx); err != nil {
		return storage.LogInfo{}, l.fail("info of", err)
	}
	if err := l.check(); err != nil { // deleted, the leader says
		return storage.LogInfo{}, l.fail("info of", err)
	}
	t := st.snapshot()
	info := storage.LogInfo{
		Name:          st.name,
		Created:       time.UnixMilli(t.entry.Created),
		Retention:     t.entry.Retention,
		LastArrival:   t.lastArrival,
		Sealed:        t.sealed,
		EncryptionKey: t.entry.EncryptionKey,
	}
	if t.sealed {
		info.SealedAt = t.lastPos
	}
	first, ok, err := st.firstKeptMsg(ctx, 0, st.cutoff(t), t)
	if err != nil {
		return storage.LogInfo{}, l.fail("info of", err)
	}
	// A marker first means no record is kept.
	if ok && first.batch != nil {
		info.FirstPosition, info.LastPosition = position(first.seq, 0), t.lastPos
	}
	if info.Bytes, err = st.bytes(ctx); err != nil {
		return storage.LogInfo{}, l.fail("info of", err)
	}
	return info, nil
}

// bytes estimates the subject's footprint: its share of the stream's
// messages times the stream's mean message size.
func (st *logState) bytes(ctx context.Context) (int64, error) {
	s, err := st.e.js.Stream(ctx, st.stream)
	if err != nil {
		return 0, err
	}
	si, err := s.Info(ctx, jetstream.WithSubjectFilter(st.subject))
	if err != nil {
		return 0, err
	}
	n := si.State.Subjects[st.subject]
	if n == 0 || si.State.Msgs == 0 {
		return 0, nil
	}
	return int64(n * si.State.Bytes / si.State.Msgs), nil
}

// SetRetention changes the retention in the log's entry.
func (l *shardLog) SetRetention(ctx context.Context, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("jetstream: set retention of %q: negative retention %v", l.st.name, d)
	}
	return l.updateEntry(ctx, "set retention of", func(le *logEntry) { le.Retention = d })
}

// SetEncryption changes the key the log's next messages are sealed under
// (crypt.go); an empty keyID stops sealing. It needs the engine's Keys to
// start, not to stop. Appends through this engine that begin after it
// returns follow it; in a cluster, appends through other nodes follow
// once their watch of the bucket delivers the change (watch.go), a round
// trip later.
func (l *shardLog) SetEncryption(ctx context.Context, keyID string) error {
	if keyID != "" && l.st.e.keys == nil {
		if err := l.check(); err != nil {
			return l.fail("set encryption of", err)
		}
		return l.fail("set encryption of", storage.ErrNoKeys)
	}
	return l.updateEntry(ctx, "set encryption of", func(le *logEntry) { le.EncryptionKey = keyID })
}

// updateEntry changes the log's entry with a compare-and-set on its
// revision in the logs bucket.
func (l *shardLog) updateEntry(ctx context.Context, op string, change func(*logEntry)) error {
	st := l.st
	if err := l.check(); err != nil {
		return l.fail(op, err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := l.check(); err != nil {
		return l.fail(op, err)
	}
	for {
		// In a cluster the entry held may be older than the bucket's
		// (changed through another node): the change applies to the
		// current one, whose revision the update must name.
		if st.e.cluster != nil {
			if err := st.loadEntry(ctx); err != nil {
				return l.fail(op, err)
			}
		}
		st.tmu.Lock()
		entry, rev := st.entry, st.rev
		st.tmu.Unlock()
		old := entry
		change(&entry)
		if entry == old {
			return nil
		}
		value, err := json.Marshal(entry)
		if err != nil {
			return l.fail(op, err)
		}
		newRev, err := st.e.logsKV.Update(ctx, logKey(st.name), value, rev)
		if isWrongLast(err) && st.e.cluster != nil {
			continue // changed through another node since the load
		}
		if err != nil {
			return l.fail(op, err)
		}
		st.tmu.Lock()
		st.entry, st.rev = entry, newRev
		st.tmu.Unlock()
		return nil
	}
}

// errOtherLog: the log's name is another log's now (it was deleted and
// created again), so the state, and the handles on it, name a deleted log.
var errOtherLog = fmt.Errorf("%w: the name is another log's now", storage.ErrNotFound)

// loadEntry reads the log's entry from the logs bucket's leader (kvGet)
// and keeps it if it is newer than the one held. Only a cluster needs it:
// there another node may change the entry (SetRetention, SetEncryption),
// and this node would otherwise go on applying the old retention and
// naming the old revision in its own updates, which the bucket refuses.
// A single node changes the entry only through this state. It fails with
// storage.ErrNotFound once the log is deleted, errOtherLog when its name
// is another log's.
func (st *logState) loadEntry(ctx context.Context) error {
	value, rev, err := st.e.kvGet(ctx, st.e.logsKV, logsBucket, logKey(st.name))
	if err != nil {
		return err
	}
	entry, err := decodeEntry(st.name, value)
	if err != nil {
		return err
	}
	return st.takeEntry(entry, rev)
}

// takeEntry keeps entry, the log's entry at revision rev, if it is newer
// than the one held (loadEntry, and the watch of watch.go). Revisions only
// grow; an older answer (a read racing this node's own update) must not
// undo what is held. It fails with errOtherLog when the entry is another
// log's under the same name.
func (st *logState) takeEntry(entry logEntry, rev uint64) error {
	st.tmu.Lock()
	defer st.tmu.Unlock()
	if entry.ID != st.entry.ID {
		return errOtherLog
	}
	if rev > st.rev {
		st.entry, st.rev = entry, rev
	}
	return nil
}
