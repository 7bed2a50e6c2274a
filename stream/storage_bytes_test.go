package stream

import (
	"testing"
	"time"
)

// TestStorageBytes: a stream's bytes are the sum of its shard logs',
// whatever else the engine holds, and a stream gone is no longer listed.
func TestStorageBytes(t *testing.T) {
	f := newFixture(t, Options{DeleteDelay: time.Second})
	f.create(t, "a", 2)
	f.create(t, "b", 1)
	other := Scope{Account: acct, Region: "eu-west-1"}
	if err := f.svc.CreateStream(f.ctx, other, CreateStreamInput{StreamName: "a", ShardCount: ptr(1)}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(defaultDelay)

	ids := map[string]string{} // region/name → id
	entries, err := f.svc.meta.List(f.ctx, streamsPrefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, me := range entries {
		e, err := decodeRecord(me)
		if err != nil {
			t.Fatal(err)
		}
		ids[e.rec.Region+"/"+e.rec.Name] = e.rec.ID
	}
	logBytes := map[string]int64{
		logName(ids["us-east-1/a"], 0): 100,
		logName(ids["us-east-1/a"], 1): 20,
		logName(ids["eu-west-1/a"], 0): 7,
		// b's log is not reported: b counts 0.
		logName("0123456789abcdef0123456789abcdef", 0): 1000, // a stream gone
		"someone-elses-log":                            5000,
	}
	got, err := f.svc.StorageBytes(f.ctx, logBytes)
	if err != nil {
		t.Fatal(err)
	}
	want := []StreamBytes{
		{Scope: other, Stream: "a", Bytes: 7},
		{Scope: scope, Stream: "a", Bytes: 120},
		{Scope: scope, Stream: "b", Bytes: 0},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("stream %d: %+v, want %+v", i, got[i], want[i])
		}
	}

	// DELETING still holds its bytes; gone, the stream is not listed.
	if err := f.svc.DeleteStream(f.ctx, scope, DeleteStreamInput{Stream: StreamRef{Name: "a"}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.StorageBytes(f.ctx, logBytes); len(got) != 3 || got[1].Bytes != 120 {
		t.Errorf("while DELETING: %+v", got)
	}
	f.clock.Advance(time.Second)
	got, err = f.svc.StorageBytes(f.ctx, logBytes)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Scope != other || got[1].Stream != "b" {
		t.Errorf("after the deletion: %+v, want eu-west-1's a and b", got)
	}
}
