package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
)

func openT(t testing.TB, dir string, opts Options) *Engine {
	t.Helper()
	e, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return e
}

func appendN(t testing.TB, l storage.ShardLog, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		_, err := l.Append(context.Background(), []storage.Record{{Key: "k", Data: []byte(fmt.Sprintf("record-%06d", i))}})
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
}

// readAll reads a log from the start and checks records are record-000000,
// record-000001, ... at positions 1, 2, ...
func checkAll(t testing.TB, l storage.ShardLog, want int) {
	t.Helper()
	got := 0
	next := uint64(1)
	for {
		res, err := l.Read(context.Background(), storage.At(next), storage.ReadLimits{MaxRecords: 1000})
		if err != nil {
			t.Fatalf("read at %d: %v", next, err)
		}
		if len(res.Records) == 0 {
			break
		}
		for _, r := range res.Records {
			if r.Position != uint64(got+1) || string(r.Data) != fmt.Sprintf("record-%06d", got) {
				t.Fatalf("record %d: position %d data %q", got, r.Position, r.Data)
			}
			got++
		}
		next = res.Next
	}
	if got != want {
		t.Fatalf("read %d records, want %d", got, want)
	}
}

func onlySegment(t testing.TB, dir string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "logs", "*", "*.seg"))
	if len(m) != 1 {
		t.Fatalf("want one segment, found %v", m)
	}
	return m[0]
}

func TestReopenAfterCrashReplaysJournal(t *testing.T) {
	dir := t.TempDir()
	e := openT(t, dir, Options{CheckpointInterval: time.Hour})
	l, _ := e.CreateLog(context.Background(), "a", storage.LogOptions{})
	appendN(t, l, 0, 50)
	e.abandon()

	// Simulate a power loss that kept the journal (fsynced) but not the
	// segment's page cache: cut the segment in the middle of a frame.
	seg := onlySegment(t, dir)
	st, _ := os.Stat(seg)
	if err := os.Truncate(seg, st.Size()/2+3); err != nil {
		t.Fatal(err)
	}
	e = openT(t, dir, Options{})
	defer e.Close()
	l, err := e.Log(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	checkAll(t, l, 50)
	appendN(t, l, 50, 5)
	checkAll(t, l, 55)
	if wal, _ := filepath.Glob(filepath.Join(dir, "wal", "*.wal")); len(wal) != 1 {
		t.Fatalf("after recovery the journal should be one fresh file, have %v", wal)
	}
}

func TestTornTailIsTruncated(t *testing.T) {
	dir := t.TempDir()
	e := openT(t, dir, Options{})
	l, _ := e.CreateLog(context.Background(), "a", storage.LogOptions{})
	appendN(t, l, 0, 10)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	// A write that never finished: half a frame, then zeros.
	seg := onlySegment(t, dir)
	f, _ := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
	frame := appendFrame(nil, 11, time.Now().UnixMilli(), []storage.Record{{Key: "k", Data: []byte(strings.Repeat("x", 100))}})
	f.Write(frame[:60])
	f.Write(make([]byte, 4096))
	f.Close()

	e = openT(t, dir, Options{})
	defer e.Close()
	l, _ = e.Log(context.Background(), "a")
	checkAll(t, l, 10)
	appendN(t, l, 10, 1)
	checkAll(t, l, 11)
}

func TestCorruptionInTheMiddleIsReported(t *testing.T) {
	dir := t.TempDir()
	e := openT(t, dir, Options{})
	l, _ := e.CreateLog(context.Background(), "a", storage.LogOptions{})
	appendN(t, l, 0, 10)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	seg := onlySegment(t, dir)
	b, _ := os.ReadFile(seg)
	frameLen := len(b) / 10
	b[3*frameLen+40] ^= 0xff // inside the body of the fourth frame
	os.WriteFile(seg, b, 0o644)

	_, err := Open(dir, Options{})
	if !errors.Is(err, storage.ErrCorrupt) {
		t.Fatalf("Open over a damaged segment: %v, want ErrCorrupt", err)
	}
	want := fmt.Sprintf("%s at offset %d", seg, 3*frameLen)
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not name %q", err, want)
	}
}

