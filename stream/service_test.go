package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
	"github.com/tributary-io/tributary/storage/mem"
)

// fakeClock is a clock tests move by hand; the engine and the service share
// it so that arrival times and stream states agree.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const acct = "000000000000"

var quiet = slog.New(slog.DiscardHandler)

var scope = Scope{Account: acct, Region: "us-east-1"}

type fixture struct {
	svc    *Service
	clock  *fakeClock
	engine *mem.Engine
	ctx    context.Context
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	clock := &fakeClock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	engine := mem.New(mem.Options{Now: clock.Now})
	t.Cleanup(func() { engine.Close() })
	opts.Now = clock.Now
	opts.Logger = quiet
	svc, err := New(context.Background(), engine, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(svc.Close)
	return &fixture{svc: svc, clock: clock, engine: engine, ctx: context.Background()}
}

func ptr[T any](v T) *T { return &v }

// create makes an ACTIVE stream of n shards.
func (f *fixture) create(t *testing.T, name string, n int) {
	t.Helper()
	if err := f.svc.CreateStream(f.ctx, scope, CreateStreamInput{StreamName: name, ShardCount: ptr(n)}); err != nil {
		t.Fatalf("CreateStream(%s): %v", name, err)
	}
	f.clock.Advance(defaultDelay)
}

func (f *fixture) put(t *testing.T, name, key, data string) *PutRecordOutput {
	t.Helper()
	out, err := f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: StreamRef{Name: name}, PartitionKey: key, Data: []byte(data)})
	if err != nil {
		t.Fatalf("PutRecord: %v", err)
	}
	return out
}

func (f *fixture) iterator(t *testing.T, in GetShardIteratorInput) string {
	t.Helper()
	out, err := f.svc.GetShardIterator(f.ctx, scope, in)
	if err != nil {
		t.Fatalf("GetShardIterator(%+v): %v", in, err)
	}
	return out.ShardIterator
}

func (f *fixture) get(t *testing.T, it string, limit int) *GetRecordsOutput {
	t.Helper()
	out, err := f.svc.GetRecords(f.ctx, scope, GetRecordsInput{ShardIterator: it, Limit: limit})
	if err != nil {
		t.Fatalf("GetRecords: %v", err)
	}
	return out
}

func datas(recs []Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r.Data)
	}
	return out
}

// wantErr checks that err is an *Error of the given type and message.
func wantErr(t *testing.T, err error, code Code, msg string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got error %v, want %s: %s", err, code, msg)
	}
	if e.Code != code || e.Message != msg {
		t.Errorf("got %s: %s\nwant %s: %s", e.Code, e.Message, code, msg)
	}
}

// TestDeleteStreamWhileCreating pins AWS's answer: a stream still
// CREATING can be deleted; it is DELETING at once and then gone, and its
// name is free again.
func TestDeleteStreamWhileCreating(t *testing.T) {
	f := newFixture(t, Options{})
	ref := StreamRef{Name: "s"}
	if err := f.svc.CreateStream(f.ctx, scope, CreateStreamInput{StreamName: "s", ShardCount: ptr(2)}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteStream(f.ctx, scope, DeleteStreamInput{Stream: ref}); err != nil {
		t.Fatalf("DeleteStream while CREATING: %v", err)
	}
	d, err := f.svc.DescribeStream(f.ctx, scope, DescribeStreamInput{Stream: ref})
	if err != nil || d.StreamStatus != StatusDeleting {
		t.Fatalf("after the delete: %+v, %v; want DELETING", d, err)
	}
	f.clock.Advance(time.Second) // past both the create and the delete delays
	_, err = f.svc.DescribeStream(f.ctx, scope, DescribeStreamInput{Stream: ref})
	wantErr(t, err, CodeNotFound, "Stream s under account 000000000000 not found.")
	if err := f.svc.CreateStream(f.ctx, scope, CreateStreamInput{StreamName: "s", ShardCount: ptr(1)}); err != nil {
		t.Fatalf("the name is not free again: %v", err)
	}
}

func TestStreamLifecycle(t *testing.T) {
	f := newFixture(t, Options{})
	ref := StreamRef{Name: "s"}
	if err := f.svc.CreateStream(f.ctx, scope, CreateStreamInput{StreamName: "s", ShardCount: ptr(3)}); err != nil {
		t.Fatal(err)
	}
	d, err := f.svc.DescribeStream(f.ctx, scope, DescribeStreamInput{Stream: ref})
	if err != nil {
		t.Fatal(err)
	}
	if d.StreamStatus != StatusCreating || len(d.Shards) != 0 || d.HasMoreShards ||
		d.StreamARN != "arn:aws:kinesis:us-east-1:000000000000:stream/s" || d.RetentionPeriodHours != 24 || d.StreamMode != ModeProvisioned {
		t.Errorf("while creating: %+v", d)
	}
	_, err = f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: ref, PartitionKey: "a"})
	wantErr(t, err, CodeNotFound, "Stream s under account 000000000000 not found.")

	f.clock.Advance(499 * time.Millisecond)
	if d, _ := f.svc.DescribeStream(f.ctx, scope, DescribeStreamInput{Stream: ref}); d.StreamStatus != StatusCreating {
		t.Errorf("after 499ms: %s, want CREATING", d.StreamStatus)
	}
	f.clock.Advance(time.Millisecond)
	d, err = f.svc.DescribeStream(f.ctx, scope, DescribeStreamInput{Stream: ref})
	if err != nil {
		t.Fatal(err)
	}
	if d.StreamStatus != StatusActive || len(d.Shards) != 3 {
		t.Fatalf("after 500ms: %s with %d shards", d.StreamStatus, len(d.Shards))
	}
	wantShards := []HashKeyRange{
		{"0", "113427455640312821154458202477256070484"},
		{"113427455640312821154458202477256070485", "226854911280625642308916404954512140969"},
		{"226854911280625642308916404954512140970", "340282366920938463463374607431768211455"},
	}
	for i, sh := range d.Shards {
		if sh.ShardID != fmt.Sprintf("shardId-%012d", i) || sh.HashKeyRange != wantShards[i] ||
			len(sh.SequenceNumberRange.StartingSequenceNumber) != 56 || sh.SequenceNumberRange.EndingSequenceNumber != "" ||
			sh.ParentShardID != "" || sh.AdjacentParentShardID != "" {
			t.Errorf("shard %d: %+v", i, sh)
		}
	}
	if !d.StreamCreationTimestamp.Equal(f.clock.Now().Add(-defaultDelay)) {
		t.Errorf("creation time %v", d.StreamCreationTimestamp)
	}

	err = f.svc.CreateStream(f.ctx, scope, CreateStreamInput{StreamName: "s", ShardCount: ptr(1)})
	wantErr(t, err, CodeInUse, "Stream s under account 000000000000 already exists.")

	if err := f.svc.DeleteStream(f.ctx, scope, DeleteStreamInput{Stream: ref}); err != nil {
		t.Fatal(err)
	}
	if d, _ := f.svc.DescribeStream(f.ctx, scope, DescribeStreamInput{Stream: ref}); d.StreamStatus != StatusDeleting {
		t.Errorf("after delete: %s, want DELETING", d.StreamStatus)
	}
	if err := f.svc.DeleteStream(f.ctx, scope, DeleteStreamInput{Stream: ref}); err != nil {
		t.Errorf("deleting a DELETING stream: %v", err)
	}
	_, err = f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: ref, PartitionKey: "a"})
	wantErr(t, err, CodeNotFound, "Stream s under account 000000000000 not found.")
	err = f.svc.CreateStream(f.ctx, scope, CreateStreamInput{StreamName: "s", ShardCount: ptr(1)})
	wantErr(t, err, CodeInUse, "Stream s under account 000000000000 already exists.")

	f.clock.Advance(defaultDelay)
	_, err = f.svc.DescribeStream(f.ctx, scope, DescribeStreamInput{Stream: ref})
	wantErr(t, err, CodeNotFound, "Stream s under account 000000000000 not found.")
	_, err = f.svc.DescribeStreamSummary(f.ctx, scope, ref)
	wantErr(t, err, CodeNotFound, "Stream s under account 000000000000 not found.")
	err = f.svc.DeleteStream(f.ctx, scope, DeleteStreamInput{Stream: ref})
	wantErr(t, err, CodeNotFound, "Stream s under account 000000000000 not found.")

	// The reaper removes the gone stream's logs and catalogue entry.
	if err := f.svc.reap(f.ctx); err != nil {
		t.Fatal(err)
	}
	logs, _ := f.engine.ListLogs(f.ctx)
	entries, _ := f.engine.Meta().List(f.ctx, streamsPrefix)
	if len(logs) != 0 || len(entries) != 0 {
		t.Errorf("after reaping: logs %v, entries %d", logs, len(entries))
	}
}

