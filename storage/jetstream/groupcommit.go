package jetstream

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tributary-io/tributary/storage"
)

// Group commit. Each JetStream message costs a replicated, fsynced write
// and the fence (publish) lets a log have only one in flight, so appends
// that arrive while a message is being stored wait, and the next message
// carries them all: records of the first, then the second, ..., one
// arrival time. Their positions are position(seq, offset+i), contiguous per
// append as before. There is no goroutine per log: an append that finds no
// publisher publishes itself, and a publisher hands the role to the first
// queued append when its message is stored (or failed).

// pendingAppend is one Append in its log's queue.
type pendingAppend struct {
	ctx   context.Context
	body  []byte // encodeBatch's, arrival to be set
	count int
	now   int64 // the engine's clock when the append began, Unix ms
	// req is the write it is part of, for the stall watch (stall.go):
	// counted queued when it joins (the Append counts its return).
	req *request

	// wake is closed once, when the append is answered or made the
	// publisher, after the fields below are set; a publisher is never
	// woken again (it reads its own answer). lead and taken are under the
	// queue's mu; app and err are set by take (ctx ended) or by the
	// publisher of the append's message, and read after wake.
	wake  chan struct{}
	lead  bool // its caller publishes the next message
	taken bool // in a message being published: its fate is that message's
	app   []storage.Appended
	err   error
}

// Lingering. With one message in flight per log, the appends that arrive
// while it is stored share the next; but writers whose appends were
// answered together come back at slightly different times, and the first
// would find the log idle and go alone, the others queueing behind it.
// Four producers of PutRecords on 16 shards then make messages of 1.4 to
// 1.6 appends, where one message could carry all four: on a cluster the
// cost is mostly per message and per Raft round, so that halves ingest.
// So a publisher waits, up to the engine's groupWait, until as many
// appends are queued as were in the system when the log's last message
// was answered: the appends it carried (their writers may come back) and
// those queued behind it (expect). Writers answered together are then
// stored together again, and the two cohorts of the example merge into
// one. A lone writer's messages carry one append, so it never waits; a
// writer gone away costs one wait, after which expect is what came.
//
// What it costs: calls that arrive at a steady rate, not in answer to the
// last, are not a group coming back, but expect counts them as one, and
// the publisher would wait for as many new arrivals each time. So the
// wait adapts: one that ends with the queue still short halves the next
// (down to minWait); one that ends with it enough doubles it, up to
// groupWait. At 1,000 single puts a second on one shard (32 in flight)
// the waits time out and shrink, and the puts' latency is what it is
// without waiting; four producers of PutRecords come back within the
// wait and keep it. The wait must outlast a Raft round for two cohorts
// to merge: with 10 ms on a busy machine they did not, and stayed apart.
// Where it still costs: a few calls in flight at a slow steady rate (say
// four at 200 a second, which fill the queue in 15 ms) can fill it just
// within groupWait each time, and each message then waits that long.
// Lingers of different logs can also wait on each other (writers of a
// PutRecords to several shards come back only once all its shards are
// answered): the engine notices when they all do and ends them at once,
// without shrinking their waits (stall.go).

// appendQueue holds a log's appends waiting for a message.
//
// Invariant: busy is false only when waiting is empty; while busy, exactly
// one append's caller is the publisher and, when it is done, the head of
// waiting (if any) becomes the next.
type appendQueue struct {
	mu      sync.Mutex
	busy    bool
	waiting []*pendingAppend
	// expect is how many appends were in the queue or its last message
	// when that message was answered; full, when not nil, is closed by
	// the join that makes the queue enough (lingering publisher).
	expect int
	full   chan struct{}
	// wait is how long the next linger may last (0: not yet set).
	wait time.Duration
	// stalls is the engine's (stall.go): it counts this queue's
	// publisher as moving while it does not linger. ticket is the
	// linger under way, until it is counted ended (by the join that
	// fills the queue, or by the linger itself).
	stalls *stallWatch
	ticket *lingerTicket
}

// minWait is the least a linger waits once its waits have been halved:
// about what a writer answered a moment ago takes to come back on one
// machine, so that a log whose writers return as a group finds them again.
const minWait = 100 * time.Microsecond

// join queues p and reports whether its caller is the publisher.
func (q *appendQueue) join(p *pendingAppend) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.waiting = append(q.waiting, p)
	if q.full != nil && q.enough() {
		close(q.full)
		q.full = nil
		q.endLinger()
	}
	lead := !q.busy
	if lead {
		q.busy, p.lead = true, true
		q.stalls.moved(1)
	}
	// Under q.mu, so that its answer and return cannot come first; and
	// last, so that the check it makes sees the publisher this join
	// woke or made as moving.
	q.stalls.change(p.req, queued)
	return lead
}

// lingerEnd is how a linger ended.
type lingerEnd int

const (
	lingerNone     lingerEnd = iota // did not wait: the queue was enough, or no wait is allowed
	lingerFilled                    // the queue became enough
	lingerTimedOut                  // the wait ran out
	lingerStalled                   // every linger waited on the others (stall.go)
	lingerGaveUp                    // the publisher's ctx ended
)

