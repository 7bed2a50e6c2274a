package stream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage/mem"
)

func TestLimitsResolve(t *testing.T) {
	tests := []struct {
		name    string
		in      Limits
		on      bool
		want    Limits
		wantErr string
	}{
		{name: "zero is off", in: Limits{}},
		{name: "off ignores overrides", in: Limits{Profile: LimitsOff, ShardReadCallsPerSec: 9}},
		{name: "aws", in: Limits{Profile: LimitsAWS}, on: true, want: awsLimits},
		{
			name: "override", in: Limits{Profile: LimitsAWS, ShardWriteRecordsPerSec: 2000, ListShardsPerSec: 100}, on: true,
			want: func() Limits { l := awsLimits; l.ShardWriteRecordsPerSec = 2000; l.ListShardsPerSec = 100; return l }(),
		},
		{name: "bad profile", in: Limits{Profile: "strict"}, wantErr: `stream: limits profile "strict": must be aws or off`},
		{name: "negative", in: Limits{Profile: LimitsAWS, TagsPerSec: -1}, wantErr: "stream: limit TagsPerSec is -1: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, on, err := tt.in.resolve()
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("resolve: got error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolve: %v", err)
			}
			if on != tt.on || got != tt.want {
				t.Errorf("resolve = %+v, %v; want %+v, %v", got, on, tt.want, tt.on)
			}
		})
	}
}

func rateMsg(shard, name string) string {
	return fmt.Sprintf("Rate exceeded for shard %s in stream %s under account %s.", shard, name, acct)
}

// TestWriteLimits fills a shard's write buckets at one instant and checks
// the next record is refused until the clock has refilled them.
func TestWriteLimits(t *testing.T) {
	tests := []struct {
		name    string
		size    int // data bytes per record (partition key "k" adds 1)
		fits    int // records admitted at one instant
		refill  time.Duration
		records int
	}{
		{name: "records", size: 10, fits: 1000, refill: time.Millisecond},
		{name: "bytes", size: 256<<10 - 1, fits: 4, refill: 250 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{Limits: Limits{Profile: LimitsAWS}})
			f.create(t, "s", 1)
			data := strings.Repeat("x", tt.size)
			for i := range tt.fits {
				if _, err := f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: StreamRef{Name: "s"}, PartitionKey: "k", Data: []byte(data)}); err != nil {
					t.Fatalf("PutRecord %d: %v", i, err)
				}
			}
			_, err := f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: StreamRef{Name: "s"}, PartitionKey: "k", Data: []byte(data)})
			wantErr(t, err, CodeThroughputExceeded, rateMsg("shardId-000000000000", "s"))
			f.clock.Advance(tt.refill)
			if _, err := f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: StreamRef{Name: "s"}, PartitionKey: "k", Data: []byte(data)}); err != nil {
				t.Fatalf("PutRecord after %v: %v", tt.refill, err)
			}
			st := f.svc.ThrottleStats().Shards
			if len(st) != 1 || st[0].WriteThrottledRequests != 1 || st[0].WriteThrottledRecords != 1 || st[0].Stream != "s" || st[0].Shard != "shardId-000000000000" {
				t.Errorf("ThrottleStats().Shards = %+v, want one refused request of one record on s/shardId-000000000000", st)
			}
		})
	}
}