func TestNoDelay(t *testing.T) {
	f := newFixture(t, Options{CreateDelay: NoDelay, DeleteDelay: NoDelay})
	if err := f.svc.CreateStream(f.ctx, scope, CreateStreamInput{StreamName: "s", ShardCount: ptr(1)}); err != nil {
		t.Fatal(err)
	}
	f.put(t, "s", "k", "x") // ACTIVE at once
	if err := f.svc.DeleteStream(f.ctx, scope, DeleteStreamInput{Stream: StreamRef{Name: "s"}}); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.DescribeStreamSummary(f.ctx, scope, StreamRef{Name: "s"})
	wantErr(t, err, CodeNotFound, "Stream s under account 000000000000 not found.")
	// The name is free at once, even before the reaper has run.
	if err := f.svc.CreateStream(f.ctx, scope, CreateStreamInput{StreamName: "s", ShardCount: ptr(2)}); err != nil {
		t.Fatalf("re-create: %v", err)
	}
	sum, err := f.svc.DescribeStreamSummary(f.ctx, scope, StreamRef{Name: "s"})
	if err != nil || sum.OpenShardCount != 2 || sum.StreamStatus != StatusActive {
		t.Errorf("re-created: %+v, %v", sum, err)
	}
}

func TestDescribeStreamPagination(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 5)
	tests := []struct {
		limit   int
		start   string
		want    []string
		hasMore bool
	}{
		{0, "", []string{"shardId-000000000000", "shardId-000000000001", "shardId-000000000002", "shardId-000000000003", "shardId-000000000004"}, false},
		{2, "", []string{"shardId-000000000000", "shardId-000000000001"}, true},
		{2, "shardId-000000000001", []string{"shardId-000000000002", "shardId-000000000003"}, true},
		{2, "shardId-3", []string{"shardId-000000000004"}, false},
		{2, "shardId-000000000004", []string{}, false},
		{1000, "", []string{"shardId-000000000000", "shardId-000000000001", "shardId-000000000002", "shardId-000000000003", "shardId-000000000004"}, false},
	}
	for _, tt := range tests {
		d, err := f.svc.DescribeStream(f.ctx, scope, DescribeStreamInput{Stream: StreamRef{Name: "s"}, Limit: tt.limit, ExclusiveStartShardID: tt.start})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, sh := range d.Shards {
			ids = append(ids, sh.ShardID)
		}
		if strings.Join(ids, ",") != strings.Join(tt.want, ",") || d.HasMoreShards != tt.hasMore {
			t.Errorf("limit %d after %q: %v more=%v, want %v more=%v", tt.limit, tt.start, ids, d.HasMoreShards, tt.want, tt.hasMore)
		}
	}
}

func TestListStreams(t *testing.T) {
	f := newFixture(t, Options{})
	for _, n := range []string{"e", "b", "a", "d", "c"} {
		f.create(t, n, 1)
	}
	// Another region's stream is not listed.
	if err := f.svc.CreateStream(f.ctx, Scope{Account: acct, Region: "eu-west-1"}, CreateStreamInput{StreamName: "x", ShardCount: ptr(1)}); err != nil {
		t.Fatal(err)
	}
	var pages [][]string
	in := ListStreamsInput{Limit: 2}
	for {
		out, err := f.svc.ListStreams(f.ctx, scope, in)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, out.StreamNames)
		if len(out.StreamSummaries) != len(out.StreamNames) || (out.NextToken != "") != out.HasMoreStreams {
			t.Errorf("page %+v", out)
		}
		for _, s := range out.StreamSummaries {
			if s.StreamStatus != StatusActive || s.StreamARN != "arn:aws:kinesis:us-east-1:000000000000:stream/"+s.StreamName {
				t.Errorf("summary %+v", s)
			}
		}
		if !out.HasMoreStreams {
			break
		}
		in = ListStreamsInput{Limit: 2, NextToken: out.NextToken}
	}
	if got := fmt.Sprint(pages); got != "[[a b] [c d] [e]]" {
		t.Errorf("pages %s", got)
	}
	out, err := f.svc.ListStreams(f.ctx, scope, ListStreamsInput{ExclusiveStartStreamName: "b"})
	if err != nil || strings.Join(out.StreamNames, ",") != "c,d,e" || out.HasMoreStreams {
		t.Errorf("after b: %+v, %v", out, err)
	}
	_, err = f.svc.ListStreams(f.ctx, scope, ListStreamsInput{NextToken: "bogus"})
	wantErr(t, err, CodeInvalidArgument, "Invalid NextToken.")
}

func TestListShards(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 5)
	ref := StreamRef{Name: "s"}
	out, err := f.svc.ListShards(f.ctx, scope, ListShardsInput{Stream: ref, MaxResults: 2})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for {
		for _, sh := range out.Shards {
			ids = append(ids, sh.ShardID[len(sh.ShardID)-1:])
		}
		if out.NextToken == "" {
			break
		}
		ids = append(ids, "|")
		tok := out.NextToken
		if out, err = f.svc.ListShards(f.ctx, scope, ListShardsInput{NextToken: tok, MaxResults: 2}); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(ids, ""); got != "01|23|4" {
		t.Errorf("pages %s, want 01|23|4", got)
	}

	first, _ := f.svc.ListShards(f.ctx, scope, ListShardsInput{Stream: ref, MaxResults: 1})
	tests := []struct {
		name string
		in   ListShardsInput
		typ  Code
		msg  string
	}{
		{"token and name", ListShardsInput{Stream: ref, NextToken: first.NextToken}, CodeInvalidArgument, "NextToken and StreamName cannot be provided together."},
		{"neither", ListShardsInput{}, CodeInvalidArgument, "Either NextToken or StreamName should be provided."},
		{"tampered", ListShardsInput{NextToken: first.NextToken[:5] + string('A'+'B'-first.NextToken[5]) + first.NextToken[6:]}, CodeInvalidArgument, "Invalid NextToken."},
		{"other scope", ListShardsInput{NextToken: first.NextToken}, CodeInvalidArgument, "Invalid NextToken."},
		{"unknown stream", ListShardsInput{Stream: StreamRef{Name: "nope"}}, CodeNotFound, "Stream nope under account 000000000000 not found."},
	}
	for _, tt := range tests {
		sc := scope
		if tt.name == "other scope" {
			sc.Region = "eu-west-1"
		}
		_, err := f.svc.ListShards(f.ctx, sc, tt.in)
		wantErr(t, err, tt.typ, tt.msg)
	}

	// Tokens expire after 300 seconds.
	f.clock.Advance(301 * time.Second)
	_, err = f.svc.ListShards(f.ctx, scope, ListShardsInput{NextToken: first.NextToken})
	wantErr(t, err, CodeExpiredNextToken, "The NextToken has expired.")

	// Filters and an exclusive start.
	for _, tt := range []struct {
		in   ListShardsInput
		want int
	}{
		{ListShardsInput{Stream: ref, ExclusiveStartShardID: "shardId-000000000002"}, 2},
		{ListShardsInput{Stream: ref, ShardFilter: &ShardFilter{Type: FilterAtLatest}}, 5},
		{ListShardsInput{Stream: ref, ShardFilter: &ShardFilter{Type: FilterAfterShardID, ShardID: "shardId-000000000003"}}, 1},
		{ListShardsInput{Stream: ref, ShardFilter: &ShardFilter{Type: FilterAtTrimHorizon}}, 5},
		{ListShardsInput{Stream: ref, ShardFilter: &ShardFilter{Type: FilterAtTimestamp, Timestamp: ptr(f.clock.Now().Add(-time.Hour))}}, 5},
		{ListShardsInput{Stream: ref, StreamCreationTimestamp: ptr(f.clock.Now().Add(-301*time.Second - defaultDelay))}, 5},
	} {
		out, err := f.svc.ListShards(f.ctx, scope, tt.in)
		if err != nil || len(out.Shards) != tt.want {
			t.Errorf("%+v: %d shards, %v; want %d", tt.in, len(out.Shards), err, tt.want)
		}
	}
	_, err = f.svc.ListShards(f.ctx, scope, ListShardsInput{Stream: ref, StreamCreationTimestamp: ptr(f.clock.Now())})
	wantErr(t, err, CodeNotFound, "Stream s under account 000000000000 not found.")
}

