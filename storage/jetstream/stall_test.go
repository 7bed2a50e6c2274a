package jetstream

import (
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tributary-io/tributary/storage"
)

// TestStallEndsLingers: two logs whose lingers wait for writers blocked
// on each other both publish at once, though they may wait an hour, and
// keep their wait; a linger for a writer that is not blocked still waits.
//
// X and Y each expect two appends. P's request (announced, as a
// PutRecords to two shards) appends to X and Y; Q appends to Y alone,
// twice. Q and P fill Y's message; then X lingers for a second writer
// while P waits for X, and Y, on Q's second append, lingers for P: a
// stall.
func TestStallEndsLingers(t *testing.T) {
	e, ctx := lingeringEngine(t)
	x, err := e.CreateLog(ctx, "x", storage.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	y, err := e.CreateLog(ctx, "y", storage.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Two appends in one message on each log: each expects two.
	for _, l := range []storage.ShardLog{x, y} {
		queued, release := holdPublisher(t, ctx, l)
		var wg sync.WaitGroup
		for w := range 2 {
			wg.Go(func() {
				if _, err := l.Append(ctx, batchOf(w, 0, 1)); err != nil {
					t.Errorf("%s: writer %d: %v", l.Name(), w, err)
				}
			})
		}
		queued(2)
		release()
		wg.Wait()
	}

	// Q's first append and P's to Y fill Y's message. Q goes first, so
	// that Y's linger is Q's, waiting for P's request to start.
	var wg sync.WaitGroup
	qFirst := make(chan struct{})
	wg.Go(func() {
		if _, err := y.Append(ctx, batchOf(1, 1, 1)); err != nil {
			t.Errorf("q's first append: %v", err)
		}
		close(qFirst)
		// Y's last message carried two: this one waits for P's next.
		if _, err := y.Append(ctx, batchOf(1, 2, 1)); err != nil {
			t.Errorf("q's second append: %v", err)
		}
	})
	queuedUntil(t, ctx, y.(*shardLog).st, 1)
	pctx, finish := e.Announce(ctx, 2)
	for _, l := range []storage.ShardLog{x, y} {
		wg.Go(func() {
			if _, err := l.Append(pctx, batchOf(0, 1, 1)); err != nil {
				t.Errorf("p's append to %s: %v", l.Name(), err)
			}
		})
	}
	// Until Q's second append, X's linger waits: Q is outside, and may
	// come to X.
	<-qFirst
	wg.Wait()
	finish()
	if ctx.Err() != nil {
		t.Fatal("the lingers waited on each other until the test's deadline")
	}
	if got := testutil.ToFloat64(e.metrics.lingers[lingerStalled]); got != 2 {
		t.Errorf("%v lingers ended by a stall, want 2 (X's and Y's)", got)
	}
	if got := testutil.ToFloat64(e.metrics.lingers[lingerTimedOut]); got != 0 {
		t.Errorf("%v lingers timed out, want 0", got)
	}
	for _, l := range []storage.ShardLog{x, y} {
		if wait := queueWait(l.(*shardLog).st); wait != time.Hour {
			t.Errorf("%s: after a stall the next wait may last %v, want the hour still", l.Name(), wait)
		}
	}
}

// TestStallWatch: the counts behind a stall, event by event.
func TestStallWatch(t *testing.T) {
	w := newStallWatch(time.Hour)
	stalled := func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		select {
		case <-w.stalled:
			return true
		default:
			return false
		}
	}
	// Two requests of two appends each, on two logs whose publishers
	// linger. Each log's first append becomes its publisher (moving).
	ctx := t.Context()
	actx, finishA := w.announce(ctx, 2)
	bctx, finishB := w.announce(ctx, 2)
	a, b := w.begin(actx), w.begin(bctx)
	w.joined(a)
	w.moved(1)
	x := w.lingerBegins()
	w.joined(a)
	w.moved(1)
	y := w.lingerBegins()
	if stalled() {
		t.Fatal("stalled while b's appends had not started: they may fill a linger")
	}
	w.joined(b)
	if stalled() {
		t.Fatal("stalled with one of b's appends yet to start")
	}
	w.joined(b)
	// Both requests blocked, both publishers lingering, no message in
	// flight, and no more requests were ever under way: a stall.
	select {
	case <-x.stalled:
	default:
		t.Fatal("no stall with every request blocked in a lingering queue")
	}
	if x.stalled != y.stalled {
		t.Fatal("the lingers wait on different channels")
	}
	// The stall counted both publishers moving: their own ends change
	// nothing more.
	w.lingerEnds(x)
	w.lingerEnds(y)

	// The lingers published; a's appends return and a is answered: one
	// writer is outside, so the next linger is no stall.
	w.ended(a)
	w.ended(a)
	finishA()
	w.moved(-1) // x's queue empty
	z := w.lingerBegins()
	select {
	case <-z.stalled:
		t.Fatal("stalled while a's writer, answered, may come back")
	default:
	}
	// b's request ends too (its publisher keeps lingering): nothing under
	// way, nothing to wait for from a stall.
	w.ended(b)
	w.ended(b)
	finishB()
	if stalled() {
		t.Error("stalled with no request under way")
	}
	w.lingerEnds(z)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.moving != 1 || w.lingering != 0 || w.starting != 0 || w.active != 0 {
		t.Errorf("moving %d, lingering %d, starting %d, active %d; want 1, 0, 0, 0", w.moving, w.lingering, w.starting, w.active)
	}
}
