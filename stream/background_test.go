package stream

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage/mem"
)

// panickyEngine is a mem engine whose next DeleteLog panics once armed:
// a stand-in for any bug met by the service's background work.
type panickyEngine struct {
	*mem.Engine
	armed atomic.Bool
}

func (e *panickyEngine) DeleteLog(ctx context.Context, name string) error {
	if e.armed.CompareAndSwap(true, false) {
		var logs []string
		_ = logs[len(logs)-1]
	}
	return e.Engine.DeleteLog(ctx, name)
}

// TestReaperPanicIsContained makes the reaper panic while it finishes a
// deletion. The service must go on serving other streams, count the panic,
// and finish the deletion at a later pass.
func TestReaperPanicIsContained(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	engine := &panickyEngine{Engine: mem.New(mem.Options{Now: clock.Now})}
	t.Cleanup(func() { engine.Close() })
	svc, err := New(context.Background(), engine, Options{Now: clock.Now, Logger: quiet, DeleteDelay: NoDelay})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	f := &fixture{svc: svc, clock: clock, engine: engine.Engine, ctx: context.Background()}
	f.create(t, "doomed", 2)
	f.create(t, "other", 1)

	engine.armed.Store(true)
	if err := svc.DeleteStream(f.ctx, scope, DeleteStreamInput{Stream: StreamRef{Name: "doomed"}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for svc.BackgroundStats()["reap"].Panics == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the reaper never met the planted panic: %+v", svc.BackgroundStats())
		}
		time.Sleep(5 * time.Millisecond)
	}

	// The other stream is served as if nothing happened.
	put := f.put(t, "other", "k", "after the panic")
	it, err := svc.GetShardIterator(f.ctx, scope, GetShardIteratorInput{Stream: StreamRef{Name: "other"}, ShardId: put.ShardId, ShardIteratorType: TrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	got, err := svc.GetRecords(f.ctx, scope, GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil || len(got.Records) != 1 || string(got.Records[0].Data) != "after the panic" {
		t.Fatalf("GetRecords after the panic: %v %+v", err, got)
	}

	// And a later pass finishes the deletion the panic interrupted.
	for {
		names, err := engine.ListLogs(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(names) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deleted stream's logs are still there: %v", names)
		}
		time.Sleep(5 * time.Millisecond)
	}
	_, err = svc.DescribeStreamSummary(f.ctx, scope, StreamRef{Name: "doomed"})
	var e *Error
	if !errors.As(err, &e) || e.Type != ResourceNotFoundException {
		t.Fatalf("DescribeStreamSummary of the deleted stream: %v", err)
	}
	if st := svc.BackgroundStats()["reap"]; st.Panics != 1 || st.Runs < 2 {
		t.Fatalf("reap stats %+v, want 1 panic and a later run", st)
	}
}
