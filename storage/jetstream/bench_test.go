package jetstream

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
)

// Run with, for example:
//
//	go test -run '^$' -bench . -benchtime 3s ./storage/jetstream/
//
// The data directory is b.TempDir(): put TMPDIR on the disk to measure.

func benchBatch(n, size int) []storage.Record {
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i)
	}
	batch := make([]storage.Record, n)
	for i := range batch {
		batch[i] = storage.Record{Key: fmt.Sprintf("pk-%04d", i), Data: data}
	}
	return batch
}

// BenchmarkAppend measures durable appends (every message fsynced before
// its acknowledgement) of batches of 500 records of 100 bytes, one
// appender per log. One op is one batch; records/s and MB/s count record
// data.
func BenchmarkAppend(b *testing.B) {
	for _, logs := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprintf("batch=500x100B/logs=%d", logs), func(b *testing.B) {
			e, err := Open(b.Context(), Options{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			ls := make([]storage.ShardLog, logs)
			for i := range ls {
				if ls[i], err = e.CreateLog(b.Context(), fmt.Sprintf("log-%d", i), storage.LogOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			batch := benchBatch(500, 100)
			b.SetBytes(int64(500 * 100))
			b.ReportAllocs()
			var left atomic.Int64
			left.Store(int64(b.N))
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for _, l := range ls {
				wg.Go(func() {
					for left.Add(-1) >= 0 {
						if _, err := l.Append(b.Context(), batch); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N*500)/time.Since(start).Seconds(), "records/s")
		})
	}
}

// BenchmarkRead measures reads of 1000 records from a log of 100-byte
// records appended in batches of 500, walking the log with At(Next). One
// op is one Read.
func BenchmarkRead(b *testing.B) {
	e, err := Open(b.Context(), Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	l, err := e.CreateLog(b.Context(), "read", storage.LogOptions{})
	if err != nil {
		b.Fatal(err)
	}
	batch := benchBatch(500, 100)
	const batches = 200 // 100,000 records
	for range batches {
		if _, err := l.Append(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(1000 * 100)
	b.ReportAllocs()
	b.ResetTimer()
	start := storage.Oldest()
	for range b.N {
		res, err := l.Read(b.Context(), start, storage.ReadLimits{MaxRecords: 1000})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Records) != 1000 {
			if len(res.Records) != 0 {
				b.Fatalf("read %d records, want 1000", len(res.Records))
			}
			start = storage.Oldest() // wrapped around the end
			continue
		}
		start = storage.At(res.Next)
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkReadAtTime measures a read of 100 records from an arrival time
// in the middle of a log of 2,000 messages: the binary search over
// sequences.
func BenchmarkReadAtTime(b *testing.B) {
	clock := time.UnixMilli(1_700_000_000_000)
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	e, err := Open(b.Context(), Options{Dir: b.TempDir(), Now: now})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	l, err := e.CreateLog(b.Context(), "by-time", storage.LogOptions{})
	if err != nil {
		b.Fatal(err)
	}
	batch := benchBatch(10, 100)
	var mid int64
	for i := range 2000 {
		mu.Lock()
		clock = clock.Add(time.Millisecond)
		mu.Unlock()
		app, err := l.Append(b.Context(), batch)
		if err != nil {
			b.Fatal(err)
		}
		if i == 1000 {
			mid = app[0].ArrivalTime
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		res, err := l.Read(b.Context(), storage.AtTime(mid), storage.ReadLimits{MaxRecords: 100})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Records) != 100 || res.Records[0].ArrivalTime != mid {
			b.Fatalf("read %d records from %d, want 100 from %d", len(res.Records), res.Records[0].ArrivalTime, mid)
		}
	}
}

// BenchmarkTrimIdle measures one pass of the trimmer over 1,000 logs
// with a retention and nothing expired: the pass every minute costs this
// when there is nothing to reclaim.
func BenchmarkTrimIdle(b *testing.B) {
	e, err := Open(b.Context(), Options{Dir: b.TempDir(), TrimInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	for i := range 1000 {
		l, err := e.CreateLog(b.Context(), fmt.Sprintf("log-%d", i), storage.LogOptions{Retention: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := l.Append(b.Context(), benchBatch(1, 100)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := e.trimAll(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClusterConfirm measures, on an in-process cluster of 3 nodes,
// what a read through a node pays to learn the subject's last sequence,
// which it must find in the replica it reads: from the stream's leader
// (peek, what reads did before barriers; a leader cut off with a minority
// may answer it until it steps down), after a barrier of its own
// (publishBarrier and lastAfter), or after a barrier shared with the
// reads running at the same time (refresh, what reads do: barrier.go).
// One op is one confirmation; with par=16, 16 goroutines confirm at once.
func BenchmarkClusterConfirm(b *testing.B) {
	es := openCluster(b, 3)
	ctx := b.Context()
	if _, err := es[0].CreateLog(ctx, "l", storage.LogOptions{}); err != nil {
		b.Fatal(err)
	}
	w, err := es[1].Log(ctx, "l")
	if err != nil {
		b.Fatal(err)
	}
	for range 100 {
		if _, err := w.Append(ctx, benchBatch(10, 100)); err != nil {
			b.Fatal(err)
		}
	}
	r, err := es[2].Log(ctx, "l")
	if err != nil {
		b.Fatal(err)
	}
	st := r.(*shardLog).st
	ways := []struct {
		name    string
		confirm func() error
	}{
		{"leader-get", func() error { return st.peek(ctx) }},
		{"barrier-shared", func() error { _, err := st.refreshTail(ctx); return err }},
		{"barrier-own", func() error {
			seq, err := st.e.publishBarrier(ctx, st.stream, st.barrier)
			if err != nil {
				return err
			}
			_, found, err := st.lastAfter(ctx, seq)
			if err == nil && !found {
				err = fmt.Errorf("no last message after barrier %d", seq)
			}
			return err
		}},
	}
	for _, way := range ways {
		for _, par := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/par=%d", way.name, par), func(b *testing.B) {
				var next atomic.Int64
				var wg sync.WaitGroup
				errs := make(chan error, par)
				b.ResetTimer()
				for range par {
					wg.Go(func() {
						for next.Add(1) <= int64(b.N) {
							if err := way.confirm(); err != nil {
								errs <- err
								return
							}
						}
					})
				}
				wg.Wait()
				close(errs)
				if err := <-errs; err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}

// BenchmarkAppendShared measures durable appends of one record of 100
// bytes (a PutRecord) by many appenders on one log: the case group commit
// is for, where appends that arrive while a message is being stored share
// the next one. One op is one Append; msgs/op is how many JetStream
// messages (and fsyncs) an append cost on average.
func BenchmarkAppendShared(b *testing.B) {
	for _, appenders := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprintf("batch=1x100B/appenders=%d", appenders), func(b *testing.B) {
			e, err := Open(b.Context(), Options{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			l, err := e.CreateLog(b.Context(), "shared", storage.LogOptions{})
			if err != nil {
				b.Fatal(err)
			}
			batch := benchBatch(1, 100)
			b.SetBytes(100)
			b.ReportAllocs()
			var left atomic.Int64
			left.Store(int64(b.N))
			b.ResetTimer()
			var wg sync.WaitGroup
			for range appenders {
				wg.Go(func() {
					for left.Add(-1) >= 0 {
						if _, err := l.Append(b.Context(), batch); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(subjectMsgs(b, l))/float64(b.N), "msgs/op")
		})
	}
}
