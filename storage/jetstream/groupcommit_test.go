package jetstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tributary-io/tributary/storage"
)

// readAll returns every record of l, reading pages from the oldest.
func readAll(t *testing.T, ctx context.Context, l storage.ShardLog) []storage.StoredRecord {
	t.Helper()
	var all []storage.StoredRecord
	from := storage.Oldest()
	for {
		res, err := l.Read(ctx, from, storage.ReadLimits{MaxRecords: 1000})
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if len(res.Records) == 0 {
			return all
		}
		all = append(all, res.Records...)
		from = storage.At(res.Next)
	}
}

// holdPublisher blocks l's appends before their message is taken from the
// queue (the publisher waits for st.mu) until the returned release is
// called, so that a test can queue appends deterministically.
// queued waits until n appends are in the queue.
func holdPublisher(t *testing.T, ctx context.Context, l storage.ShardLog) (queued func(n int), release func()) {
	st := l.(*shardLog).st
	st.mu.Lock()
	var once sync.Once
	release = func() { once.Do(st.mu.Unlock) }
	t.Cleanup(release)
	queued = func(n int) {
		t.Helper()
		queuedUntil(t, ctx, st, n)
	}
	return queued, release
}

type appendResult struct {
	writer, batch int
	records       []storage.Record
	app           []storage.Appended
	err           error
}

// checkAppends asserts that the acknowledged appends in results are what
// the log holds, in position order: each append's records contiguous and
// in its own order, every position distinct, arrival times
// non-decreasing, each writer's appends in the order it made them.
func checkAppends(t *testing.T, ctx context.Context, l storage.ShardLog, results []appendResult) {
	t.Helper()
	want := map[uint64]storage.Record{}
	arrival := map[uint64]int64{}
	last := map[int]uint64{}
	for _, r := range results {
		if r.err != nil {
			continue
		}
		if len(r.app) != len(r.records) {
			t.Fatalf("writer %d batch %d: %d positions for %d records", r.writer, r.batch, len(r.app), len(r.records))
		}
		for i, a := range r.app {
			if i > 0 && a.Position != r.app[i-1].Position+1 {
				t.Errorf("writer %d batch %d: record %d at %d after %d: not contiguous", r.writer, r.batch, i, a.Position, r.app[i-1].Position)
			}
			if _, dup := want[a.Position]; dup {
				t.Errorf("writer %d batch %d: position %d given twice", r.writer, r.batch, a.Position)
			}
			want[a.Position], arrival[a.Position] = r.records[i], a.ArrivalTime
		}
		if r.app[0].Position <= last[r.writer] {
			t.Errorf("writer %d batch %d at %d, not after its previous batch at %d", r.writer, r.batch, r.app[0].Position, last[r.writer])
		}
		last[r.writer] = r.app[0].Position
	}
	got := readAll(t, ctx, l)
	if len(got) != len(want) {
		t.Errorf("the log holds %d records, %d were acknowledged", len(got), len(want))
	}
	for i, g := range got {
		w, ok := want[g.Position]
		switch {
		case !ok:
			t.Errorf("record at %d was never acknowledged", g.Position)
		case g.Key != w.Key || !bytes.Equal(g.Data, w.Data):
			t.Errorf("record at %d = %q/%q, acknowledged %q/%q", g.Position, g.Key, g.Data, w.Key, w.Data)
		case g.ArrivalTime != arrival[g.Position]:
			t.Errorf("record at %d arrived at %d, acknowledged %d", g.Position, g.ArrivalTime, arrival[g.Position])
		}
		if i > 0 && g.ArrivalTime < got[i-1].ArrivalTime {
			t.Errorf("record at %d arrived at %d, before the one before it (%d)", g.Position, g.ArrivalTime, got[i-1].ArrivalTime)
		}
	}
}

func batchOf(writer, batch, n int) []storage.Record {
	records := make([]storage.Record, n)
	for i := range records {
		records[i] = storage.Record{Key: fmt.Sprintf("w%d", writer), Data: fmt.Appendf(nil, "w%d-b%d-r%d", writer, batch, i)}
	}
	return records
}

