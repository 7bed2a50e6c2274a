package stream

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/tributary-io/tributary/kpl"
	"github.com/tributary-io/tributary/storage"
	"github.com/tributary-io/tributary/storage/local"
)

// idAggregate is an aggregate of records with the IDs producer.first to
// producer.last, as Tributary's producer makes them.
func idAggregate(t testing.TB, producer string, first, last uint64) []byte {
	t.Helper()
	agg := kpl.NewAggregator(math.MaxInt, 1)
	for s := first; s <= last; s++ {
		if err := agg.Add(kpl.Record{PartitionKey: "k", Data: fmt.Appendf(nil, "%s-%d", producer, s), Tags: []kpl.Tag{kpl.ID{Producer: producer, Seq: s}.Tag()}}); err != nil {
			t.Fatal(err)
		}
	}
	return agg.Bytes()
}

// countRecords reads every shard of a stream from the start and returns
// how many records each holds.
func countRecords(t *testing.T, svc *Service, name string) map[string]int {
	t.Helper()
	ctx := context.Background()
	shards, err := svc.ListShards(ctx, scope, ListShardsInput{Stream: StreamRef{Name: name}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, sh := range shards.Shards {
		it, err := svc.GetShardIterator(ctx, scope, GetShardIteratorInput{Stream: StreamRef{Name: name}, ShardID: sh.ShardID, ShardIteratorType: TrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		iter := it.ShardIterator
		for {
			got, err := svc.GetRecords(ctx, scope, GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatal(err)
			}
			out[sh.ShardID] += len(got.Records)
			if len(got.Records) == 0 || got.NextShardIterator == "" {
				break
			}
			iter = got.NextShardIterator
		}
	}
	return out
}

func total(m map[string]int) (n int) {
	for _, v := range m {
		n += v
	}
	return n
}

func TestDedupPutRecords(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 2)
	put := func(entries ...[]byte) []PutRecordsResult {
		t.Helper()
		in := PutRecordsInput{Stream: StreamRef{Name: "s"}}
		for _, d := range entries {
			in.Records = append(in.Records, PutRecordsEntry{PartitionKey: "k", Data: d})
		}
		out, err := f.svc.PutRecords(f.ctx, scope, in)
		if err != nil || out.FailedRecordCount != 0 {
			t.Fatalf("PutRecords: %+v, %v", out, err)
		}
		return out.Records
	}
	a := idAggregate(t, "p", 1, 3)
	first := put(a)[0]
	if again := put(a)[0]; again != first {
		t.Fatalf("the copy was answered %+v, want the first copy's %+v", again, first)
	}
	// In a batch with a new aggregate, a plain record, another producer's
	// aggregate of the same numbers, and itself twice.
	b := idAggregate(t, "p", 4, 5)
	other := idAggregate(t, "q", 1, 3)
	res := put(b, a, []byte("plain"), other, a, b)
	if res[1] != first || res[4] != first {
		t.Errorf("copies in a batch answered %+v and %+v, want %+v", res[1], res[4], first)
	}
	if res[5] != res[0] {
		t.Errorf("an aggregate twice in one batch answered %+v and %+v, want one answer", res[0], res[5])
	}
	if res[0] == first || res[2] == first || res[3] == first || res[3] == res[0] {
		t.Errorf("distinct records share answers: %+v", res)
	}
	// PutRecord takes the same path.
	one, err := f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: StreamRef{Name: "s"}, PartitionKey: "k", Data: a})
	if err != nil || one.ShardID != first.ShardID || one.SequenceNumber != first.SequenceNumber {
		t.Errorf("PutRecord of a copy: %+v, %v; want %+v", one, err, first)
	}
	if n := total(countRecords(t, f.svc, "s")); n != 4 {
		t.Errorf("%d records stored, want 4 (a, b, plain, other)", n)
	}
}

func TestDedupOff(t *testing.T) {
	f := newFixture(t, Options{DedupWindow: -1})
	f.create(t, "s", 1)
	a := idAggregate(t, "p", 1, 3)
	r1 := f.svc.mustPut(t, a)
	r2 := f.svc.mustPut(t, a)
	if r1 == r2 {
		t.Errorf("with DedupWindow < 0 a copy is stored again, but it was answered with the first's %+v", r1)
	}
	if n := total(countRecords(t, f.svc, "s")); n != 2 {
		t.Errorf("%d records stored, want 2", n)
	}
}

func (s *Service) mustPut(t *testing.T, data []byte) PutRecordOutput {
	t.Helper()
	out, err := s.PutRecord(context.Background(), scope, PutRecordInput{Stream: StreamRef{Name: "s"}, PartitionKey: "k", Data: data})
	if err != nil {
		t.Fatal(err)
	}
	return *out
}

// TestDedupAfterRestart: the memory is rebuilt from the log.
func TestDedupAfterRestart(t *testing.T) {
	dir := t.TempDir()
	open := func() (*Service, storage.Engine) {
		e, err := local.Open(dir, local.Options{Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		svc, err := New(context.Background(), e, Options{CreateDelay: NoDelay, UpdateDelay: NoDelay, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		return svc, e
	}
	svc, e := open()
	if err := svc.CreateStream(context.Background(), scope, CreateStreamInput{StreamName: "s", ShardCount: ptr(1)}); err != nil {
		t.Fatal(err)
	}
	a := idAggregate(t, "p", 1, 3)
	first := svc.mustPut(t, a)
	for s := uint64(4); s < 40; s += 2 { // more than dedupDepth after it: it stays in the log
		svc.mustPut(t, idAggregate(t, "other", s, s+1))
	}
	svc.Close()
	e.Close()

	svc, e = open()
	defer e.Close()
	defer svc.Close()
	if again := svc.mustPut(t, a); again != first {
		t.Errorf("after a restart the copy was answered %+v, want %+v", again, first)
	}
	if n := total(countRecords(t, svc, "s")); n != 19 {
		t.Errorf("%d records stored, want 19", n)
	}
}

// TestDedupAcrossSplit: a copy routed to a child after its first copy
// was stored in the parent is recognised, and answered with the parent.
func TestDedupAcrossSplit(t *testing.T) {
	f := newFixture(t, Options{UpdateDelay: NoDelay})
	f.create(t, "s", 1)
	a := idAggregate(t, "p", 1, 3)
	first := f.svc.mustPut(t, a)
	if err := f.svc.SplitShard(f.ctx, scope, SplitShardInput{Stream: StreamRef{Name: "s"}, ShardToSplit: first.ShardID, NewStartingHashKey: "170141183460469231731687303715884105728"}); err != nil {
		t.Fatal(err)
	}
	again := f.svc.mustPut(t, a)
	if again != first {
		t.Errorf("after a split the copy was answered %+v, want the parent's %+v", again, first)
	}
	counts := countRecords(t, f.svc, "s")
	if total(counts) != 1 {
		t.Errorf("records per shard %v, want only the first copy", counts)
	}
	// A new aggregate goes to a child.
	if b := f.svc.mustPut(t, idAggregate(t, "p", 4, 4)); b.ShardID == first.ShardID {
		t.Errorf("a new aggregate was answered with the closed parent %s", b.ShardID)
	}
}

// TestDedupConcurrentCopies: copies sent at once are stored once.
func TestDedupConcurrentCopies(t *testing.T) {
	e, err := local.Open(t.TempDir(), local.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	svc, err := New(context.Background(), e, Options{CreateDelay: NoDelay, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if err := svc.CreateStream(context.Background(), scope, CreateStreamInput{StreamName: "s", ShardCount: ptr(1)}); err != nil {
		t.Fatal(err)
	}
	for round := range 20 {
		a := idAggregate(t, "p", uint64(round*10+1), uint64(round*10+5))
		answers := make([]PutRecordOutput, 8)
		var wg sync.WaitGroup
		for i := range answers {
			wg.Go(func() { answers[i] = svc.mustPut(t, a) })
		}
		wg.Wait()
		for _, got := range answers[1:] {
			if got != answers[0] {
				t.Fatalf("round %d: copies answered %+v and %+v", round, answers[0], got)
			}
		}
	}
	if n := total(countRecords(t, svc, "s")); n != 20 {
		t.Errorf("%d records stored, want 20", n)
	}
}

// TestDedupWindow: an idle shard's memory is dropped after the window, and
// a copy sent later than the window after its first is stored again.
func TestDedupWindow(t *testing.T) {
	f := newFixture(t, Options{DedupWindow: time.Minute})
	f.create(t, "s", 1)
	a := idAggregate(t, "p", 1, 3)
	first := f.svc.mustPut(t, a)
	f.clock.Advance(59 * time.Second)
	if again := f.svc.mustPut(t, a); again != first {
		t.Fatalf("within the window the copy was answered %+v, want %+v", again, first)
	}
	f.clock.Advance(2 * time.Minute)
	if late := f.svc.mustPut(t, a); late == first {
		t.Errorf("a copy two minutes late was recognised; the window is a minute")
	}
	f.svc.dedup.mu.Lock()
	n := len(f.svc.dedup.shards)
	f.svc.dedup.mu.Unlock()
	if n != 1 {
		t.Errorf("%d shard memories, want 1 (the idle one dropped, then loaded again)", n)
	}
}
