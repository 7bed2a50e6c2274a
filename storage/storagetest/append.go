package storagetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
)

func testAppendRead(t *testing.T, h Harness) {
	f := newFixture(t, h)
	l := f.createLog("append-read", storage.LogOptions{})

	var want []storage.StoredRecord
	for i := range 6 {
		now := f.clock.UnixMilli()
		got := mustAppend(t, l, batchOf(fmt.Sprintf("b%d", i), i+1))
		for j, r := range got {
			if r.ArrivalTime != now {
				t.Errorf("batch %d record %d: arrival time %d, want the clock's %d", i, j, r.ArrivalTime, now)
			}
		}
		if n := len(want); n > 0 && got[0].Position <= want[n-1].Position {
			t.Errorf("batch %d starts at position %d, not after the previous batch's %d", i, got[0].Position, want[n-1].Position)
		}
		want = append(want, got...)
		// The clock stays put after even batches, so that consecutive
		// batches share an arrival time.
		if i%2 == 1 {
			f.clock.Advance(time.Duration(i) * time.Millisecond)
		}
	}
	checkRecords(t, "read page by page", readAll(t, l), want)

	res := mustRead(t, l, storage.Oldest(), storage.ReadLimits{MaxRecords: len(want)})
	checkRecords(t, "one read", res.Records, want)
	last := want[len(want)-1]
	if res.LastPosition != last.Position || res.LastArrival != last.ArrivalTime {
		t.Errorf("LastPosition, LastArrival = %d, %d; want %d, %d", res.LastPosition, res.LastArrival, last.Position, last.ArrivalTime)
	}
	if res.Sealed {
		t.Error("Sealed is set on a log that was never sealed")
	}
	checkRecords(t, "through a second handle", readAll(t, f.log("append-read")), want)
}

func testClockBackwards(t *testing.T, h Harness) {
	f := newFixture(t, h)
	l := f.createLog("clock-backwards", storage.LogOptions{})
	a := mustAppend(t, l, batchOf("a", 2))
	before := f.clock.UnixMilli()

	f.clock.Advance(-time.Hour)
	b := mustAppend(t, l, batchOf("b", 2))
	for i, r := range b {
		if r.ArrivalTime < before {
			t.Errorf("record %d appended after the clock stepped back arrived at %d, before the previous record's %d", i, r.ArrivalTime, before)
		}
	}
	if b[0].Position <= a[1].Position {
		t.Errorf("position %d after the clock stepped back is not after %d", b[0].Position, a[1].Position)
	}

	now := f.clock.Advance(2 * time.Hour).UnixMilli()
	c := mustAppend(t, l, batchOf("c", 1))
	if c[0].ArrivalTime != now {
		t.Errorf("once the clock is ahead again the arrival time is %d, want the clock's %d", c[0].ArrivalTime, now)
	}
	checkRecords(t, "read back", readAll(t, l), concat(a, b, c))
}

func testRecordSizes(t *testing.T, h Harness) {
	f := newFixture(t, h)
	ctx := t.Context()
	l := f.createLog("sizes", storage.LogOptions{})

	big := make([]byte, storage.MaxRecordData)
	rand.NewChaCha8([32]byte{1}).Read(big)
	longKey := strings.Repeat("k", storage.MaxKeyLen)
	want := mustAppend(t, l, []storage.Record{
		{Key: "nil-data"},
		{Key: "empty-data", Data: []byte{}},
		{Key: "largest-data", Data: big},
		{Key: longKey, Data: []byte("x")},
		{Key: "", Data: []byte("empty-key")},
	})
	checkRecords(t, "read back", readAll(t, l), want)

	// A record alone over the byte budget still comes back, so that a
	// reader is never stuck behind it.
	res := mustRead(t, l, storage.At(want[2].Position), storage.ReadLimits{MaxRecords: 10, MaxBytes: 1})
	checkRecords(t, "largest record under a 1-byte budget", res.Records, want[2:3])

	tooLarge := []struct {
		name  string
		batch []storage.Record
	}{
		{"data over MaxRecordData", []storage.Record{
			{Key: "p", Data: make([]byte, storage.MaxRecordData+1)},
		}},
		{"key over MaxKeyLen", []storage.Record{
			{Key: longKey + "k", Data: []byte("x")},
		}},
		{"one record too large among good ones", []storage.Record{
			{Key: "good-1", Data: []byte("one")},
			{Key: "bad", Data: make([]byte, storage.MaxRecordData+1)},
			{Key: "good-2", Data: []byte("two")},
		}},
	}
	for _, tc := range tooLarge {
		_, err := l.Append(ctx, tc.batch)
		wantErr(t, tc.name, err, storage.ErrTooLarge)
	}
	// Batches are all or nothing: none of the rejected records is there.
	checkRecords(t, "after rejected appends", readAll(t, l), want)
	checkBounds(t, "after rejected appends", mustInfo(t, l), want)
}

