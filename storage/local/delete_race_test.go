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
				if _, err := l.Append(ctx, []storage.Record{{PartitionKey: "k", Data: make([]byte, 200)}}); err != nil {
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
