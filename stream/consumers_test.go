package stream

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"testing"
	"time"
)

const testStreamARN = "arn:aws:kinesis:us-east-1:" + acct + ":stream/s"

func (f *fixture) register(t *testing.T, name string) *Consumer {
	t.Helper()
	c, err := f.svc.RegisterStreamConsumer(f.ctx, scope, RegisterStreamConsumerInput{StreamARN: testStreamARN, ConsumerName: name})
	if err != nil {
		t.Fatalf("RegisterStreamConsumer(%s): %v", name, err)
	}
	return c
}

func TestConsumerLifecycle(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 1)
	created := f.clock.Now().Truncate(time.Second)
	c := f.register(t, "app")
	wantARN := testStreamARN + "/consumer/app:" + strconv.FormatInt(created.Unix(), 10)
	want := Consumer{ConsumerName: "app", ConsumerARN: wantARN, ConsumerStatus: ConsumerCreating, ConsumerCreationTimestamp: created, StreamARN: testStreamARN}
	if *c != want {
		t.Fatalf("registered %+v\nwant %+v", *c, want)
	}

	describe := func(ref ConsumerRef) ConsumerStatus {
		t.Helper()
		d, err := f.svc.DescribeStreamConsumer(f.ctx, scope, ref)
		if err != nil {
			t.Fatalf("DescribeStreamConsumer(%+v): %v", ref, err)
		}
		if d.ConsumerARN != wantARN || d.StreamARN != testStreamARN || d.ConsumerName != "app" {
			t.Errorf("described %+v", *d)
		}
		return d.ConsumerStatus
	}
	byARN := ConsumerRef{ConsumerARN: wantARN}
	byName := ConsumerRef{StreamARN: testStreamARN, ConsumerName: "app"}
	if st := describe(byName); st != ConsumerCreating {
		t.Errorf("status %s, want CREATING", st)
	}
	f.clock.Advance(defaultDelay)
	if st := describe(byARN); st != ConsumerActive {
		t.Errorf("status %s, want ACTIVE", st)
	}
	sum, err := f.svc.DescribeStreamSummary(f.ctx, scope, StreamRef{Name: "s"})
	if err != nil || sum.ConsumerCount != 1 {
		t.Errorf("DescribeStreamSummary: ConsumerCount %v, %v; want 1", sum, err)
	}

	_, err = f.svc.RegisterStreamConsumer(f.ctx, scope, RegisterStreamConsumerInput{StreamARN: testStreamARN, ConsumerName: "app"})
	wantErr(t, err, CodeInUse, "Consumer app under stream s already exists for account "+acct+".")

	// An ARN with another creation time names no consumer.
	_, err = f.svc.DescribeStreamConsumer(f.ctx, scope, ConsumerRef{ConsumerARN: testStreamARN + "/consumer/app:1"})
	wantErr(t, err, CodeNotFound, "Consumer app under stream s and account "+acct+" not found.")

	if err := f.svc.DeregisterStreamConsumer(f.ctx, scope, byARN); err != nil {
		t.Fatalf("DeregisterStreamConsumer: %v", err)
	}
	if st := describe(byARN); st != ConsumerDeleting {
		t.Errorf("status %s, want DELETING", st)
	}
	f.clock.Advance(defaultDelay)
	_, err = f.svc.DescribeStreamConsumer(f.ctx, scope, byName)
	wantErr(t, err, CodeNotFound, "Consumer app under stream s and account "+acct+" not found.")
}

