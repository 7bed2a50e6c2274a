package local

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tributary-io/tributary/storage"
)

// A group commit waits for the appends already under way when it begins
// (journal.gatherLocked): the shards of one PutRecords share one fsync.
// Here a second append is "under way" (begun, not queued) when the first
// is queued; the first must not be committed until the second joins it,
// and then both go in one group.
func TestGroupCommitGathersAppendsUnderWay(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	e := openT(t, t.TempDir(), Options{Metrics: reg, GroupWait: time.Hour, CheckpointInterval: time.Hour})
	defer e.Close()
	a, err := e.CreateLog(ctx, "a", storage.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.CreateLog(ctx, "b", storage.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	groupsBefore := family(t, reg, "tributary_storage_group_commit_records", "").GetHistogram().GetSampleCount()

	// The append to b, as far as the journal can tell, has begun.
	e.journal.begin()
	doneA := make(chan error, 1)
	go func() {
		_, err := a.Append(ctx, []storage.Record{{Key: "k", Data: []byte("to a")}})
		doneA <- err
	}()
	// Without the wait, a would be committed alone at once.
	select {
	case err := <-doneA:
		t.Fatalf("the append to a was committed (err %v) while an append was under way", err)
	case <-time.After(100 * time.Millisecond):
	}
	// b's append arrives and is queued: that is the one append the group
	// waited for (a finished one counts, whichever it is).
	if _, err := b.Append(ctx, []storage.Record{{Key: "k", Data: []byte("to b")}}); err != nil {
		t.Fatal(err)
	}
	e.journal.abandon() // the stand-in's count
	if err := <-doneA; err != nil {
		t.Fatal(err)
	}
	h := family(t, reg, "tributary_storage_group_commit_records", "").GetHistogram()
	if n, sum := h.GetSampleCount()-groupsBefore, h.GetSampleSum(); n != 1 || sum != 2 {
		t.Errorf("%d group commits of %v records in all, want 1 of 2", n, sum)
	}
}

// The wait is bounded: an append that never arrives holds a group back
// for GroupWait at most, and a negative GroupWait never waits.
func TestGroupCommitWaitIsBounded(t *testing.T) {
	for _, wait := range []time.Duration{20 * time.Millisecond, -1} {
		e := openT(t, t.TempDir(), Options{GroupWait: wait, CheckpointInterval: time.Hour})
		l, err := e.CreateLog(context.Background(), "a", storage.LogOptions{})
		if err != nil {
			t.Fatal(err)
		}
		e.journal.begin() // an append that will not come
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if _, err := l.Append(ctx, []storage.Record{{Key: "k", Data: []byte("x")}}); err != nil {
			t.Errorf("GroupWait %v: append: %v", wait, err)
		}
		cancel()
		e.journal.abandon()
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// Appends announced together (storage.Announcer, as PutRecords does for
// its shards) share one group commit even when they reach the engine one
// after the other; announced appends never made are given up by done.
func TestAnnouncedAppendsShareACommit(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	e := openT(t, t.TempDir(), Options{Metrics: reg, GroupWait: time.Hour, CheckpointInterval: time.Hour})
	defer e.Close()
	var logs []storage.ShardLog
	for _, name := range []string{"a", "b", "c"} {
		l, err := e.CreateLog(ctx, name, storage.LogOptions{})
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, l)
	}
	groups := func() uint64 {
		return family(t, reg, "tributary_storage_group_commit_records", "").GetHistogram().GetSampleCount()
	}
	before := groups()

	actx, done := e.Announce(ctx, len(logs))
	errs := make(chan error, len(logs))
	for i, l := range logs {
		go func() {
			// Each a little later than the one before: the first is
			// queued, and the committer woken, well before the last.
			time.Sleep(time.Duration(i) * 20 * time.Millisecond)
			_, err := l.Append(actx, []storage.Record{{Key: "k", Data: []byte(l.Name())}})
			errs <- err
		}()
	}
	for range logs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	done()
	if n := groups() - before; n != 1 {
		t.Errorf("three announced appends took %d group commits, want 1", n)
	}

	// Three announced, one made: the others are given up by done, and
	// the one made is committed then.
	actx, done = e.Announce(ctx, 3)
	appended := make(chan error, 1)
	go func() {
		_, err := logs[0].Append(actx, []storage.Record{{Key: "k", Data: []byte("alone")}})
		appended <- err
	}()
	select {
	case err := <-appended:
		t.Fatalf("committed (err %v) while two announced appends were to come", err)
	case <-time.After(100 * time.Millisecond):
	}
	done()
	if err := <-appended; err != nil {
		t.Fatal(err)
	}
}
