package jetstream

import (
	"context"
	"sync"
	"time"
)

// Stalls: lingers that wait on each other.
//
// A linger (groupcommit.go) waits for the writers of its log's last
// message to come back. A writer whose PutRecords spans several shards
// comes back only once its appends to all of them are answered, so
// lingers can wait on each other: log X waits for writers A and B, whose
// appends wait in log Y's queue, whose linger waits for C and D, whose
// appends wait in X's. Nothing moves until a wait times out, and every
// timeout halves the log's next wait; with four producers on 16 shards
// that was enough to shrink every wait to minWait, where producers no
// longer meet and a cluster ingests at half its rate (docs/benchmarks.md,
// "Why the R3 ingest has two states").
//
// The engine can tell such a stall from a wait worth keeping. It counts
// the writes under way (a request: the appends one PutRecords announced
// through storage.Announcer, or a single Append), and the publishers not
// lingering (messages being stored, or about to be). When no publisher
// is moving and no request is still starting appends, every request
// under way is blocked in a lingering queue (or about to return from
// one, see begin): only writers outside the engine, whose last request
// returned, can still fill a linger. The
// engine does not know those writers, but it knows how many requests
// were under way at once lately (peak); when as many are blocked now,
// none is outside, and every linger ends at once. A stall is not a
// timeout: the waits keep their length, so the cohorts, answered
// together once the lingers end, merge again.
//
// Guessing wrong costs what a timeout costs, sooner: a message with
// fewer appends, and (begin) it is sometimes worth it. No write depends
// on it.

// peakWindow is how long a peak of requests under way is remembered: a
// producer that went away is forgotten after one to two windows. Tests
// whose steps take longer than that set a longer one (stallWatch.window).
const peakWindow = time.Second

// request is one write under way: the appends of one announced
// PutRecords, or a single Append.
type request struct {
	toJoin int // appends not yet queued (or ended without queueing)
	out    int // appends queued and not yet returned
	// starting and active are how the watch counts it now.
	starting, active bool
}

type requestKey struct{}

// stallWatch finds stalls (see above). Its methods are safe on a nil
// watch, which finds none: tests build queues without an engine.
type stallWatch struct {
	mu sync.Mutex
	// moving is the number of publishers not lingering; lingering the
	// number lingering, which wait on stalled.
	moving, lingering int
	stalled           chan struct{}
	gen               uint64 // stalls so far
	// starting is the number of requests with appends yet to queue;
	// active the number with appends yet to return.
	starting, active int
	// peak and prevPeak are the most requests active at once in this
	// window (begun at since, window long) and the one before.
	peak, prevPeak int
	since          time.Time
	window         time.Duration
}

func newStallWatch(window time.Duration) *stallWatch {
	return &stallWatch{stalled: make(chan struct{}), since: time.Now(), window: window}
}

// announce counts n appends, to be made with the returned context, as
// one request from now; the function ends it (once they have all
// returned, or will never be made).
func (w *stallWatch) announce(ctx context.Context, n int) (context.Context, func()) {
	if w == nil || n <= 0 {
		return ctx, func() {}
	}
	r := &request{toJoin: n}
	w.mu.Lock()
	w.recount(r)
	w.mu.Unlock()
	return context.WithValue(ctx, requestKey{}, r), func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		r.toJoin, r.out = 0, 0
		w.recount(r)
	}
}

// begin returns the request an Append with ctx belongs to: the announced
// one, or a new one of its own. The append is counted queued when it
// joins its log's queue, and returned when it returns (change).
//
// Returned, not answered: between a message's answer and its writers'
// return the watch still counts them blocked, and can see a stall where
// a writer is about to come back. That is deliberate. Counting a writer
// free at its answer instead (exact) let the shards' messages fall out
// of step and stay there, each linger filled by a writer freed by
// another's message, one message stored at a time: a convoy, no wait
// ever timing out, and ingest at 70 % (docs/benchmarks.md, "The
// convoy"). Those stalls end every linger at once, and the writers
// answered together come back in step.
func (w *stallWatch) begin(ctx context.Context) *request {
	if w == nil {
		return nil
	}
	if r, ok := ctx.Value(requestKey{}).(*request); ok {
		return r
	}
	r := &request{toJoin: 1}
	w.mu.Lock()
	w.recount(r)
	w.mu.Unlock()
	return r
}

// appendEvent is what happened to one of a request's appends.
type appendEvent int

const (
	queued   appendEvent = iota // joined its log's queue
	returned                    // returned, queued before
	refused                     // returned without queueing
)

// change counts what happened to one of r's appends.
func (w *stallWatch) change(r *request, what appendEvent) {
	if w == nil || r == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	// An announced request may make more appends than it said: neither
	// count goes below 0.
	switch what {
	case queued:
		r.toJoin = max(r.toJoin-1, 0)
		r.out++
	case returned:
		r.out = max(r.out-1, 0)
	case refused:
		r.toJoin = max(r.toJoin-1, 0)
	}
	w.recount(r)
}

// recount updates the counts after r changed, and looks for a stall.
// w.mu must be held.
func (w *stallWatch) recount(r *request) {
	starting, active := r.toJoin > 0, r.toJoin > 0 || r.out > 0
	if starting != r.starting {
		w.starting += delta(starting)
		r.starting = starting
	}
	if active != r.active {
		w.active += delta(active)
		r.active = active
		if active {
			w.notePeak()
		}
	}
	w.check()
}

func delta(up bool) int {
	if up {
		return 1
	}
	return -1
}

// notePeak records the number of active requests in the window's peak.
// w.mu must be held.
func (w *stallWatch) notePeak() {
	if now := time.Now(); now.Sub(w.since) >= w.window {
		w.prevPeak, w.peak, w.since = w.peak, 0, now
	}
	w.peak = max(w.peak, w.active)
}

// moved counts n publishers more (or fewer) as moving.
func (w *stallWatch) moved(n int) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.moving += n
	w.check()
}

// lingerTicket is one linger as the watch counts it.
type lingerTicket struct {
	stalled <-chan struct{} // closed at the next stall
	gen     uint64          // the watch's stalls when it began
}

// lingerBegins counts a publisher as lingering rather than moving;
// lingerEnds counts it moving again. A linger counts as moving from the
// moment it is bound to end (its queue filled, or a stall), not when its
// goroutine next runs: until then a check would take it for one still
// waiting, and could see a stall that is not one.
func (w *stallWatch) lingerBegins() *lingerTicket {
	if w == nil {
		return &lingerTicket{}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.moving--
	w.lingering++
	t := &lingerTicket{stalled: w.stalled, gen: w.gen}
	w.check()
	return t
}

// lingerEnds ends t's linger, unless a stall ended it (and counted it
// moving) already.
func (w *stallWatch) lingerEnds(t *lingerTicket) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if t.gen != w.gen {
		return
	}
	w.lingering--
	w.moving++
}

// check ends every linger if the engine is stalled. w.mu must be held.
func (w *stallWatch) check() {
	if w.lingering == 0 || w.moving > 0 || w.starting > 0 || w.active == 0 {
		return
	}
	w.notePeak() // a window may have passed since the last change
	if w.active < max(w.peak, w.prevPeak) {
		return // some writer is outside: it may come back
	}
	close(w.stalled)
	w.stalled = make(chan struct{})
	w.gen++
	w.moving += w.lingering // every linger is bound to end now
	w.lingering = 0
}
