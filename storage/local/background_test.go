package local

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
)

// fakeClock is a clock tests move by hand, safe for the background
// goroutines to read.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := new(fakeClock)
	c.ns.Store(time.Unix(1_700_000_000, 0).UnixNano())
	return c
}
func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// waitRuns waits until the engine's background task has run n more times.
func waitRuns(t *testing.T, e *Engine, task string, n int64) {
	t.Helper()
	start := e.tasks.Stats()[task].Runs
	deadline := time.Now().Add(30 * time.Second)
	for e.tasks.Stats()[task].Runs < start+n {
		if time.Now().After(deadline) {
			t.Fatalf("background task %s ran %d times in 30s, want %d", task, e.tasks.Stats()[task].Runs-start, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestBackgroundWorkOnEveryKindOfLog runs the real background loop
// (cleaning and checkpoints, many times) over logs in every state a server
// meets: never written, sealed while empty, sealed with data, every record
// expired, deleted, and each of these again after a crash and a reopen.
// A log with no segment once made cleaning panic and take the process down.
func TestBackgroundWorkOnEveryKindOfLog(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	opts := Options{Now: clock.Now, CleanInterval: time.Millisecond, CheckpointInterval: time.Millisecond, SegmentBytes: 4 << 10}
	ctx := context.Background()
	e := openT(t, dir, opts)
	day := storage.LogOptions{Retention: 24 * time.Hour}
	logs := map[string]storage.ShardLog{}
	for _, name := range []string{"never-written", "sealed-empty", "sealed-full", "expired", "deleted", "live"} {
		l, err := e.CreateLog(ctx, name, day)
		if err != nil {
			t.Fatal(err)
		}
		logs[name] = l
	}
	if _, err := logs["sealed-empty"].Seal(ctx); err != nil {
		t.Fatal(err)
	}
	appendN(t, logs["sealed-full"], 0, 50)
	if _, err := logs["sealed-full"].Seal(ctx); err != nil {
		t.Fatal(err)
	}
	appendN(t, logs["expired"], 0, 200) // several segments
	appendN(t, logs["live"], 0, 10)
	waitRuns(t, e, "clean", 20)

	clock.Advance(25 * time.Hour) // everything written so far expires
	waitRuns(t, e, "clean", 20)
	if err := e.DeleteLog(ctx, "deleted"); err != nil {
		t.Fatal(err)
	}
	appendN(t, logs["live"], 10, 10)
	waitRuns(t, e, "clean", 20)
	waitRuns(t, e, "checkpoint", 5)

	check := func(e *Engine) {
		t.Helper()
		for _, name := range []string{"never-written", "sealed-empty", "sealed-full", "expired"} {
			l, err := e.Log(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			res, err := l.Read(ctx, storage.Oldest(), storage.ReadLimits{MaxRecords: 100})
			if err != nil || len(res.Records) != 0 {
				t.Fatalf("%s: read %d records (%v), want none: all expired or never written", name, len(res.Records), err)
			}
		}
		l, _ := e.Log(ctx, "live")
		res, err := l.Read(ctx, storage.Oldest(), storage.ReadLimits{MaxRecords: 100})
		if err != nil || len(res.Records) != 10 || string(res.Records[0].Data) != "record-000010" {
			t.Fatalf("live: read %d records (%v), want the 10 unexpired ones", len(res.Records), err)
		}
		if _, err := e.Log(ctx, "deleted"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("deleted log: %v", err)
		}
		if p := e.tasks.Panics(); p != 0 {
			t.Fatalf("%d background panics: %v", p, e.tasks.Stats())
		}
	}
	check(e)

	// A crash, then the same again on the reopened logs, some of which now
	// have no segment file at all.
	e.abandon()
	e = openT(t, dir, opts)
	defer e.Close()
	waitRuns(t, e, "clean", 20)
	waitRuns(t, e, "checkpoint", 5)
	check(e)
	clock.Advance(25 * time.Hour)
	waitRuns(t, e, "clean", 20)

	// Logs that were empty still take appends, at positions after any they
	// ever held; sealed ones still refuse them.
	for name, wantPos := range map[string]uint64{"never-written": 1, "expired": 201, "live": 21} {
		l, _ := e.Log(ctx, name)
		res, err := l.Append(ctx, []storage.Record{{Key: "k", Data: []byte("x")}})
		if err != nil || res[0].Position != wantPos {
			t.Fatalf("%s: append after the cleanings: %v at %+v, want position %d", name, err, res, wantPos)
		}
	}
	for _, name := range []string{"sealed-empty", "sealed-full"} {
		l, _ := e.Log(ctx, name)
		if _, err := l.Append(ctx, []storage.Record{{Key: "k", Data: []byte("x")}}); !errors.Is(err, storage.ErrSealed) {
			t.Fatalf("%s: append: %v, want ErrSealed", name, err)
		}
	}
	if p := e.tasks.Panics(); p != 0 {
		t.Fatalf("%d background panics: %v", p, e.tasks.Stats())
	}
}

// syncBuffer is a bytes.Buffer the background goroutines may log into.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestBackgroundPanicIsContained plants a bug in one log's in-memory state
// that makes its cleaning panic. The process must survive, say so at error
// level with the stack, count it, refuse further writes to that log rather
// than build on a state it no longer trusts, and serve every other log.
func TestBackgroundPanicIsContained(t *testing.T) {
	var logs syncBuffer
	clock := newFakeClock()
	e := openT(t, t.TempDir(), Options{
		Now: clock.Now, CleanInterval: time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	defer e.Close()
	ctx := context.Background()
	day := storage.LogOptions{Retention: 24 * time.Hour}
	bad, _ := e.CreateLog(ctx, "bad", day)
	good, _ := e.CreateLog(ctx, "good", day)
	appendN(t, bad, 0, 5)
	appendN(t, good, 0, 5)

	sl := bad.(*shardLog)
	sl.mu.Lock()
	sl.segs = append([]*segment{nil}, sl.segs...) // the planted bug
	sl.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for e.tasks.Panics() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the planted bug never made cleaning panic")
		}
		time.Sleep(time.Millisecond)
	}
	waitRuns(t, e, "clean", 10) // and the loop goes on

	_, err := bad.Append(ctx, []storage.Record{{Key: "k", Data: []byte("x")}})
	if err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("append to the log whose cleaning panicked: %v, want a refusal naming the panic", err)
	}
	appendN(t, good, 5, 5)
	checkAll(t, good, 10)
	out := logs.String()
	for _, want := range []string{"level=ERROR", "task=clean", "log=bad", "goroutine"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if got := e.tasks.Stats()["clean"].Panics; got != 1 {
		t.Fatalf("panics counted: %d", got)
	}
}

// TestCommitterPanicIsContained plants a bug that makes the journal's
// committer panic. The process must survive, the appends in flight must
// fail rather than hang, and the engine must refuse appends from then on:
// which appends became durable is no longer known.
func TestCommitterPanicIsContained(t *testing.T) {
	var logs syncBuffer
	e := openT(t, t.TempDir(), Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	defer e.Close()
	ctx := context.Background()
	l, _ := e.CreateLog(ctx, "a", storage.LogOptions{})
	appendN(t, l, 0, 3)

	bad := &journalEntry{buf: make([]byte, journalPrefix+frameHeaderSize), done: make(chan struct{})} // no log: the planted bug
	if err := e.journal.enqueue(bad, false); err != nil {
		t.Fatal(err)
	}
	select {
	case <-bad.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the entry the committer panicked on was never answered")
	}
	if bad.err == nil || !strings.Contains(bad.err.Error(), "internal error") {
		t.Fatalf("entry error: %v", bad.err)
	}
	if _, err := l.Append(ctx, []storage.Record{{Key: "k", Data: []byte("x")}}); err == nil {
		t.Fatal("append after the committer panicked succeeded")
	}
	checkAll(t, l, 3) // what was acknowledged is still readable
	if got := e.tasks.Stats()["journal"].Panics; got != 1 {
		t.Fatalf("journal panics counted: %d", got)
	}
	if !strings.Contains(logs.String(), "task=journal") {
		t.Fatalf("the panic was not logged:\n%s", logs.String())
	}
}