func TestIteratorTypes(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 1)
	ref := StreamRef{Name: "s"}
	var seqs []string
	var times []time.Time
	for _, d := range []string{"r0", "r1", "r2", "r3"} {
		times = append(times, f.clock.Now())
		seqs = append(seqs, f.put(t, "s", "k", d).SequenceNumber)
		f.clock.Advance(time.Second)
	}
	for i := 1; i < len(seqs); i++ {
		if len(seqs[i]) != 56 || seqs[i] <= seqs[i-1] {
			t.Errorf("sequence numbers not increasing: %v", seqs)
		}
	}
	latest := f.iterator(t, GetShardIteratorInput{Stream: ref, ShardID: "shardId-000000000000", ShardIteratorType: Latest})
	tests := []struct {
		in   GetShardIteratorInput
		want string
	}{
		{GetShardIteratorInput{ShardIteratorType: TrimHorizon}, "r0 r1 r2 r3"},
		{GetShardIteratorInput{ShardIteratorType: AtSequenceNumber, StartingSequenceNumber: seqs[1]}, "r1 r2 r3"},
		{GetShardIteratorInput{ShardIteratorType: AfterSequenceNumber, StartingSequenceNumber: seqs[1]}, "r2 r3"},
		{GetShardIteratorInput{ShardIteratorType: AfterSequenceNumber, StartingSequenceNumber: seqs[3]}, ""},
		{GetShardIteratorInput{ShardIteratorType: AtTimestamp, Timestamp: ptr(times[2])}, "r2 r3"},
		{GetShardIteratorInput{ShardIteratorType: AtTimestamp, Timestamp: ptr(times[2].Add(-time.Millisecond))}, "r2 r3"},
		{GetShardIteratorInput{ShardIteratorType: AtTimestamp, Timestamp: ptr(time.Unix(0, 0))}, "r0 r1 r2 r3"},
		{GetShardIteratorInput{ShardIteratorType: Latest}, ""},
	}
	for _, tt := range tests {
		tt.in.Stream, tt.in.ShardID = ref, "shardId-0"
		got := f.get(t, f.iterator(t, tt.in), 0)
		if strings.Join(datas(got.Records), " ") != tt.want {
			t.Errorf("%s: got %v, want %s", tt.in.ShardIteratorType, datas(got.Records), tt.want)
		}
		if got.Records != nil && len(got.Records) > 0 && got.Records[0].SequenceNumber == "" {
			t.Errorf("record without sequence number")
		}
	}
	// LATEST taken before r4 and r5 were put returns exactly them.
	f.put(t, "s", "k", "r4")
	f.put(t, "s", "k", "r5")
	got := f.get(t, latest, 0)
	if strings.Join(datas(got.Records), " ") != "r4 r5" {
		t.Errorf("LATEST: got %v, want r4 r5", datas(got.Records))
	}
	// Records carry what was put, with the put's sequence number.
	all := f.get(t, f.iterator(t, GetShardIteratorInput{Stream: ref, ShardID: "0", ShardIteratorType: TrimHorizon}), 0)
	if r := all.Records[1]; r.SequenceNumber != seqs[1] || r.PartitionKey != "k" || !r.ApproximateArrivalTimestamp.Equal(times[1]) {
		t.Errorf("record 1: %+v, want seq %s at %v", r, seqs[1], times[1])
	}
}

