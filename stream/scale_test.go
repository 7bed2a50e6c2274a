package stream

import (
	"context"
	"runtime"
	"sync"
	"testing"

	"github.com/tributary-io/tributary/storage"
	"github.com/tributary-io/tributary/storage/local"
)

// TestThousandShardsCostNoGoroutinesOrFiles creates a stream of 1,000
// shards on the local engine, writes to every shard and reads every shard
// back, and checks what the shards cost: no goroutine of their own (a
// shard is data, not an actor: the background work goes over the streams
// in a fixed number of goroutines), and no more open segment files than
// the engine's bound, so that a server of 10,000 shards stays under its
// descriptor limit.
func TestThousandShardsCostNoGoroutinesOrFiles(t *testing.T) {
	const shards, maxOpen = 1000, 64
	engine, err := local.Open(t.TempDir(), local.Options{MaxOpenFiles: maxOpen})
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	svc, err := New(t.Context(), engine, Options{CreateDelay: NoDelay, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	ctx := t.Context()
	before := runtime.NumGoroutine()

	if err := svc.CreateStream(ctx, scope, CreateStreamInput{StreamName: "many", ShardCount: ptr(shards)}); err != nil {
		t.Fatal(err)
	}
	e, _, err := svc.get(ctx, scope, "many")
	if err != nil {
		t.Fatal(err)
	}
	// One record to each shard, by the first hash key of its range.
	var entries []PutRecordsEntry
	for _, sh := range e.rec.Shards {
		entries = append(entries, PutRecordsEntry{PartitionKey: "k", ExplicitHashKey: sh.StartHash.String(), Data: []byte(shardID(sh.Index))})
		if len(entries) == 500 {
			out, err := svc.PutRecords(ctx, scope, PutRecordsInput{Stream: StreamRef{Name: "many"}, Records: entries})
			if err != nil || out.FailedRecordCount != 0 {
				t.Fatalf("PutRecords: %v, %d failed", err, out.FailedRecordCount)
			}
			entries = nil
		}
	}
	for i := range shards {
		id := shardID(uint32(i))
		it, err := svc.GetShardIterator(ctx, scope, GetShardIteratorInput{Stream: StreamRef{Name: "many"}, ShardID: id, ShardIteratorType: TrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		out, err := svc.GetRecords(ctx, scope, GetRecordsInput{ShardIterator: it.ShardIterator})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Records) != 1 || string(out.Records[0].Data) != id {
			t.Fatalf("shard %s holds %d records (first %q), want its one record", id, len(out.Records), firstData(out.Records))
		}
	}

	// A few goroutines may come and go (timers firing, the journal's
	// committer), never one a shard.
	if after := runtime.NumGoroutine(); after-before > 10 {
		t.Errorf("%d goroutines after creating, writing and reading %d shards, %d before", after, shards, before)
	}
	if n := engine.OpenFiles(); n > maxOpen {
		t.Errorf("%d segment files open after touching %d shards, the bound is %d", n, shards, maxOpen)
	}
}

func firstData(rs []Record) string {
	if len(rs) == 0 {
		return ""
	}
	return string(rs[0].Data)
}

// blockingDeletes is an engine whose DeleteLog waits until release is
// closed.
type blockingDeletes struct {
	storage.Engine
	started chan struct{} // closed at the first DeleteLog
	once    sync.Once
	release chan struct{}
}

func (b *blockingDeletes) DeleteLog(ctx context.Context, name string) error {
	b.once.Do(func() { close(b.started) })
	<-b.release
	return b.Engine.DeleteLog(ctx, name)
}

// TestRestartDoesNotWaitForDeletions: a stream deleted before a restart
// whose logs are not removed yet (10,000 of them take seconds) does not
// hold New up: New returns while the removal is blocked, the stream is
// absent at once, and the reaper removes the logs in the background.
func TestRestartDoesNotWaitForDeletions(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "gone", 3)
	if err := f.svc.DeleteStream(f.ctx, scope, DeleteStreamInput{Stream: StreamRef{Name: "gone"}}); err != nil {
		t.Fatal(err)
	}
	f.svc.Close() // before the reaper removed anything: the fake clock has not moved
	f.clock.Advance(defaultDelay)

	engine := &blockingDeletes{Engine: f.engine, started: make(chan struct{}), release: make(chan struct{})}
	again, err := New(f.ctx, engine, Options{Now: f.clock.Now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	<-engine.started // the reaper is at it, and New has returned
	if _, err := again.DescribeStreamSummary(f.ctx, scope, StreamRef{Name: "gone"}); err == nil {
		t.Error("the deleted stream is described after the restart")
	}
	if names, _ := f.engine.ListLogs(f.ctx); len(names) != 3 {
		t.Fatalf("logs while the removal is blocked: %q, want the 3 of the deleted stream", names)
	}
	close(engine.release)
	for {
		names, err := f.engine.ListLogs(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(names) == 0 {
			break
		}
		runtime.Gosched()
	}
}