func TestListStreamConsumers(t *testing.T) {
	f := newFixture(t, Options{ConsumerLimit: 5})
	f.create(t, "s", 1)
	for _, n := range []string{"e", "c", "a", "d", "b"} {
		f.register(t, n)
	}
	_, err := f.svc.RegisterStreamConsumer(f.ctx, scope, RegisterStreamConsumerInput{StreamARN: testStreamARN, ConsumerName: "f"})
	wantErr(t, err, CodeLimitExceeded, "Consumer limit of 5 has been reached for stream s under account "+acct+".")

	tests := []struct {
		max  int
		want [][]string
	}{
		{0, [][]string{{"a", "b", "c", "d", "e"}}},
		{2, [][]string{{"a", "b"}, {"c", "d"}, {"e"}}},
		{5, [][]string{{"a", "b", "c", "d", "e"}}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.max), func(t *testing.T) {
			var pages [][]string
			token := ""
			for {
				out, err := f.svc.ListStreamConsumers(f.ctx, scope, ListStreamConsumersInput{StreamARN: testStreamARN, MaxResults: tc.max, NextToken: token})
				if err != nil {
					t.Fatalf("ListStreamConsumers: %v", err)
				}
				var names []string
				for _, c := range out.Consumers {
					names = append(names, c.ConsumerName)
				}
				pages = append(pages, names)
				if token = out.NextToken; token == "" {
					break
				}
			}
			if fmt.Sprint(pages) != fmt.Sprint(tc.want) {
				t.Errorf("pages %v, want %v", pages, tc.want)
			}
		})
	}
	_, err = f.svc.ListStreamConsumers(f.ctx, scope, ListStreamConsumersInput{StreamARN: testStreamARN, NextToken: "bogus"})
	wantErr(t, err, CodeInvalidArgument, "Invalid NextToken.")
	wrong := f.clock.Now().Add(-time.Hour)
	_, err = f.svc.ListStreamConsumers(f.ctx, scope, ListStreamConsumersInput{StreamARN: testStreamARN, StreamCreationTimestamp: &wrong})
	wantErr(t, err, CodeNotFound, "Stream s under account "+acct+" not found.")
}

func TestDeleteStreamWithConsumers(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 1)
	f.register(t, "app")
	err := f.svc.DeleteStream(f.ctx, scope, DeleteStreamInput{Stream: StreamRef{Name: "s"}})
	wantErr(t, err, CodeInUse, "DeleteStream can't delete "+acct+":s because there are consumers associated with this data stream. To delete s anyway, set the EnforceConsumerDeletion parameter to true to force the deletion of all the consumers that are associated with it.")
	if err := f.svc.DeleteStream(f.ctx, scope, DeleteStreamInput{Stream: StreamRef{Name: "s"}, EnforceConsumerDeletion: true}); err != nil {
		t.Fatalf("DeleteStream with EnforceConsumerDeletion: %v", err)
	}
	f.clock.Advance(defaultDelay)
	f.create(t, "s", 1)
	out, err := f.svc.ListStreamConsumers(f.ctx, scope, ListStreamConsumersInput{StreamARN: testStreamARN})
	if err != nil || len(out.Consumers) != 0 {
		t.Errorf("consumers of the re-created stream: %v, %v; want none", out, err)
	}
}

// subscribe registers consumer "app", makes it ACTIVE and subscribes.
func (f *fixture) subscribe(t *testing.T, arn, shard string, pos StartingPosition) *Subscription {
	t.Helper()
	sub, err := f.svc.SubscribeToShard(f.ctx, scope, SubscribeToShardInput{ConsumerARN: arn, ShardID: shard, StartingPosition: pos})
	if err != nil {
		t.Fatalf("SubscribeToShard: %v", err)
	}
	t.Cleanup(sub.Close)
	return sub
}

func next(t *testing.T, sub *Subscription) *SubscribeToShardEvent {
	t.Helper()
	ev, err := sub.Next()
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return ev
}

