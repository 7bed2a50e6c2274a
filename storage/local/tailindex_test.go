package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tributary-io/tributary/storage"
)

// appendBig appends n records of 1 KiB, numbered from, as one-record
// frames; checkBig reads them back.
func appendBig(t *testing.T, l storage.ShardLog, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if _, err := l.Append(context.Background(), []storage.Record{{Key: "k", Data: bigRecord(i)}}); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
}

func bigRecord(i int) []byte {
	return append([]byte(fmt.Sprintf("record-%06d:", i)), bytes.Repeat([]byte{'x'}, 1010)...)
}

func checkBig(t *testing.T, l storage.ShardLog, want int) {
	t.Helper()
	got, next := 0, uint64(1)
	for {
		res, err := l.Read(context.Background(), storage.At(next), storage.ReadLimits{MaxRecords: 1000})
		if err != nil {
			t.Fatalf("read at %d: %v", next, err)
		}
		if len(res.Records) == 0 {
			break
		}
		for _, r := range res.Records {
			if r.Position != uint64(got+1) || !bytes.Equal(r.Data, bigRecord(got)) {
				t.Fatalf("record %d: position %d data %.20q", got, r.Position, r.Data)
			}
			got++
		}
		next = res.Next
	}
	if got != want {
		t.Fatalf("read %d records, want %d", got, want)
	}
}

// tailFixture makes a log whose active segment has a tail index over its
// first 100 records of 1 KiB (written by a checkpoint) and 20 more records
// after it that only the journal and the segment's page cache hold, and
// leaves the engine as a crash would.
func tailFixture(t *testing.T) (dir, seg string) {
	t.Helper()
	dir = t.TempDir()
	e := openT(t, dir, Options{CheckpointInterval: time.Hour})
	l, err := e.CreateLog(context.Background(), "a", storage.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	appendBig(t, l, 0, 100)
	if err := e.checkpoint(); err != nil {
		t.Fatal(err)
	}
	appendBig(t, l, 100, 20)
	e.abandon()
	seg = onlySegment(t, dir)
	b, err := os.ReadFile(tailIndexPath(seg))
	if err != nil {
		t.Fatalf("no tail index after a checkpoint of 100 KiB: %v", err)
	}
	ix, err := decodeIndex(b)
	if err != nil || ix.lastPos != 100 {
		t.Fatalf("tail index: %+v, %v; want one through position 100", ix, err)
	}
	return dir, seg
}

// TestRecoveryTrustsTheTailIndex shows that recovery does not read what
// the tail index covers: a frame damaged inside it goes unnoticed at
// Open (and is reported by the read that meets it), while without the
// tail index the same damage makes Open fail, as the whole scan finds it.
func TestRecoveryTrustsTheTailIndex(t *testing.T) {
	dir, seg := tailFixture(t)
	// Damage a byte of the body of record 10 (about 10 KiB in).
	f, err := os.OpenFile(seg, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{'!'}, 10*1050+500); err != nil {
		t.Fatal(err)
	}
	f.Close()

	e, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open with a tail index over the damage: %v", err)
	}
	l, _ := e.Log(context.Background(), "a")
	res, err := l.Read(context.Background(), storage.At(115), storage.ReadLimits{MaxRecords: 10})
	if err != nil || len(res.Records) != 6 || res.Records[0].Position != 115 {
		t.Errorf("read of the records after the tail index: %d records, %v; want 115..120", len(res.Records), err)
	}
	if _, err := l.Read(context.Background(), storage.Oldest(), storage.ReadLimits{MaxRecords: 1000}); !errors.Is(err, storage.ErrCorrupt) {
		t.Errorf("read over the damaged frame: %v, want ErrCorrupt", err)
	}
	e.Close()

	if err := os.Remove(tailIndexPath(seg)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{}); !errors.Is(err, storage.ErrCorrupt) {
		t.Errorf("Open without the tail index: %v, want ErrCorrupt for the damage the scan finds", err)
	}
}

