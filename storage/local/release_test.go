package local

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
)

// The data directory in testdata/release-ff40391 was written by the engine
// as released at commit ff40391 (gen_release_test.go there is the program),
// when every record's frame held Kinesis's explicit hash key between its
// key and its data. Its "hashed" log has records with and without one; its
// tail, three records in two frames, is only in the journal, as after a
// crash that lost the segment's unsynced end.
const releaseDir = "testdata/release-ff40391"

type releaseRecord struct {
	Position    uint64 `json:"position"`
	ArrivalTime int64  `json:"arrival"`
	Key         string `json:"key"`
	HashKey     string `json:"hashKey"` // in the frame, never read back
	Data        []byte `json:"data"`
}

type releaseLog struct {
	Name        string          `json:"name"`
	Sealed      bool            `json:"sealed"`
	SealedAt    uint64          `json:"sealedAt"`
	Records     []releaseRecord `json:"records"`
	JournalOnly []uint64        `json:"journalOnly"`
}

// openRelease opens a copy of the release's data directory.
func openRelease(t *testing.T) (*Engine, []releaseLog, string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(releaseDir, "want.json"))
	if err != nil {
		t.Fatal(err)
	}
	var logs []releaseLog
	if err := json.Unmarshal(b, &logs); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(releaseDir, "data"))); err != nil {
		t.Fatal(err)
	}
	// The records arrived in March 2025 and are kept for good: any clock
	// will do, but a fixed one keeps new arrival times predictable.
	now := func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	e, err := Open(dir, Options{Now: now, SegmentBytes: 600, IndexInterval: 96})
	if err != nil {
		t.Fatalf("opening the data directory of release ff40391: %v", err)
	}
	return e, logs, dir
}