// TestConcurrentAppendsShareAMessage: appends queued while a publish is
// held all go in the next message, each with its own contiguous
// positions; then many writers appending freely at once still get
// distinct, increasing positions that match what a Read returns.
func TestConcurrentAppendsShareAMessage(t *testing.T) {
	e := openTest(t, t.TempDir(), time.Now)
	defer e.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	l, err := e.CreateLog(ctx, "shared", storage.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// Held: every append waits in the queue, then one message holds them.
	const held = 20
	queued, release := holdPublisher(t, ctx, l)
	results := make([]appendResult, held)
	var wg sync.WaitGroup
	for w := range held {
		wg.Go(func() {
			records := batchOf(w, 0, 1+w%3)
			app, err := l.Append(ctx, records)
			results[w] = appendResult{w, 0, records, app, err}
		})
	}
	queued(held)
	release()
	wg.Wait()
	for _, r := range results {
		if r.err != nil {
			t.Fatalf("writer %d: %v", r.writer, r.err)
		}
		if seqOf(r.app[0].Position) != seqOf(results[0].app[0].Position) {
			t.Errorf("writer %d in message %d, writer 0 in %d: want one message", r.writer, seqOf(r.app[0].Position), seqOf(results[0].app[0].Position))
		}
	}
	if n := subjectMsgs(t, l); n != 1 {
		t.Errorf("%d appends queued together made %d messages, want 1", held, n)
	}
	checkAppends(t, ctx, l, results)
	records := 0
	for _, r := range results {
		records += len(r.records)
	}
	for _, h := range []struct {
		name       string
		m          prometheus.Histogram
		count, sum float64
	}{
		{"appends", e.metrics.groupAppends, 1, held},
		{"records", e.metrics.groupRecords, 1, float64(records)},
	} {
		var m dto.Metric
		if err := h.m.Write(&m); err != nil {
			t.Fatal(err)
		}
		if c, s := float64(m.GetHistogram().GetSampleCount()), m.GetHistogram().GetSampleSum(); c != h.count || s != h.sum {
			t.Errorf("group commit %s histogram: %v messages, sum %v; want %v, %v", h.name, c, s, h.count, h.sum)
		}
	}

	// Free: writers race, each appending several batches in turn.
	const writers, batches = 16, 10
	var mu sync.Mutex
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				records := batchOf(held+w, b, 1+(w+b)%3)
				app, err := l.Append(ctx, records)
				if err != nil {
					t.Errorf("writer %d batch %d: %v", w, b, err)
				}
				mu.Lock()
				results = append(results, appendResult{held + w, b, records, app, err})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	checkAppends(t, ctx, l, results)
	if n := subjectMsgs(t, l); n > uint64(len(results)) {
		t.Errorf("%d appends made %d messages, more than one each", len(results), n)
	}
}

// TestSealWhileQueued: appends queued on one view while another seals the
// log all fail with ErrSealed, whole, and nothing lands after the sealed
// position, though their publisher's tail did not know of the seal.
func TestSealWhileQueued(t *testing.T) {
	e := openTest(t, t.TempDir(), time.Now)
	defer e.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	own, err := e.CreateLog(ctx, "sealed", storage.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first, err := own.Append(ctx, batchOf(0, 0, 2))
	if err != nil {
		t.Fatal(err)
	}
	queued, release := holdPublisher(t, ctx, own)
	const appenders = 8
	errs := make([]error, appenders)
	var wg sync.WaitGroup
	for w := range appenders {
		wg.Go(func() { _, errs[w] = own.Append(ctx, batchOf(1+w, 0, 2)) })
	}
	queued(appenders)
	sealedAt, err := otherNode(t, e, "sealed").Seal(ctx)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if sealedAt != first[1].Position {
		t.Errorf("sealed at %d, want the last acknowledged position %d", sealedAt, first[1].Position)
	}
	release()
	wg.Wait()
	for w, err := range errs {
		if !errors.Is(err, storage.ErrSealed) {
			t.Errorf("appender %d: %v, want ErrSealed", w, err)
		}
	}
	got := readAll(t, ctx, own)
	if len(got) != 2 || got[1].Position != sealedAt {
		t.Errorf("the log holds %d records, the last at %d; want the 2 before the seal at %d", len(got), got[len(got)-1].Position, sealedAt)
	}
}

// TestCancelWhileQueued: an append whose ctx ends before its message is
// taken fails with ctx's error and is not stored, whether it was a queued
// follower or the publisher itself; the others in the queue are stored,
// in one message.
func TestCancelWhileQueued(t *testing.T) {
	cases := []struct {
		name   string
		cancel int // which of the queued appends gives up; 0 publishes
	}{
		{"queued follower", 1},
		{"last in the queue", 2},
		{"publisher", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := openTest(t, t.TempDir(), time.Now)
			defer e.Close()
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			l, err := e.CreateLog(ctx, "cancel", storage.LogOptions{})
			if err != nil {
				t.Fatal(err)
			}
			queued, release := holdPublisher(t, ctx, l)
			const appenders = 3
			results := make([]appendResult, appenders)
			done := make([]chan struct{}, appenders)
			giveUp, stop := context.WithCancel(ctx)
			defer stop()
			for w := range appenders {
				actx := ctx
				if w == tc.cancel {
					actx = giveUp
				}
				done[w] = make(chan struct{})
				go func() {
					defer close(done[w])
					records := batchOf(w, 0, 2)
					app, err := l.Append(actx, records)
					results[w] = appendResult{w, 0, records, app, err}
				}()
				queued(w + 1) // in order: the first is the publisher
			}
			stop()
			if tc.cancel != 0 {
				// A follower returns at once, leaving the queue.
				<-done[tc.cancel]
				queued(appenders - 1)
			}
			release()
			for _, d := range done {
				<-d
			}
			for w, r := range results {
				switch {
				case w == tc.cancel && !errors.Is(r.err, context.Canceled):
					t.Errorf("appender %d gave up: %v, want context.Canceled", w, r.err)
				case w != tc.cancel && r.err != nil:
					t.Errorf("appender %d: %v", w, r.err)
				}
			}
			checkAppends(t, ctx, l, results)
			if n := subjectMsgs(t, l); n != 1 {
				t.Errorf("%d messages, want the other appends' one", n)
			}
		})
	}
}

// TestUntilAllDone: a message's context ends only when every append in it
// has given up.
func TestUntilAllDone(t *testing.T) {
	ctxs := make([]context.Context, 3)
	cancels := make([]context.CancelFunc, 3)
	msg := make([]*pendingAppend, 3)
	for i := range msg {
		ctxs[i], cancels[i] = context.WithCancel(t.Context())
		msg[i] = &pendingAppend{ctx: ctxs[i]}
	}
	ctx, stop := untilAllDone(msg)
	defer stop()
	for i, cancel := range cancels {
		cancel()
		<-ctxs[i].Done()
		last := i == len(cancels)-1
		if !last && ctx.Err() != nil {
			t.Fatalf("ended after %d of %d appends gave up", i+1, len(msg))
		}
	}
	<-ctx.Done() // AfterFunc runs in its own goroutine: wait, not poll
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", ctx.Err())
	}
}

