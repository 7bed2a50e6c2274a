package stream

import (
	"math/rand/v2"
	"testing"
)

// scanRoute is route without the table: the scan every record that is
// not cached uses, against which the table is checked.
func scanRoute(r *streamRecord, h uint128) *shardRecord {
	plain := *r
	plain.routes = nil
	return plain.route(h)
}

// TestRouteTableMatchesScan checks the binary search of the route table
// against the scan, at every shard's boundaries and at random keys, on
// streams of several sizes and after a split and a merge, whose closed
// parents the table must skip.
func TestRouteTableMatchesScan(t *testing.T) {
	tests := []struct {
		name   string
		shards int
		// reshard changes the stream before its record is checked.
		reshard func(t *testing.T, f *fixture)
	}{
		{name: "one shard", shards: 1},
		{name: "seven shards", shards: 7},
		{name: "1000 shards", shards: 1000},
		{name: "after a split", shards: 3, reshard: func(t *testing.T, f *fixture) {
			if err := f.svc.SplitShard(f.ctx, scope, SplitShardInput{Stream: StreamRef{Name: "s"},
				ShardToSplit: shardID(1), NewStartingHashKey: "150000000000000000000000000000000000000"}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "after a merge", shards: 4, reshard: func(t *testing.T, f *fixture) {
			if err := f.svc.MergeShards(f.ctx, scope, MergeShardsInput{Stream: StreamRef{Name: "s"},
				ShardToMerge: shardID(1), AdjacentShardToMerge: shardID(2)}); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{UpdateDelay: NoDelay})
			f.create(t, "s", tt.shards)
			if tt.reshard != nil {
				tt.reshard(t, f)
			}
			rec := mustRecord(t, f, "s")
			if rec.routes == nil {
				t.Fatal("the cached record has no route table")
			}
			var keys []uint128
			for _, sh := range rec.Shards {
				keys = append(keys, sh.StartHash, sh.EndHash)
				if !sh.StartHash.isZero() {
					keys = append(keys, sh.StartHash.sub1())
				}
				if sh.EndHash != (uint128{hi: ^uint64(0), lo: ^uint64(0)}) {
					keys = append(keys, sh.EndHash.add1())
				}
			}
			rng := rand.New(rand.NewPCG(1, 2))
			for range 1000 {
				keys = append(keys, uint128{hi: rng.Uint64(), lo: rng.Uint64()})
			}
			closed := 0
			for _, sh := range rec.Shards {
				if !sh.open() {
					closed++
				}
			}
			if tt.reshard != nil && closed == 0 {
				t.Fatal("the reshard closed no shard")
			}
			for _, h := range keys {
				got, want := rec.route(h), scanRoute(rec, h)
				if got == nil || want == nil || got.Index != want.Index {
					t.Fatalf("route(%s) = %v, the scan finds %v", h, got, want)
				}
				if !got.open() {
					t.Fatalf("route(%s) is closed shard %d", h, got.Index)
				}
			}
		})
	}
}

// TestDecodedRecordSharedUntilChanged checks the cache of decoded
// records: reads of an unchanged stream share one record, a change makes
// a new one, and the change never reaches the record readers share.
func TestDecodedRecordSharedUntilChanged(t *testing.T) {
	f := newFixture(t, Options{UpdateDelay: NoDelay})
	f.create(t, "s", 1000)
	first := mustRecord(t, f, "s")
	if again := mustRecord(t, f, "s"); again != first {
		t.Error("a second read of an unchanged stream decoded its record again")
	}
	if err := f.svc.AddTagsToStream(f.ctx, scope, AddTagsToStreamInput{Stream: StreamRef{Name: "s"}, Tags: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	changed := mustRecord(t, f, "s")
	if changed == first {
		t.Fatal("the record read after a change is the one from before it")
	}
	if changed.Tags["k"] != "v" {
		t.Errorf("tags after AddTagsToStream = %v, want k=v", changed.Tags)
	}
	if _, ok := first.Tags["k"]; ok {
		t.Error("AddTagsToStream changed the record readers shared")
	}

	// A deleted stream's record is forgotten, and a stream created again
	// under its name is read afresh.
	if err := f.svc.DeleteStream(f.ctx, scope, DeleteStreamInput{Stream: StreamRef{Name: "s"}}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(defaultDelay)
	if err := f.svc.reap(f.ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(f.svc.decoded.byKey); n != 0 {
		t.Errorf("%d records cached after the only stream was reaped, want 0", n)
	}
	f.create(t, "s", 2)
	if got := len(mustRecord(t, f, "s").Shards); got != 2 {
		t.Errorf("the stream created again has %d shards, want 2", got)
	}
}