// linger waits, until ctx ends or for at most the log's current wait
// (up to limit), for the queue to be enough (see Lingering), or until
// the engine stalls (stall.go). A wait that ends with the queue still
// short halves the next; one that ends with it enough doubles it, up to
// limit; a stall leaves it as it was. The caller must be the publisher,
// not holding the log's mu: a Seal must not wait for it.
func (q *appendQueue) linger(ctx context.Context, limit time.Duration) lingerEnd {
	q.mu.Lock()
	if limit <= 0 || q.enough() {
		q.mu.Unlock()
		return lingerNone
	}
	if q.wait <= 0 || q.wait > limit {
		q.wait = limit
	}
	full := make(chan struct{})
	q.full = full
	d := q.wait
	q.ticket = q.stalls.lingerBegins()
	stalled := q.ticket.stalled
	q.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	var end lingerEnd
	select {
	case <-full:
		end = lingerFilled
	case <-t.C:
		end = lingerTimedOut
	case <-stalled:
		end = lingerStalled
	case <-ctx.Done(): // the caller gave up: says nothing of the others
		end = lingerGaveUp
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.full == full {
		q.full = nil
	}
	q.endLinger()
	switch end {
	case lingerFilled:
		q.wait = min(2*q.wait, limit)
	case lingerTimedOut:
		q.wait = max(q.wait/2, minWait)
	}
	return end
}

// endLinger counts the queue's linger as ended, once. q.mu must be held.
func (q *appendQueue) endLinger() {
	if q.ticket != nil {
		q.stalls.lingerEnds(q.ticket)
		q.ticket = nil
	}
}

// leave takes p out of the queue after its ctx ended, and reports whether
// its caller should return ctx's error: false when p was woken meanwhile
// (answered, or made the publisher, which it must then act as).
// An append already in a message stays in it: the others in that message
// still get their answer, this caller gets ctx's error.
func (q *appendQueue) leave(p *pendingAppend) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	select {
	case <-p.wake:
		return false
	default:
	}
	if !p.taken {
		q.waiting = slices.DeleteFunc(q.waiting, func(w *pendingAppend) bool { return w == p })
	}
	return true
}

// enough reports whether the queue holds as many appends as expected, or
// as many records or bytes as a message takes. q.mu must be held.
func (q *appendQueue) enough() bool {
	if len(q.waiting) >= q.expect {
		return true
	}
	var records, size int
	for _, p := range q.waiting {
		records += p.count
		size += len(p.body)
	}
	return records >= maxBatch || size >= maxPayload-msgOverhead
}

// take removes from the head of the queue the appends the next message
// carries: as many as fit in maxBatch records and maxPayload-msgOverhead
// bytes (a joined body is never longer than the sum of its parts). An
// append whose ctx ended is answered with its error instead: it was not
// sent. The caller must be the publisher.
func (q *appendQueue) take() []*pendingAppend {
	q.mu.Lock()
	defer q.mu.Unlock()
	var (
		msg           []*pendingAppend
		records, size int
		n             int // how many leave the queue
	)
	for _, p := range q.waiting {
		if err := p.ctx.Err(); err != nil {
			q.answer(p, nil, err)
			n++
			continue
		}
		if len(msg) > 0 && (records+p.count > maxBatch || size+len(p.body) > maxPayload-msgOverhead) {
			break
		}
		p.taken = true
		msg = append(msg, p)
		records += p.count
		size += len(p.body)
		n++
	}
	q.waiting = slices.Delete(q.waiting, 0, n)
	return msg
}

// answer sets p's result and wakes it. q.mu must be held.
func (q *appendQueue) answer(p *pendingAppend, app []storage.Appended, err error) {
	p.app, p.err = app, err
	if !p.lead {
		close(p.wake)
	}
}

// done answers the appends of a message (their app and err set by the
// publisher) and hands the publisher's role on. The caller must be the
// publisher, and publishes nothing more.
func (q *appendQueue) done(msg []*pendingAppend) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, p := range msg {
		q.answer(p, p.app, p.err)
	}
	q.expect = len(msg) + len(q.waiting)
	if len(q.waiting) == 0 {
		q.busy = false
		q.stalls.moved(-1)
		return
	}
	next := q.waiting[0]
	next.lead = true
	close(next.wake)
}

// untilAllDone returns a context with the values of msg's first append's
// that ends only once every append's ctx in msg has ended: one caller
// giving up must not abandon the message the others wait for.
func untilAllDone(msg []*pendingAppend) (context.Context, context.CancelFunc) {
	if len(msg) == 1 {
		return msg[0].ctx, func() {}
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(msg[0].ctx))
	var left atomic.Int64
	left.Store(int64(len(msg)))
	stops := make([]func() bool, len(msg))
	for i, p := range msg {
		stops[i] = context.AfterFunc(p.ctx, func() {
			if left.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}
