package stream

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
	"github.com/tributary-io/tributary/storage/local"
	"github.com/tributary-io/tributary/storage/mem"
)

const maxHash = "340282366920938463463374607431768211455"

// halfHash is 2^127, the first hash key of the second of two shards.
const halfHash = "170141183460469231731687303715884105728"

func (f *fixture) shards(t *testing.T, name string) []Shard {
	t.Helper()
	out, err := f.svc.ListShards(f.ctx, scope, ListShardsInput{Stream: StreamRef{Name: name}})
	if err != nil {
		t.Fatalf("ListShards: %v", err)
	}
	return out.Shards
}

func (f *fixture) status(t *testing.T, name string) StreamStatus {
	t.Helper()
	d, err := f.svc.DescribeStreamSummary(f.ctx, scope, StreamRef{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return d.StreamStatus
}

// brief is a shard as "id parent adjacent start-end open|end".
func brief(sh Shard) string {
	end := "open"
	if sh.SequenceNumberRange.EndingSequenceNumber != "" {
		end = "closed"
	}
	return strings.Join([]string{sh.ShardID[len(sh.ShardID)-1:], last(sh.ParentShardID), last(sh.AdjacentParentShardID),
		sh.HashKeyRange.StartingHashKey + "-" + sh.HashKeyRange.EndingHashKey, end}, " ")
}

func last(id string) string {
	if id == "" {
		return "-"
	}
	return id[len(id)-1:]
}

func briefs(shards []Shard) []string {
	out := make([]string, len(shards))
	for i, sh := range shards {
		out[i] = brief(sh)
	}
	return out
}

func TestSplitShard(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 1)
	ref := StreamRef{Name: "s"}
	p := f.put(t, "s", "k", "before")
	if err := f.svc.SplitShard(f.ctx, scope, SplitShardInput{Stream: ref, ShardToSplit: "shardId-000000000000", NewStartingHashKey: halfHash}); err != nil {
		t.Fatal(err)
	}
	if st := f.status(t, "s"); st != StatusUpdating {
		t.Errorf("status after split %s, want UPDATING", st)
	}
	f.clock.Advance(defaultDelay)
	if st := f.status(t, "s"); st != StatusActive {
		t.Errorf("status after UpdateDelay %s, want ACTIVE", st)
	}
	sh := f.shards(t, "s")
	want := []string{
		"0 - - 0-" + maxHash + " closed",
		"1 0 - 0-170141183460469231731687303715884105727 open",
		"2 0 - " + halfHash + "-" + maxHash + " open",
	}
	if got := briefs(sh); !slices.Equal(got, want) {
		t.Fatalf("shards\n%q\nwant\n%q", got, want)
	}
	// The parent's EndingSequenceNumber is its last record's.
	if sh[0].SequenceNumberRange.EndingSequenceNumber != p.SequenceNumber {
		t.Errorf("ending %s, want %s", sh[0].SequenceNumberRange.EndingSequenceNumber, p.SequenceNumber)
	}
	// partitionHash("k") routes to one of the children now.
	after := f.put(t, "s", "k", "after")
	if after.ShardID == "shardId-000000000000" || after.SequenceNumber <= p.SequenceNumber {
		t.Errorf("put after split: %+v", after)
	}
	d, _ := f.svc.DescribeStreamSummary(f.ctx, scope, ref)
	if d.OpenShardCount != 2 {
		t.Errorf("OpenShardCount %d, want 2", d.OpenShardCount)
	}
	// Reading the parent to its end names both children.
	out := f.get(t, f.iterator(t, GetShardIteratorInput{Stream: ref, ShardID: "0", ShardIteratorType: TrimHorizon}), 0)
	wantChildren := []ChildShard{
		{ShardID: "shardId-000000000001", ParentShards: []string{"shardId-000000000000"}, HashKeyRange: HashKeyRange{"0", "170141183460469231731687303715884105727"}},
		{ShardID: "shardId-000000000002", ParentShards: []string{"shardId-000000000000"}, HashKeyRange: HashKeyRange{halfHash, maxHash}},
	}
	if !slices.Equal(datas(out.Records), []string{"before"}) || out.NextShardIterator != "" || fmt.Sprint(out.ChildShards) != fmt.Sprint(wantChildren) {
		t.Errorf("GetRecords on closed parent: %v next=%q children=%+v", datas(out.Records), out.NextShardIterator, out.ChildShards)
	}
	// LATEST on the closed shard also ends at once with the children.
	out = f.get(t, f.iterator(t, GetShardIteratorInput{Stream: ref, ShardID: "0", ShardIteratorType: Latest}), 0)
	if len(out.Records) != 0 || out.NextShardIterator != "" || len(out.ChildShards) != 2 {
		t.Errorf("LATEST on closed parent: %+v", out)
	}
}

func TestSplitEmptyShard(t *testing.T) {
	f := newFixture(t, Options{UpdateDelay: NoDelay})
	f.create(t, "s", 1)
	if err := f.svc.SplitShard(f.ctx, scope, SplitShardInput{Stream: StreamRef{Name: "s"}, ShardToSplit: "0", NewStartingHashKey: "2"}); err != nil {
		t.Fatal(err)
	}
	sh := f.shards(t, "s")
	// An empty closed shard ends where it starts: no number lies in it.
	if r := sh[0].SequenceNumberRange; r.EndingSequenceNumber != r.StartingSequenceNumber {
		t.Errorf("empty parent range %+v", r)
	}
	if got, want := briefs(sh)[1:], []string{"1 0 - 0-1 open", "2 0 - 2-" + maxHash + " open"}; !slices.Equal(got, want) {
		t.Errorf("children %q, want %q", got, want)
	}
}

func TestMergeShards(t *testing.T) {
	f := newFixture(t, Options{UpdateDelay: NoDelay})
	f.create(t, "s", 2)
	ref := StreamRef{Name: "s"}
	// Name the higher shard first: it becomes the ParentShardId.
	if err := f.svc.MergeShards(f.ctx, scope, MergeShardsInput{Stream: ref, ShardToMerge: "shardId-000000000001", AdjacentShardToMerge: "shardId-000000000000"}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"0 - - 0-170141183460469231731687303715884105727 closed",
		"1 - - " + halfHash + "-" + maxHash + " closed",
		"2 1 0 0-" + maxHash + " open",
	}
	if got := briefs(f.shards(t, "s")); !slices.Equal(got, want) {
		t.Fatalf("shards\n%q\nwant\n%q", got, want)
	}
	for _, id := range []string{"0", "1"} {
		out := f.get(t, f.iterator(t, GetShardIteratorInput{Stream: ref, ShardID: id, ShardIteratorType: TrimHorizon}), 0)
		wantChildren := []ChildShard{{ShardID: "shardId-000000000002", ParentShards: []string{"shardId-000000000001", "shardId-000000000000"}, HashKeyRange: HashKeyRange{"0", maxHash}}}
		if out.NextShardIterator != "" || fmt.Sprint(out.ChildShards) != fmt.Sprint(wantChildren) {
			t.Errorf("shard %s end: next=%q children=%+v", id, out.NextShardIterator, out.ChildShards)
		}
	}
	if p := f.put(t, "s", "k", "x"); p.ShardID != "shardId-000000000002" {
		t.Errorf("put went to %s", p.ShardID)
	}
}

func TestReshardErrors(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 3)
	ref := StreamRef{Name: "s"}
	r0 := mustRecord(t, f, "s").Shards[0]
	const notFound = "Shard shardId-000000000009 in stream s under account " + acct + " does not exist"
	split := func(shard, key string) error {
		return f.svc.SplitShard(f.ctx, scope, SplitShardInput{Stream: ref, ShardToSplit: shard, NewStartingHashKey: key})
	}
	merge := func(a, b string) error {
		return f.svc.MergeShards(f.ctx, scope, MergeShardsInput{Stream: ref, ShardToMerge: a, AdjacentShardToMerge: b})
	}
	badKey := func(key string) string {
		return "NewStartingHashKey " + key + " used in SplitShard() on shard shardId-000000000000 in stream s under account " + acct +
			" is not both greater than one plus the shard's StartingHashKey 0 and less than the shard's EndingHashKey " + r0.EndHash.String() + "."
	}
	tests := []struct {
		name    string
		err     error
		typ     Code
		message string
	}{
		{"split unknown shard", split("shardId-000000000009", "5"), CodeNotFound, notFound},
		{"split bad shard id", split("shardId-x", "5"), CodeNotFound, "Could not find shard shardId-x in stream s under account " + acct + "."},
		{"split unknown stream", f.svc.SplitShard(f.ctx, scope, SplitShardInput{Stream: StreamRef{Name: "nope"}, ShardToSplit: "0", NewStartingHashKey: "5"}),
			CodeNotFound, "Stream nope under account " + acct + " not found."},
		{"split at start", split("0", "0"), CodeInvalidArgument, badKey("0")},
		{"split at start+1", split("0", "1"), CodeInvalidArgument, badKey("1")},
		{"split at end", split("0", r0.EndHash.String()), CodeInvalidArgument, badKey(r0.EndHash.String())},
		{"split outside", split("0", maxHash), CodeInvalidArgument, badKey(maxHash)},
		{"merge not adjacent", merge("0", "2"), CodeInvalidArgument,
			"Shards shardId-000000000000 and shardId-000000000002 in stream s under account " + acct + " are not an adjacent pair of shards eligible for merging"},
		{"merge with itself", merge("1", "1"), CodeInvalidArgument,
			"Shards shardId-000000000001 and shardId-000000000001 in stream s under account " + acct + " are not an adjacent pair of shards eligible for merging"},
		{"merge unknown", merge("0", "9"), CodeNotFound, notFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.err, tc.typ, tc.message) })
	}

	// While UPDATING, every reshard is refused; afterwards the closed
	// parent is not eligible.
	if err := split("0", "5"); err != nil {
		t.Fatal(err)
	}
	updating := "Stream s under account " + acct + " not ACTIVE, instead in state UPDATING"
	wantErr(t, split("1", halfHash), CodeInUse, updating)
	wantErr(t, merge("1", "2"), CodeInUse, updating)
	_, err := f.svc.UpdateShardCount(f.ctx, scope, UpdateShardCountInput{Stream: ref, TargetShardCount: 2, ScalingType: ScalingUniform})
	wantErr(t, err, CodeInUse, updating)
	f.clock.Advance(defaultDelay)
	closed := "Shard shardId-000000000000 in stream s under account " + acct + " has already been merged or split, and thus is not eligible for merging or splitting."
	wantErr(t, split("0", "7"), CodeInvalidArgument, closed)
	wantErr(t, merge("3", "0"), CodeInvalidArgument, closed)
}