func testEmptyBatch(t *testing.T, h Harness) {
	f := newFixture(t, h)
	ctx := t.Context()
	l := f.createLog("empty-batch", storage.LogOptions{})

	check := func(stage string, want []storage.StoredRecord) {
		t.Helper()
		for _, batch := range [][]storage.Record{nil, {}} {
			app, err := l.Append(ctx, batch)
			if err != nil || len(app) != 0 {
				t.Errorf("%s: Append(%#v) = %v, %v; want no results and no error", stage, batch, app, err)
			}
		}
		checkRecords(t, stage, readAll(t, l), want)
		checkBounds(t, stage, mustInfo(t, l), want)
	}
	check("empty log", nil)
	a := mustAppend(t, l, batchOf("a", 2))
	check("after one batch", a)
	b := mustAppend(t, l, batchOf("b", 1))
	if b[0].Position <= a[1].Position {
		t.Errorf("position %d after empty batches is not after %d", b[0].Position, a[1].Position)
	}
	checkRecords(t, "after more records", readAll(t, l), concat(a, b))
}

// testCancelledContext checks what the contract allows for a context that
// has already ended. Append must report ctx's error ("with ctx's error if
// ctx ends first"), though the batch may have been appended anyway; if it
// was, it was appended whole. Read says nothing of ctx, so it may either
// fail with ctx's error or read as usual. Wait with no record to wait for
// must return ctx's error.
func testCancelledContext(t *testing.T, h Harness) {
	f := newFixture(t, h)
	l := f.createLog("cancelled", storage.LogOptions{})
	base := mustAppend(t, l, batchOf("base", 2))

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	extra := batchOf("extra", 3)
	_, err := l.Append(ctx, extra)
	wantErr(t, "Append with a cancelled context", err, context.Canceled)

	got := readAll(t, l)
	switch len(got) {
	case len(base):
		checkRecords(t, "after the cancelled append", got, base)
	case len(base) + len(extra):
		checkRecords(t, "records before the cancelled append", got[:len(base)], base)
		for i, r := range got[len(base):] {
			if r.Key != extra[i].Key || string(r.Data) != string(extra[i].Data) {
				t.Errorf("cancelled append landed with record %d = %q/%q, want %q/%q", i, r.Key, r.Data, extra[i].Key, extra[i].Data)
			}
		}
	default:
		t.Errorf("after a cancelled append of %d records to %d, the log holds %d: a batch is all or nothing", len(extra), len(base), len(got))
	}

	res, err := l.Read(ctx, storage.Oldest(), storage.ReadLimits{MaxRecords: 100})
	if err != nil {
		wantErr(t, "Read with a cancelled context", err, context.Canceled)
	} else {
		checkRecords(t, "Read with a cancelled context", res.Records, got)
	}

	err = l.Wait(ctx, got[len(got)-1].Position+1)
	wantErr(t, "Wait past the end with a cancelled context", err, context.Canceled)
}