func TestCorruptClosedSegmentFailsReadsWithLocation(t *testing.T) {
	dir := t.TempDir()
	e := openT(t, dir, Options{SegmentBytes: 1024})
	l, _ := e.CreateLog(context.Background(), "a", storage.LogOptions{})
	appendN(t, l, 0, 100)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(filepath.Dir(onlyDir(t, dir)), "*", "*.seg"))
	if len(segs) < 3 {
		t.Fatalf("want several segments, have %d", len(segs))
	}
	b, _ := os.ReadFile(segs[0])
	b[40] ^= 0xff
	os.WriteFile(segs[0], b, 0o644)

	e = openT(t, dir, Options{SegmentBytes: 1024})
	defer e.Close()
	l, _ = e.Log(context.Background(), "a")
	_, err := l.Read(context.Background(), storage.Oldest(), storage.ReadLimits{MaxRecords: 10})
	if !errors.Is(err, storage.ErrCorrupt) || !strings.Contains(err.Error(), segs[0]+" at offset 0") {
		t.Fatalf("read of a damaged closed segment: %v", err)
	}
	// Later segments stay readable.
	res, err := l.Read(context.Background(), storage.At(90), storage.ReadLimits{MaxRecords: 5})
	if err != nil || len(res.Records) != 5 || res.Records[0].Position != 90 {
		t.Fatalf("read past the damage: %v %+v", err, res)
	}
}

func onlyDir(t testing.TB, dir string) string {
	m, _ := filepath.Glob(filepath.Join(dir, "logs", "*"))
	if len(m) != 1 {
		t.Fatalf("want one log dir, have %v", m)
	}
	return m[0]
}

func TestIndexRebuiltWhenMissing(t *testing.T) {
	dir := t.TempDir()
	e := openT(t, dir, Options{SegmentBytes: 2048})
	l, _ := e.CreateLog(context.Background(), "a", storage.LogOptions{})
	appendN(t, l, 0, 200)
	e.Close()
	idx, _ := filepath.Glob(filepath.Join(dir, "logs", "*", "*.idx"))
	if len(idx) < 2 {
		t.Fatalf("want index files for closed segments, have %v", idx)
	}
	os.Remove(idx[0])
	os.WriteFile(idx[1], []byte("garbage"), 0o644)
	e = openT(t, dir, Options{SegmentBytes: 2048})
	defer e.Close()
	l, _ = e.Log(context.Background(), "a")
	checkAll(t, l, 200)
}

func TestOpenFilesStayBounded(t *testing.T) {
	e := openT(t, t.TempDir(), Options{MaxOpenFiles: 16})
	defer e.Close()
	ctx := context.Background()
	var logs []storage.ShardLog
	for i := 0; i < 300; i++ {
		l, err := e.CreateLog(ctx, fmt.Sprintf("log-%d", i), storage.LogOptions{})
		if err != nil {
			t.Fatal(err)
		}
		appendN(t, l, 0, 2)
		logs = append(logs, l)
	}
	for _, l := range logs {
		checkAll(t, l, 2)
	}
	if n := e.OpenFiles(); n > 16 {
		t.Fatalf("%d segment files open, limit 16", n)
	}
}

