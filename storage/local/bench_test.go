package local

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
)

// Run with, for example:
//
//	go test -run '^$' -bench . -benchtime 3s ./storage/local/
//
// The figures and the machine they came from are in the note on issue 2
// and in docs/benchmarks.md.

var (
	benchBatch   = flag.Int("bench-batch", 100, "records per Append in the append benchmarks")
	benchLogSize = flag.Int64("bench-log-bytes", 1<<30, "bytes of data in the log of BenchmarkReadAtTimestamp")
)

func benchBatchOf(size int) []storage.Record {
	batch := make([]storage.Record, *benchBatch)
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i)
	}
	for i := range batch {
		batch[i] = storage.Record{Key: fmt.Sprintf("pk-%04d", i), Data: data}
	}
	return batch
}

// BenchmarkAppend measures durable appends (fsync before acknowledging),
// one appender per log, batches of -bench-batch records. One op is one
// batch; records/s and MB/s count record data only.
func BenchmarkAppend(b *testing.B) {
	for _, size := range []int{100, 1024} {
		for _, logs := range []int{1, 4, 64} {
			b.Run(fmt.Sprintf("size=%d/logs=%d", size, logs), func(b *testing.B) {
				e, err := Open(b.TempDir(), Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close()
				ctx := context.Background()
				ls := make([]storage.ShardLog, logs)
				for i := range ls {
					ls[i], _ = e.CreateLog(ctx, fmt.Sprintf("log-%d", i), storage.LogOptions{})
				}
				batch := benchBatchOf(size)
				b.SetBytes(int64(size * len(batch)))
				b.ResetTimer()
				start := time.Now()
				var wg sync.WaitGroup
				var next sync.Mutex
				done := 0
				for _, l := range ls {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							next.Lock()
							if done >= b.N {
								next.Unlock()
								return
							}
							done++
							next.Unlock()
							if _, err := l.Append(ctx, batch); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(b.N*len(batch))/time.Since(start).Seconds(), "records/s")
			})
		}
	}
}

// BenchmarkDiskBaseline writes the same bytes an Append of one batch
// writes to its segment, to one file, with an fsync after each write: the
// disk's limit for a single durable writer, which the engine's
// BenchmarkAppend/logs=1 is compared with.
func BenchmarkDiskBaseline(b *testing.B) {
	for _, size := range []int{100, 1024} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			batch := benchBatchOf(size)
			frame := appendFrame(nil, 1, 1, batch)
			f, err := os.Create(filepath.Join(b.TempDir(), "baseline"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			b.SetBytes(int64(size * len(batch)))
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := f.Write(frame); err != nil {
					b.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(batch))/time.Since(start).Seconds(), "records/s")
		})
	}
}

// fillLog appends n bytes of size-byte records to a new log quickly
// (interval sync: the layout on disk is the same) and reopens the engine so
// the benchmark reads through the normal open path.
func fillLog(b *testing.B, dir string, size int, total int64, spacing time.Duration) (*Engine, storage.ShardLog, int64, int64) {
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(spacing)
		return now
	}
	e, err := Open(dir, Options{SyncInterval: time.Second, Now: clock})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	l, _ := e.CreateLog(ctx, "big", storage.LogOptions{})
	batch := make([]storage.Record, 500)
	data := make([]byte, size)
	for i := range batch {
		batch[i] = storage.Record{Key: "k", Data: data}
	}
	first := int64(0)
	for written := int64(0); written < total; written += int64(size * len(batch)) {
		res, err := l.Append(ctx, batch)
		if err != nil {
			b.Fatal(err)
		}
		if first == 0 {
			first = res[0].ArrivalTime
		}
	}
	last := now.UnixMilli()
	e.Close()
	e, err = Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	l, _ = e.Log(ctx, "big")
	return e, l, first, last
}

// A filled log is shared by the read benchmarks and by the repeated calls
// the testing package makes to one benchmark with growing b.N: refilling it
// each time would measure reads racing the writeback of the last fill.
var (
	bigLogOnce sync.Once
	bigLog     storage.ShardLog
	bigFirst   int64
	bigLast    int64
)

func sharedLog(b *testing.B) (storage.ShardLog, int64, int64) {
	bigLogOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tributary-bench-")
		if err != nil {
			b.Fatal(err)
		}
		// Removed at process exit by the OS temp cleaner, not here: the
		// log serves every benchmark in this process.
		_, bigLog, bigFirst, bigLast = fillLog(b, dir, 1024, *benchLogSize, 100*time.Microsecond)
		syscall.Sync() // let writeback finish before anything is timed
	})
	return bigLog, bigFirst, bigLast
}

// BenchmarkSequentialRead reads the shared log of 1 KiB records
// (-bench-log-bytes, 1 GiB by default) from the start with GetRecords-sized
// reads (10000 records, 10 MiB).
func BenchmarkSequentialRead(b *testing.B) {
	l, _, _ := sharedLog(b)
	ctx := context.Background()
	b.ResetTimer()
	var records, bytes int64
	start := time.Now()
	for i := 0; i < b.N; i++ {
		for next := uint64(1); ; {
			res, err := l.Read(ctx, storage.At(next), storage.ReadLimits{MaxRecords: 10000, MaxBytes: 10 << 20})
			if err != nil {
				b.Fatal(err)
			}
			if len(res.Records) == 0 {
				break
			}
			for _, r := range res.Records {
				bytes += int64(len(r.Data))
			}
			records += int64(len(res.Records))
			next = res.Next
		}
	}
	sec := time.Since(start).Seconds()
	b.ReportMetric(float64(records)/sec, "records/s")
	b.ReportMetric(float64(bytes)/sec/1e6, "MB/s")
}

// BenchmarkReadAtTimestamp measures a read of one record at a random time
// in a log of -bench-log-bytes (1 GiB by default): index lookup plus a
// bounded scan, never a scan from the start.
func BenchmarkReadAtTimestamp(b *testing.B) {
	l, first, last := sharedLog(b)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := first + rng.Int64N(last-first)
		res, err := l.Read(ctx, storage.AtTime(t), storage.ReadLimits{MaxRecords: 1})
		if err != nil || len(res.Records) != 1 || res.Records[0].ArrivalTime < t {
			b.Fatalf("read at %d: %v %+v", t, err, res.Records)
		}
	}
}
