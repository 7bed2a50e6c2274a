package jetstream

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tributary-io/tributary/storage"
)

// TestStallEndsLingers: two logs whose lingers wait for writers blocked
// in each other both publish at once, though they may wait an hour, and
// keep their wait; a linger for a writer that is not blocked still waits.
//
// X and Y each expect two appends. P appends to X and lingers there for
// a second writer; Q, the only other writer, appends to Y and lingers
// there: each waits for the writer blocked in the other, a stall.
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
	// Two appends in one message on each log: each expects two, and two
	// writers were under way at once.
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

	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := x.Append(ctx, batchOf(0, 1, 1)); err != nil {
			t.Errorf("p's append: %v", err)
		}
	})
	// P lingers on X while Q, outside, may still come: no stall.
	lingering(t, ctx, x.(*shardLog).st)
	if got := testutil.ToFloat64(e.metrics.lingers[lingerStalled]); got != 0 {
		t.Fatalf("%v lingers ended by a stall with a writer outside, want 0", got)
	}
	wg.Go(func() {
		if _, err := y.Append(ctx, batchOf(1, 1, 1)); err != nil {
			t.Errorf("q's append: %v", err)
		}
	})
	wg.Wait()
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

// lingering waits until st's publisher lingers.
func lingering(t *testing.T, ctx context.Context, st *logState) {
	t.Helper()
	queueUntil(t, ctx, st, "the publisher lingering", func(q *appendQueue) bool { return q.ticket != nil })
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
	w.change(a, queued)
	w.moved(1)
	x := w.lingerBegins()
	w.change(a, queued)
	w.moved(1)
	y := w.lingerBegins()
	if stalled() {
		t.Fatal("stalled while b's appends had not started: they may fill a linger")
	}
	w.change(b, queued)
	if stalled() {
		t.Fatal("stalled with one of b's appends yet to start")
	}
	w.change(b, queued)
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
	w.change(a, returned)
	w.change(a, returned)
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
	w.change(b, returned)
	w.change(b, returned)
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
