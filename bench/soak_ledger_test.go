package bench

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestRecordDataRoundTrip(t *testing.T) {
	data := recordData("ab12-s", "k7", 42, 100)
	if len(data) != 100 {
		t.Fatalf("len %d, want 100", len(data))
	}
	gen, key, n, ok := parseRecordData(data)
	if !ok || gen != "ab12-s" || key != "k7" || n != 42 {
		t.Errorf("parsed %q %q %d %v", gen, key, n, ok)
	}
	for _, bad := range []string{"", "a b", "a b c", "a b -1", "a b 1x"} {
		if _, _, _, ok := parseRecordData([]byte(bad)); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

// ledgerFixture is one key "k" with records written at the given times
// (seconds after base) and statuses; acknowledged ones get the sequence
// number "seq<n>".
type ledgerFixture struct {
	base time.Time
	keys map[string]*keyLog
}

func newFixture(t *testing.T, statuses ...recStatus) *ledgerFixture {
	t.Helper()
	f := &ledgerFixture{base: time.Unix(1000, 0), keys: map[string]*keyLog{"k": newKeyLog()}}
	for n, st := range statuses {
		f.keys["k"].send(n, f.base.Add(time.Duration(n)*time.Second))
		switch st {
		case recAcked:
			f.keys["k"].ack(n, fmt.Sprintf("seq%d", n))
		case recMaybe:
			f.keys["k"].maybe(n)
		}
	}
	return f
}

func (f *ledgerFixture) read(v *verifier, n int, atSec float64) {
	v.deliver("shardId-000000000000", "k", fmt.Sprintf("seq%d", n), recordData("g", "k", n, 20),
		f.base.Add(time.Duration(atSec*float64(time.Second))))
}

func TestVerifierExactlyOnce(t *testing.T) {
	f := newFixture(t, recAcked, recAcked, recMaybe, recAcked)
	v := newVerifier("poll", "g", f.keys)
	f.read(v, 0, 5)
	f.read(v, 1, 5)
	// Record 2's outcome was unknown and it was not stored.
	if v.caughtUp() {
		t.Error("caught up before record 3")
	}
	f.read(v, 3, 6)
	if !v.caughtUp() {
		t.Error("not caught up after every acknowledged record")
	}
	r := v.result("s", true, f.base.Add(10*time.Second), time.Hour)
	want := ReaderResult{Stream: "s", Reader: "poll", Checked: true, Got: 3, AckedRead: 3, MaybeAbsent: 1}
	if fmt.Sprint(r) != fmt.Sprint(want) {
		t.Errorf("result %+v\nwant   %+v", r, want)
	}
}

func TestVerifierLostAndExpired(t *testing.T) {
	// Records sent at 0s..4s; retention 10s.
	f := newFixture(t, recAcked, recAcked, recAcked, recAcked, recAcked)
	v := newVerifier("poll", "g", f.keys)
	// At 12s the reader gets record 2: 0 (12s old) may have expired, 1
	// (11s old) too.
	f.read(v, 2, 12)
	// Record 4 never comes; at the end (13s) it is 9s old: lost. Record 3
	// was read.
	f.read(v, 3, 12.5)
	r := v.result("s", true, f.base.Add(13*time.Second), 10*time.Second)
	if r.Expired != 2 || r.Lost != 1 || r.AckedRead != 2 || r.Duplicates != 0 || r.OutOfOrder != 0 {
		t.Errorf("result %+v, want 2 expired, 1 lost, 2 read", r)
	}
	if len(r.Examples) != 1 || !strings.Contains(r.Examples[0], "k #4 acknowledged, never read") {
		t.Errorf("examples %q", r.Examples)
	}
}

func TestVerifierDuplicatesAndOrder(t *testing.T) {
	f := newFixture(t, recAcked, recAcked, recAcked, recAcked)
	v := newVerifier("efo:c", "g", f.keys)
	f.read(v, 0, 1)
	f.read(v, 0, 1) // again
	f.read(v, 2, 2) // skips 1...
	f.read(v, 1, 2) // ...which comes late: out of order, but not lost
	f.read(v, 1, 2) // and again: a duplicate
	f.read(v, 3, 3)
	r := v.result("s", true, f.base.Add(4*time.Second), time.Hour)
	if r.Duplicates != 2 || r.OutOfOrder != 1 || r.Lost != 0 || r.AckedRead != 4 {
		t.Errorf("result %+v, want 2 duplicates, 1 out of order, 4 read, none lost", r)
	}
}

func TestVerifierForeignCorruptAndChangedSequence(t *testing.T) {
	f := newFixture(t, recAcked, recAcked)
	v := newVerifier("poll", "g", f.keys)
	at := f.base
	v.deliver("sh", "k", "seq0", recordData("other", "k", 0, 20), at) // another generation
	v.deliver("sh", "k", "seq0", []byte("garbage"), at)               // unreadable
	v.deliver("sh", "x", "seq0", recordData("g", "k", 0, 20), at)     // wrong partition key
	v.deliver("sh", "k", "seq9", recordData("g", "k", 9, 20), at)     // never written
	v.deliver("sh", "k", "other", recordData("g", "k", 0, 20), at)    // changed sequence number
	v.deliver("sh", "k", "seq1", recordData("g", "k", 1, 20), at)
	r := v.result("s", true, at, time.Hour)
	if r.Foreign != 1 || r.Corrupt != 3 || r.SeqMismatch != 1 || r.AckedRead != 2 || r.Got != 6 {
		t.Errorf("result %+v, want 1 foreign, 3 corrupt, 1 changed sequence number, 2 read", r)
	}
	if len(r.Examples) != anomalyExamples {
		t.Errorf("%d examples, want %d", len(r.Examples), anomalyExamples)
	}
}

// A record read before its writer saw the answer is not a mismatch, and
// counts as read once the answer is in.
func TestVerifierReadBeforeAck(t *testing.T) {
	f := newFixture(t)
	k := f.keys["k"]
	k.send(0, f.base)
	v := newVerifier("poll", "g", f.keys)
	f.read(v, 0, 0.1)
	k.ack(0, "seq0")
	r := v.result("s", true, f.base.Add(time.Second), time.Hour)
	if r.AckedRead != 1 || r.SeqMismatch != 0 || r.Lost != 0 {
		t.Errorf("result %+v", r)
	}
}

// A record whose last write was refused (throttled) was never stored:
// not read, it is neither lost nor maybe; read, it is an anomaly.
func TestVerifierRefusedRecords(t *testing.T) {
	f := newFixture(t, recAcked, recInFlight)
	v := newVerifier("poll", "g", f.keys)
	f.read(v, 0, 1)
	r := v.result("s", true, f.base.Add(2*time.Second), time.Hour)
	if r.AckedRead != 1 || r.Lost != 0 || r.MaybeAbsent != 0 || r.StoredRefused != 0 {
		t.Errorf("not read: %+v", r)
	}
	f.read(v, 1, 1)
	r = v.result("s", true, f.base.Add(2*time.Second), time.Hour)
	if r.StoredRefused != 1 {
		t.Errorf("read: %+v, want 1 stored though refused", r)
	}
}

func TestNewTargets(t *testing.T) {
	base := []string{"socket", "socket", "/d/wal/1.wal", "pipe"}
	end := []string{"socket", "/d/wal/2.wal", "socket", "socket", "pipe", "/d/s/0.seg"}
	got := newTargets(base, end)
	if want := []string{"/d/s/0.seg", "/d/wal/2.wal", "socket"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("newTargets = %q, want %q", got, want)
	}
}

// A record whose answer was lost and that one reader got was stored: the
// reader that did not get it lost it.
func TestMaybeOutcomes(t *testing.T) {
	f := newFixture(t, recMaybe, recMaybe, recMaybe, recAcked)
	a := newVerifier("poll", "g", f.keys)
	b := newVerifier("efo:c", "g", f.keys)
	for _, n := range []int{0, 2, 3} { // 0 stored, 1 not, 2 read by a only
		f.read(a, n, 1)
	}
	for _, n := range []int{0, 3} {
		f.read(b, n, 1)
	}
	m := maybeOutcomes(f.keys, []*verifier{a, b})
	if m.total != 3 || m.stored != 1 || m.absent != 1 || m.partial != 1 {
		t.Errorf("%+v, want 3 maybe: 1 stored, 1 absent, 1 miss", m)
	}
	if len(m.examples) != 1 || !strings.Contains(m.examples[0], "k #2 (answer lost) read only by poll") {
		t.Errorf("examples %q", m.examples)
	}
}

func TestRemovedFiles(t *testing.T) {
	got := removedFiles([]string{"/d/wal/2.wal", "/d/logs/x.deleted/3049.seg (deleted)", "socket"})
	if len(got) != 1 || got[0] != "/d/logs/x.deleted/3049.seg (deleted)" {
		t.Errorf("removedFiles = %q", got)
	}
}
