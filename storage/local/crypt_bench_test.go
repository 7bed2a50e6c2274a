package local

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/datakey"
	"github.com/tributary-io/tributary/storage"
)

// The cost of encryption at rest. Run with, for example:
//
//	go test -run '^$' -bench 'Encrypted|SealFrame' -benchtime 2s -count 3 ./storage/local/
//
// Figures in docs/benchmarks.md ("Encryption at rest").

// benchKeys is a keyring for the benchmarks and the log option that
// encrypts under it, or none for the plain case.
func benchKeys(b *testing.B, enc bool) (Options, storage.LogOptions) {
	b.Helper()
	if !enc {
		return Options{}, storage.LogOptions{}
	}
	_, _, kr := testKeyring(b)
	return Options{Keys: kr}, storage.LogOptions{EncryptionKey: testKeyID}
}

var encModes = []struct {
	name string
	enc  bool
}{{"plain", false}, {"kms", true}}

// BenchmarkEncryptedIngest is BenchmarkAppend with 4 logs, plain and
// encrypted, fsyncing before acknowledging (sync=always, the default) and
// every 100ms (sync=interval, where the CPU cost shows more).
func BenchmarkEncryptedIngest(b *testing.B) {
	for _, sync := range []time.Duration{0, 100 * time.Millisecond} {
		for _, size := range []int{100, 1024} {
			for _, m := range encModes {
				name := "always"
				if sync > 0 {
					name = "interval"
				}
				b.Run(fmt.Sprintf("sync=%s/size=%d/%s", name, size, m.name), func(b *testing.B) {
					opts, lopts := benchKeys(b, m.enc)
					opts.SyncInterval = sync
					e, err := Open(b.TempDir(), opts)
					if err != nil {
						b.Fatal(err)
					}
					defer e.Close()
					benchAppendLogs(b, e, lopts, 4, size)
				})
			}
		}
	}
}

func benchAppendLogs(b *testing.B, e *Engine, lopts storage.LogOptions, logs, size int) {
	ctx := context.Background()
	ls := make([]storage.ShardLog, logs)
	for i := range ls {
		var err error
		if ls[i], err = e.CreateLog(ctx, fmt.Sprintf("log-%d", i), lopts); err != nil {
			b.Fatal(err)
		}
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
	b.StopTimer() // not the Close that follows
	b.ReportMetric(float64(b.N*len(batch))/time.Since(start).Seconds(), "records/s")
}

// BenchmarkEncryptedDrain reads a log of 50,000 records (batches of
// -bench-batch) from its start to its end in reads of up to 10,000
// records, as a consumer catching up does; one op is the whole log.
func BenchmarkEncryptedDrain(b *testing.B) {
	const total = 50_000
	for _, size := range []int{100, 1024} {
		for _, m := range encModes {
			b.Run(fmt.Sprintf("size=%d/%s", size, m.name), func(b *testing.B) {
				opts, lopts := benchKeys(b, m.enc)
				opts.SyncInterval = time.Second // filling is not what is measured
				e, err := Open(b.TempDir(), opts)
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close()
				ctx := context.Background()
				l, err := e.CreateLog(ctx, "l", lopts)
				if err != nil {
					b.Fatal(err)
				}
				batch := benchBatchOf(size)
				for n := 0; n < total; n += len(batch) {
					if _, err := l.Append(ctx, batch); err != nil {
						b.Fatal(err)
					}
				}
				b.SetBytes(int64(size * total))
				b.ResetTimer()
				start := time.Now()
				for i := 0; i < b.N; i++ {
					got := 0
					next := storage.Oldest()
					for {
						res, err := l.Read(ctx, next, storage.ReadLimits{MaxRecords: 10_000, MaxBytes: 10 << 20})
						if err != nil {
							b.Fatal(err)
						}
						if len(res.Records) == 0 {
							break
						}
						got += len(res.Records)
						next = storage.At(res.Next)
					}
					if got != total {
						b.Fatalf("read %d records, want %d", got, total)
					}
				}
				b.StopTimer() // not the Close that follows
				b.ReportMetric(float64(b.N*total)/time.Since(start).Seconds(), "records/s")
			})
		}
	}
}

// BenchmarkSealFrame is the CPU cost of encoding one batch, plain and
// encrypted (the data key already made).
func BenchmarkSealFrame(b *testing.B) {
	for _, size := range []int{100, 1024} {
		batch := benchBatchOf(size)
		b.Run(fmt.Sprintf("size=%d/plain", size), func(b *testing.B) {
			b.SetBytes(int64(size * len(batch)))
			for i := 0; i < b.N; i++ {
				buf := make([]byte, journalPrefix, journalPrefix+frameHeaderSize+encodedBodySize(batch))
				appendUnfinishedFrame(buf, batch)
			}
		})
		b.Run(fmt.Sprintf("size=%d/kms", size), func(b *testing.B) {
			_, _, kr := testKeyring(b)
			dk, err := datakey.New(context.Background(), kr, testKeyID)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size * len(batch)))
			for i := 0; i < b.N; i++ {
				buf := make([]byte, journalPrefix, journalPrefix+frameHeaderSize+sealedBodySize(batch, dk))
				appendUnfinishedSealedFrame(buf, batch, dk)
			}
		})
	}
}

// BenchmarkOpenFrame is the CPU cost of decoding one batch's frame,
// plain and encrypted (unwrapping its data key included, as every read
// of an encrypted frame does).
func BenchmarkOpenFrame(b *testing.B) {
	ctx := context.Background()
	for _, size := range []int{100, 1024} {
		batch := benchBatchOf(size)
		for _, m := range encModes {
			b.Run(fmt.Sprintf("size=%d/%s", size, m.name), func(b *testing.B) {
				opts, _ := benchKeys(b, m.enc)
				e := &Engine{opts: opts}
				var frame []byte
				if m.enc {
					dk, err := datakey.New(ctx, opts.Keys, testKeyID)
					if err != nil {
						b.Fatal(err)
					}
					frame = appendUnfinishedSealedFrame(nil, batch, dk)
				} else {
					frame = appendUnfinishedFrame(nil, batch)
				}
				finishFrame(frame, 1, 1)
				open := func(f []byte) ([]byte, error) { return e.openFrame(ctx, f) }
				b.SetBytes(int64(size * len(batch)))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					n := 0
					if _, err := decodeFrameWith(frame, 1, open, func(storage.StoredRecord) bool { n++; return true }); err != nil || n != len(batch) {
						b.Fatalf("decoded %d records: %v", n, err)
					}
				}
			})
		}
	}
}
