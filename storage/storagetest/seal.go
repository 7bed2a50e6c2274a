package storagetest

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
)

func testSeal(t *testing.T, h Harness) {
	f := newFixture(t, h)
	ctx, cancel := context.WithTimeout(t.Context(), noWait)
	defer cancel()
	l := f.createLog("seal", storage.LogOptions{})
	all := concat(mustAppend(t, l, batchOf("a", 2)), mustAppend(t, l, batchOf("b", 3)))
	last := all[len(all)-1].Position

	for i := range 2 {
		if got := mustSeal(t, l); got != last {
			t.Errorf("Seal #%d returned %d, want the last position %d", i+1, got, last)
		}
	}
	// Sealing from several goroutines at once agrees too.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if got, err := l.Seal(ctx); err != nil || got != last {
				t.Errorf("concurrent Seal = %d, %v; want %d, nil", got, err, last)
			}
		})
	}
	wg.Wait()

	info := mustInfo(t, l)
	if !info.Sealed || info.SealedAt != last || info.LastPosition != last {
		t.Errorf("Info after Seal: Sealed %v, SealedAt %d, LastPosition %d; want true, %d, %d", info.Sealed, info.SealedAt, info.LastPosition, last, last)
	}
	_, err := l.Append(ctx, batchOf("late", 1))
	wantErr(t, "Append after Seal", err, storage.ErrSealed)
	checkRecords(t, "sealed log", readAll(t, l), all)
	res := mustRead(t, l, storage.Oldest(), storage.ReadLimits{MaxRecords: 100})
	checkRecords(t, "one read of the sealed log", res.Records, all)
	if !res.Sealed {
		t.Error("a read to the end of a sealed log does not report Sealed")
	}

	for _, p := range []uint64{0, all[0].Position, last} {
		if err := l.Wait(ctx, p); err != nil {
			t.Errorf("Wait(%d) on a sealed log holding records up to %d: %v", p, last, err)
		}
	}
	for _, p := range []uint64{last + 1, last + 1000} {
		wantErr(t, "Wait past the end of a sealed log", l.Wait(ctx, p), storage.ErrSealed)
	}
}

func testSealEmpty(t *testing.T, h Harness) {
	f := newFixture(t, h)
	ctx, cancel := context.WithTimeout(t.Context(), noWait)
	defer cancel()
	l := f.createLog("seal-empty", storage.LogOptions{})
	for i := range 2 {
		if got := mustSeal(t, l); got != 0 {
			t.Errorf("Seal #%d of an empty log returned %d, want 0", i+1, got)
		}
	}
	info := mustInfo(t, l)
	if !info.Sealed || info.SealedAt != 0 || info.LastPosition != 0 {
		t.Errorf("Info of a log sealed empty: Sealed %v, SealedAt %d, LastPosition %d; want true, 0, 0", info.Sealed, info.SealedAt, info.LastPosition)
	}
	_, err := l.Append(ctx, batchOf("late", 1))
	wantErr(t, "Append after Seal", err, storage.ErrSealed)
	for _, start := range []storage.Start{storage.Oldest(), storage.Latest(), storage.At(0)} {
		res := mustRead(t, l, start, storage.ReadLimits{MaxRecords: 10})
		if len(res.Records) != 0 || !res.Sealed {
			t.Errorf("%s on a log sealed empty: %d records, Sealed %v; want none and Sealed", startString(start), len(res.Records), res.Sealed)
		}
	}
	for _, p := range []uint64{0, 1} {
		wantErr(t, "Wait on a log sealed empty", l.Wait(ctx, p), storage.ErrSealed)
	}
}