func TestGetShardIteratorErrors(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 2)
	ref := StreamRef{Name: "s"}
	seq1 := f.put(t, "s", "a", "x") // partition key "a" hashes into shard 0 of 2
	// A number of shard 0 of another stream: another epoch.
	other := shardSeq{epoch: 1, tag: 1, shard: 0}.number(1, 1000)
	// AWS's answers to malformed numbers, captured in kinesalite's tests.
	hexNumber := func(h string) string {
		n, _ := new(big.Int).SetString(h, 16)
		return n.String()
	}
	largeDate := hexNumber("13bb2cc3d80000000000000000000000")
	eightInIndex := hexNumber("20000000000800000000000000000000000000000000002")
	eightNearEnd := hexNumber("20000000000000000000000000000000000000800000002")
	now := f.clock.Now()
	tests := []struct {
		in  GetShardIteratorInput
		typ Code
		msg string
	}{
		{GetShardIteratorInput{Stream: StreamRef{Name: "nope"}, ShardID: "shardId-0", ShardIteratorType: Latest},
			CodeNotFound, "Shard shardId-000000000000 in stream nope under account 000000000000 does not exist"},
		{GetShardIteratorInput{Stream: ref, ShardID: "shardId-5", ShardIteratorType: Latest},
			CodeNotFound, "Shard shardId-000000000005 in stream s under account 000000000000 does not exist"},
		{GetShardIteratorInput{Stream: ref, ShardID: "ABKLFD8", ShardIteratorType: Latest},
			CodeNotFound, "Could not find shard ABKLFD8 in stream s under account 000000000000."},
		{GetShardIteratorInput{Stream: ref, ShardID: "shardId-0", ShardIteratorType: AtSequenceNumber},
			CodeInvalidArgument, "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified AT_SEQUENCE_NUMBER and no StartingSequenceNumber."},
		{GetShardIteratorInput{Stream: ref, ShardID: "shardId-0", ShardIteratorType: TrimHorizon, StartingSequenceNumber: "5"},
			CodeInvalidArgument, "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified TRIM_HORIZON and also a StartingSequenceNumber."},
		// AWS reads a small number as one of its oldest layout, where the
		// last 16 bits are the shard: 5 encodes shard 5, and 0 shard 0 of
		// no stream, which AWS fails with InternalFailure.
		{GetShardIteratorInput{Stream: ref, ShardID: "shardId-0", ShardIteratorType: AtSequenceNumber, StartingSequenceNumber: "5"},
			CodeInvalidArgument, "Invalid StartingSequenceNumber. It encodes shardId-000000000005, while it was used in a call to a shard with shardId-000000000000"},
		{GetShardIteratorInput{Stream: ref, ShardID: "shardId-0", ShardIteratorType: AtSequenceNumber, StartingSequenceNumber: "0"},
			CodeInternalFailure, ""},
		{GetShardIteratorInput{Stream: ref, ShardID: "shardId-0", ShardIteratorType: AtSequenceNumber, StartingSequenceNumber: largeDate},
			CodeInvalidArgument, "StartingSequenceNumber 26227199374822427428162556223570313216 used in GetShardIterator on shard shardId-000000000000 in stream s under account 000000000000 is invalid."},
		{GetShardIteratorInput{Stream: ref, ShardID: "shardId-0", ShardIteratorType: AtSequenceNumber, StartingSequenceNumber: eightInIndex},
			CodeInvalidArgument, "StartingSequenceNumber " + eightInIndex + " used in GetShardIterator on shard shardId-000000000000 in stream s under account 000000000000 is invalid."},
		{GetShardIteratorInput{Stream: ref, ShardID: "shardId-0", ShardIteratorType: AtSequenceNumber, StartingSequenceNumber: eightNearEnd},
			CodeInvalidArgument, "Invalid StartingSequenceNumber. It encodes shardId--02147483648, while it was used in a call to a shard with shardId-000000000000"},
		{GetShardIteratorInput{Stream: ref, ShardID: "shardId-0", ShardIteratorType: AtSequenceNumber, StartingSequenceNumber: "12x"},
			CodeInvalidArgument, "StartingSequenceNumber 12x used in GetShardIterator on shard shardId-000000000000 in stream s under account 000000000000 is invalid."},
		{GetShardIteratorInput{Stream: ref, ShardID: "shardId-1", ShardIteratorType: AtSequenceNumber, StartingSequenceNumber: seq1.SequenceNumber},
			CodeInvalidArgument, "Invalid StartingSequenceNumber. It encodes shardId-000000000000, while it was used in a call to a shard with shardId-000000000001"},
		{GetShardIteratorInput{Stream: ref, ShardID: "shardId-0", ShardIteratorType: AfterSequenceNumber, StartingSequenceNumber: other},
			CodeInvalidArgument, "StartingSequenceNumber " + other + " used in GetShardIterator on shard shardId-000000000000 in stream s under account 000000000000 is invalid because it did not come from this stream."},
		{GetShardIteratorInput{Stream: ref, ShardID: "shardId-0", ShardIteratorType: AtTimestamp},
			CodeInvalidArgument, "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter."},
		{GetShardIteratorInput{Stream: ref, ShardID: "shardId-0", ShardIteratorType: AtTimestamp, Timestamp: ptr(now.Add(time.Second))},
			CodeInvalidArgument, fmt.Sprintf("The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: %d, currentTimestampInMillis: %d", now.UnixMilli()+1000, now.UnixMilli())},
	}
	for _, tt := range tests {
		_, err := f.svc.GetShardIterator(f.ctx, scope, tt.in)
		wantErr(t, err, tt.typ, tt.msg)
	}
}

func TestGetRecordsNeverEmptyAcrossGaps(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 1)
	ref := StreamRef{Name: "s"}
	first := f.put(t, "s", "k", "first")
	f.clock.Advance(20 * time.Hour)
	f.put(t, "s", "k", "second")
	f.clock.Advance(3 * time.Hour)
	f.put(t, "s", "k", "third")

	// Right after "first", twenty hours of nothing: the page still holds
	// the next record rather than an empty answer.
	after := f.iterator(t, GetShardIteratorInput{Stream: ref, ShardID: "0", ShardIteratorType: AfterSequenceNumber, StartingSequenceNumber: first.SequenceNumber})
	if out := f.get(t, after, 0); strings.Join(datas(out.Records), " ") != "second third" {
		t.Errorf("after first: %v", datas(out.Records))
	}

	// Read one record at a time: every page up to the tip has its record,
	// however far apart in time the records are.
	it := f.iterator(t, GetShardIteratorInput{Stream: ref, ShardID: "0", ShardIteratorType: TrimHorizon})
	var got []string
	for i := 0; i < 5; i++ {
		out := f.get(t, it, 1)
		if len(out.Records) == 0 {
			if out.MillisBehindLatest != 0 {
				t.Errorf("at the tip MillisBehindLatest = %d", out.MillisBehindLatest)
			}
			break
		}
		got = append(got, datas(out.Records)...)
		if out.NextShardIterator == "" {
			t.Fatal("open shard without NextShardIterator")
		}
		it = out.NextShardIterator
	}
	if strings.Join(got, " ") != "first second third" {
		t.Errorf("read %v", got)
	}
	// After the tip, new records appear through the same iterator.
	f.put(t, "s", "k", "fourth")
	if out := f.get(t, it, 0); strings.Join(datas(out.Records), " ") != "fourth" {
		t.Errorf("after the tip: %v", datas(out.Records))
	}
}

func TestMillisBehindLatest(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 1)
	f.put(t, "s", "k", "a")
	f.clock.Advance(1000 * time.Millisecond)
	f.put(t, "s", "k", "b")
	f.clock.Advance(2000 * time.Millisecond)
	f.put(t, "s", "k", "c")
	it := f.iterator(t, GetShardIteratorInput{Stream: StreamRef{Name: "s"}, ShardID: "0", ShardIteratorType: TrimHorizon})
	for _, want := range []int64{3000, 2000, 0} {
		out := f.get(t, it, 1)
		if out.MillisBehindLatest != want {
			t.Errorf("after %v: MillisBehindLatest %d, want %d", datas(out.Records), out.MillisBehindLatest, want)
		}
		it = out.NextShardIterator
	}
}

func TestGetRecordsErrors(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 1)
	ref := StreamRef{Name: "s"}
	it := f.iterator(t, GetShardIteratorInput{Stream: ref, ShardID: "0", ShardIteratorType: TrimHorizon})

	_, err := f.svc.GetRecords(f.ctx, scope, GetRecordsInput{ShardIterator: "bad"})
	wantErr(t, err, CodeInvalidArgument, "Invalid ShardIterator.")
	_, err = f.svc.GetRecords(f.ctx, Scope{Account: acct, Region: "us-west-2"}, GetRecordsInput{ShardIterator: it})
	wantErr(t, err, CodeInvalidArgument, "Invalid ShardIterator.")

	issued := f.clock.Now()
	f.clock.Advance(5*time.Minute + time.Second)
	_, err = f.svc.GetRecords(f.ctx, scope, GetRecordsInput{ShardIterator: it})
	wantErr(t, err, CodeExpiredIterator, fmt.Sprintf(
		"Iterator expired. The iterator was created at time %s while right now it is %s which is further in the future than the tolerated delay of 300000 milliseconds.",
		amzTime(issued), amzTime(f.clock.Now())))
}