func TestSubscribeToShard(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 1)
	arn := f.register(t, "app").ConsumerARN
	_, err := f.svc.SubscribeToShard(f.ctx, scope, SubscribeToShardInput{ConsumerARN: arn, ShardID: "shardId-000000000000", StartingPosition: StartingPosition{Type: TrimHorizon}})
	created := f.clock.Now().Truncate(time.Second).Unix()
	wantErr(t, err, CodeInUse, fmt.Sprintf("Consumer app with creation timestamp %d under stream s and account %s is not in ACTIVE status.", created, acct))
	f.clock.Advance(defaultDelay)

	f.put(t, "s", "k", "1")
	f.put(t, "s", "k", "2")
	sub := f.subscribe(t, arn, "shardId-000000000000", StartingPosition{Type: TrimHorizon})
	ev := next(t, sub)
	if got := datas(ev.Records); !slices.Equal(got, []string{"1", "2"}) {
		t.Fatalf("first event records %v, want [1 2]", got)
	}
	if ev.ContinuationSequenceNumber != ev.Records[1].SequenceNumber {
		t.Errorf("ContinuationSequenceNumber %s, want the last record's %s", ev.ContinuationSequenceNumber, ev.Records[1].SequenceNumber)
	}

	// A record put while the session waits at the tip is pushed.
	got := make(chan *SubscribeToShardEvent)
	go func() {
		ev, err := sub.Next()
		if err != nil {
			t.Errorf("Next: %v", err)
		}
		got <- ev
	}()
	f.put(t, "s", "k", "3")
	ev = <-got
	if d := datas(ev.Records); !slices.Equal(d, []string{"3"}) {
		t.Fatalf("pushed records %v, want [3]", d)
	}

	// Within 5 s a second session for the same consumer and shard is refused.
	_, err = f.svc.SubscribeToShard(f.ctx, scope, SubscribeToShardInput{ConsumerARN: arn, ShardID: "shardId-000000000000", StartingPosition: StartingPosition{Type: Latest}})
	wantErr(t, err, CodeInUse, "Another active subscription exists for this consumer: "+acct+":s:shardId-000000000000:app")

	// After 5 s it takes over, continuing after the first one with no gap.
	f.clock.Advance(takeoverGrace)
	f.put(t, "s", "k", "4")
	sub2 := f.subscribe(t, arn, "shardId-000000000000", StartingPosition{Type: AfterSequenceNumber, SequenceNumber: ev.ContinuationSequenceNumber})
	if _, err := sub.Next(); err != io.EOF {
		t.Errorf("old session after takeover: %v, want io.EOF", err)
	}
	ev = next(t, sub2)
	if d := datas(ev.Records); !slices.Equal(d, []string{"4"}) {
		t.Fatalf("records after takeover %v, want [4]", d)
	}

	// Deregistering the consumer ends the session with AWS's answer.
	if err := f.svc.DeregisterStreamConsumer(f.ctx, scope, ConsumerRef{ConsumerARN: arn}); err != nil {
		t.Fatal(err)
	}
	_, err = sub2.Next()
	wantErr(t, err, CodeInUse, fmt.Sprintf("Consumer app with creation timestamp %d under stream s and account %s is not in ACTIVE status.", created, acct))
}

func TestSubscribeToShardLifetimeAndHeartbeat(t *testing.T) {
	f := newFixture(t, Options{SubscriptionLifetime: time.Minute})
	f.create(t, "s", 1)
	arn := f.register(t, "app").ConsumerARN
	f.clock.Advance(defaultDelay)
	sub := f.subscribe(t, arn, "shardId-000000000000", StartingPosition{Type: Latest})
	// At the heartbeat time an idle session sends an empty event whose
	// continuation resumes at the tip.
	f.clock.Advance(defaultSubscriptionHeartbeat)
	ev := next(t, sub)
	if len(ev.Records) != 0 || ev.ContinuationSequenceNumber == "" {
		t.Fatalf("heartbeat event %+v, want no records and a continuation", ev)
	}
	f.clock.Advance(time.Minute)
	if _, err := sub.Next(); err != io.EOF {
		t.Errorf("Next after the lifetime: %v, want io.EOF", err)
	}
}

func TestSubscribeToShardSplit(t *testing.T) {
	f := newFixture(t, Options{UpdateDelay: NoDelay})
	f.create(t, "s", 1)
	arn := f.register(t, "app").ConsumerARN
	f.clock.Advance(defaultDelay)
	sub := f.subscribe(t, arn, "shardId-000000000000", StartingPosition{Type: TrimHorizon})
	f.put(t, "s", "k", "before")
	if err := f.svc.SplitShard(f.ctx, scope, SplitShardInput{Stream: StreamRef{Name: "s"}, ShardToSplit: "shardId-000000000000", NewStartingHashKey: halfHash}); err != nil {
		t.Fatalf("SplitShard: %v", err)
	}
	var recs []string
	var ev *SubscribeToShardEvent
	for ev == nil || ev.ChildShards == nil {
		ev = next(t, sub)
		recs = append(recs, datas(ev.Records)...)
	}
	if !slices.Equal(recs, []string{"before"}) {
		t.Errorf("records %v, want [before]", recs)
	}
	if ev.ContinuationSequenceNumber != "" || len(ev.ChildShards) != 2 {
		t.Errorf("last event %+v: want ChildShards of 2 and no continuation", ev)
	}
	if _, err := sub.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("Next after the shard's end: %v, want io.EOF", err)
	}
}