// testSealRacingAppends seals a log while writers append to it as fast as
// they can: the seal is a fence between the appends that succeed and the
// ones that fail.
func testSealRacingAppends(t *testing.T, h Harness) {
	f := newFixture(t, h)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	l := f.createLog("seal-race", storage.LogOptions{})
	size := func(w, b int) int { return 1 + (w+b)%3 }

	const writers = 8
	var (
		mu        sync.Mutex
		succeeded []storage.StoredRecord
		appends   atomic.Int64
		// sealReturned is set once Seal has returned: an Append that
		// begins after that must fail.
		sealReturned atomic.Bool
		enough       = make(chan struct{})
		wg           sync.WaitGroup
	)
	for w := range writers {
		wg.Go(func() {
			for b := 0; ; b++ {
				batch := tagged(w, b, size(w, b))
				late := sealReturned.Load()
				app, err := l.Append(ctx, batch)
				if err != nil {
					if !errors.Is(err, storage.ErrSealed) {
						t.Errorf("writer %d: Append failed with %v, want success or ErrSealed", w, err)
					}
					return
				}
				if late {
					t.Errorf("writer %d: an Append that began after Seal returned succeeded at %d", w, app[0].Position)
					return
				}
				if !checkAppended(t, "racing append", app, len(batch)) {
					return
				}
				mu.Lock()
				succeeded = append(succeeded, stored(batch, app)...)
				mu.Unlock()
				if appends.Add(1) == 50 {
					close(enough)
				}
			}
		})
	}
	select {
	case <-enough:
	case <-ctx.Done():
		wg.Wait() // no writer may report after the test has ended
		t.Fatalf("writers did not append 50 batches: %v", ctx.Err())
	}

	// Two sealers race each other as well as the writers.
	var seals [2]uint64
	var sealers sync.WaitGroup
	for i := range seals {
		sealers.Go(func() {
			var err error
			if seals[i], err = l.Seal(ctx); err != nil {
				t.Errorf("Seal: %v", err)
			}
		})
	}
	sealers.Wait()
	sealReturned.Store(true)
	wg.Wait()
	if seals[0] != seals[1] {
		t.Errorf("concurrent Seals returned %d and %d", seals[0], seals[1])
	}
	sealedAt := seals[0]

	slices.SortFunc(succeeded, func(a, b storage.StoredRecord) int { return cmp.Compare(a.Position, b.Position) })
	for _, r := range succeeded {
		if r.Position > sealedAt {
			t.Errorf("an append that succeeded landed at %d, past the sealed position %d", r.Position, sealedAt)
			break
		}
	}
	if n := len(succeeded); n > 0 && succeeded[n-1].Position != sealedAt {
		t.Errorf("Seal returned %d, but the last successful append ended at %d", sealedAt, succeeded[n-1].Position)
	}
	got := readAll(t, l)
	checkRecords(t, "the sealed log against the successful appends", got, succeeded)
	checkBatches(t, "the sealed log", got, size)
	_, err := l.Append(ctx, tagged(0, -1, 1))
	wantErr(t, "Append after the race", err, storage.ErrSealed)
}

// testDeleteSealed deletes logs that were sealed, with and without
// records: a stream's closed shards are sealed logs, deleted with the
// stream (or when retention has emptied them), so the seal must not fence
// deletion. The name can then be used again.
func testDeleteSealed(t *testing.T, h Harness) {
	f := newFixture(t, h)
	ctx, cancel := context.WithTimeout(t.Context(), noWait)
	defer cancel()
	for _, c := range []struct {
		name    string
		records int
	}{{"sealed-with-records", 3}, {"sealed-empty", 0}} {
		l := f.createLog(c.name, storage.LogOptions{})
		if c.records > 0 {
			mustAppend(t, l, batchOf("r", c.records))
		}
		mustSeal(t, l)
		if err := f.e.DeleteLog(ctx, c.name); err != nil {
			t.Fatalf("DeleteLog(%q) of a sealed log: %v", c.name, err)
		}
		_, err := f.e.Log(ctx, c.name)
		wantErr(t, "Log after DeleteLog of a sealed log", err, storage.ErrNotFound)
		_, err = l.Read(ctx, storage.Oldest(), storage.ReadLimits{MaxRecords: 10})
		wantErr(t, "Read through the deleted sealed log's handle", err, storage.ErrNotFound)
		again := f.createLog(c.name, storage.LogOptions{})
		if res := mustRead(t, again, storage.Oldest(), storage.ReadLimits{MaxRecords: 10}); len(res.Records) != 0 || res.Sealed {
			t.Errorf("log %q created again after deleting the sealed one: %d records, Sealed %v; want an empty open log", c.name, len(res.Records), res.Sealed)
		}
		mustAppend(t, again, batchOf("new", 1))
	}
}