func TestPutRecordsThrottledEntries(t *testing.T) {
	f := newFixture(t, Options{Limits: Limits{Profile: LimitsAWS, ShardWriteRecordsPerSec: 10}})
	f.create(t, "s", 1)
	var in PutRecordsInput
	in.Stream = StreamRef{Name: "s"}
	for i := range 15 {
		in.Records = append(in.Records, PutRecordsEntry{PartitionKey: "k", Data: fmt.Appendf(nil, "r%02d", i)})
	}
	out, err := f.svc.PutRecords(f.ctx, scope, in)
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	if out.FailedRecordCount != 5 {
		t.Errorf("FailedRecordCount = %d, want 5", out.FailedRecordCount)
	}
	var stored []string
	for i, r := range out.Records {
		switch {
		case i < 10 && (r.ErrorCode != 0 || r.SequenceNumber == ""):
			t.Errorf("entry %d = %+v, want stored", i, r)
		case i >= 10 && (r.ErrorCode != CodeThroughputExceeded || r.ErrorMessage != rateMsg("shardId-000000000000", "s") || r.SequenceNumber != ""):
			t.Errorf("entry %d = %+v, want throttled with AWS's message", i, r)
		}
		if r.ErrorCode == 0 {
			stored = append(stored, string(in.Records[i].Data))
		}
	}
	it := f.iterator(t, GetShardIteratorInput{Stream: StreamRef{Name: "s"}, ShardID: "shardId-000000000000", ShardIteratorType: TrimHorizon})
	if got := datas(f.get(t, it, 0).Records); !slices.Equal(got, stored) {
		t.Errorf("stored %q, want the accepted entries %q", got, stored)
	}
	st := f.svc.ThrottleStats().Shards
	if len(st) != 1 || st[0].WriteThrottledRequests != 1 || st[0].WriteThrottledRecords != 5 {
		t.Errorf("ThrottleStats().Shards = %+v, want 1 request and 5 records refused", st)
	}
}

// TestProducerAtTwiceTheLimit pushes twice a shard's record rate for 3
// seconds on the real clock (with a low limit to keep it short): about
// half the records are refused, and exactly the accepted ones are stored.
// The one-second burst is spent first so that only the sustained rate is
// measured. With limits off nothing is refused.
func TestProducerAtTwiceTheLimit(t *testing.T) {
	const (
		limit = 200 // records per second
		push  = 2 * limit
		span  = 3 * time.Second
	)
	tests := []struct {
		name   string
		limits Limits
		lo, hi float64 // the share of records refused, tolerated
	}{
		{name: "aws", limits: Limits{Profile: LimitsAWS, ShardWriteRecordsPerSec: limit}, lo: 0.35, hi: 0.65},
		{name: "off", limits: Limits{Profile: LimitsOff, ShardWriteRecordsPerSec: limit}, lo: 0, hi: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			engine := mem.New(mem.Options{})
			t.Cleanup(func() { engine.Close() })
			svc, err := New(ctx, engine, Options{Logger: quiet, CreateDelay: NoDelay, Limits: tt.limits})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(svc.Close)
			if err := svc.CreateStream(ctx, scope, CreateStreamInput{StreamName: "p", ShardCount: ptr(1)}); err != nil {
				t.Fatal(err)
			}
			put := func(data string) (bool, error) {
				_, err := svc.PutRecord(ctx, scope, PutRecordInput{Stream: StreamRef{Name: "p"}, PartitionKey: "k", Data: []byte(data)})
				var e *Error
				if errors.As(err, &e) && e.Code == CodeThroughputExceeded {
					return false, nil
				}
				return err == nil, err
			}
			var accepted []string
			for i := range limit { // the burst
				data := fmt.Sprintf("burst-%d", i)
				if ok, err := put(data); err != nil {
					t.Fatal(err)
				} else if ok {
					accepted = append(accepted, data)
				}
			}
			sent, refused := 0, 0
			start := time.Now()
			for elapsed := time.Since(start); elapsed < span; elapsed = time.Since(start) {
				for due := int(elapsed.Seconds() * push); sent < due; sent++ {
					data := fmt.Sprintf("r-%d", sent)
					ok, err := put(data)
					if err != nil {
						t.Fatal(err)
					}
					if ok {
						accepted = append(accepted, data)
					} else {
						refused++
					}
				}
				time.Sleep(2 * time.Millisecond)
			}
			share := float64(refused) / float64(sent)
			t.Logf("%d sent at %d/s, %d refused (%.0f%%)", sent, push, refused, 100*share)
			if share < tt.lo || share > tt.hi {
				t.Errorf("%.2f of the records refused, want %.2f to %.2f", share, tt.lo, tt.hi)
			}

			it, err := svc.GetShardIterator(ctx, scope, GetShardIteratorInput{Stream: StreamRef{Name: "p"}, ShardID: "shardId-000000000000", ShardIteratorType: TrimHorizon})
			if err != nil {
				t.Fatal(err)
			}
			out, err := svc.GetRecords(ctx, scope, GetRecordsInput{ShardIterator: it.ShardIterator})
			if err != nil {
				t.Fatal(err)
			}
			if got := datas(out.Records); !slices.Equal(got, accepted) {
				t.Errorf("stored %d records, want the %d accepted in order", len(got), len(accepted))
			}
		})
	}
}