// checkReleaseLog reads l back whole, a record at a time so that every
// frame boundary is a page boundary too, and from every position and
// arrival time, and checks each record exactly against want.
func checkReleaseLog(t *testing.T, l storage.ShardLog, want []releaseRecord) {
	t.Helper()
	ctx := context.Background()
	same := func(got storage.StoredRecord, w releaseRecord) bool {
		return got.Position == w.Position && got.ArrivalTime == w.ArrivalTime &&
			got.Key == w.Key && bytes.Equal(got.Data, w.Data)
	}
	var got []storage.StoredRecord
	start := storage.Oldest()
	for {
		res, err := l.Read(ctx, start, storage.ReadLimits{MaxRecords: 1})
		if err != nil {
			t.Fatalf("%s: Read(%+v): %v", l.Name(), start, err)
		}
		if len(res.Records) == 0 {
			break
		}
		got = append(got, res.Records...)
		start = storage.At(res.Next)
	}
	if len(got) != len(want) {
		t.Errorf("%s: read %d records, want %d", l.Name(), len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if g, w := got[i], want[i]; !same(g, w) {
			t.Errorf("%s: record %d is (%d, %d, %q, %q), want (%d, %d, %q, %q)", l.Name(), i,
				g.Position, g.ArrivalTime, g.Key, g.Data, w.Position, w.ArrivalTime, w.Key, w.Data)
		}
	}
	for i, w := range want {
		for _, start := range []storage.Start{storage.At(w.Position), storage.AtTime(w.ArrivalTime)} {
			if start.Kind == storage.FromTime && i > 0 && want[i-1].ArrivalTime == w.ArrivalTime {
				continue // the batch's first record comes first
			}
			res, err := l.Read(ctx, start, storage.ReadLimits{MaxRecords: len(want)})
			if err != nil {
				t.Fatalf("%s: Read(%+v): %v", l.Name(), start, err)
			}
			if len(res.Records) != len(want)-i {
				t.Errorf("%s: Read(%+v) returned %d records, want %d", l.Name(), start, len(res.Records), len(want)-i)
			} else if g := res.Records[0]; !same(g, w) {
				t.Errorf("%s: Read(%+v) starts with (%d, %d, %q, %q), want (%d, %d, %q, %q)", l.Name(), start,
					g.Position, g.ArrivalTime, g.Key, g.Data, w.Position, w.ArrivalTime, w.Key, w.Data)
			}
		}
	}
}

// TestOpenReleaseData opens a data directory of release ff40391 and reads
// every record back exactly: key, data, position and arrival time; the
// explicit hash keys its frames hold are skipped. Then it appends to the
// same segments, reopens, and reads the old frames and the new together.
func TestOpenReleaseData(t *testing.T) {
	e, want, dir := openRelease(t)
	defer func() { e.Close() }()
	ctx := context.Background()

	// The fixture must hold what it claims, or this test proves nothing.
	hashKeys, journalOnly := 0, 0
	for _, l := range want {
		for _, r := range l.Records {
			if r.HashKey != "" {
				hashKeys++
			}
		}
		journalOnly += len(l.JournalOnly)
	}
	wal, _ := filepath.Glob(filepath.Join(releaseDir, "data", "wal", "*.wal"))
	segs, _ := filepath.Glob(filepath.Join(releaseDir, "data", "logs", "*", "*.seg"))
	var raw []byte
	for _, p := range append(wal, segs...) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, b...)
	}
	if hashKeys < 10 || journalOnly == 0 || !bytes.Contains(raw, []byte("340282366920938463463374607431768211455")) {
		t.Fatalf("the fixture has %d records with hash keys (and %d only in the journal); its frames should hold them", hashKeys, journalOnly)
	}

	names, err := e.ListLogs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if wantNames := []string{"hashed", "keys", "sealed"}; !slices.Equal(names, wantNames) {
		t.Fatalf("logs %q, want %q", names, wantNames)
	}
	check := func(e *Engine, extra map[string][]releaseRecord) {
		t.Helper()
		for _, w := range want {
			l, err := e.Log(ctx, w.Name)
			if err != nil {
				t.Fatal(err)
			}
			recs := append(slices.Clone(w.Records), extra[w.Name]...)
			checkReleaseLog(t, l, recs)
			info, err := l.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			last := recs[len(recs)-1]
			if info.FirstPosition != 1 || info.LastPosition != last.Position || info.LastArrival != last.ArrivalTime ||
				info.Sealed != w.Sealed || info.SealedAt != w.SealedAt {
				t.Errorf("%s: Info %+v, want positions 1 to %d, last arrival %d, sealed %v at %d",
					w.Name, info, last.Position, last.ArrivalTime, w.Sealed, w.SealedAt)
			}
		}
	}
	check(e, nil)

	// New frames follow the old ones in the same segments.
	extra := map[string][]releaseRecord{}
	for _, w := range want {
		l, _ := e.Log(ctx, w.Name)
		batch := []storage.Record{
			{Key: "new-" + w.Name, Data: []byte("after the upgrade")},
			{Key: "", Data: nil},
		}
		app, err := l.Append(ctx, batch)
		if w.Sealed {
			if !errors.Is(err, storage.ErrSealed) {
				t.Errorf("%s: Append to the sealed log: %v, want ErrSealed", w.Name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: Append: %v", w.Name, err)
		}
		for i, r := range batch {
			extra[w.Name] = append(extra[w.Name], releaseRecord{Position: app[i].Position, ArrivalTime: app[i].ArrivalTime, Key: r.Key, Data: r.Data})
		}
	}
	check(e, extra)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e, err = Open(dir, Options{SegmentBytes: 600, IndexInterval: 96})
	if err != nil {
		t.Fatalf("reopening after appending: %v", err)
	}
	check(e, extra)
}

// Frames for positions 7 and 8, arrival 1741964966535, as release ff40391
// encoded ("pk", hash key 2^128-1, "data") and ("k2", no hash key, no data),
// and the same records without the hash key.
const (
	releaseFrameHashKey   = "54524246000000357cc1c8570000000000000007000001959533fa8700000002022704706b333430323832333636393230393338343633343633333734363037343331373638323131343535646174610200006b32"
	releaseFrameNoHashKey = "545242460000000eb17648480000000000000007000001959533fa8700000002020004706b646174610200006b32"
)

// TestDecodeReleaseFrame decodes frames of release ff40391, with and
// without an explicit hash key, and checks that the engine still encodes
// records exactly as that release did, so that it could read them too.
func TestDecodeReleaseFrame(t *testing.T) {
	want := []storage.StoredRecord{
		{Record: storage.Record{Key: "pk", Data: []byte("data")}, Position: 7, ArrivalTime: 1741964966535},
		{Record: storage.Record{Key: "k2", Data: nil}, Position: 8, ArrivalTime: 1741964966535},
	}
	for _, h := range []string{releaseFrameHashKey, releaseFrameNoHashKey} {
		frame, _ := hex.DecodeString(h)
		var got []storage.StoredRecord
		if _, err := decodeFrame(frame, 0, func(r storage.StoredRecord) bool {
			got = append(got, r)
			return true
		}); err != nil {
			t.Fatalf("decoding %s: %v", h, err)
		}
		if len(got) != len(want) {
			t.Fatalf("decoding %s: %d records, want %d", h, len(got), len(want))
		}
		for i, w := range want {
			g := got[i]
			if g.Position != w.Position || g.ArrivalTime != w.ArrivalTime || g.Key != w.Key || !bytes.Equal(g.Data, w.Data) {
				t.Errorf("decoding %s: record %d is %+v, want %+v", h, i, g, w)
			}
		}
	}
	batch := []storage.Record{want[0].Record, want[1].Record}
	if got := hex.EncodeToString(appendFrame(nil, 7, 1741964966535, batch)); got != releaseFrameNoHashKey {
		t.Errorf("the frame for %+v is\n%s\nrelease ff40391 wrote\n%s\n(a new layout needs a new frame version: that release cannot read it)", batch, got, releaseFrameNoHashKey)
	}
}
