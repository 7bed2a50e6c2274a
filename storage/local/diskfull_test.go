package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/tmpfs"
	"github.com/tributary-io/tributary/storage"
)

// TestDiskFull fills the disk under the engine while several logs are
// written, frees space, writes again and crashes. A write the engine
// refused must not appear after the crash, every acknowledged one must,
// in order, and writing must resume without a restart once there is room.
//
// It fills, in turn, the journal's filesystem (the journal write fails
// after the segment write succeeded: the refused frames must be taken back
// out of the segments), the segments' filesystem (the segment write fails
// first), and one filesystem holding both.
func TestDiskFull(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mount string // under the data directory; "" for the whole of it
		size  int64
	}{
		{"journal full", "wal", 1 << 20},
		{"segments full", "logs", 1 << 20},
		{"one full disk", "", 2 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			full := filepath.Join(dir, tc.mount)
			tmpfs.Mount(t, full, tc.size)
			// Room to give back later, taken now.
			ballast := filepath.Join(full, "ballast")
			if err := os.WriteFile(ballast, make([]byte, tc.size/4), 0o644); err != nil {
				t.Fatal(err)
			}
			// No checkpoint while full: a checkpoint would delete journal
			// files and make room by itself.
			opts := Options{CheckpointInterval: time.Hour, JournalBytes: 64 << 20, SegmentBytes: 16 << 10}
			e := openT(t, dir, opts)
			t.Cleanup(func() { e.Close() }) // before the unmount
			ctx := context.Background()
			const logs = 4
			var ls [logs]storage.ShardLog
			for i := range ls {
				var err error
				if ls[i], err = e.CreateLog(ctx, fmt.Sprintf("log-%d", i), storage.LogOptions{}); err != nil {
					t.Fatal(err)
				}
			}

			// Two writers per log append batches of three 4 KiB records
			// until the disk has refused them 5 times each. Two writers
			// keep several appends of a log in flight, and segments of
			// 16 KiB hold one batch, so a failed journal write has to take
			// back appends that span segments. The first batches are
			// written before the disk is near full, so each log holds some.
			const writers = 2 * logs
			var acked, refused [writers][]string
			appendBatch := func(w, n int) {
				batch := make([]storage.Record, 3)
				data := make([]string, 3)
				for k := range batch {
					data[k] = fmt.Sprintf("w%d-%06d-%d %s", w, n, k, strings.Repeat("x", 4<<10))
					batch[k] = storage.Record{Key: "k", Data: []byte(data[k])}
				}
				if _, err := ls[w%logs].Append(ctx, batch); err != nil {
					refused[w] = append(refused[w], data...)
					return
				}
				acked[w] = append(acked[w], data...)
			}
			for w := range writers {
				appendBatch(w, 0)
			}
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := 1; len(refused[w]) < 5*3 && n < 10_000; n++ {
						appendBatch(w, n)
					}
				}()
			}
			wg.Wait()
			for w := range writers {
				if len(refused[w]) == 0 || len(acked[w]) == 0 {
					t.Fatalf("writer %d: %d acknowledged, %d refused: the disk did not fill as planned", w, len(acked[w]), len(refused[w]))
				}
			}

			// Room again: the next write of every log succeeds, no restart.
			if err := os.Remove(ballast); err != nil {
				t.Fatal(err)
			}
			for w := range logs {
				data := fmt.Sprintf("w%d-after", w)
				if _, err := ls[w].Append(ctx, []storage.Record{{Key: "k", Data: []byte(data)}}); err != nil {
					// Go on to the crash: what is stored is checked too.
					t.Errorf("log %d: append once there is room again: %v", w, err)
					continue
				}
				acked[w] = append(acked[w], data)
			}

			e.abandon() // a crash: no last checkpoint, the journal replayed
			e = openT(t, dir, opts)
			// Each writer's acknowledged records are stored, in its order,
			// and none of its refused ones.
			var stored [writers][]string
			for i := range ls {
				l, err := e.Log(ctx, fmt.Sprintf("log-%d", i))
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range readAllData(t, l) {
					var w int
					fmt.Sscanf(d, "w%d-", &w)
					stored[w] = append(stored[w], d)
				}
			}
			for w := range writers {
				refusedSet := make(map[string]bool)
				for _, d := range refused[w] {
					refusedSet[d] = true
				}
				for _, d := range stored[w] {
					if refusedSet[d] {
						t.Fatalf("writer %d: refused record %.20q is stored", w, d)
					}
				}
				if len(stored[w]) != len(acked[w]) {
					t.Fatalf("writer %d: %d records stored, %d acknowledged", w, len(stored[w]), len(acked[w]))
				}
				for k := range stored[w] {
					if stored[w][k] != acked[w][k] {
						t.Fatalf("writer %d: record %d is %.20q, acknowledged %.20q", w, k, stored[w][k], acked[w][k])
					}
				}
				t.Logf("writer %d: %d acknowledged and stored, %d refused and absent", w, len(stored[w]), len(refused[w]))
			}
		})
	}
}

// readAllData returns the data of every record of a log, in order.
func readAllData(t *testing.T, l storage.ShardLog) []string {
	t.Helper()
	var out []string
	start := storage.Oldest()
	for {
		res, err := l.Read(context.Background(), start, storage.ReadLimits{MaxRecords: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Records) == 0 {
			return out
		}
		for _, r := range res.Records {
			out = append(out, string(r.Data))
		}
		start = storage.At(res.Next)
	}
}

// TestCatalogueDiskFull does for catalogue changes what TestDiskFull does
// for appends: a change refused for want of space must not appear after a
// crash, and changes resume once there is room.
func TestCatalogueDiskFull(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	const size = 1 << 20
	tmpfs.Mount(t, dir, size)
	ballast := filepath.Join(dir, "ballast")
	if err := os.WriteFile(ballast, make([]byte, size/4), 0o644); err != nil {
		t.Fatal(err)
	}
	e := openT(t, dir, Options{CheckpointInterval: time.Hour})
	t.Cleanup(func() { e.Close() })
	ctx := context.Background()
	value := []byte(strings.Repeat("v", 16<<10))
	var acked, refused []string
	for i := 0; len(refused) < 5 && i < 1000; i++ {
		key := fmt.Sprintf("streams/s-%04d", i)
		if _, err := e.Meta().CompareAndSwap(ctx, key, value, 0); err != nil {
			refused = append(refused, key)
			continue
		}
		acked = append(acked, key)
	}
	if len(acked) == 0 || len(refused) == 0 {
		t.Fatalf("%d changes acknowledged, %d refused: the disk did not fill as planned", len(acked), len(refused))
	}
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Meta().CompareAndSwap(ctx, "streams/after", value, 0); err != nil {
		t.Errorf("a change once there is room again: %v", err)
	} else {
		acked = append(acked, "streams/after")
	}

	e.abandon()
	e = openT(t, dir, Options{CheckpointInterval: time.Hour})
	entries, err := e.Meta().List(ctx, "streams/")
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]bool)
	for _, en := range entries {
		got[en.Key] = true
	}
	for _, k := range refused {
		if got[k] {
			t.Errorf("refused change %s is in the catalogue after the crash", k)
		}
	}
	for _, k := range acked {
		if !got[k] {
			t.Errorf("acknowledged change %s is missing after the crash", k)
		}
	}
	if len(got) != len(acked) {
		t.Errorf("%d entries after the crash, %d acknowledged", len(got), len(acked))
	}
}