// TestLinger: writers answered together are stored together again when
// they come back at different times; a writer gone away costs one wait,
// after which the log expects fewer; a lone writer never waits.
func TestLinger(t *testing.T) {
	e, ctx := lingeringEngine(t)
	l, err := e.CreateLog(ctx, "linger", storage.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := l.(*shardLog).st
	expect := func() int {
		st.q.mu.Lock()
		defer st.q.mu.Unlock()
		return st.q.expect
	}
	// appendAll appends one record for each writer in ws, concurrently,
	// starting each once the ones before it are queued, and returns the
	// message (sequence) each landed in.
	appendAll := func(ws []int) []uint64 {
		t.Helper()
		seqs := make([]uint64, len(ws))
		var wg sync.WaitGroup
		for i, w := range ws {
			wg.Go(func() {
				app, err := l.Append(ctx, batchOf(w, 0, 1))
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				seqs[i] = seqOf(app[0].Position)
			})
			if i < len(ws)-1 { // the last makes the queue enough: it empties
				queuedUntil(t, ctx, st, i+1)
			}
		}
		wg.Wait()
		return seqs
	}

	// Four writers in one message: the log expects four.
	queued, release := holdPublisher(t, ctx, l)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			if _, err := l.Append(ctx, batchOf(w, 0, 1)); err != nil {
				t.Errorf("writer %d: %v", w, err)
			}
		})
	}
	queued(4)
	release()
	wg.Wait()
	if got := expect(); got != 4 {
		t.Fatalf("after a message of 4 appends the log expects %d, want 4", got)
	}

	// They come back one by one: the first waits for the other three
	// (an hour at most), and the four share one message again.
	if seqs := appendAll([]int{4, 5, 6, 7}); len(slices.Compact(slices.Clone(seqs))) != 1 {
		t.Errorf("four writers coming back one by one landed in messages %v, want one", seqs)
	}

	// One is gone: the three wait groupWait for it, then go together,
	// and the log expects three. (A second: long enough for the three to
	// queue on a slow machine.)
	e.groupWait = time.Second // no append is in flight
	if seqs := appendAll([]int{8, 9, 10}); len(slices.Compact(slices.Clone(seqs))) != 1 {
		t.Errorf("three writers landed in messages %v, want one", seqs)
	}
	if got := expect(); got != 3 {
		t.Errorf("after a message of 3 appends the log expects %d, want 3", got)
	}
	if wait := queueWait(st); wait != time.Second/2 {
		t.Errorf("after a wait that timed out the next may last %v, want half the second", wait)
	}

	// A lone writer: each message carries its one append, so it never
	// waits, however long groupWait.
	e.groupWait = time.Hour
	lone, err := e.CreateLog(ctx, "lone", storage.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := lone.Append(ctx, batchOf(0, i, 1)); err != nil {
			t.Fatalf("lone append %d: %v", i, err)
		}
	}
}