// wantUniform checks that the open shards are n shards dividing the hash
// space evenly, in order, with no gap or overlap.
func wantUniform(t *testing.T, f *fixture, name string, n int) {
	t.Helper()
	var open []Shard
	for _, sh := range f.shards(t, name) {
		if sh.SequenceNumberRange.EndingSequenceNumber == "" {
			open = append(open, sh)
		}
	}
	slices.SortFunc(open, func(a, b Shard) int {
		x, _ := parseHashKey(a.HashKeyRange.StartingHashKey)
		y, _ := parseHashKey(b.HashKeyRange.StartingHashKey)
		return x.cmp(y)
	})
	if len(open) != n {
		t.Fatalf("%d open shards, want %d: %q", len(open), n, briefs(open))
	}
	for i, r := range splitHashSpace(n) {
		got := open[i].HashKeyRange
		if got.StartingHashKey != r[0].String() || got.EndingHashKey != r[1].String() {
			t.Errorf("open shard %d range %s-%s, want %s-%s", i, got.StartingHashKey, got.EndingHashKey, r[0], r[1])
		}
	}
}

func TestUpdateShardCount(t *testing.T) {
	tests := []struct{ from, to, closed int }{
		{1, 2, 1},  // one split
		{2, 4, 2},  // doubling: a split each
		{4, 2, 4},  // halving: a merge each
		{3, 5, 8},  // four splits at the new boundaries, then two merges
		{4, 3, 8},  // two splits, three merges
		{5, 3, 10}, // two splits, four merges
		{3, 3, 0},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d to %d", tc.from, tc.to), func(t *testing.T) {
			f := newFixture(t, Options{})
			f.create(t, "s", tc.from)
			out, err := f.svc.UpdateShardCount(f.ctx, scope, UpdateShardCountInput{Stream: StreamRef{Name: "s"}, TargetShardCount: tc.to, ScalingType: ScalingUniform})
			if err != nil {
				t.Fatal(err)
			}
			want := UpdateShardCountOutput{StreamName: "s", StreamARN: streamARN(scope.Region, acct, "s"), CurrentShardCount: tc.from, TargetShardCount: tc.to}
			if *out != want {
				t.Errorf("output %+v, want %+v", *out, want)
			}
			if st := f.status(t, "s"); st != StatusUpdating {
				t.Errorf("status %s, want UPDATING", st)
			}
			f.clock.Advance(defaultDelay)
			if st := f.status(t, "s"); st != StatusActive {
				t.Errorf("status %s, want ACTIVE", st)
			}
			wantUniform(t, f, "s", tc.to)
			closed := 0
			for _, sh := range f.shards(t, "s") {
				if sh.SequenceNumberRange.EndingSequenceNumber != "" {
					closed++
				}
			}
			if closed != tc.closed {
				t.Errorf("%d closed shards, want %d", closed, tc.closed)
			}
		})
	}
}