// TestBadTailIndexIsIgnored: a tail index that does not fit the segment
// (torn, garbage, longer than the file, of another segment) costs a whole
// scan and nothing else.
func TestBadTailIndexIsIgnored(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(t *testing.T, seg string)
	}{
		{"torn", func(t *testing.T, seg string) {
			b, _ := os.ReadFile(tailIndexPath(seg))
			os.WriteFile(tailIndexPath(seg), b[:len(b)-3], 0o644)
		}},
		{"garbage", func(t *testing.T, seg string) {
			os.WriteFile(tailIndexPath(seg), bytes.Repeat([]byte{7}, 200), 0o644)
		}},
		{"empty", func(t *testing.T, seg string) {
			os.WriteFile(tailIndexPath(seg), nil, 0o644)
		}},
		{"covers more than the file", func(t *testing.T, seg string) {
			ix := index{entries: []indexEntry{{pos: 1}}, size: 1 << 30, lastPos: 1 << 20}
			os.WriteFile(tailIndexPath(seg), encodeIndex(&ix), 0o644)
		}},
		{"starts at another position", func(t *testing.T, seg string) {
			ix := index{entries: []indexEntry{{pos: 7}}, size: 100, lastPos: 9}
			os.WriteFile(tailIndexPath(seg), encodeIndex(&ix), 0o644)
		}},
		{"ends inside a frame", func(t *testing.T, seg string) {
			// A checksum-valid index whose end is not a frame boundary:
			// the scan after it meets no frame, and the whole scan that
			// follows finds every record.
			ix := index{entries: []indexEntry{{pos: 1}}, size: 1500, lastPos: 1}
			os.WriteFile(tailIndexPath(seg), encodeIndex(&ix), 0o644)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, seg := tailFixture(t)
			tt.spoil(t, seg)
			e := openT(t, dir, Options{})
			defer e.Close()
			l, _ := e.Log(context.Background(), "a")
			checkBig(t, l, 120)
		})
	}
}

// TestTailIndexAfterReopen: the records after the tail index come back
// from the segment and the journal, the log goes on from them, and the
// next checkpoint moves the tail index on.
func TestTailIndexAfterReopen(t *testing.T) {
	dir, seg := tailFixture(t)
	e := openT(t, dir, Options{CheckpointInterval: time.Hour})
	l, _ := e.Log(context.Background(), "a")
	checkBig(t, l, 120)
	appendBig(t, l, 120, 80)
	if err := e.checkpoint(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(tailIndexPath(seg))
	if ix, err := decodeIndex(b); err != nil || ix.lastPos != 200 {
		t.Errorf("tail index after the checkpoint: %+v, %v; want one through position 200", ix, err)
	}
	e.abandon()
	e = openT(t, dir, Options{})
	defer e.Close()
	l, _ = e.Log(context.Background(), "a")
	checkBig(t, l, 200)
}

// TestRecoverySyncsSegmentsTheJournalCovers: after a crash, frames that
// are in a segment and in the journal may be only in the page cache the
// crashed process left, and recovery deletes the journal; so it must
// sync those segments first, even though it writes nothing to them.
func TestRecoverySyncsSegmentsTheJournalCovers(t *testing.T) {
	dir := t.TempDir()
	e := openT(t, dir, Options{CheckpointInterval: time.Hour})
	for _, name := range []string{"a", "b"} {
		l, err := e.CreateLog(context.Background(), name, storage.LogOptions{})
		if err != nil {
			t.Fatal(err)
		}
		appendN(t, l, 0, 5)
	}
	e.abandon()

	e = openT(t, dir, Options{})
	defer e.Close()
	if got := testutil.ToFloat64(e.metrics.segmentSyncs); got != 2 {
		t.Errorf("recovery synced %v segments, want the 2 the journal covers", got)
	}
}