func TestRecreatedStreamIsolation(t *testing.T) {
	f := newFixture(t, Options{})
	ref := StreamRef{Name: "s"}
	f.create(t, "s", 1)
	old := f.put(t, "s", "k", "old")
	oldIt := f.iterator(t, GetShardIteratorInput{Stream: ref, ShardID: "0", ShardIteratorType: TrimHorizon})
	if err := f.svc.DeleteStream(f.ctx, scope, DeleteStreamInput{Stream: ref}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(defaultDelay)
	f.create(t, "s", 1)

	_, err := f.svc.GetRecords(f.ctx, scope, GetRecordsInput{ShardIterator: oldIt})
	wantErr(t, err, CodeNotFound, "Shard shardId-000000000000 in stream s under account 000000000000 does not exist")
	_, err = f.svc.GetShardIterator(f.ctx, scope, GetShardIteratorInput{Stream: ref, ShardID: "0", ShardIteratorType: AtSequenceNumber, StartingSequenceNumber: old.SequenceNumber})
	wantErr(t, err, CodeInvalidArgument, "StartingSequenceNumber "+old.SequenceNumber+" used in GetShardIterator on shard shardId-000000000000 in stream s under account 000000000000 is invalid because it did not come from this stream.")
	out := f.get(t, f.iterator(t, GetShardIteratorInput{Stream: ref, ShardID: "0", ShardIteratorType: TrimHorizon}), 0)
	if len(out.Records) != 0 {
		t.Errorf("re-created stream sees %v", datas(out.Records))
	}
}

func TestRouting(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 3)
	ref := StreamRef{Name: "s"}
	tests := []struct {
		key, explicit string
		shard         string
	}{
		{"a", "", "shardId-000000000000"},
		{"b", "", "shardId-000000000001"},
		{"a", "0", "shardId-000000000000"},
		{"a", "113427455640312821154458202477256070484", "shardId-000000000000"},
		{"a", "113427455640312821154458202477256070485", "shardId-000000000001"},
		{"a", "226854911280625642308916404954512140970", "shardId-000000000002"},
		{"a", "340282366920938463463374607431768211455", "shardId-000000000002"},
	}
	for _, tt := range tests {
		out, err := f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: ref, PartitionKey: tt.key, ExplicitHashKey: tt.explicit})
		if err != nil || out.ShardID != tt.shard {
			t.Errorf("key %q explicit %q: %+v, %v; want %s", tt.key, tt.explicit, out, err, tt.shard)
		}
	}
	_, err := f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: ref, PartitionKey: "a", ExplicitHashKey: "340282366920938463463374607431768211456"})
	wantErr(t, err, CodeInvalidArgument, "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was 340282366920938463463374607431768211456")
	// SequenceNumberForOrdering as AWS checks it (kinesalite's captured
	// tests): a number of any layout AWS reads, dated no later than now.
	hex := func(h string) string { n, _ := new(big.Int).SetString(h, 16); return n.String() }
	future := shardSeq{epoch: 1, shard: 0}.number(1, f.clock.Now().Add(time.Hour).UnixMilli())
	for _, seq := range []string{
		hex("20000000000000000000000000000000000000000000000"), // version 0 where 2 belongs
		hex("20000000000000000000000000000000000000000000004"), // version 4
		hex("20000000000000000000000000000000000000000000003"), // version 3
		hex("30000000000000000000000000000000000000000000001"), // initial 3
		hex("1ffffffffff7fffffffffffffff000000000007fffffff2"), // initial 1
		hex("20000000000800000000000000000000000000000000002"), // 8 in the index
		hex("13bb2cc3d80000000000000000000000"),                // a date in 2477
		hex("2ffffffffff7fffffffffffffff000000000007fffffff2"), // all f
		future,
	} {
		_, err = f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: ref, PartitionKey: "a", SequenceNumberForOrdering: seq})
		wantErr(t, err, CodeInvalidArgument, "ExclusiveMinimumSequenceNumber "+seq+" used in PutRecord on stream s under account 000000000000 is invalid.")
	}
	// AWS reads "5" as a number of its oldest layout, and takes it.
	if _, err := f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: ref, PartitionKey: "a", SequenceNumberForOrdering: "5"}); err != nil {
		t.Errorf("SequenceNumberForOrdering 5: %v", err)
	}
	prev := f.put(t, "s", "a", "x")
	next, err := f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: ref, PartitionKey: "a", SequenceNumberForOrdering: prev.SequenceNumber})
	if err != nil || next.SequenceNumber <= prev.SequenceNumber {
		t.Errorf("ordered put: %+v, %v; want a number above %s", next, err, prev.SequenceNumber)
	}
}

func TestPutRecords(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 3)
	ref := StreamRef{Name: "s"}
	entries := []PutRecordsEntry{
		{PartitionKey: "a", Data: []byte("0")},
		{PartitionKey: "b", Data: []byte("1")},
		{PartitionKey: "a", Data: []byte("2")},
		{PartitionKey: "x", ExplicitHashKey: "340282366920938463463374607431768211455", Data: []byte("3")},
		{PartitionKey: "a", Data: []byte("4")},
	}
	out, err := f.svc.PutRecords(f.ctx, scope, PutRecordsInput{Stream: ref, Records: entries})
	if err != nil {
		t.Fatal(err)
	}
	wantShards := []string{"shardId-000000000000", "shardId-000000000001", "shardId-000000000000", "shardId-000000000002", "shardId-000000000000"}
	if out.FailedRecordCount != 0 || len(out.Records) != len(entries) {
		t.Fatalf("%+v", out)
	}
	for i, r := range out.Records {
		if r.ShardID != wantShards[i] || len(r.SequenceNumber) != 56 || r.ErrorCode != 0 {
			t.Errorf("entry %d: %+v, want shard %s", i, r, wantShards[i])
		}
	}
	got := f.get(t, f.iterator(t, GetShardIteratorInput{Stream: ref, ShardID: "0", ShardIteratorType: TrimHorizon}), 0)
	if strings.Join(datas(got.Records), "") != "024" {
		t.Errorf("shard 0 holds %v, want 0 2 4 in order", datas(got.Records))
	}
	for i, r := range got.Records {
		if want := out.Records[[]int{0, 2, 4}[i]].SequenceNumber; r.SequenceNumber != want {
			t.Errorf("record %d: sequence %s, want %s", i, r.SequenceNumber, want)
		}
	}
	_, err = f.svc.PutRecords(f.ctx, scope, PutRecordsInput{Stream: ref, Records: []PutRecordsEntry{{PartitionKey: "a", ExplicitHashKey: "x"}}})
	wantErr(t, err, CodeInvalidArgument, "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was x")
	_, err = f.svc.PutRecords(f.ctx, scope, PutRecordsInput{Stream: StreamRef{Name: "nope"}, Records: entries})
	wantErr(t, err, CodeNotFound, "Stream nope under account 000000000000 not found.")
}