func TestRetentionReclaimsWholeSegments(t *testing.T) {
	dir := t.TempDir()
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	e := openT(t, dir, Options{Now: clock, SegmentBytes: 1024, CheckpointInterval: time.Hour})
	defer e.Close()
	ctx := context.Background()
	l, _ := e.CreateLog(ctx, "a", storage.LogOptions{Retention: time.Hour})
	appendN(t, l, 0, 100)
	now = now.Add(30 * time.Minute)
	appendN(t, l, 100, 10)
	before, _ := filepath.Glob(filepath.Join(dir, "logs", "*", "*.seg"))

	now = now.Add(45 * time.Minute) // the first 100 records are expired
	if err := e.checkpoint(); err != nil {
		t.Fatal(err)
	}
	sl := l.(*shardLog)
	sl.clean() // drops expired segments from the log
	sl.clean() // removes their files
	after, _ := filepath.Glob(filepath.Join(dir, "logs", "*", "*.seg"))
	if len(after) >= len(before)-2 {
		t.Fatalf("segments before %d, after %d: expired ones not reclaimed", len(before), len(after))
	}
	res, err := l.Read(ctx, storage.Oldest(), storage.ReadLimits{MaxRecords: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 10 || string(res.Records[0].Data) != "record-000100" {
		t.Fatalf("after retention read %d records starting %q", len(res.Records), res.Records[0].Data)
	}
	info, _ := l.Info(ctx)
	if info.FirstPosition != 101 || info.LastPosition != 110 {
		t.Fatalf("info %+v", info)
	}
}

func TestSecondOpenOfADirectoryFails(t *testing.T) {
	dir := t.TempDir()
	e := openT(t, dir, Options{})
	defer e.Close()
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open: %v", err)
	}
}

func TestIntervalSyncMode(t *testing.T) {
	dir := t.TempDir()
	e := openT(t, dir, Options{SyncInterval: 5 * time.Millisecond})
	l, _ := e.CreateLog(context.Background(), "a", storage.LogOptions{})
	appendN(t, l, 0, 20)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e = openT(t, dir, Options{})
	defer e.Close()
	l, _ = e.Log(context.Background(), "a")
	checkAll(t, l, 20)
}

func TestMetaSurvivesCrashAndCompaction(t *testing.T) {
	dir := t.TempDir()
	e := openT(t, dir, Options{})
	ctx := context.Background()
	m := e.Meta()
	rev := uint64(0)
	var err error
	big := make([]byte, 64<<10)
	for i := 0; i < 100; i++ { // rewrites force compaction
		big[0] = byte(i)
		if rev, err = m.CompareAndSwap(ctx, "k", big, rev); err != nil {
			t.Fatal(err)
		}
	}
	r2, _ := m.CompareAndSwap(ctx, "gone", []byte("x"), 0)
	if err := m.Delete(ctx, "gone", r2); err != nil {
		t.Fatal(err)
	}
	e.abandon()
	st, _ := os.Stat(filepath.Join(dir, "meta.log"))
	if st.Size() > 1<<20+200<<10 {
		t.Fatalf("meta.log is %d bytes: not compacted", st.Size())
	}
	e = openT(t, dir, Options{})
	defer e.Close()
	got, err := e.Meta().Get(ctx, "k")
	if err != nil || got.Revision != rev || got.Value[0] != 99 || len(got.Value) != len(big) {
		t.Fatalf("after reopen: %v rev %d (want %d)", err, got.Revision, rev)
	}
	if _, err := e.Meta().Get(ctx, "gone"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("deleted key: %v", err)
	}
	r3, err := e.Meta().CompareAndSwap(ctx, "gone", []byte("y"), 0)
	if err != nil || r3 <= r2 {
		t.Fatalf("re-created key got revision %d after %d (%v)", r3, r2, err)
	}
}

// TestRetentionReclaimsAQuietLog checks that a log that stops receiving
// appends still gives its expired records' space back, and that positions
// keep increasing after every old segment is gone, also across a restart.
func TestRetentionReclaimsAQuietLog(t *testing.T) {
	dir := t.TempDir()
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	opts := Options{Now: clock, CheckpointInterval: time.Hour}
	e := openT(t, dir, opts)
	ctx := context.Background()
	l, _ := e.CreateLog(ctx, "quiet", storage.LogOptions{Retention: time.Hour})
	appendN(t, l, 0, 10) // one segment, never full

	now = now.Add(2 * time.Hour)
	sl := l.(*shardLog)
	sl.clean()                             // rolls the expired active segment
	if err := e.checkpoint(); err != nil { // writes its index
		t.Fatal(err)
	}
	sl.clean() // drops it
	sl.clean() // removes its file
	segs, _ := filepath.Glob(filepath.Join(dir, "logs", "*", "*.seg"))
	if len(segs) != 1 || filepath.Base(segs[0]) != segmentName(11) {
		t.Fatalf("segments after cleaning: %v, want only the empty %s", segs, segmentName(11))
	}
	if st, _ := os.Stat(segs[0]); st.Size() != 0 {
		t.Fatalf("the new segment holds %d bytes", st.Size())
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	e = openT(t, dir, opts)
	defer e.Close()
	l, _ = e.Log(ctx, "quiet")
	res, err := l.Append(ctx, []storage.Record{{Key: "k", Data: []byte("after")}})
	if err != nil || res[0].Position != 11 {
		t.Fatalf("append after the old segments went: %v at %+v, want position 11", err, res)
	}
	got, _ := l.Read(ctx, storage.Oldest(), storage.ReadLimits{MaxRecords: 10})
	if len(got.Records) != 1 || string(got.Records[0].Data) != "after" {
		t.Fatalf("read %+v", got.Records)
	}
}

// TestJournalFailureFailsWaiters checks that once the journal cannot be
// written, nor the failed write cut off it (its file is closed under it),
// appends fail and a Seal waiting for durability returns the error instead
// of waiting until its context ends. (A failure that can be cut off is
// undone and the journal goes on: TestDiskFull.)
func TestJournalFailureFailsWaiters(t *testing.T) {
	e := openT(t, t.TempDir(), Options{})
	defer e.Close()
	ctx := context.Background()
	l, _ := e.CreateLog(ctx, "a", storage.LogOptions{})
	appendN(t, l, 0, 1)

	e.journal.fileMu.Lock()
	e.journal.file.Close() // the next group's write fails
	e.journal.fileMu.Unlock()
	if _, err := l.Append(ctx, []storage.Record{{Key: "k", Data: []byte("x")}}); err == nil {
		t.Fatal("append after the journal failed succeeded")
	}
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := l.Seal(waitCtx)
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Seal after a journal failure: %v, want the journal's error", err)
	}
	if err := l.Wait(waitCtx, 100); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait after a journal failure: %v, want the journal's error", err)
	}
}