// TestReaderAtTenCallsPerSecond reads one shard 10 times a second for 5
// seconds after spending the burst: AWS's 5 calls per second admits half.
func TestReaderAtTenCallsPerSecond(t *testing.T) {
	f := newFixture(t, Options{Limits: Limits{Profile: LimitsAWS}})
	f.create(t, "s", 1)
	f.put(t, "s", "k", "v")
	it := f.iterator(t, GetShardIteratorInput{Stream: StreamRef{Name: "s"}, ShardID: "shardId-000000000000", ShardIteratorType: TrimHorizon})
	for range 5 {
		f.get(t, it, 0)
	}
	calls, refused := 50, 0
	for range calls {
		f.clock.Advance(100 * time.Millisecond)
		_, err := f.svc.GetRecords(f.ctx, scope, GetRecordsInput{ShardIterator: it})
		if err != nil {
			wantErr(t, err, CodeThroughputExceeded, rateMsg("shardId-000000000000", "s"))
			refused++
		}
	}
	if refused < 20 || refused > 30 {
		t.Errorf("%d of %d calls refused, want about half (20 to 30)", refused, calls)
	}
	if st := f.svc.ThrottleStats().Shards; len(st) != 1 || st[0].ReadThrottledRequests != int64(refused) {
		t.Errorf("ThrottleStats().Shards = %+v, want %d reads refused", st, refused)
	}
}

// TestGetRecordsPenalty checks AWS's rule that after a GetRecords response
// of 10 MiB the calls of the next 5 seconds are refused.
func TestGetRecordsPenalty(t *testing.T) {
	f := newFixture(t, Options{Limits: Limits{Profile: LimitsAWS}})
	f.create(t, "s", 1)
	data := strings.Repeat("x", 1<<20-1) // with the key "k": 1 MiB
	for i := range 10 {
		f.clock.Advance(time.Second) // one MiB per second, the write limit
		if _, err := f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: StreamRef{Name: "s"}, PartitionKey: "k", Data: []byte(data)}); err != nil {
			t.Fatalf("PutRecord %d: %v", i, err)
		}
	}
	it := f.iterator(t, GetShardIteratorInput{Stream: StreamRef{Name: "s"}, ShardID: "shardId-000000000000", ShardIteratorType: TrimHorizon})
	out := f.get(t, it, 0)
	if len(out.Records) != 10 {
		t.Fatalf("GetRecords returned %d records, want 10 (10 MiB)", len(out.Records))
	}
	next := out.NextShardIterator
	steps := []struct {
		after time.Duration // since the 10 MiB response
		ok    bool
	}{
		{0, false},
		{time.Second, false},
		{4900 * time.Millisecond, false},
		{5 * time.Second, true},
	}
	var at time.Duration
	for _, s := range steps {
		f.clock.Advance(s.after - at)
		at = s.after
		_, err := f.svc.GetRecords(f.ctx, scope, GetRecordsInput{ShardIterator: next})
		if s.ok {
			if err != nil {
				t.Errorf("GetRecords %v after the 10 MiB response: %v", s.after, err)
			}
			continue
		}
		wantErr(t, err, CodeThroughputExceeded, rateMsg("shardId-000000000000", "s"))
	}
}