func TestRetention(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 1)
	ref := StreamRef{Name: "s"}
	tests := []struct {
		increase bool
		hours    int
		typ      Code
		msg      string
		want     int
	}{
		{true, 48, 0, "", 48},
		{true, 48, 0, "", 48},
		{true, 30, CodeInvalidArgument, "Requested retention period (30 hours) for stream s can not be shorter than existing retention period (48 hours). Use DecreaseRetentionPeriod API.", 48},
		{false, 72, CodeInvalidArgument, "Requested retention period (72 hours) for stream s can not be longer than existing retention period (48 hours). Use IncreaseRetentionPeriod API.", 48},
		{true, 23, CodeInvalidArgument, "Minimum allowed retention period is 24 hours. Requested retention period (23 hours) is too short.", 48},
		{false, 8761, CodeInvalidArgument, "Maximum allowed retention period is 8760 hours. Requested retention period (8761 hours) is too long.", 48},
		{true, 8760, 0, "", 8760},
		{false, 24, 0, "", 24},
	}
	for _, tt := range tests {
		in := RetentionInput{Stream: ref, RetentionPeriodHours: tt.hours}
		var err error
		if tt.increase {
			err = f.svc.IncreaseStreamRetentionPeriod(f.ctx, scope, in)
		} else {
			err = f.svc.DecreaseStreamRetentionPeriod(f.ctx, scope, in)
		}
		if tt.typ == 0 && err != nil {
			t.Errorf("%+v: %v", tt, err)
		} else if tt.typ != 0 {
			wantErr(t, err, tt.typ, tt.msg)
		}
		sum, _ := f.svc.DescribeStreamSummary(f.ctx, scope, ref)
		if sum.RetentionPeriodHours != tt.want {
			t.Errorf("after %+v: retention %d, want %d", tt, sum.RetentionPeriodHours, tt.want)
		}
	}

	// The period reaches the shard logs: a record 30 hours old survives a
	// 48-hour retention and goes when it is decreased to 24.
	if err := f.svc.IncreaseStreamRetentionPeriod(f.ctx, scope, RetentionInput{Stream: ref, RetentionPeriodHours: 48}); err != nil {
		t.Fatal(err)
	}
	f.put(t, "s", "k", "old")
	f.clock.Advance(30 * time.Hour)
	f.put(t, "s", "k", "new")
	th := GetShardIteratorInput{Stream: ref, ShardID: "0", ShardIteratorType: TrimHorizon}
	if got := datas(f.get(t, f.iterator(t, th), 0).Records); strings.Join(got, " ") != "old new" {
		t.Errorf("with 48h: %v", got)
	}
	if err := f.svc.DecreaseStreamRetentionPeriod(f.ctx, scope, RetentionInput{Stream: ref, RetentionPeriodHours: 24}); err != nil {
		t.Fatal(err)
	}
	if got := datas(f.get(t, f.iterator(t, th), 0).Records); strings.Join(got, " ") != "new" {
		t.Errorf("with 24h: %v", got)
	}
	l, _ := f.svc.shardLog(f.ctx, mustRecord(t, f, "s"), 0)
	if info, _ := l.Info(f.ctx); info.Retention != 24*time.Hour {
		t.Errorf("log retention %v", info.Retention)
	}
}

func mustRecord(t *testing.T, f *fixture, name string) *streamRecord {
	t.Helper()
	e, _, err := f.svc.get(f.ctx, scope, name)
	if err != nil {
		t.Fatal(err)
	}
	return e.rec
}

func TestLimits(t *testing.T) {
	f := newFixture(t, Options{ShardLimit: 10, OnDemandStreamLimit: 1})
	f.create(t, "a", 3)
	err := f.svc.CreateStream(f.ctx, scope, CreateStreamInput{StreamName: "b", ShardCount: ptr(8)})
	wantErr(t, err, CodeLimitExceeded, "This request would exceed the shard limit for the account 000000000000 in us-east-1. Current shard count for the account: 3. Limit: 10. Number of additional shards that would have resulted from this request: 8. Refer to the AWS Service Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits.")
	f.create(t, "b", 7)
	if err := f.svc.CreateStream(f.ctx, scope, CreateStreamInput{StreamName: "od", StreamMode: ModeOnDemand}); err != nil {
		t.Fatal(err)
	}
	err = f.svc.CreateStream(f.ctx, scope, CreateStreamInput{StreamName: "od2", StreamMode: ModeOnDemand})
	wantErr(t, err, CodeLimitExceeded, "This request would exceed the limit of 1 on-demand streams for the account 000000000000 in us-east-1.")
	lim, err := f.svc.DescribeLimits(f.ctx, scope)
	if err != nil {
		t.Fatal(err)
	}
	if *lim != (DescribeLimitsOutput{ShardLimit: 10, OpenShardCount: 10, OnDemandStreamCount: 1, OnDemandStreamCountLimit: 1}) {
		t.Errorf("limits %+v", lim)
	}
	f.clock.Advance(defaultDelay)
	sum, _ := f.svc.DescribeStreamSummary(f.ctx, scope, StreamRef{Name: "od"})
	if sum.OpenShardCount != 4 || sum.StreamMode != ModeOnDemand {
		t.Errorf("on-demand stream %+v, want 4 shards", sum)
	}

	// Default limits depend on the region (AWS's quotas page, 2026).
	g := newFixture(t, Options{})
	for _, tt := range []struct {
		region string
		want   int
	}{{"us-east-1", 20000}, {"eu-west-1", 20000}, {"us-west-2", 20000}, {"ap-south-1", 1000}} {
		lim, _ := g.svc.DescribeLimits(g.ctx, Scope{Account: acct, Region: tt.region})
		if lim.ShardLimit != tt.want || lim.OnDemandStreamCountLimit != 50 {
			t.Errorf("%s: %+v", tt.region, lim)
		}
	}
}