func TestUpdateShardCountLimits(t *testing.T) {
	f := newFixture(t, Options{UpdateDelay: NoDelay, ShardLimit: 10})
	f.create(t, "s", 4)
	update := func(n int) error {
		_, err := f.svc.UpdateShardCount(f.ctx, scope, UpdateShardCountInput{Stream: StreamRef{Name: "s"}, TargetShardCount: n, ScalingType: ScalingUniform})
		return err
	}
	wantErr(t, update(9), CodeLimitExceeded,
		"UpdateShardCount cannot scale up over double your current open shard count. Current open shard count: 4, Target shard count: 9")
	wantErr(t, update(1), CodeLimitExceeded,
		"UpdateShardCount cannot scale down below half your current open shard count. Current open shard count: 4, Target shard count: 1")
	wantErr(t, update(10001), CodeLimitExceeded,
		"Target shard count or number of open shards cannot be greater than 10000. Current open shard count: 4, Target shard count: 10001")
	f.create(t, "other", 6)
	wantErr(t, update(8), CodeLimitExceeded,
		"This request would exceed the shard limit for the account "+acct+" in us-east-1. Current shard count for the account: 10. Limit: 10. Number of additional shards that would have resulted from this request: 4. Refer to the AWS Service Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits.")
	wantErr(t, f.svc.SplitShard(f.ctx, scope, SplitShardInput{Stream: StreamRef{Name: "other"}, ShardToSplit: "0", NewStartingHashKey: "5"}), CodeLimitExceeded,
		"This request would exceed the shard limit for the account "+acct+" in us-east-1. Current shard count for the account: 10. Limit: 10. Number of additional shards that would have resulted from this request: 1. Refer to the AWS Service Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits.")

	// Ten scalings per rolling 24 hours; the window slides with the clock.
	for i := range maxScalingsPerDay {
		if err := update(2 + i%2); err != nil {
			t.Fatalf("scaling %d: %v", i, err)
		}
		f.clock.Advance(time.Hour)
	}
	wantErr(t, update(2), CodeLimitExceeded,
		"Rate exceeded for stream s under account "+acct+": UpdateShardCount can be called at most 10 times per rolling 24-hour period.")
	f.clock.Advance(15 * time.Hour) // the first scaling is now 24h old
	if err := update(2); err != nil {
		t.Errorf("after the window: %v", err)
	}

	if err := f.svc.CreateStream(f.ctx, scope, CreateStreamInput{StreamName: "od", StreamMode: ModeOnDemand}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(defaultDelay)
	_, err := f.svc.UpdateShardCount(f.ctx, scope, UpdateShardCountInput{Stream: StreamRef{Name: "od"}, TargetShardCount: 5, ScalingType: ScalingUniform})
	wantErr(t, err, CodeValidation, "UpdateShardCount is not supported for stream od under account "+acct+" with ON_DEMAND capacity mode.")
}

func TestUpdateStreamMode(t *testing.T) {
	f := newFixture(t, Options{ShardLimit: 5, OnDemandStreamLimit: 1})
	f.create(t, "s", 2)
	ref := StreamRef{ARN: streamARN(scope.Region, acct, "s")}
	if err := f.svc.UpdateStreamMode(f.ctx, scope, UpdateStreamModeInput{Stream: ref, Mode: ModeOnDemand}); err != nil {
		t.Fatal(err)
	}
	d, _ := f.svc.DescribeStreamSummary(f.ctx, scope, ref)
	if d.StreamMode != ModeOnDemand || d.StreamStatus != StatusUpdating || d.OpenShardCount != 2 {
		t.Errorf("after switch: %+v", d)
	}
	wantErr(t, f.svc.UpdateStreamMode(f.ctx, scope, UpdateStreamModeInput{Stream: ref, Mode: ModeProvisioned}), CodeInUse,
		"Stream s under account "+acct+" not ACTIVE, instead in state UPDATING")
	f.clock.Advance(defaultDelay)
	lim, _ := f.svc.DescribeLimits(f.ctx, scope)
	if lim.OpenShardCount != 0 || lim.OnDemandStreamCount != 1 {
		t.Errorf("limits %+v", lim)
	}
	// A second on-demand stream exceeds the limit of one.
	f.create(t, "p", 4)
	wantErr(t, f.svc.UpdateStreamMode(f.ctx, scope, UpdateStreamModeInput{Stream: StreamRef{Name: "p"}, Mode: ModeOnDemand}), CodeLimitExceeded,
		"This request would exceed the limit of 1 on-demand streams for the account "+acct+" in us-east-1.")
	// Back to provisioned: its 2 shards would exceed the limit of 5.
	wantErr(t, f.svc.UpdateStreamMode(f.ctx, scope, UpdateStreamModeInput{Stream: ref, Mode: ModeProvisioned}), CodeLimitExceeded,
		"This request would exceed the shard limit for the account "+acct+" in us-east-1. Current shard count for the account: 4. Limit: 5. Number of additional shards that would have resulted from this request: 2. Refer to the AWS Service Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits.")
	if err := f.svc.DeleteStream(f.ctx, scope, DeleteStreamInput{Stream: StreamRef{Name: "p"}}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(defaultDelay)
	if err := f.svc.UpdateStreamMode(f.ctx, scope, UpdateStreamModeInput{Stream: ref, Mode: ModeProvisioned}); err != nil {
		t.Fatal(err)
	}
	// The same mode again changes nothing and leaves the stream ACTIVE.
	f.clock.Advance(defaultDelay)
	if err := f.svc.UpdateStreamMode(f.ctx, scope, UpdateStreamModeInput{Stream: ref, Mode: ModeProvisioned}); err != nil {
		t.Fatal(err)
	}
	if st := f.status(t, "s"); st != StatusActive {
		t.Errorf("status %s, want ACTIVE", st)
	}
	// ON_DEMAND streams start with four shards.
	f.clock.Advance(defaultDelay)
	if err := f.svc.DeleteStream(f.ctx, scope, DeleteStreamInput{Stream: ref}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(defaultDelay)
	if err := f.svc.CreateStream(f.ctx, scope, CreateStreamInput{StreamName: "od", StreamMode: ModeOnDemand}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(defaultDelay)
	wantUniform(t, f, "od", 4)
}

// TestReshardRecovery runs the first steps of a split by hand, as a crash
// would leave them, and checks that a new Service over the same engine
// finishes the split, whichever step the crash came after.
func TestReshardRecovery(t *testing.T) {
	for _, steps := range []string{"a", "ab", "abc"} {
		t.Run(steps, func(t *testing.T) {
			f := newFixture(t, Options{UpdateDelay: NoDelay})
			f.create(t, "s", 1)
			p := f.put(t, "s", "k", "before")
			rec, err := f.svc.update(f.ctx, scope, "s", func(rec *streamRecord, _ StreamStatus) error {
				rec.Pending = splitPlan(rec, &rec.Shards[0], uint128{hi: 1 << 63})
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if st := f.status(t, "s"); st != StatusUpdating {
				t.Errorf("status with a pending split %s, want UPDATING", st)
			}
			if strings.Contains(steps, "b") {
				for _, i := range []uint32{1, 2} {
					if _, err := f.engine.CreateLog(f.ctx, logName(rec.ID, i), storage.LogOptions{}); err != nil {
						t.Fatal(err)
					}
				}
			}
			if strings.Contains(steps, "c") {
				l, _ := f.svc.shardLog(f.ctx, rec, 0)
				if _, err := l.Seal(f.ctx); err != nil {
					t.Fatal(err)
				}
			}
			f.svc.Close()
			svc, err := New(f.ctx, f.engine, Options{Now: f.clock.Now, Logger: quiet, UpdateDelay: NoDelay})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(svc.Close)
			f.svc = svc
			want := []string{
				"0 - - 0-" + maxHash + " closed",
				"1 0 - 0-170141183460469231731687303715884105727 open",
				"2 0 - " + halfHash + "-" + maxHash + " open",
			}
			sh := f.shards(t, "s")
			if got := briefs(sh); !slices.Equal(got, want) {
				t.Fatalf("shards\n%q\nwant\n%q", got, want)
			}
			if sh[0].SequenceNumberRange.EndingSequenceNumber != p.SequenceNumber {
				t.Errorf("ending %s, want %s", sh[0].SequenceNumberRange.EndingSequenceNumber, p.SequenceNumber)
			}
			if st := f.status(t, "s"); st != StatusActive {
				t.Errorf("status %s, want ACTIVE", st)
			}
			if p := f.put(t, "s", "k", "after"); p.ShardID == "shardId-000000000000" {
				t.Errorf("put after recovery went to the parent")
			}
		})
	}
}

// TestUpdateShardCountRecovery leaves an UpdateShardCount half done and
// checks that a restart completes it.
func TestUpdateShardCountRecovery(t *testing.T) {
	f := newFixture(t, Options{UpdateDelay: NoDelay})
	f.create(t, "s", 3)
	_, err := f.svc.update(f.ctx, scope, "s", func(rec *streamRecord, _ StreamStatus) error {
		rec.ScalingTo = 5
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f.svc.Close()
	svc, err := New(f.ctx, f.engine, Options{Now: f.clock.Now, Logger: quiet, UpdateDelay: NoDelay})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	f.svc = svc
	wantUniform(t, f, "s", 5)
	if st := f.status(t, "s"); st != StatusActive {
		t.Errorf("status %s, want ACTIVE", st)
	}
}

func TestListShardsFiltersAfterReshard(t *testing.T) {
	f := newFixture(t, Options{UpdateDelay: NoDelay})
	f.create(t, "s", 1)
	ref := StreamRef{Name: "s"}
	t0 := f.clock.Now()
	f.clock.Advance(time.Hour)
	split := f.clock.Now()
	if err := f.svc.SplitShard(f.ctx, scope, SplitShardInput{Stream: ref, ShardToSplit: "0", NewStartingHashKey: halfHash}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	ids := func(filter *ShardFilter) string {
		out, err := f.svc.ListShards(f.ctx, scope, ListShardsInput{Stream: ref, ShardFilter: filter})
		if err != nil {
			t.Fatalf("%+v: %v", filter, err)
		}
		var s []string
		for _, sh := range out.Shards {
			s = append(s, last(sh.ShardID))
		}
		return strings.Join(s, ",")
	}
	at := func(t time.Time) *time.Time { return &t }
	tests := []struct {
		filter *ShardFilter
		want   string
	}{
		{nil, "0,1,2"},
		{&ShardFilter{Type: FilterFromTrimHorizon}, "0,1,2"},
		{&ShardFilter{Type: FilterAtTrimHorizon}, "0"},
		{&ShardFilter{Type: FilterAtLatest}, "1,2"},
		{&ShardFilter{Type: FilterAfterShardID, ShardID: "shardId-000000000000"}, "1,2"},
		{&ShardFilter{Type: FilterAtTimestamp, Timestamp: at(t0)}, "0"},
		// At the split's instant the parent ended and the children began.
		{&ShardFilter{Type: FilterAtTimestamp, Timestamp: at(split)}, "0,1,2"},
		{&ShardFilter{Type: FilterAtTimestamp, Timestamp: at(f.clock.Now())}, "1,2"},
		{&ShardFilter{Type: FilterFromTimestamp, Timestamp: at(t0)}, "0,1,2"},
		{&ShardFilter{Type: FilterFromTimestamp, Timestamp: at(split.Add(time.Millisecond))}, "1,2"},
	}
	for _, tc := range tests {
		if got := ids(tc.filter); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.filter, got, tc.want)
		}
	}
	// Once retention has passed the parent's end, it is past the trim
	// horizon: FROM_TRIM_HORIZON drops it and AT_TRIM_HORIZON names the
	// children, open at the trim horizon.
	f.clock.Advance(24 * time.Hour)
	for _, tc := range []struct {
		filter *ShardFilter
		want   string
	}{
		{nil, "1,2"},
		{&ShardFilter{Type: FilterAtTrimHorizon}, "1,2"},
		{&ShardFilter{Type: FilterFromTimestamp, Timestamp: at(t0)}, "1,2"},
	} {
		if got := ids(tc.filter); got != tc.want {
			t.Errorf("after retention %+v: %s, want %s", tc.filter, got, tc.want)
		}
	}
}

// TestReshardUnderConcurrentWrites is the central property: writers keep
// writing while a chain of splits, merges and UpdateShardCounts runs, and
// a reader that reads every shard after its parents sees every
// acknowledged record exactly once and, per partition key, in write order.
func TestReshardUnderConcurrentWrites(t *testing.T) {
	engines := []struct {
		name string
		open func(t *testing.T) storage.Engine
	}{
		{"mem", func(t *testing.T) storage.Engine { return mem.New(mem.Options{}) }},
		{"local", func(t *testing.T) storage.Engine {
			e, err := local.Open(t.TempDir(), local.Options{SyncInterval: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			return e
		}},
	}
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			engine := eng.open(t)
			t.Cleanup(func() { engine.Close() })
			svc, err := New(context.Background(), engine, Options{CreateDelay: NoDelay, UpdateDelay: NoDelay, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(svc.Close)
			testReshardUnderWrites(t, svc)
		})
	}
}

func testReshardUnderWrites(t *testing.T, svc *Service) {
	ctx := context.Background()
	ref := StreamRef{Name: "s"}
	if err := svc.CreateStream(ctx, scope, CreateStreamInput{StreamName: "s", ShardCount: ptr(2)}); err != nil {
		t.Fatal(err)
	}

	const writers, keysPerWriter, minRecords = 8, 16, 150
	stop := make(chan struct{})
	acked := make([]map[string]int, writers) // key -> records acknowledged
	errs := make(chan error, writers)
	for w := range writers {
		acked[w] = make(map[string]int)
		go func() {
			next := make(map[string]int)
			for i := 0; ; i++ {
				select {
				case <-stop:
					if i >= minRecords {
						errs <- nil
						return
					}
				default:
				}
				if w%2 == 0 {
					key := fmt.Sprintf("w%d-k%d", w, i%keysPerWriter)
					_, err := svc.PutRecord(ctx, scope, PutRecordInput{Stream: ref, PartitionKey: key, Data: []byte(key + "/" + strconv.Itoa(next[key]))})
					if err != nil {
						errs <- err
						return
					}
					next[key]++
					acked[w][key] = next[key]
					continue
				}
				// A PutRecords of five keys, two records each: the pair is
				// in order within its shard's batch.
				var entries []PutRecordsEntry
				for j := range 5 {
					key := fmt.Sprintf("w%d-k%d", w, (i*5+j)%keysPerWriter)
					for range 2 {
						entries = append(entries, PutRecordsEntry{PartitionKey: key, Data: []byte(key + "/" + strconv.Itoa(next[key]))})
						next[key]++
					}
				}
				out, err := svc.PutRecords(ctx, scope, PutRecordsInput{Stream: ref, Records: entries})
				if err != nil || out.FailedRecordCount != 0 {
					errs <- fmt.Errorf("PutRecords: %v %+v", err, out)
					return
				}
				for _, e := range entries {
					acked[w][e.PartitionKey] = next[e.PartitionKey]
				}
			}
		}()
	}

	// The chain of reshards, each started once the previous one is over.
	openShards := func() []Shard {
		out, err := svc.ListShards(ctx, scope, ListShardsInput{Stream: ref, ShardFilter: &ShardFilter{Type: FilterAtLatest}})
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(out.Shards, func(a, b Shard) int {
			x, _ := parseHashKey(a.HashKeyRange.StartingHashKey)
			y, _ := parseHashKey(b.HashKeyRange.StartingHashKey)
			return x.cmp(y)
		})
		return out.Shards
	}
	splitFirst := func() error {
		sh := openShards()[0]
		end, _ := parseHashKey(sh.HashKeyRange.EndingHashKey)
		mid := uint128{hi: end.hi / 2, lo: end.lo/2 | end.hi%2<<63}
		return svc.SplitShard(ctx, scope, SplitShardInput{Stream: ref, ShardToSplit: sh.ShardID, NewStartingHashKey: mid.String()})
	}
	mergeFirst := func() error {
		sh := openShards()
		return svc.MergeShards(ctx, scope, MergeShardsInput{Stream: ref, ShardToMerge: sh[0].ShardID, AdjacentShardToMerge: sh[1].ShardID})
	}
	scaleTo := func(n int) func() error {
		return func() error {
			_, err := svc.UpdateShardCount(ctx, scope, UpdateShardCountInput{Stream: ref, TargetShardCount: n, ScalingType: ScalingUniform})
			return err
		}
	}
	chain := []func() error{splitFirst, mergeFirst, splitFirst, splitFirst, scaleTo(4), mergeFirst, scaleTo(5), scaleTo(3), splitFirst, mergeFirst}
	for i, op := range chain {
		time.Sleep(10 * time.Millisecond) // let writes land between reshards
		if err := op(); err != nil {
			t.Fatalf("reshard %d: %v", i, err)
		}
	}
	close(stop)
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}

	// Read every shard after all its parents, following the lineage.
	list, err := svc.ListShards(ctx, scope, ListShardsInput{Stream: ref})
	if err != nil {
		t.Fatal(err)
	}
	shards := make(map[string]Shard)
	for _, sh := range list.Shards {
		shards[sh.ShardID] = sh
	}
	done := make(map[string]bool)
	written := make(map[string]bool)  // closed shards holding records
	seen := make(map[string][]string) // key -> data in read order
	lastSeq := make(map[string]string)
	for len(done) < len(shards) {
		progress := false
		for _, sh := range list.Shards {
			if done[sh.ShardID] {
				continue
			}
			if p := sh.ParentShardID; p != "" && !done[p] {
				continue
			}
			if p := sh.AdjacentParentShardID; p != "" && !done[p] {
				continue
			}
			it, err := svc.GetShardIterator(ctx, scope, GetShardIteratorInput{Stream: ref, ShardID: sh.ShardID, ShardIteratorType: TrimHorizon})
			if err != nil {
				t.Fatal(err)
			}
			iter := it.ShardIterator
			for iter != "" {
				out, err := svc.GetRecords(ctx, scope, GetRecordsInput{ShardIterator: iter})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range out.Records {
					k := r.PartitionKey
					if end := sh.SequenceNumberRange.EndingSequenceNumber; end != "" && r.SequenceNumber > end {
						t.Errorf("record %s in %s after the shard's end %s", r.SequenceNumber, sh.ShardID, end)
					}
					if r.SequenceNumber <= lastSeq[k] {
						t.Errorf("key %s: sequence number %s not above %s", k, r.SequenceNumber, lastSeq[k])
					}
					lastSeq[k] = r.SequenceNumber
					seen[k] = append(seen[k], string(r.Data))
				}
				if len(out.Records) > 0 && sh.SequenceNumberRange.EndingSequenceNumber != "" {
					written[sh.ShardID] = true
				}
				iter = out.NextShardIterator
				if len(out.Records) == 0 && sh.SequenceNumberRange.EndingSequenceNumber == "" {
					break // the tip of an open shard
				}
				if iter == "" {
					// The end of a closed shard names its children as the
					// listing does.
					var want []string
					for _, c := range list.Shards {
						if c.ParentShardID == sh.ShardID || c.AdjacentParentShardID == sh.ShardID {
							want = append(want, c.ShardID)
						}
					}
					var got []string
					for _, c := range out.ChildShards {
						got = append(got, c.ShardID)
					}
					if !slices.Equal(got, want) {
						t.Errorf("%s ends with children %v, want %v", sh.ShardID, got, want)
					}
				}
			}
			done[sh.ShardID] = true
			progress = true
		}
		if !progress {
			t.Fatalf("lineage has a cycle or a missing parent: %q", briefs(list.Shards))
		}
	}

	total := 0
	for w := range writers {
		for key, n := range acked[w] {
			want := make([]string, n)
			for i := range n {
				want[i] = key + "/" + strconv.Itoa(i)
			}
			if !slices.Equal(seen[key], want) {
				t.Errorf("key %s: read %v, want %v", key, seen[key], want)
			}
			total += n
		}
	}
	closed := 0
	for _, sh := range list.Shards {
		if sh.SequenceNumberRange.EndingSequenceNumber != "" {
			closed++
		}
	}
	t.Logf("%d records over %d shards (%d closed, %d of them written to)", total, len(list.Shards), closed, len(written))
	// Writes overlapped the reshards: most closed shards received records.
	if closed < len(chain) || 2*len(written) < closed {
		t.Errorf("%d shards closed, %d of them written to", closed, len(written))
	}
}

// TestWritesWaitForChildren holds a split between sealing the parent and
// recording the children (steps (c) and (d)): a write waits, and lands in
// a child once the split completes; a reader at the parent's end gets an
// iterator, not yet the children.
func TestWritesWaitForChildren(t *testing.T) {
	f := newFixture(t, Options{UpdateDelay: NoDelay})
	f.create(t, "s", 1)
	ref := StreamRef{Name: "s"}
	f.put(t, "s", "k", "before")
	it := f.iterator(t, GetShardIteratorInput{Stream: ref, ShardID: "0", ShardIteratorType: TrimHorizon})
	rec, err := f.svc.update(f.ctx, scope, "s", func(rec *streamRecord, _ StreamStatus) error {
		rec.Pending = splitPlan(rec, &rec.Shards[0], uint128{hi: 1 << 63})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []uint32{1, 2} {
		if _, err := f.engine.CreateLog(f.ctx, logName(rec.ID, i), storage.LogOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	l, _ := f.svc.shardLog(f.ctx, rec, 0)
	if _, err := l.Seal(f.ctx); err != nil {
		t.Fatal(err)
	}

	out := f.get(t, it, 0)
	if !slices.Equal(datas(out.Records), []string{"before"}) || out.NextShardIterator == "" || out.ChildShards != nil {
		t.Errorf("read between seal and close: %v next=%q children=%v", datas(out.Records), out.NextShardIterator, out.ChildShards)
	}
	next := out.NextShardIterator

	put := make(chan *PutRecordOutput, 1)
	go func() {
		p, err := f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: ref, PartitionKey: "k", Data: []byte("during")})
		if err != nil {
			t.Error(err)
		}
		put <- p
	}()
	select {
	case p := <-put:
		t.Fatalf("put returned %+v while the parent was sealed and the children not routable", p)
	case <-time.After(30 * time.Millisecond):
	}
	// A write whose context ends while it waits fails with ctx's error.
	ctx, cancel := context.WithTimeout(f.ctx, 5*time.Millisecond)
	defer cancel()
	if _, err := f.svc.PutRecord(ctx, scope, PutRecordInput{Stream: ref, PartitionKey: "k", Data: []byte("x")}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("put with an ending context: %v", err)
	}

	if err := f.svc.completeReshard(f.ctx, scope, "s"); err != nil {
		t.Fatal(err)
	}
	p := <-put
	if p == nil || p.ShardID == "shardId-000000000000" {
		t.Fatalf("put after the split: %+v", p)
	}
	out = f.get(t, next, 0)
	if len(out.Records) != 0 || out.NextShardIterator != "" || len(out.ChildShards) != 2 {
		t.Errorf("read after close: %+v", out)
	}
}

// TestUpdateShardCountAfterManualReshards drives UpdateShardCount from
// shard layouts that SplitShard and MergeShards leave, including shards
// that end exactly on one of the target's boundaries, and checks what AWS
// guarantees of the result: the open shards are the target's uniform
// ranges, and no shard the planner made, open or closed, is smaller than
// SplitShard itself allows (two hash keys: a key strictly between its
// StartingHashKey+1 and its EndingHashKey).
func TestUpdateShardCountAfterManualReshards(t *testing.T) {
	boundary := func(i, n int) string { return splitPoint(uint64(i), uint64(n)).String() }
	plus := func(key string, d int) string {
		k, _ := parseHashKey(key)
		for range d {
			k = k.add1()
		}
		for range -d {
			k = k.sub1()
		}
		return k.String()
	}
	tests := []struct {
		name   string
		shards int
		splits []string // keys, each splitting the open shard that holds it
		target int
	}{
		// The first shard ends exactly on the target's first boundary:
		// splitting there would leave a one-key child.
		{"shard ends on a boundary", 1, []string{plus(boundary(1, 3), 1)}, 3},
		// The second shard starts one key before a boundary.
		{"shard starts a key before a boundary", 1, []string{plus(boundary(1, 3), -1)}, 3},
		{"both sides", 2, []string{plus(boundary(1, 3), 1), plus(boundary(2, 3), -1)}, 3},
		{"ends on a boundary, scaling down", 4, []string{plus(boundary(1, 3), 1)}, 3},
		{"ends on a boundary of five", 3, []string{plus(boundary(2, 5), 1), plus(boundary(4, 5), 1)}, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			f.create(t, "s", tc.shards)
			for _, key := range tc.splits {
				var id string
				for _, sh := range f.shards(t, "s") {
					lo, _ := parseHashKey(sh.HashKeyRange.StartingHashKey)
					hi, _ := parseHashKey(sh.HashKeyRange.EndingHashKey)
					k, _ := parseHashKey(key)
					if sh.SequenceNumberRange.EndingSequenceNumber == "" && lo.cmp(k) < 0 && k.cmp(hi) <= 0 {
						id = sh.ShardID
					}
				}
				if err := f.svc.SplitShard(f.ctx, scope, SplitShardInput{Stream: StreamRef{Name: "s"}, ShardToSplit: id, NewStartingHashKey: key}); err != nil {
					t.Fatalf("split at %s: %v", key, err)
				}
				f.clock.Advance(defaultDelay)
			}
			open := 0
			for _, sh := range f.shards(t, "s") {
				if sh.SequenceNumberRange.EndingSequenceNumber == "" {
					open++
				}
			}
			if tc.target > 2*open || 2*tc.target < open {
				t.Fatalf("test error: %d open shards cannot scale to %d", open, tc.target)
			}
			if _, err := f.svc.UpdateShardCount(f.ctx, scope, UpdateShardCountInput{Stream: StreamRef{Name: "s"}, TargetShardCount: tc.target, ScalingType: ScalingUniform}); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(defaultDelay)
			wantUniform(t, f, "s", tc.target)
			for _, sh := range f.shards(t, "s") {
				lo, _ := parseHashKey(sh.HashKeyRange.StartingHashKey)
				hi, _ := parseHashKey(sh.HashKeyRange.EndingHashKey)
				if lo.cmp(hi) >= 0 {
					t.Errorf("shard %s covers the single hash key %s", sh.ShardID, lo)
				}
			}
		})
	}
}

// TestUpdateShardCountRandomLayouts is the property above over layouts
// made by random splits (at keys near the boundaries of small shard
// counts, where one-key children would appear) and random targets.
func TestUpdateShardCountRandomLayouts(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 0))
	for iter := range 60 {
		f := newFixture(t, Options{})
		f.create(t, "s", 1+rng.IntN(4))
		for range rng.IntN(4) {
			open := openShards(t, f, "s")
			sh := open[rng.IntN(len(open))]
			lo, _ := parseHashKey(sh.HashKeyRange.StartingHashKey)
			hi, _ := parseHashKey(sh.HashKeyRange.EndingHashKey)
			// A key near a boundary of n shards, nudged by -1, 0 or +1.
			n := 2 + rng.IntN(7)
			key := splitPoint(uint64(1+rng.IntN(n-1)), uint64(n))
			switch rng.IntN(3) {
			case 0:
				key = key.sub1()
			case 1:
				key = key.add1()
			}
			if !splitKeyFits(&shardRecord{StartHash: lo, EndHash: hi}, key) {
				continue
			}
			if err := f.svc.SplitShard(f.ctx, scope, SplitShardInput{Stream: StreamRef{Name: "s"}, ShardToSplit: sh.ShardID, NewStartingHashKey: key.String()}); err != nil {
				t.Fatalf("iteration %d: split: %v", iter, err)
			}
			f.clock.Advance(defaultDelay)
		}
		open := len(openShards(t, f, "s"))
		target := (open+1)/2 + rng.IntN(2*open-(open+1)/2+1)
		if target == open {
			continue
		}
		if _, err := f.svc.UpdateShardCount(f.ctx, scope, UpdateShardCountInput{Stream: StreamRef{Name: "s"}, TargetShardCount: target, ScalingType: ScalingUniform}); err != nil {
			t.Fatalf("iteration %d: %d to %d: %v", iter, open, target, err)
		}
		f.clock.Advance(defaultDelay)
		wantUniform(t, f, "s", target)
		for _, sh := range f.shards(t, "s") {
			if sh.HashKeyRange.StartingHashKey == sh.HashKeyRange.EndingHashKey {
				t.Fatalf("iteration %d: shard %s covers the single hash key %s", iter, sh.ShardID, sh.HashKeyRange.StartingHashKey)
			}
		}
	}
}

func openShards(t *testing.T, f *fixture, name string) []Shard {
	t.Helper()
	var open []Shard
	for _, sh := range f.shards(t, name) {
		if sh.SequenceNumberRange.EndingSequenceNumber == "" {
			open = append(open, sh)
		}
	}
	return open
}