// lingeringEngine opens a single-node engine whose lingers may last an
// hour, and returns it with a context for the test's calls that ends
// within a minute; the engine closes with the test. Its stall watch
// remembers how many writers were under way at once for an hour, not a
// second: a slow machine (the race detector) may take seconds between
// the steps of a test, and forgetting the writers of the first would
// find a stall where the test expects a wait.
func lingeringEngine(t *testing.T) (*Engine, context.Context) {
	t.Helper()
	e, err := Open(t.Context(), Options{Dir: t.TempDir(), GroupWait: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	e.stalls.window = time.Hour
	t.Cleanup(func() { e.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return e, ctx
}

// queueWait is how long st's next linger may last.
func queueWait(st *logState) time.Duration {
	st.q.mu.Lock()
	defer st.q.mu.Unlock()
	return st.q.wait
}

// queuedUntil waits until st's queue holds at least n appends.
func queuedUntil(t *testing.T, ctx context.Context, st *logState, n int) {
	t.Helper()
	queueUntil(t, ctx, st, fmt.Sprintf("%d appends queued", n), func(q *appendQueue) bool { return len(q.waiting) >= n })
}

// queueUntil waits until cond, called under the queue's mu, holds of
// st's queue; what names it for the failure.
func queueUntil(t *testing.T, ctx context.Context, st *logState, what string, cond func(*appendQueue) bool) {
	t.Helper()
	for {
		st.q.mu.Lock()
		ok := cond(&st.q)
		st.q.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("never %s", what)
		case <-time.After(time.Millisecond):
		}
	}
}