func TestTags(t *testing.T) {
	f := newFixture(t, Options{})
	if err := f.svc.CreateStream(f.ctx, scope, CreateStreamInput{StreamName: "s", ShardCount: ptr(1), Tags: map[string]string{"team": "x"}}); err != nil {
		t.Fatal(err)
	}
	ref := StreamRef{Name: "s"}
	arn := "arn:aws:kinesis:us-east-1:000000000000:stream/s"
	if err := f.svc.AddTagsToStream(f.ctx, scope, AddTagsToStreamInput{Stream: ref, Tags: map[string]string{"b": "2", "a": "1", "team": "y"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.TagResource(f.ctx, scope, TagResourceInput{ResourceARN: arn, Tags: map[string]string{"c": "3"}}); err != nil {
		t.Fatal(err)
	}
	page, err := f.svc.ListTagsForStream(f.ctx, scope, ListTagsForStreamInput{Stream: ref, Limit: 2})
	if err != nil || fmt.Sprint(page.Tags) != "[{a 1} {b 2}]" || !page.HasMoreTags {
		t.Errorf("page 1: %+v, %v", page, err)
	}
	page, _ = f.svc.ListTagsForStream(f.ctx, scope, ListTagsForStreamInput{Stream: ref, ExclusiveStartTagKey: "b", Limit: 2})
	if fmt.Sprint(page.Tags) != "[{c 3} {team y}]" || page.HasMoreTags {
		t.Errorf("page 2: %+v", page)
	}
	if err := f.svc.RemoveTagsFromStream(f.ctx, scope, RemoveTagsFromStreamInput{Stream: ref, TagKeys: []string{"a", "missing"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.UntagResource(f.ctx, scope, UntagResourceInput{ResourceARN: arn, TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	all, err := f.svc.ListTagsForResource(f.ctx, scope, ListTagsForResourceInput{ResourceARN: arn})
	if err != nil || fmt.Sprint(all.Tags) != "[{b 2} {c 3}]" {
		t.Errorf("after removal: %+v, %v", all, err)
	}

	many := map[string]string{}
	for i := range 49 {
		many[fmt.Sprintf("k%02d", i)] = ""
	}
	err = f.svc.AddTagsToStream(f.ctx, scope, AddTagsToStreamInput{Stream: ref, Tags: many})
	wantErr(t, err, CodeInvalidArgument, "Failed to add tags to stream s under account 000000000000 because a given stream cannot have more than 50 tags associated with it.")
	err = f.svc.AddTagsToStream(f.ctx, scope, AddTagsToStreamInput{Stream: ref, Tags: map[string]string{"a": "x!"}})
	wantErr(t, err, CodeInvalidArgument, "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @.")
	err = f.svc.AddTagsToStream(f.ctx, scope, AddTagsToStreamInput{Stream: ref, Tags: map[string]string{"a": "50%"}})
	wantErr(t, err, CodeInvalidArgument, "Failed to add tags to stream s under account 000000000000 because some tags contained illegal characters. The allowed characters are Unicode letters, white-spaces, '_',',','/','=','+','-','@'.")
	if err := f.svc.AddTagsToStream(f.ctx, scope, AddTagsToStreamInput{Stream: ref, Tags: map[string]string{"Größe": "ünï côdé 1.0/a=b+c-d@e_f"}}); err != nil {
		t.Errorf("unicode tag: %v", err)
	}
	_, err = f.svc.ListTagsForResource(f.ctx, scope, ListTagsForResourceInput{ResourceARN: "arn:aws:kinesis:us-east-1:000000000000:stream/nope"})
	wantErr(t, err, CodeNotFound, "Stream nope under account 000000000000 not found.")
}

func TestStreamRef(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 1)
	arn := "arn:aws:kinesis:us-east-1:000000000000:stream/s"
	for _, ref := range []StreamRef{{Name: "s"}, {ARN: arn}, {Name: "s", ARN: arn}} {
		if _, err := f.svc.DescribeStreamSummary(f.ctx, scope, ref); err != nil {
			t.Errorf("%+v: %v", ref, err)
		}
	}
	tests := []struct {
		ref StreamRef
		typ Code
		msg string
	}{
		{StreamRef{}, CodeInvalidArgument, "Either StreamName or StreamARN must be provided."},
		{StreamRef{Name: "t", ARN: arn}, CodeInvalidArgument, "StreamARN " + arn + " and StreamName t do not refer to the same stream."},
		{StreamRef{ARN: "arn:aws:kinesis:us-east-1:111111111111:stream/s"}, CodeNotFound, "Stream s under account 111111111111 not found."},
		{StreamRef{ARN: "arn:aws:kinesis:eu-west-1:000000000000:stream/s"}, CodeNotFound, "Stream s under account 000000000000 not found."},
		{StreamRef{ARN: "arn:aws:sqs:us-east-1:000000000000:queue"}, CodeInvalidArgument, "StreamARN arn:aws:sqs:us-east-1:000000000000:queue is invalid."},
	}
	for _, tt := range tests {
		_, err := f.svc.DescribeStreamSummary(f.ctx, scope, tt.ref)
		wantErr(t, err, tt.typ, tt.msg)
	}
}

func TestMaxRecordSize(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 1)
	ref := StreamRef{Name: "s"}
	arn := StreamRef{ARN: "arn:aws:kinesis:us-east-1:000000000000:stream/s"}
	if _, err := f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: ref, PartitionKey: "k", Data: make([]byte, 1<<20-1)}); err != nil {
		t.Errorf("1 MiB with the key: %v", err)
	}
	_, err := f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: ref, PartitionKey: "kk", Data: make([]byte, 1<<20-1)})
	wantErr(t, err, CodeInvalidArgument, "Record size 1048577 bytes, data and partition key together, exceeds the maximum record size of 1024 KiB of stream s under account 000000000000.")

	if err := f.svc.UpdateMaxRecordSize(f.ctx, scope, UpdateMaxRecordSizeInput{Stream: arn, MaxRecordSizeInKiB: 2048}); err != nil {
		t.Fatal(err)
	}
	sum, _ := f.svc.DescribeStreamSummary(f.ctx, scope, ref)
	if sum.MaxRecordSizeInKiB != 2048 || sum.StreamStatus != StatusUpdating {
		t.Errorf("after update: %+v", sum)
	}
	// Writes go on while UPDATING, with the new limit.
	if _, err := f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: ref, PartitionKey: "kk", Data: make([]byte, 2<<20-2)}); err != nil {
		t.Errorf("2 MiB: %v", err)
	}
	err = f.svc.UpdateMaxRecordSize(f.ctx, scope, UpdateMaxRecordSizeInput{Stream: arn, MaxRecordSizeInKiB: 4096})
	wantErr(t, err, CodeInUse, "Stream s under account 000000000000 not ACTIVE, instead in state UPDATING")
	f.clock.Advance(defaultDelay)
	if sum, _ := f.svc.DescribeStreamSummary(f.ctx, scope, ref); sum.StreamStatus != StatusActive {
		t.Errorf("after the update delay: %s", sum.StreamStatus)
	}
}

