package stream

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage/local"
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
	it, err := svc.GetShardIterator(f.ctx, scope, GetShardIteratorInput{Stream: StreamRef{Name: "other"}, ShardID: put.ShardID, ShardIteratorType: TrimHorizon})
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
	if !errors.As(err, &e) || e.Code != CodeNotFound {
		t.Fatalf("DescribeStreamSummary of the deleted stream: %v", err)
	}
	if st := svc.BackgroundStats()["reap"]; st.Panics != 1 || st.Runs < 2 {
		t.Fatalf("reap stats %+v, want 1 panic and a later run", st)
	}
}

// TestBackgroundPathsOnEmptySealedAndDeletedStreams runs the service over
// the local engine with every timer short (cleaning, checkpoints, reaping,
// on-demand scaling, heartbeats, session and iterator lifetimes, and an
// hour of retention of a millisecond) through the states that once
// crashed the server: shards that never received a record, empty shards
// split and merged, an on-demand stream with no traffic, a stream deleted
// while a subscription and an iterator on it are live, and all of it again
// after the engine is reopened. Nothing may panic, hang, or stop serving.
func TestBackgroundPathsOnEmptySealedAndDeletedStreams(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	open := func() (*local.Engine, *Service) {
		t.Helper()
		engine, err := local.Open(dir, local.Options{CleanInterval: time.Millisecond, CheckpointInterval: time.Millisecond, SegmentBytes: 4 << 10, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		svc, err := New(ctx, engine, Options{
			Logger: quiet, CreateDelay: NoDelay, DeleteDelay: NoDelay, UpdateDelay: NoDelay,
			ReapInterval: time.Millisecond, AutoscaleInterval: 5 * time.Millisecond, AutoscaleCooldown: 20 * time.Millisecond,
			SubscriptionHeartbeat: 5 * time.Millisecond, SubscriptionLifetime: 200 * time.Millisecond,
			IteratorLifetime: 50 * time.Millisecond, RetentionHour: time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		return engine, svc
	}
	engine, svc := open()
	noPanics := func() {
		t.Helper()
		for name, st := range engine.BackgroundStats() {
			if st.Panics != 0 {
				t.Fatalf("engine task %s panicked %d times", name, st.Panics)
			}
		}
		for name, st := range svc.BackgroundStats() {
			if st.Panics != 0 {
				t.Fatalf("service task %s panicked %d times", name, st.Panics)
			}
		}
	}
	create := func(in CreateStreamInput) {
		t.Helper()
		if err := svc.CreateStream(ctx, scope, in); err != nil {
			t.Fatalf("CreateStream(%s): %v", in.StreamName, err)
		}
	}
	create(CreateStreamInput{StreamName: "empty", ShardCount: ptr(4)})
	create(CreateStreamInput{StreamName: "ondemand", StreamMode: ModeOnDemand})
	before, err := engine.ListLogs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	create(CreateStreamInput{StreamName: "doomed", ShardCount: ptr(2)})
	doomedLogs, err := engine.ListLogs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	doomedLogs = slices.DeleteFunc(doomedLogs, func(n string) bool { return slices.Contains(before, n) })
	if len(doomedLogs) != 2 {
		t.Fatalf("the 2-shard stream has logs %v", doomedLogs)
	}

	// Split and merge shards that never held a record.
	if err := svc.SplitShard(ctx, scope, SplitShardInput{Stream: StreamRef{Name: "empty"}, ShardToSplit: "shardId-000000000000", NewStartingHashKey: "1000"}); err != nil {
		t.Fatal(err)
	}
	if err := svc.MergeShards(ctx, scope, MergeShardsInput{Stream: StreamRef{Name: "empty"}, ShardToMerge: "shardId-000000000002", AdjacentShardToMerge: "shardId-000000000003"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateShardCount(ctx, scope, UpdateShardCountInput{Stream: StreamRef{Name: "empty"}, TargetShardCount: 2, ScalingType: ScalingUniform}); err != nil {
		t.Fatal(err)
	}
	// A sealed shard that never held a record reads as ended, with its
	// children named.
	it, err := svc.GetShardIterator(ctx, scope, GetShardIteratorInput{Stream: StreamRef{Name: "empty"}, ShardID: "shardId-000000000000", ShardIteratorType: TrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	got, err := svc.GetRecords(ctx, scope, GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil || len(got.Records) != 0 || got.NextShardIterator != "" || len(got.ChildShards) != 2 {
		t.Fatalf("GetRecords on an empty sealed shard: %v %+v, want no records, no next iterator, 2 children", err, got)
	}

	// A subscription on an empty shard gets heartbeats, then ends.
	c, err := svc.RegisterStreamConsumer(ctx, scope, RegisterStreamConsumerInput{StreamARN: "arn:aws:kinesis:us-east-1:" + acct + ":stream/doomed", ConsumerName: "app"})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := svc.SubscribeToShard(ctx, scope, SubscribeToShardInput{ConsumerARN: c.ConsumerARN, ShardID: "shardId-000000000001", StartingPosition: StartingPosition{Type: TrimHorizon}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for range 3 {
		ev, err := sub.Next()
		if err != nil || len(ev.Records) != 0 {
			t.Fatalf("heartbeat on an empty shard: %v %+v", err, ev)
		}
	}
	// An iterator on the stream about to go, and one that expires.
	live, err := svc.GetShardIterator(ctx, scope, GetShardIteratorInput{Stream: StreamRef{Name: "doomed"}, ShardID: "shardId-000000000000", ShardIteratorType: Latest})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)
	_, err = svc.GetRecords(ctx, scope, GetRecordsInput{ShardIterator: live.ShardIterator})
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeExpiredIterator {
		t.Fatalf("GetRecords with an expired iterator: %v", err)
	}
	live, _ = svc.GetShardIterator(ctx, scope, GetShardIteratorInput{Stream: StreamRef{Name: "doomed"}, ShardID: "shardId-000000000000", ShardIteratorType: Latest})

	// Delete the stream while the session waits at the tip.
	ended := make(chan error, 1)
	go func() {
		for {
			if _, err := sub.Next(); err != nil {
				ended <- err
				return
			}
		}
	}()
	if err := svc.DeleteStream(ctx, scope, DeleteStreamInput{Stream: StreamRef{Name: "doomed"}, EnforceConsumerDeletion: true}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ended:
		if !errors.As(err, &e) || e.Code != CodeNotFound {
			t.Fatalf("the session on a deleted stream ended with %v, want ResourceNotFoundException", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the session on a deleted stream did not end")
	}
	if _, err := svc.GetRecords(ctx, scope, GetRecordsInput{ShardIterator: live.ShardIterator}); !errors.As(err, &e) || e.Code != CodeNotFound {
		t.Fatalf("GetRecords on a deleted stream: %v, want ResourceNotFoundException", err)
	}

	// Records that expire, on a stream whose other shards stay empty.
	create(CreateStreamInput{StreamName: "expiring", ShardCount: ptr(3)})
	put, err := svc.PutRecord(ctx, scope, PutRecordInput{Stream: StreamRef{Name: "expiring"}, PartitionKey: "k", Data: []byte("soon gone")})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // hundreds of every background pass
	noPanics()
	it, _ = svc.GetShardIterator(ctx, scope, GetShardIteratorInput{Stream: StreamRef{Name: "expiring"}, ShardID: put.ShardID, ShardIteratorType: TrimHorizon})
	if got, err := svc.GetRecords(ctx, scope, GetRecordsInput{ShardIterator: it.ShardIterator}); err != nil || len(got.Records) != 0 {
		t.Fatalf("GetRecords after the retention passed: %v %+v, want no records", err, got)
	}

	// And again over the reopened engine, whose empty logs have no segment.
	svc.Close()
	if err := engine.Close(); err != nil {
		t.Fatal(err)
	}
	engine, svc = open()
	defer engine.Close()
	defer svc.Close()
	time.Sleep(200 * time.Millisecond)
	noPanics()
	for _, name := range []string{"empty", "ondemand", "expiring"} {
		if _, err := svc.PutRecord(ctx, scope, PutRecordInput{Stream: StreamRef{Name: name}, PartitionKey: "k", Data: []byte("x")}); err != nil {
			t.Fatalf("PutRecord(%s) after the reopen: %v", name, err)
		}
	}
	if _, err := svc.DescribeStreamSummary(ctx, scope, StreamRef{Name: "doomed"}); !errors.As(err, &e) || e.Code != CodeNotFound {
		t.Fatalf("the deleted stream after the reopen: %v", err)
	}
	names, err := engine.ListLogs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if slices.Contains(doomedLogs, n) {
			t.Fatalf("a log of the deleted stream is left: %s", n)
		}
	}
	noPanics()
}
