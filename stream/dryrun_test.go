package stream

import (
	"strings"
	"testing"
	"time"
)

const dryRunMsg = "The request would have succeeded without the DryRun parameter."

// dryRunFixture is a one-shard stream "s" holding one record, an ACTIVE
// consumer of it and an iterator at its start, under AWS's limits with
// dry runs unthrottled (a test that wants their rate sets it itself).
type dryRunFixture struct {
	*fixture
	consumerARN string
	iter        string
}

func newDryRunFixture(t *testing.T, dryRunPerSec int) *dryRunFixture {
	t.Helper()
	f := newFixture(t, Options{Limits: Limits{Profile: LimitsAWS, DryRunPerSec: dryRunPerSec}})
	f.create(t, "s", 1)
	arn := f.register(t, "app").ConsumerARN
	f.clock.Advance(defaultDelay)
	f.put(t, "s", "k", "r0")
	it := f.iterator(t, GetShardIteratorInput{Stream: StreamRef{Name: "s"}, ShardID: "shardId-000000000000", ShardIteratorType: TrimHorizon})
	return &dryRunFixture{fixture: f, consumerARN: arn, iter: it}
}

// dryRunOps calls each operation that takes DryRun with a valid request.
// Puts carry 600 KiB so that two of them, were they counted, would
// exhaust the shard's 1 MiB/s.
var dryRunOps = []struct {
	name string
	call func(f *dryRunFixture, dry bool) error
}{
	{"PutRecord", func(f *dryRunFixture, dry bool) error {
		_, err := f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: StreamRef{Name: "s"}, PartitionKey: "k",
			Data: make([]byte, 600<<10), DryRun: dry})
		return err
	}},
	{"PutRecords", func(f *dryRunFixture, dry bool) error {
		_, err := f.svc.PutRecords(f.ctx, scope, PutRecordsInput{Stream: StreamRef{ARN: testStreamARN},
			Records: []PutRecordsEntry{{PartitionKey: "a", Data: make([]byte, 300<<10)}, {PartitionKey: "b", Data: make([]byte, 300<<10)}}, DryRun: dry})
		return err
	}},
	{"GetShardIterator", func(f *dryRunFixture, dry bool) error {
		_, err := f.svc.GetShardIterator(f.ctx, scope, GetShardIteratorInput{Stream: StreamRef{Name: "s"}, ShardID: "shardId-000000000000",
			ShardIteratorType: Latest, DryRun: dry})
		return err
	}},
	{"GetRecords", func(f *dryRunFixture, dry bool) error {
		_, err := f.svc.GetRecords(f.ctx, scope, GetRecordsInput{ShardIterator: f.iter, DryRun: dry})
		return err
	}},
	{"SubscribeToShard", func(f *dryRunFixture, dry bool) error {
		sub, err := f.svc.SubscribeToShard(f.ctx, scope, SubscribeToShardInput{ConsumerARN: f.consumerARN, ShardID: "shardId-000000000000",
			StartingPosition: StartingPosition{Type: TrimHorizon}, DryRun: dry})
		if err == nil {
			sub.Close()
		}
		return err
	}},
}

// TestDryRunChangesNothing makes more dry runs of each operation than
// its own rate allows at one instant, then checks that each answered
// DryRunOperationException, that the shard still holds its one record,
// and that a real call right after still succeeds: no dry run wrote,
// counted against the operation's rate, or started a session.
func TestDryRunChangesNothing(t *testing.T) {
	for _, op := range dryRunOps {
		t.Run(op.name, func(t *testing.T) {
			f := newDryRunFixture(t, 1000)
			for range 6 {
				wantErr(t, op.call(f, true), CodeDryRun, dryRunMsg)
			}
			if got := datas(f.get(t, f.iter, 0).Records); strings.Join(got, ",") != "r0" {
				t.Fatalf("shard holds %v after dry runs, want [r0]", got)
			}
			if err := op.call(f, false); err != nil {
				t.Fatalf("real call after dry runs: %v", err)
			}
		})
	}
}