func TestControlPlaneRates(t *testing.T) {
	limitMsg := func(name string) string {
		return fmt.Sprintf("Rate exceeded for stream %s under account %s.", name, acct)
	}
	tests := []struct {
		name    string
		allowed int // calls admitted at one instant
		call    func(f *fixture, i int) error
		typ     Code
		msg     string
	}{
		{
			name: "CreateStream", allowed: 5, typ: CodeLimitExceeded, msg: limitMsg("c9"),
			call: func(f *fixture, i int) error {
				return f.svc.CreateStream(f.ctx, scope, CreateStreamInput{StreamName: fmt.Sprintf("c%d", i), ShardCount: ptr(1)})
			},
		},
		{
			name: "DescribeStream", allowed: 10, typ: CodeLimitExceeded, msg: limitMsg("s"),
			call: func(f *fixture, i int) error {
				_, err := f.svc.DescribeStream(f.ctx, scope, DescribeStreamInput{Stream: StreamRef{Name: "s"}})
				return err
			},
		},
		{
			name: "DescribeStreamSummary", allowed: 20, typ: CodeLimitExceeded, msg: limitMsg("s"),
			call: func(f *fixture, i int) error {
				_, err := f.svc.DescribeStreamSummary(f.ctx, scope, StreamRef{Name: "s"})
				return err
			},
		},
		{
			name: "ListStreams", allowed: 5, typ: CodeLimitExceeded, msg: "Rate exceeded for account " + acct + ".",
			call: func(f *fixture, i int) error {
				_, err := f.svc.ListStreams(f.ctx, scope, ListStreamsInput{})
				return err
			},
		},
		{
			name: "ListTagsForStream", allowed: 5, typ: CodeLimitExceeded, msg: limitMsg("s"),
			call: func(f *fixture, i int) error {
				_, err := f.svc.ListTagsForStream(f.ctx, scope, ListTagsForStreamInput{Stream: StreamRef{Name: "s"}})
				return err
			},
		},
		{
			name: "ListShards", allowed: 1000, typ: CodeLimitExceeded, msg: limitMsg("s"),
			call: func(f *fixture, i int) error {
				_, err := f.svc.ListShards(f.ctx, scope, ListShardsInput{Stream: StreamRef{Name: "s"}})
				return err
			},
		},
		{
			name: "GetShardIterator", allowed: 5, typ: CodeThroughputExceeded, msg: rateMsg("shardId-000000000000", "s"),
			call: func(f *fixture, i int) error {
				_, err := f.svc.GetShardIterator(f.ctx, scope, GetShardIteratorInput{Stream: StreamRef{Name: "s"}, ShardID: "shardId-000000000000", ShardIteratorType: Latest})
				return err
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{Limits: Limits{Profile: LimitsAWS}})
			f.create(t, "s", 1)
			f.clock.Advance(time.Second) // the CreateStream above is forgotten
			calls := 2 * tt.allowed
			if tt.name == "CreateStream" {
				calls = 10
			}
			refused := 0
			for i := range calls {
				err := tt.call(f, i)
				if i < tt.allowed {
					if err != nil {
						t.Fatalf("call %d: %v", i, err)
					}
					continue
				}
				refused++
				if i == calls-1 {
					wantErr(t, err, tt.typ, tt.msg)
				} else if err == nil {
					t.Fatalf("call %d admitted, want only %d", i, tt.allowed)
				}
			}
			f.clock.Advance(time.Second)
			if err := tt.call(f, calls); err != nil {
				t.Errorf("call a second later: %v", err)
			}
			var got int64
			st := f.svc.ThrottleStats()
			for _, c := range st.ControlPlane {
				got += c.Throttled
			}
			for _, s := range st.Shards {
				got += s.IteratorThrottledRequests
			}
			if got != int64(refused) {
				t.Errorf("ThrottleStats counts %d refused calls, want %d", got, refused)
			}
		})
	}
}

// TestListShardsPerStream checks that ListShards' rate is per stream.
func TestListShardsPerStream(t *testing.T) {
	f := newFixture(t, Options{Limits: Limits{Profile: LimitsAWS, ListShardsPerSec: 2}})
	f.create(t, "a", 1)
	f.create(t, "b", 1)
	for _, name := range []string{"a", "a", "b", "b"} {
		if _, err := f.svc.ListShards(f.ctx, scope, ListShardsInput{Stream: StreamRef{Name: name}}); err != nil {
			t.Fatalf("ListShards(%s): %v", name, err)
		}
	}
	_, err := f.svc.ListShards(f.ctx, scope, ListShardsInput{Stream: StreamRef{Name: "a"}})
	wantErr(t, err, CodeLimitExceeded, "Rate exceeded for stream a under account "+acct+".")
}

