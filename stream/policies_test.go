package stream

import (
	"context"
	"testing"
)

func TestResourcePolicyStoredWithStreamAndConsumer(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 1)
	c := f.register(t, "app")

	if got, err := f.svc.GetResourcePolicy(f.ctx, scope, testStreamARN); err != nil || got != "" {
		t.Fatalf("GetResourcePolicy before = %q, %v; want none", got, err)
	}
	if err := f.svc.PutResourcePolicy(f.ctx, scope, testStreamARN, "stream-policy"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.PutResourcePolicy(f.ctx, scope, c.ConsumerARN, "consumer-policy"); err != nil {
		t.Fatal(err)
	}
	for arn, want := range map[string]string{testStreamARN: "stream-policy", c.ConsumerARN: "consumer-policy"} {
		if got, err := f.svc.GetResourcePolicy(f.ctx, scope, arn); err != nil || got != want {
			t.Fatalf("GetResourcePolicy(%s) = %q, %v; want %q", arn, got, err, want)
		}
		facts, err := f.svc.ResourceFacts(f.ctx, scope, arn)
		if err != nil || !facts.Exists || facts.Policy != want {
			t.Fatalf("ResourceFacts(%s) = %+v, %v", arn, facts, err)
		}
	}

	// A new service over the same engine (a restart) reads them back.
	svc2, err := New(context.Background(), f.engine, Options{Now: f.clock.Now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer svc2.Close()
	if got, err := svc2.GetResourcePolicy(f.ctx, scope, c.ConsumerARN); err != nil || got != "consumer-policy" {
		t.Fatalf("after restart: %q, %v", got, err)
	}

	if err := f.svc.DeleteResourcePolicy(f.ctx, scope, testStreamARN); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.GetResourcePolicy(f.ctx, scope, testStreamARN); got != "" {
		t.Fatalf("after delete: %q", got)
	}
	if got, _ := f.svc.GetResourcePolicy(f.ctx, scope, c.ConsumerARN); got != "consumer-policy" {
		t.Fatalf("deleting the stream's policy touched the consumer's: %q", got)
	}

	// Deleting the stream deletes its policies; a stream re-created under
	// the name starts with none.
	if err := f.svc.PutResourcePolicy(f.ctx, scope, testStreamARN, "old"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteStream(f.ctx, scope, DeleteStreamInput{Stream: StreamRef{Name: "s"}, EnforceConsumerDeletion: true}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(defaultDelay)
	facts, err := f.svc.ResourceFacts(f.ctx, scope, testStreamARN)
	if err != nil || facts.Exists || facts.Policy != "" {
		t.Fatalf("ResourceFacts of a deleted stream = %+v, %v", facts, err)
	}
	_, err = f.svc.GetResourcePolicy(f.ctx, scope, testStreamARN)
	wantErr(t, err, CodeNotFound, "Stream s under account "+acct+" not found.")
	f.create(t, "s", 1)
	if got, err := f.svc.GetResourcePolicy(f.ctx, scope, testStreamARN); err != nil || got != "" {
		t.Fatalf("re-created stream's policy = %q, %v", got, err)
	}
	_, err = f.svc.GetResourcePolicy(f.ctx, scope, c.ConsumerARN)
	wantErr(t, err, CodeNotFound, "Consumer app under stream s and account "+acct+" not found.")
	err = f.svc.PutResourcePolicy(f.ctx, scope, c.ConsumerARN, "x")
	wantErr(t, err, CodeNotFound, "Consumer app under stream s and account "+acct+" not found.")
}

// TestCrossAccountOnlyInTheResourceScope: another account's stream is
// not found in the caller's scope, and is served in its own (the scope
// package api moves an authorised call to).
func TestCrossAccountOnlyInTheResourceScope(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 1)
	other := Scope{Account: "444455556666", Region: "us-east-1"}
	_, err := f.svc.DescribeStreamSummary(f.ctx, other, StreamRef{ARN: testStreamARN})
	wantErr(t, err, CodeNotFound, "Stream s under account "+acct+" not found.")

	res, ok := ScopeOfARN(testStreamARN)
	if !ok || res != scope {
		t.Fatalf("ScopeOfARN = %+v, %v; want %+v", res, ok, scope)
	}
	if d, err := f.svc.DescribeStreamSummary(f.ctx, res, StreamRef{ARN: testStreamARN}); err != nil || d.StreamARN != testStreamARN {
		t.Fatalf("in the resource's scope: %+v, %v", d, err)
	}
	c := f.register(t, "app")
	if res, ok := ScopeOfARN(c.ConsumerARN); !ok || res != scope || !IsConsumerARN(c.ConsumerARN) || IsConsumerARN(testStreamARN) {
		t.Fatalf("ScopeOfARN(consumer) = %+v, %v", res, ok)
	}
	if _, ok := ScopeOfARN("arn:aws:sqs:us-east-1:1:q"); ok {
		t.Fatal("ScopeOfARN accepted an SQS ARN")
	}
}

func TestIteratorStream(t *testing.T) {
	f := newFixture(t, Options{})
	f.create(t, "s", 1)
	it := f.iterator(t, GetShardIteratorInput{Stream: StreamRef{Name: "s"}, ShardID: "shardId-000000000000", ShardIteratorType: TrimHorizon})
	if name, ok := f.svc.IteratorStream(scope, it); !ok || name != "s" {
		t.Fatalf("IteratorStream = %q, %v", name, ok)
	}
	if _, ok := f.svc.IteratorStream(Scope{Account: "444455556666", Region: "us-east-1"}, it); ok {
		t.Fatal("an iterator was read in another scope")
	}
}