// TestDryRunGetsTheRealError checks that a dry run that would fail gets
// the error the real call gets, not DryRunOperationException.
func TestDryRunGetsTheRealError(t *testing.T) {
	f := newDryRunFixture(t, 1000)
	future := f.clock.Now().Add(time.Hour)
	expired := f.iterator(t, GetShardIteratorInput{Stream: StreamRef{Name: "s"}, ShardID: "shardId-000000000000", ShardIteratorType: TrimHorizon})
	f.clock.Advance(defaultIteratorLifetime + time.Second)
	tests := []struct {
		name string
		call func(dry bool) error
	}{
		{"PutRecord to a missing stream", func(dry bool) error {
			_, err := f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: StreamRef{Name: "nope"}, PartitionKey: "k", Data: []byte("x"), DryRun: dry})
			return err
		}},
		{"PutRecord too large", func(dry bool) error {
			_, err := f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: StreamRef{Name: "s"}, PartitionKey: "k", Data: make([]byte, 1<<20), DryRun: dry})
			return err
		}},
		{"PutRecords with a hash key out of range", func(dry bool) error {
			_, err := f.svc.PutRecords(f.ctx, scope, PutRecordsInput{Stream: StreamRef{Name: "s"},
				Records: []PutRecordsEntry{{PartitionKey: "k", ExplicitHashKey: strings.Repeat("9", 39)}}, DryRun: dry})
			return err
		}},
		{"GetShardIterator of a missing shard", func(dry bool) error {
			_, err := f.svc.GetShardIterator(f.ctx, scope, GetShardIteratorInput{Stream: StreamRef{Name: "s"}, ShardID: "shardId-000000000007",
				ShardIteratorType: TrimHorizon, DryRun: dry})
			return err
		}},
		{"GetShardIterator at a future timestamp", func(dry bool) error {
			_, err := f.svc.GetShardIterator(f.ctx, scope, GetShardIteratorInput{Stream: StreamRef{Name: "s"}, ShardID: "shardId-000000000000",
				ShardIteratorType: AtTimestamp, Timestamp: &future, DryRun: dry})
			return err
		}},
		{"GetRecords with a forged iterator", func(dry bool) error {
			_, err := f.svc.GetRecords(f.ctx, scope, GetRecordsInput{ShardIterator: "AAAA", DryRun: dry})
			return err
		}},
		{"GetRecords with an expired iterator", func(dry bool) error {
			_, err := f.svc.GetRecords(f.ctx, scope, GetRecordsInput{ShardIterator: expired, DryRun: dry})
			return err
		}},
		{"SubscribeToShard for a missing consumer", func(dry bool) error {
			_, err := f.svc.SubscribeToShard(f.ctx, scope, SubscribeToShardInput{ConsumerARN: testStreamARN + "/consumer/other:1",
				ShardID: "shardId-000000000000", StartingPosition: StartingPosition{Type: TrimHorizon}, DryRun: dry})
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			real := tc.call(false)
			if real == nil {
				t.Fatal("the real call succeeded; the case tests nothing")
			}
			var want *Error
			if !asError(real, &want) {
				t.Fatalf("real call: %v", real)
			}
			wantErr(t, tc.call(true), want.Code, want.Message)
		})
	}

	// A subscription in progress refuses a dry run as it refuses a call.
	sub, err := f.svc.SubscribeToShard(f.ctx, scope, SubscribeToShardInput{ConsumerARN: f.consumerARN, ShardID: "shardId-000000000000",
		StartingPosition: StartingPosition{Type: Latest}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	_, err = f.svc.SubscribeToShard(f.ctx, scope, SubscribeToShardInput{ConsumerARN: f.consumerARN, ShardID: "shardId-000000000000",
		StartingPosition: StartingPosition{Type: Latest}, DryRun: true})
	wantErr(t, err, CodeInUse, "Another active subscription exists for this consumer: "+acct+":s:shardId-000000000000:app")
}

func asError(err error, target **Error) bool {
	e, ok := err.(*Error)
	*target = e
	return ok
}

// TestDryRunRate checks AWS's dedicated dry-run rate: one per second per
// stream, shared by the operations, answered with ThrottlingException.
func TestDryRunRate(t *testing.T) {
	f := newDryRunFixture(t, 0) // AWS's rate
	f.create(t, "other", 1)
	wantErr(t, dryRunOps[0].call(f, true), CodeDryRun, dryRunMsg)
	throttled := "Rate exceeded for DryRun requests to stream s under account " + acct + "."
	for _, op := range dryRunOps[1:] {
		wantErr(t, op.call(f, true), CodeThrottling, throttled)
	}
	// Another stream has its own rate, and a real call is not affected.
	_, err := f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: StreamRef{Name: "other"}, PartitionKey: "k", Data: []byte("x"), DryRun: true})
	wantErr(t, err, CodeDryRun, dryRunMsg)
	if err := dryRunOps[2].call(f, false); err != nil {
		t.Fatalf("real GetShardIterator: %v", err)
	}
	f.clock.Advance(time.Second)
	wantErr(t, dryRunOps[3].call(f, true), CodeDryRun, dryRunMsg)
}