// TestConsumerTags checks that a consumer's tags, given at registration
// or by TagResource on its ARN, are its own: listed by ListTagsForResource
// on its ARN, not on the stream's, and gone with the consumer.
func TestConsumerTags(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 1)
	if err := f.svc.AddTagsToStream(f.ctx, scope, AddTagsToStreamInput{Stream: StreamRef{Name: "s"}, Tags: map[string]string{"owner": "stream"}}); err != nil {
		t.Fatal(err)
	}
	c, err := f.svc.RegisterStreamConsumer(f.ctx, scope, RegisterStreamConsumerInput{StreamARN: testStreamARN, ConsumerName: "app",
		Tags: map[string]string{"team": "a", "env": "dev"}})
	if err != nil {
		t.Fatal(err)
	}
	list := func(arn string) string {
		t.Helper()
		out, err := f.svc.ListTagsForResource(f.ctx, scope, ListTagsForResourceInput{ResourceARN: arn})
		if err != nil {
			t.Fatalf("ListTagsForResource(%s): %v", arn, err)
		}
		var s []string
		for _, tag := range out.Tags {
			s = append(s, tag.Key+"="+tag.Value)
		}
		return fmt.Sprint(s)
	}
	steps := []struct {
		name       string
		do         func() error
		wantTags   string // the consumer's after the step
		wantStream string
	}{
		{"registered", func() error { return nil }, "[env=dev team=a]", "[owner=stream]"},
		{"tagged", func() error {
			return f.svc.TagResource(f.ctx, scope, TagResourceInput{ResourceARN: c.ConsumerARN, Tags: map[string]string{"team": "b", "tier": "1"}})
		}, "[env=dev team=b tier=1]", "[owner=stream]"},
		{"untagged", func() error {
			return f.svc.UntagResource(f.ctx, scope, UntagResourceInput{ResourceARN: c.ConsumerARN, TagKeys: []string{"env", "absent"}})
		}, "[team=b tier=1]", "[owner=stream]"},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := list(c.ConsumerARN); got != st.wantTags {
			t.Errorf("%s: consumer tags %s, want %s", st.name, got, st.wantTags)
		}
		if got := list(testStreamARN); got != st.wantStream {
			t.Errorf("%s: stream tags %s, want %s", st.name, got, st.wantStream)
		}
	}

	tooMany := make(map[string]string)
	for i := range maxTags {
		tooMany[fmt.Sprint("k", i)] = "v"
	}
	err = f.svc.TagResource(f.ctx, scope, TagResourceInput{ResourceARN: c.ConsumerARN, Tags: tooMany})
	wantErr(t, err, CodeInvalidArgument, "Failed to add tags to consumer app of stream s under account "+acct+
		" because a given consumer cannot have more than 50 tags associated with it.")
	_, err = f.svc.RegisterStreamConsumer(f.ctx, scope, RegisterStreamConsumerInput{StreamARN: testStreamARN, ConsumerName: "bad",
		Tags: map[string]string{"k": "v*"}})
	wantErr(t, err, CodeInvalidArgument, "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @.")

	// An ARN with another creation second, or of a deregistered consumer,
	// names no consumer.
	_, err = f.svc.ListTagsForResource(f.ctx, scope, ListTagsForResourceInput{ResourceARN: testStreamARN + "/consumer/app:1"})
	wantErr(t, err, CodeNotFound, "Consumer app under stream s and account "+acct+" not found.")
	if err := f.svc.DeregisterStreamConsumer(f.ctx, scope, ConsumerRef{ConsumerARN: c.ConsumerARN}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(defaultDelay)
	err = f.svc.TagResource(f.ctx, scope, TagResourceInput{ResourceARN: c.ConsumerARN, Tags: map[string]string{"a": "b"}})
	wantErr(t, err, CodeNotFound, "Consumer app under stream s and account "+acct+" not found.")
}
