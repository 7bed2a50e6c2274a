package local

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
)

// TestDeleteLogUnderReadsAndWrites deletes logs while they are written and read
// and checkpoints run. Reads, appends and checkpoints look a segment's
// path up first and open the file after, so one may open a segment file
// just after DeleteLog closed it and before the directory is gone; that
// descriptor, cached, then held the removed file (and its disk space) open
// until the cache evicted it, long after. Found by the soak (bench
// --workload soak), whose churn stream is deleted under its writer and
// readers: a deleted stream's segment was still open at the end.
func TestDeleteLogUnderReadsAndWrites(t *testing.T) {
	e := openT(t, t.TempDir(), Options{SegmentBytes: 4 << 10, CheckpointInterval: time.Millisecond})
	defer e.Close()
	ctx := context.Background()
	for i := range 200 {
		name := fmt.Sprintf("log-%d", i)
		l, err := e.CreateLog(ctx, name, storage.LogOptions{})
		if err != nil {
			t.Fatal(err)
		}
		appendN(t, l, 0, 40) // several segments
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				// Read from the start until the log is gone.
				for {
					if _, err := l.Read(ctx, storage.Start{Kind: storage.FromPosition, Position: 1}, storage.ReadLimits{MaxRecords: 1000}); err != nil {
						return
					}
				}
			})
		}
		wg.Go(func() {
			// Write (and so dirty segments for the checkpoints) until the
			// log is gone.
			for {
				if _, err := l.Append(ctx, []storage.Record{{Key: "k", Data: make([]byte, 200)}}); err != nil {
					return
				}
			}
		})
		time.Sleep(time.Millisecond)
		if err := e.DeleteLog(ctx, name); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if n := e.OpenFiles(); n != 0 {
			t.Fatalf("after deleting %d logs under readers and writers, %d segment files are still open", i+1, n)
		}
	}
}

// TestDeleteLogWithExpiredSegments deletes a log between the cleaning that
// drops its expired segments and the next one, which would have closed
// and removed their files. The deleted log is no longer cleaned, so
// DeleteLog must close them: the cache held them open, removed, for good.
// Found by the soak, whose churn streams expire records (a retention hour
// of 1s) and are deleted every few seconds.
func TestDeleteLogWithExpiredSegments(t *testing.T) {
	clock := newFakeClock()
	// Cleaning only when the test says; checkpoints often, since only a
	// segment whose index a checkpoint wrote is dropped.
	e := openT(t, t.TempDir(), Options{Now: clock.Now, SegmentBytes: 4 << 10, CleanInterval: time.Hour, CheckpointInterval: time.Millisecond})
	defer e.Close()
	ctx := context.Background()
	l, err := e.CreateLog(ctx, "l", storage.LogOptions{Retention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 0, 100) // several segments
	waitRuns(t, e, "checkpoint", 2)
	// A read opens the segment files, which the cache keeps.
	if _, err := l.Read(ctx, storage.Start{Kind: storage.FromPosition, Position: 1}, storage.ReadLimits{MaxRecords: 1000}); err != nil {
		t.Fatal(err)
	}
	if n := e.OpenFiles(); n < 2 {
		t.Fatalf("%d segment files open after reading several segments", n)
	}
	clock.Advance(2 * time.Hour)
	sl := l.(*shardLog)
	if err := sl.clean(); err != nil { // drops the expired segments
		t.Fatal(err)
	}
	sl.mu.RLock()
	doomed := len(sl.doomed)
	sl.mu.RUnlock()
	if doomed == 0 {
		t.Fatal("cleaning dropped no segment: the test does not test what it says")
	}
	if err := e.DeleteLog(ctx, "l"); err != nil {
		t.Fatal(err)
	}
	if n := e.OpenFiles(); n != 0 {
		t.Fatalf("%d segment files of the deleted log still open", n)
	}
}
