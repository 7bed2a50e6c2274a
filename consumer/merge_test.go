package consumer_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/tributary-io/tributary/consumer"
	"github.com/tributary-io/tributary/internal/inproc"
	"github.com/tributary-io/tributary/kpl"
	"github.com/tributary-io/tributary/producer"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func rec(producer string, seq uint64) consumer.Record {
	return consumer.Record{Data: fmt.Appendf(nil, "%s.%d", producer, seq), ID: kpl.ID{Producer: producer, Seq: seq}, HasID: true}
}

func TestMergeRules(t *testing.T) {
	clock := &testClock{t: time.Unix(1000, 0)}
	var out []string
	var gaps []consumer.Gap
	m, err := consumer.NewMerge(consumer.MergeConfig{
		Deliver: func(r consumer.Record) { out = append(out, string(r.Data)) },
		OnGap:   func(g consumer.Gap) { gaps = append(gaps, g) },
		MaxHold: time.Hour, MaxHeld: 3, Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	step := func(what string, want []string, do func()) {
		t.Helper()
		out = nil
		do()
		if fmt.Sprint(out) != fmt.Sprint(want) {
			t.Fatalf("%s: delivered %v, want %v", what, out, want)
		}
	}
	step("a producer's first records wait for its start", nil, func() { m.Add(rec("p", 3)); m.Add(rec("p", 1)); m.Add(rec("p", 2)) })
	step("a record without an ID goes at once", []string{"plain"}, func() { m.Add(consumer.Record{Data: []byte("plain")}) })
	step("after MaxHold the smallest is the start", []string{"tick", "p.1", "p.2", "p.3"}, func() {
		clock.Advance(time.Hour + time.Second)
		m.Add(consumer.Record{Data: []byte("tick")})
	})
	step("in sequence, at once", []string{"p.4"}, func() { m.Add(rec("p", 4)) })
	step("a copy is dropped", nil, func() { m.Add(rec("p", 4)); m.Add(rec("p", 2)) })
	step("a record waits for the one before it", nil, func() { m.Add(rec("p", 6)) })
	step("which releases it", []string{"p.5", "p.6"}, func() { m.Add(rec("p", 5)) })
	step("a held copy is dropped", nil, func() { m.Add(rec("p", 8)); m.Add(rec("p", 8)) })
	step("after MaxHold, a gap", []string{"p.8"}, func() { clock.Advance(time.Hour + time.Second); m.Add(rec("p", 10)) })
	step("a record of the gap comes late", []string{"p.7"}, func() { m.Add(rec("p", 7)) })
	step("more than MaxHeld held: a gap at once", []string{"p.10", "p.11", "p.12", "p.13"}, func() { m.Add(rec("p", 11)); m.Add(rec("p", 12)); m.Add(rec("p", 13)) })
	if want := []consumer.Gap{{Producer: "p", From: 7, To: 8}, {Producer: "p", From: 9, To: 10, Full: true}}; fmt.Sprint(gaps) != fmt.Sprint(want) {
		t.Errorf("gaps %+v, want %+v", gaps, want)
	}
	s := m.Stats()
	if s.Delivered != 14 || s.Gaps != 2 || s.Missing != 2 || s.Late != 1 || s.Duplicates != 3 || s.Held != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestMergeAcrossShards is the test: two producers' records over
// 8 shards, read at very different speeds, come out of Merge in each
// producer's Put order; ten records removed on purpose are reported as a
// gap, and the rest still flows.
func TestMergeAcrossShards(t *testing.T) {
	const perProducer = 10_000
	ctx := context.Background()
	kc := inproc.Start(t, inproc.Options{})
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(8)}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 2 {
		p, err := producer.New(ctx, producer.Config{Stream: "s", Client: kc, Linger: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID())
		for i := range perProducer {
			if _, err := p.Put(ctx, producer.Record{PartitionKey: fmt.Sprint("key-", i%300), Data: fmt.Appendf(nil, "%d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Every shard's records, read to the end.
	byShard := map[string][]consumer.Record{}
	if err := consumer.Scan(ctx, consumer.ScanConfig{Stream: "s", Client: kc, IdleTime: 10 * time.Millisecond}, func(r consumer.Record) error {
		byShard[r.ShardID] = append(byShard[r.ShardID], r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(byShard) != 8 {
		t.Fatalf("records in %d shards, want 8", len(byShard))
	}

	var mu sync.Mutex
	delivered := map[string][]uint64{}
	var gaps []consumer.Gap
	m, err := consumer.NewMerge(consumer.MergeConfig{
		Deliver: func(r consumer.Record) { delivered[r.ID.Producer] = append(delivered[r.ID.Producer], r.ID.Seq) },
		OnGap:   func(g consumer.Gap) { mu.Lock(); gaps = append(gaps, g); mu.Unlock() },
		// Long enough that no shard's goroutine falls that far behind
		// the others on a loaded machine under -race (one did, 774 ms,
		// in CI with 500 ms, and its records came late): only the gap
		// made on purpose must be given up.
		MaxHold: 3 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Each shard fed from its own goroutine, shard i pausing i times as
	// long as shard 0 every 100 records; producer 0's 5001 to 5010 never
	// arrive.
	var wg sync.WaitGroup
	i := 0
	for _, recs := range byShard {
		pause := time.Duration(i) * 200 * time.Microsecond
		i++
		wg.Go(func() {
			for j, r := range recs {
				if r.ID.Producer == ids[0] && r.ID.Seq > 5000 && r.ID.Seq <= 5010 {
					continue
				}
				m.Add(r)
				if j%100 == 0 {
					time.Sleep(pause)
				}
			}
		})
	}
	wg.Wait()
	waitFor(t, "everything delivered", func() bool { return m.Stats().Held == 0 })
	m.Close()
	stats := m.Stats()
	t.Logf("merge: %+v", stats)
	for pi, id := range ids {
		got := delivered[id]
		want := perProducer
		if pi == 0 {
			want -= 10
		}
		if len(got) != want {
			t.Errorf("producer %d: %d records delivered, want %d", pi, len(got), want)
		}
		for k := 1; k < len(got); k++ {
			if got[k] <= got[k-1] {
				t.Fatalf("producer %d: seq %d delivered after %d", pi, got[k], got[k-1])
			}
		}
	}
	if len(gaps) != 1 || gaps[0] != (consumer.Gap{Producer: ids[0], From: 5001, To: 5011}) {
		t.Errorf("gaps %+v, want the one made: %s 5001 to 5011", gaps, ids[0])
	}
	if stats.MaxHoldTime == 0 {
		t.Errorf("no record was held: the shards were not read out of order")
	}
}