func TestIteratorsSurviveRestart(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 1)
	f.put(t, "s", "k", "x")
	it := f.iterator(t, GetShardIteratorInput{Stream: StreamRef{Name: "s"}, ShardID: "0", ShardIteratorType: TrimHorizon})
	f.svc.Close()
	f.svc.Close() // idempotent

	again, err := New(f.ctx, f.engine, Options{Now: f.clock.Now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	out, err := again.GetRecords(f.ctx, scope, GetRecordsInput{ShardIterator: it})
	if err != nil || strings.Join(datas(out.Records), "") != "x" {
		t.Errorf("after restart: %+v, %v", out, err)
	}
}

func TestOrphanLogsRemovedAtStart(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 1)
	// A crash between creating logs and recording the stream leaves these.
	if _, err := f.engine.CreateLog(f.ctx, logName("feedfacefeedfacefeedfacefeedface", 0), storage.LogOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.engine.CreateLog(f.ctx, "someone-elses-log", storage.LogOptions{}); err != nil {
		t.Fatal(err)
	}
	again, err := New(f.ctx, f.engine, Options{Now: f.clock.Now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	logs, _ := f.engine.ListLogs(f.ctx)
	want := []string{logName(mustRecord(t, f, "s").ID, 0), "someone-elses-log"}
	if fmt.Sprint(logs) != fmt.Sprint(want) {
		t.Errorf("logs %v, want %v", logs, want)
	}
}

// TestClosedShard closes a shard by hand, as resharding will, and reads it
// to its end: the last page has no NextShardIterator and lists the child.
func TestClosedShard(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 1)
	ref := StreamRef{Name: "s"}
	f.put(t, "s", "k", "before")
	it := f.iterator(t, GetShardIteratorInput{Stream: ref, ShardID: "0", ShardIteratorType: TrimHorizon})

	rec := mustRecord(t, f, "s")
	l, _ := f.svc.shardLog(f.ctx, rec, 0)
	last, err := l.Seal(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.engine.CreateLog(f.ctx, logName(rec.ID, 1), storage.LogOptions{Retention: 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.update(f.ctx, scope, "s", func(r *streamRecord, _ StreamStatus) error {
		now := f.svc.now()
		r.Shards[0].Closed, r.Shards[0].EndPosition, r.Shards[0].Children = now, last, []uint32{1}
		r.Shards = append(r.Shards, shardRecord{Index: 1, Parents: []uint32{0}, StartHash: uint128{}, EndHash: maxHashKey, Created: now})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out := f.get(t, it, 0)
	if strings.Join(datas(out.Records), "") != "before" || out.NextShardIterator != "" {
		t.Errorf("closed shard page: %v next=%q", datas(out.Records), out.NextShardIterator)
	}
	want := []ChildShard{{ShardID: "shardId-000000000001", ParentShards: []string{"shardId-000000000000"}, HashKeyRange: HashKeyRange{"0", "340282366920938463463374607431768211455"}}}
	if fmt.Sprint(out.ChildShards) != fmt.Sprint(want) {
		t.Errorf("children %+v, want %+v", out.ChildShards, want)
	}
	// New records go to the child, with higher sequence numbers.
	p := f.put(t, "s", "k", "after")
	if p.ShardID != "shardId-000000000001" {
		t.Errorf("put after close went to %s", p.ShardID)
	}
	d, _ := f.svc.DescribeStream(f.ctx, scope, DescribeStreamInput{Stream: ref})
	if d.Shards[0].SequenceNumberRange.EndingSequenceNumber == "" || d.Shards[1].ParentShardID != "shardId-000000000000" {
		t.Errorf("described %+v", d.Shards)
	}
	if d.Shards[0].SequenceNumberRange.EndingSequenceNumber >= p.SequenceNumber {
		t.Errorf("child's number %s not above parent's end %s", p.SequenceNumber, d.Shards[0].SequenceNumberRange.EndingSequenceNumber)
	}
	if out, _ := f.svc.ListShards(f.ctx, scope, ListShardsInput{Stream: ref, ShardFilter: &ShardFilter{Type: FilterAtLatest}}); len(out.Shards) != 1 || out.Shards[0].ShardID != "shardId-000000000001" {
		t.Errorf("AT_LATEST %+v", out.Shards)
	}
}

func TestConcurrentPuts(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 2)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				if _, err := f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: StreamRef{Name: "s"}, PartitionKey: fmt.Sprint(g, i), Data: []byte("x")}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	// Tag updates race with the puts and with each other; none is lost.
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.svc.AddTagsToStream(f.ctx, scope, AddTagsToStreamInput{Stream: StreamRef{Name: "s"}, Tags: map[string]string{fmt.Sprint("k", i): "v"}}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, id := range []string{"0", "1"} {
		total += len(f.get(t, f.iterator(t, GetShardIteratorInput{Stream: StreamRef{Name: "s"}, ShardID: id, ShardIteratorType: TrimHorizon}), 0).Records)
	}
	tags, _ := f.svc.ListTagsForStream(f.ctx, scope, ListTagsForStreamInput{Stream: StreamRef{Name: "s"}})
	if total != 200 || len(tags.Tags) != 8 {
		t.Errorf("%d records, %d tags; want 200, 8", total, len(tags.Tags))
	}
}

func TestCreateStreamArguments(t *testing.T) {
	f := newFixture(t, Options{})
	tests := []struct {
		in  CreateStreamInput
		typ Code
		msg string
	}{
		{CreateStreamInput{StreamName: "s"}, CodeInvalidArgument, "ShardCount must be specified for a stream in PROVISIONED mode."},
		{CreateStreamInput{StreamName: "a/b", ShardCount: ptr(1)}, CodeValidation, "1 validation error detected: Value 'a/b' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"},
		{CreateStreamInput{StreamName: "s", ShardCount: ptr(1), MaxRecordSizeInKiB: 10241}, CodeValidation, "MaxRecordSizeInKiB must be between 1024 and 10240. Requested value: 10241"},
	}
	for _, tt := range tests {
		wantErr(t, f.svc.CreateStream(f.ctx, scope, tt.in), tt.typ, tt.msg)
	}
	if err := f.svc.CreateStream(f.ctx, scope, CreateStreamInput{StreamName: "big", ShardCount: ptr(1), MaxRecordSizeInKiB: 10240}); err != nil {
		t.Fatal(err)
	}
	if sum, _ := f.svc.DescribeStreamSummary(f.ctx, scope, StreamRef{Name: "big"}); sum.MaxRecordSizeInKiB != 10240 || sum.OpenShardCount != 0 {
		t.Errorf("creating stream summary %+v, want 10240 KiB and no shards shown yet", sum)
	}
}

func TestGetRecordsStreamARN(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 1)
	it := f.iterator(t, GetShardIteratorInput{Stream: StreamRef{Name: "s"}, ShardID: "0", ShardIteratorType: TrimHorizon})
	if _, err := f.svc.GetRecords(f.ctx, scope, GetRecordsInput{ShardIterator: it, StreamARN: "arn:aws:kinesis:us-east-1:000000000000:stream/s"}); err != nil {
		t.Errorf("matching ARN: %v", err)
	}
	_, err := f.svc.GetRecords(f.ctx, scope, GetRecordsInput{ShardIterator: it, StreamARN: "arn:aws:kinesis:us-east-1:000000000000:stream/t"})
	wantErr(t, err, CodeInvalidArgument, "StreamARN arn:aws:kinesis:us-east-1:000000000000:stream/t does not match the stream arn:aws:kinesis:us-east-1:000000000000:stream/s of the shard iterator.")
}

func TestDelayOption(t *testing.T) {
	for _, tt := range []struct{ in, want time.Duration }{{0, 500 * time.Millisecond}, {NoDelay, 0}, {-5, 0}, {2 * time.Second, 2 * time.Second}} {
		if got := delay(tt.in); got != tt.want {
			t.Errorf("delay(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestTagCharacters pins AWS's answers to the characters of tag keys and
// values, as captured from the live service in kinesalite's tests: a
// semicolon, tab, newline or comma gets one message, '%' another, and
// the listed characters are accepted.
func TestTagCharacters(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 1)
	ref := StreamRef{Name: "s"}
	const invalid = "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @."
	const percent = "Failed to add tags to stream s under account 000000000000 because some tags contained illegal characters. The allowed characters are Unicode letters, white-spaces, '_',',','/','=','+','-','@'."
	tests := []struct {
		tags map[string]string
		msg  string // "" for accepted
	}{
		{map[string]string{"abc;def": "1"}, invalid},
		{map[string]string{"abc\tdef": "1"}, invalid},
		{map[string]string{"abc\ndef": "1"}, invalid},
		{map[string]string{"abc,def": "1"}, invalid},
		{map[string]string{"abc%def": "1"}, percent},
		{map[string]string{"a": "abc;def"}, invalid},
		{map[string]string{"a": "abc\tdef"}, invalid},
		{map[string]string{"a": "abc\ndef"}, invalid},
		{map[string]string{"a": "abc,def"}, invalid},
		{map[string]string{"a": "abc%def"}, percent},
		{map[string]string{"a": "a:b"}, invalid},
		{map[string]string{"a": "a", "ü0 _.": "a", "/=+-@": "a", "b": "ü0 _./=+-@", "c": ""}, ""},
	}
	for _, tt := range tests {
		err := f.svc.AddTagsToStream(f.ctx, scope, AddTagsToStreamInput{Stream: ref, Tags: tt.tags})
		if tt.msg == "" {
			if err != nil {
				t.Errorf("%q: %v", tt.tags, err)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeInvalidArgument || e.Message != tt.msg {
			t.Errorf("%q: got %v, want InvalidArgumentException: %s", tt.tags, err, tt.msg)
		}
	}
}

// TestListTagsForStreamOrder pins the order and paging AWS answers with
// (kinesalite's captured test): keys sorted by code point, a page after
// ExclusiveStartTagKey whether or not that key exists, HasMoreTags when
// the page is cut by Limit.
func TestListTagsForStreamOrder(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 1)
	ref := StreamRef{Name: "s"}
	tags := map[string]string{"a": "b", " ": "a", "ÿ": "a", "_": "a", "/": "a", "=": "a", "+": "a", "Zb": "z", "0": "a", "@": "a"}
	if err := f.svc.AddTagsToStream(f.ctx, scope, AddTagsToStreamInput{Stream: ref, Tags: tags}); err != nil {
		t.Fatal(err)
	}
	keys := func(out *ListTagsForStreamOutput) string {
		var ks []string
		for _, tg := range out.Tags {
			ks = append(ks, tg.Key)
		}
		return fmt.Sprintf("%q %v", ks, out.HasMoreTags)
	}
	tests := []struct {
		start string
		limit int
		want  string
	}{
		{"", 0, `[" " "+" "/" "0" "=" "@" "Zb" "_" "a" "ÿ"] false`},
		{"@", 2, `["Zb" "_"] true`},
		{"$Z%*(*&@,,.,,ZAC", 0, `["+" "/" "0" "=" "@" "Zb" "_" "a" "ÿ"] false`},
		{"Za$Z%*(*&@,,.,,", 0, `["Zb" "_" "a" "ÿ"] false`},
	}
	for _, tt := range tests {
		out, err := f.svc.ListTagsForStream(f.ctx, scope, ListTagsForStreamInput{Stream: ref, ExclusiveStartTagKey: tt.start, Limit: tt.limit})
		if err != nil {
			t.Fatal(err)
		}
		if got := keys(out); got != tt.want {
			t.Errorf("after %q, limit %d: %s, want %s", tt.start, tt.limit, got, tt.want)
		}
	}
}