// TestLimitsOffByDefault checks that the zero Options throttle nothing.
func TestLimitsOffByDefault(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 1)
	for range 2000 {
		f.put(t, "s", "k", "v")
	}
	for range 20 {
		if _, err := f.svc.DescribeStream(f.ctx, scope, DescribeStreamInput{Stream: StreamRef{Name: "s"}}); err != nil {
			t.Fatal(err)
		}
	}
	if st := f.svc.ThrottleStats(); len(st.Shards) != 0 || len(st.ControlPlane) != 0 {
		t.Errorf("ThrottleStats() = %+v, want nothing", st)
	}
}

// TestThrottlerForget checks that a deleted stream's shard state goes.
func TestThrottlerForget(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	th, err := newThrottler(Limits{Profile: LimitsAWS}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	a, b := &streamRecord{ID: "a", Name: "s"}, &streamRecord{ID: "b", Name: "s"}
	for _, rec := range []*streamRecord{a, a, b} {
		th.write(scope, rec, 0, 1, 1)
		th.write(scope, rec, 1, 1, 1)
	}
	th.forget("a")
	var left []string
	for k := range th.shards {
		left = append(left, fmt.Sprintf("%s/%d", k.stream, k.index))
	}
	slices.Sort(left)
	if want := []string{"b/0", "b/1"}; !slices.Equal(left, want) {
		t.Errorf("after forget(a): %q, want %q", left, want)
	}
}

// TestGetShardIteratorChecksArgumentsBeforeRate pins the order of AWS's
// checks: a request AWS rejects as invalid gets InvalidArgumentException
// even when the shard's 5 calls per second are used up; only a request
// it would serve is throttled.
func TestGetShardIteratorChecksArgumentsBeforeRate(t *testing.T) {
	f := newFixture(t, Options{Limits: Limits{Profile: LimitsAWS}})
	f.create(t, "s", 2)
	f.clock.Advance(time.Second)
	ref := StreamRef{Name: "s"}
	const shard = "shardId-000000000000"
	for i := range 5 {
		if _, err := f.svc.GetShardIterator(f.ctx, scope, GetShardIteratorInput{Stream: ref, ShardID: shard, ShardIteratorType: Latest}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	put, err := f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: ref, PartitionKey: "k", ExplicitHashKey: "340282366920938463463374607431768211455", Data: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	future := f.clock.Now().Add(time.Hour)
	tests := []struct {
		name string
		in   GetShardIteratorInput
		code Code
	}{
		{"malformed sequence number", GetShardIteratorInput{Stream: ref, ShardID: shard, ShardIteratorType: AtSequenceNumber, StartingSequenceNumber: "12x"}, CodeInvalidArgument},
		{"another shard's sequence number", GetShardIteratorInput{Stream: ref, ShardID: shard, ShardIteratorType: AtSequenceNumber, StartingSequenceNumber: put.SequenceNumber}, CodeInvalidArgument},
		{"AT_TIMESTAMP without a timestamp", GetShardIteratorInput{Stream: ref, ShardID: shard, ShardIteratorType: AtTimestamp}, CodeInvalidArgument},
		{"a timestamp in the future", GetShardIteratorInput{Stream: ref, ShardID: shard, ShardIteratorType: AtTimestamp, Timestamp: &future}, CodeInvalidArgument},
		{"a sequence number with LATEST", GetShardIteratorInput{Stream: ref, ShardID: shard, ShardIteratorType: Latest, StartingSequenceNumber: put.SequenceNumber}, CodeInvalidArgument},
		{"a valid request", GetShardIteratorInput{Stream: ref, ShardID: shard, ShardIteratorType: TrimHorizon}, CodeThroughputExceeded},
	}
	for _, tt := range tests {
		_, err := f.svc.GetShardIterator(f.ctx, scope, tt.in)
		var e *Error
		if !errors.As(err, &e) || e.Code != tt.code {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.code)
		}
	}
}
