package consumer

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// noStream fails every call: the consumers started here have nothing to
// read, and retry until they are stopped.
type noStream struct {
	Client // fan-out's calls: never made here (polling)
}

var errNoStream = errors.New("no stream here")

func (noStream) ListShards(context.Context, *kinesis.ListShardsInput, ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	return nil, errNoStream
}

func (noStream) GetShardIterator(context.Context, *kinesis.GetShardIteratorInput, ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error) {
	return nil, errNoStream
}

func (noStream) GetRecords(context.Context, *kinesis.GetRecordsInput, ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error) {
	return nil, errNoStream
}

type idleProcessor struct{}

func (idleProcessor) Initialize(context.Context, InitializeInput) error         { return nil }
func (idleProcessor) ProcessRecords(context.Context, ProcessRecordsInput) error { return nil }
func (idleProcessor) LeaseLost(context.Context)                                 {}
func (idleProcessor) ShardEnded(ctx context.Context, cp Checkpointer) error {
	return cp.Checkpoint(ctx)
}
func (idleProcessor) ShutdownRequested(ctx context.Context, cp Checkpointer) error { return nil }

// TestHandoffOfALeaseNotYetStarted: a lease handed over twice in a row, the
// second time before its middle owner started it. b takes the lease from
// a by handoff and waits for a; a hands it over; before b's next round
// starts it, c takes it from b by handoff (consumer/e2e saw it: a lease
// went w1 → w5 → w1 in 300 ms). b never started the lease, so it has no
// processor to shut down and nothing to checkpoint: at its next round it
// should clear CheckpointOwner, and c start at its own next round. Instead
// b only drops the lease, CheckpointOwner stays "b", nobody writes the
// lease any more (b is not its owner; c waits), and c starts it only once
// its counter has stood still for FailoverTime (here an hour; in
// consumer/e2e the shard idled 4 s, and another worker took the
// unrenewed lease abruptly meanwhile).
func TestHandoffOfALeaseNotYetStarted(t *testing.T) {
	ctx := context.Background()
	const key = "shardId-000000000000"
	store := NewMemoryLeaseStore()
	if err := store.Create(ctx, Lease{Key: key, Owner: "a", Checkpoint: Checkpoint{SequenceNumber: TrimHorizon}}); err != nil {
		t.Fatal(err)
	}
	get := func() Lease {
		t.Helper()
		l, err := store.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	worker := func(id string) *Worker {
		w, err := NewWorker(Config{Stream: "s", Client: noStream{}, Leases: store, WorkerID: id,
			NewProcessor: func(string) Processor { return idleProcessor{} },
			FailoverTime: time.Hour, RetryDelay: time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.shutdown)
		return w
	}
	b, c := worker("b"), worker("c")

	if !b.take(ctx, get(), true) {
		t.Fatal("b could not take the lease from a")
	}
	l := get() // a hands it over
	l.CheckpointOwner = ""
	if _, err := store.Update(ctx, l); err != nil {
		t.Fatal(err)
	}
	if !c.take(ctx, get(), true) {
		t.Fatal("c could not take the lease from b")
	}
	if l := get(); l.Owner != "c" || l.CheckpointOwner != "b" {
		t.Fatalf("after c's take: owner %q, checkpoint owner %q; want c and b", l.Owner, l.CheckpointOwner)
	}

	if err := b.takeLeases(ctx); err != nil { // b's next round
		t.Fatal(err)
	}
	if l := get(); l.CheckpointOwner != "" {
		t.Errorf("after b's round the lease still names b as its CheckpointOwner; b never started it, and c waits for b to hand it over")
	}
	if err := c.takeLeases(ctx); err != nil { // c's next round
		t.Fatal(err)
	}
	c.mu.Lock()
	h := c.held[key]
	c.mu.Unlock()
	if h == nil || h.waitingForHandoff() {
		t.Errorf("after c's round, c still waits for the handoff (FailoverTime %v)", c.cfg.FailoverTime)
	}
}
