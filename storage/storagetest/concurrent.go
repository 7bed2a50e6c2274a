package storagetest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
)

func byPosition(recs []storage.StoredRecord) {
	slices.SortFunc(recs, func(a, b storage.StoredRecord) int { return cmp.Compare(a.Position, b.Position) })
}

// testConcurrentAppendsOneLog has writers append to one log while readers
// follow it: nothing is lost or duplicated, each batch stays contiguous, and
// each writer's batches are in the order it sent them.
func testConcurrentAppendsOneLog(t *testing.T, h Harness) {
	f := newFixture(t, h)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	l := f.createLog("concurrent", storage.LogOptions{})
	const writers, batches = 8, 150
	size := func(w, b int) int { return 1 + (w+b)%4 }

	readers := []storage.ReadLimits{{MaxRecords: 7}, {MaxRecords: 1000, MaxBytes: 100}}
	followed := make([][]storage.StoredRecord, len(readers))
	var rg sync.WaitGroup
	for i, limits := range readers {
		rg.Go(func() {
			var err error
			if followed[i], err = follow(ctx, t, l, limits); err != nil {
				t.Errorf("reader %d: %v", i, err)
			}
		})
	}

	var (
		mu       sync.Mutex
		appended []storage.StoredRecord
		wg       sync.WaitGroup
	)
	total := 0
	for w := range writers {
		for b := range batches {
			total += size(w, b)
		}
		wg.Go(func() {
			for b := range batches {
				batch := tagged(w, b, size(w, b))
				app, err := l.Append(ctx, batch)
				if err != nil {
					t.Errorf("writer %d batch %d: %v", w, b, err)
					return
				}
				if !checkAppended(t, "concurrent append", app, len(batch)) {
					return
				}
				mu.Lock()
				appended = append(appended, stored(batch, app)...)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if _, err := l.Seal(ctx); err != nil {
		t.Errorf("Seal: %v", err)
		cancel() // the readers would otherwise block until the deadline
	}
	rg.Wait()

	got := readAll(t, l)
	if len(got) != total {
		t.Errorf("the log holds %d records, want the %d appended", len(got), total)
	}
	byPosition(appended)
	checkRecords(t, "the log against what Append returned", got, appended)
	checkBatches(t, "the log", got, size)
	for i := 1; i < len(got); i++ {
		if got[i].ArrivalTime < got[i-1].ArrivalTime {
			t.Errorf("record %d arrived at %d, before the record ahead of it (%d)", i, got[i].ArrivalTime, got[i-1].ArrivalTime)
			break
		}
	}
	for i := range readers {
		checkRecords(t, fmt.Sprintf("reader %d", i), followed[i], got)
	}
}

// testConcurrentAppendsManyLogs has writers spread their batches over
// several logs: each log gets exactly its own batches.
func testConcurrentAppendsManyLogs(t *testing.T, h Harness) {
	f := newFixture(t, h)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	const logs, writers, batches = 6, 8, 40
	size := func(w, b int) int { return 1 + b%3 }
	ls := make([]storage.ShardLog, logs)
	for i := range ls {
		ls[i] = f.createLog(fmt.Sprintf("multi-%d", i), storage.LogOptions{})
	}

	var (
		mu       sync.Mutex
		appended = make([][]storage.StoredRecord, logs)
		wg       sync.WaitGroup
	)
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				i := (w + b) % logs
				batch := tagged(w, b, size(w, b))
				app, err := ls[i].Append(ctx, batch)
				if err != nil {
					t.Errorf("writer %d batch %d to log %d: %v", w, b, i, err)
					return
				}
				if !checkAppended(t, "concurrent append", app, len(batch)) {
					return
				}
				mu.Lock()
				appended[i] = append(appended[i], stored(batch, app)...)
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	for i, l := range ls {
		what := fmt.Sprintf("log %d", i)
		got := readAll(t, l)
		byPosition(appended[i])
		checkRecords(t, what, got, appended[i])
		checkBatches(t, what, got, size)
	}
}
