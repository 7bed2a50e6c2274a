package discard_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
	"github.com/tributary-io/tributary/storage/discard"
)

// clock is a hand-moved clock; tests here run on one goroutine at a time
// when they move it.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newLog(t *testing.T, now func() time.Time) (*discard.Engine, storage.ShardLog) {
	t.Helper()
	e := discard.New(now)
	t.Cleanup(func() { e.Close() })
	l, err := e.CreateLog(t.Context(), "shard-0", storage.LogOptions{Retention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return e, l
}

func batch(n int) []storage.Record {
	b := make([]storage.Record, n)
	for i := range b {
		b[i] = storage.Record{Key: "k", Data: []byte("payload")}
	}
	return b
}

func TestAppendPositionsIncrease(t *testing.T) {
	c := &clock{t: time.UnixMilli(1_000_000)}
	_, l := newLog(t, c.now)
	ctx := t.Context()

	first, err := l.Append(ctx, batch(3))
	if err != nil {
		t.Fatal(err)
	}
	want := []storage.Appended{app(1, 1_000_000), app(2, 1_000_000), app(3, 1_000_000)}
	if !slices.Equal(first, want) {
		t.Fatalf("first batch = %v, want %v", first, want)
	}
	// A clock that steps back must not make arrival times go back.
	c.t = time.UnixMilli(999_000)
	second, err := l.Append(ctx, batch(2))
	if err != nil {
		t.Fatal(err)
	}
	want = []storage.Appended{app(4, 1_000_000), app(5, 1_000_000)}
	if !slices.Equal(second, want) {
		t.Fatalf("second batch with the clock back = %v, want %v", second, want)
	}
	c.t = time.UnixMilli(1_002_000)
	third, err := l.Append(ctx, batch(1))
	if err != nil {
		t.Fatal(err)
	}
	if want := []storage.Appended{app(6, 1_002_000)}; !slices.Equal(third, want) {
		t.Fatalf("third batch = %v, want %v", third, want)
	}
	empty, err := l.Append(ctx, nil)
	if err != nil || len(empty) != 0 {
		t.Fatalf("empty batch = %v, %v; want no positions and no error", empty, err)
	}
}

func app(pos uint64, arrival int64) storage.Appended {
	return storage.Appended{Position: pos, ArrivalTime: arrival}
}

func TestAppendLimits(t *testing.T) {
	_, l := newLog(t, nil)
	big := []storage.Record{{Key: "k", Data: make([]byte, storage.MaxRecordData+1)}}
	if _, err := l.Append(t.Context(), big); !errors.Is(err, storage.ErrTooLarge) {
		t.Fatalf("append of an oversized record = %v, want ErrTooLarge", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := l.Append(ctx, batch(1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("append with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestReadIsEmptyWithNextPastLast(t *testing.T) {
	c := &clock{t: time.UnixMilli(5_000)}
	_, l := newLog(t, c.now)
	ctx := t.Context()
	limits := storage.ReadLimits{MaxRecords: 100}

	res, err := l.Read(ctx, storage.Oldest(), limits)
	if err != nil {
		t.Fatal(err)
	}
	if want := (storage.ReadResult{Next: 1}); !sameResult(res, want) {
		t.Fatalf("read of a new log = %+v, want %+v", res, want)
	}

	if _, err := l.Append(ctx, batch(10)); err != nil {
		t.Fatal(err)
	}
	want := storage.ReadResult{Next: 11, LastPosition: 10, LastArrival: 5_000}
	for _, start := range []storage.Start{storage.Oldest(), storage.At(1), storage.At(10), storage.At(500), storage.AtTime(0), storage.Latest()} {
		res, err := l.Read(ctx, start, limits)
		if err != nil {
			t.Fatalf("read from %+v: %v", start, err)
		}
		if !sameResult(res, want) {
			t.Errorf("read from %+v = %+v, want %+v", start, res, want)
		}
	}
	info, err := l.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.FirstPosition != 0 || info.LastPosition != 0 || info.LastArrival != 5_000 || info.Bytes != 0 || info.Retention != time.Hour {
		t.Errorf("info = %+v, want no positions or bytes, last arrival 5000 and retention 1h", info)
	}
}

func sameResult(a, b storage.ReadResult) bool {
	return len(a.Records) == 0 && len(b.Records) == 0 &&
		a.Next == b.Next && a.LastPosition == b.LastPosition &&
		a.LastArrival == b.LastArrival && a.Sealed == b.Sealed
}

func TestSealFences(t *testing.T) {
	_, l := newLog(t, func() time.Time { return time.UnixMilli(7_000) })
	ctx := t.Context()
	if _, err := l.Append(ctx, batch(4)); err != nil {
		t.Fatal(err)
	}

	waited := make(chan error, 1)
	go func() { waited <- l.Wait(ctx, 5) }()

	at, err := l.Seal(ctx)
	if err != nil || at != 4 {
		t.Fatalf("Seal = %d, %v; want 4, nil", at, err)
	}
	select {
	case err := <-waited:
		if !errors.Is(err, storage.ErrSealed) {
			t.Fatalf("Wait across Seal = %v, want ErrSealed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Seal did not wake a waiter")
	}
	if _, err := l.Append(ctx, batch(1)); !errors.Is(err, storage.ErrSealed) {
		t.Fatalf("append after Seal = %v, want ErrSealed", err)
	}
	if at, err := l.Seal(ctx); err != nil || at != 4 {
		t.Fatalf("second Seal = %d, %v; want 4, nil", at, err)
	}
	res, err := l.Read(ctx, storage.At(1), storage.ReadLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if want := (storage.ReadResult{Next: 5, LastPosition: 4, LastArrival: 7_000, Sealed: true}); !sameResult(res, want) {
		t.Fatalf("read of the sealed log = %+v, want %+v", res, want)
	}
	info, err := l.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !info.Sealed || info.SealedAt != 4 {
		t.Fatalf("info = %+v, want sealed at 4", info)
	}
}

func TestWaitBlocksUntilContextEnds(t *testing.T) {
	_, l := newLog(t, nil)
	if _, err := l.Append(t.Context(), batch(2)); err != nil {
		t.Fatal(err)
	}
	// Even a position that was appended is never held, so nothing wakes
	// the waiter but its context.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := l.Wait(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v, want context.DeadlineExceeded", err)
	}
}

func TestDeleteAndClose(t *testing.T) {
	e, l := newLog(t, nil)
	ctx := t.Context()

	waited := make(chan error, 1)
	go func() { waited <- l.Wait(ctx, 1) }()
	if err := e.DeleteLog(ctx, "shard-0"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waited:
		if !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("Wait across DeleteLog = %v, want ErrNotFound", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("DeleteLog did not wake a waiter")
	}
	if _, err := l.Append(ctx, batch(1)); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("append to a deleted log = %v, want ErrNotFound", err)
	}
	if _, err := e.Log(ctx, "shard-0"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Log of a deleted log = %v, want ErrNotFound", err)
	}

	// The name is free again, and the new log starts afresh.
	l2, err := e.CreateLog(ctx, "shard-0", storage.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateLog(ctx, "shard-0", storage.LogOptions{}); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("second CreateLog = %v, want ErrExists", err)
	}
	if err := l2.SetRetention(ctx, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	if info, err := l2.Info(ctx); err != nil || info.Retention != 2*time.Hour || info.Name != "shard-0" {
		t.Fatalf("Info = %+v, %v; want shard-0 with retention 2h", info, err)
	}
	if names, err := e.ListLogs(ctx); err != nil || len(names) != 1 || names[0] != "shard-0" {
		t.Fatalf("ListLogs = %v, %v; want [shard-0]", names, err)
	}

	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close = %v, want nil", err)
	}
	if _, err := l2.Read(ctx, storage.Oldest(), storage.ReadLimits{}); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("read after Close = %v, want ErrClosed", err)
	}
	if _, err := e.Meta().Get(ctx, "k"); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("meta get after Close = %v, want ErrClosed", err)
	}
}

func TestMetaCompareAndSwap(t *testing.T) {
	e := discard.New(nil)
	defer e.Close()
	ctx := t.Context()
	m := e.Meta()

	rev1, err := m.CompareAndSwap(ctx, "streams/a", []byte("v1"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.CompareAndSwap(ctx, "streams/a", []byte("again"), 0); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("create of an existing key = %v, want ErrConflict", err)
	}
	rev2, err := m.CompareAndSwap(ctx, "streams/a", []byte("v2"), rev1)
	if err != nil {
		t.Fatal(err)
	}
	if rev2 <= rev1 {
		t.Fatalf("revision went from %d to %d, want an increase", rev1, rev2)
	}
	if _, err := m.CompareAndSwap(ctx, "streams/a", []byte("stale"), rev1); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("swap at a stale revision = %v, want ErrConflict", err)
	}
	got, err := m.Get(ctx, "streams/a")
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Value) != "v2" || got.Revision != rev2 {
		t.Fatalf("Get = %q at %d, want v2 at %d", got.Value, got.Revision, rev2)
	}
	if _, err := m.CompareAndSwap(ctx, "streams/b", []byte("b"), 0); err != nil {
		t.Fatal(err)
	}
	list, err := m.List(ctx, "streams/")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Key != "streams/a" || list[1].Key != "streams/b" {
		t.Fatalf("List = %+v, want streams/a and streams/b", list)
	}
	if err := m.Delete(ctx, "streams/a", rev1); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("delete at a stale revision = %v, want ErrConflict", err)
	}
	if err := m.Delete(ctx, "streams/a", rev2); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Get(ctx, "streams/a"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get after Delete = %v, want ErrNotFound", err)
	}
}
