package jetstream

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tributary-io/tributary/storage"
	"github.com/tributary-io/tributary/storage/storagetest"
)

// subjectMsgs is how many messages the stream holds on l's subject.
func subjectMsgs(t testing.TB, l storage.ShardLog) uint64 {
	t.Helper()
	st := l.(*shardLog).st
	s, err := st.e.js.Stream(t.Context(), st.stream)
	if err != nil {
		t.Fatal(err)
	}
	si, err := s.Info(t.Context(), jetstream.WithSubjectFilter(st.subject))
	if err != nil {
		t.Fatal(err)
	}
	return si.State.Subjects[st.subject]
}

// TestTrimReclaimsSpace: the trimmer purges the messages retention no
// longer keeps, idle logs included, and nothing else: kept records, the
// last message (which carries the tail and the seal), logs without
// retention.
func TestTrimReclaimsSpace(t *testing.T) {
	clock := storagetest.NewClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	e, err := Open(t.Context(), Options{Dir: t.TempDir(), Now: clock.Now, TrimInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := t.Context()
	create := func(name string, d time.Duration) storage.ShardLog {
		l, err := e.CreateLog(ctx, name, storage.LogOptions{Retention: d})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	kept, forever, sealed := create("kept", time.Hour), create("forever", 0), create("sealed", time.Hour)
	appendN := func(l storage.ShardLog, n int) {
		for range n {
			if _, err := l.Append(ctx, []storage.Record{{Key: "k", Data: []byte("v")}, {Key: "k", Data: []byte("w")}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendN(kept, 5)
	appendN(forever, 5)
	appendN(sealed, 4)
	if _, err := sealed.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(30 * time.Minute)
	appendN(kept, 3)
	clock.Advance(45 * time.Minute) // the first 5 batches of kept are 75 minutes old

	trim := func() {
		t.Helper()
		if err := e.trimAll(ctx); err != nil {
			t.Fatalf("trimAll: %v", err)
		}
	}
	checkMsgs := func(stage string, want map[storage.ShardLog]uint64) {
		t.Helper()
		for l, n := range want {
			if got := subjectMsgs(t, l); got != n {
				t.Errorf("%s: %s holds %d messages, want %d", stage, l.Name(), got, n)
			}
		}
	}
	trim()
	// sealed: 4 batches and the marker, all older than an hour but the
	// marker is the last message.
	checkMsgs("at 75m", map[storage.ShardLog]uint64{kept: 3, forever: 5, sealed: 1})
	if got := len(readEverything(t, kept)); got != 6 {
		t.Errorf("at 75m: kept reads %d records, want the 6 of its last 3 batches", got)
	}
	info, err := sealed.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !info.Sealed || info.SealedAt == 0 || info.LastArrival == 0 || info.FirstPosition != 0 {
		t.Errorf("the trimmed sealed log's Info = %+v, want sealed, with its tail, holding nothing", info)
	}

	clock.Advance(2 * time.Hour)
	trim()
	checkMsgs("at 195m", map[storage.ShardLog]uint64{kept: 1, forever: 5, sealed: 1})
	if got := len(readEverything(t, kept)); got != 0 {
		t.Errorf("at 195m: kept reads %d records, want none", got)
	}
	// The tail survives in the last message: reads still report it, and
	// appends go on after it.
	tip, err := kept.Read(ctx, storage.Latest(), storage.ReadLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if tip.LastPosition == 0 || tip.LastArrival == 0 {
		t.Errorf("after trimming everything, reads report LastPosition %d, LastArrival %d", tip.LastPosition, tip.LastArrival)
	}
	app, err := kept.Append(ctx, []storage.Record{{Key: "k", Data: []byte("new")}})
	if err != nil {
		t.Fatal(err)
	}
	if app[0].Position <= tip.LastPosition {
		t.Errorf("after trimming everything, the next position is %d, not after %d", app[0].Position, tip.LastPosition)
	}
	if got := readEverything(t, kept); len(got) != 1 || string(got[0].Data) != "new" {
		t.Errorf("after trimming everything and appending, kept reads %d records", len(got))
	}
	if got := len(readEverything(t, forever)); got != 10 {
		t.Errorf("the log without retention reads %d records, want 10", got)
	}
}

// TestLogBytes: every live log is reported, the larger larger, and a
// deleted one not at all.
func TestLogBytes(t *testing.T) {
	e := openTest(t, t.TempDir(), time.Now)
	defer e.Close()
	ctx := t.Context()
	sizes := map[string]int{"big": 20, "small": 1, "gone": 5, "empty": 0}
	for name, batches := range sizes {
		l, err := e.CreateLog(ctx, name, storage.LogOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for range batches {
			if _, err := l.Append(ctx, []storage.Record{{Key: "k", Data: make([]byte, 1000)}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := e.DeleteLog(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	got := e.LogBytes()
	if _, ok := got["gone"]; ok {
		t.Errorf("LogBytes reports the deleted log: %v", got)
	}
	if got["small"] < 1000 || got["big"] < 20*got["small"]/2 {
		t.Errorf("LogBytes = %v, want small over 1000 bytes and big about 20 times small", got)
	}
	if got["empty"] != 0 {
		t.Errorf("LogBytes = %v, want 0 for the empty log", got)
	}
}
