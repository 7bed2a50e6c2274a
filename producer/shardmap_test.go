package producer

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/tributary-io/tributary/internal/inproc"
	"github.com/tributary-io/tributary/kpl"
)

// newTributary starts an in-process Tributary and returns a client of it.
func newTributary(t *testing.T) *kinesis.Client {
	t.Helper()
	return inproc.Start(t, inproc.Options{})
}

func TestHashKey(t *testing.T) {
	for _, s := range []string{"0", "1", "170141183460469231731687303715884105728", "340282366920938463463374607431768211455"} {
		k, err := kpl.ParseHashKey(s)
		if err != nil || k.String() != s {
			t.Errorf("kpl.ParseHashKey(%s) = %v, %v", s, k, err)
		}
	}
	for _, s := range []string{"", "-1", "+1", "340282366920938463463374607431768211456", "1x", " 1"} {
		if k, err := kpl.ParseHashKey(s); err == nil {
			t.Errorf("kpl.ParseHashKey(%q) = %v, want an error", s, k)
		}
	}
	// MD5("a") = 0cc175b9c0f1b6a831c399e269772661, as Kinesis reads it.
	if got, want := kpl.HashKeyOf("a").String(), "16955237001963240173058271559858726497"; got != want {
		t.Errorf(`kpl.HashKeyOf("a") = %s, want %s`, got, want)
	}
}

// TestShardMapPredictsRouting checks the map against where Tributary puts
// records, before and after a split and a merge, listing page by page.
func TestShardMapPredictsRouting(t *testing.T) {
	defer func(n int32) { listPageSize = n }(listPageSize)
	listPageSize = 2
	ctx := context.Background()
	kc := newTributary(t)
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(5)}); err != nil {
		t.Fatal(err)
	}
	check := func(stage string, wantShards int) {
		t.Helper()
		m, err := FetchShardMap(ctx, kc, "s")
		if err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
		if n := len(m.Shards()); n != wantShards {
			t.Fatalf("%s: %d open shards, want %d", stage, n, wantShards)
		}
		for i := range 200 {
			key := fmt.Sprint("key-", i)
			out, err := kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String(key), Data: []byte("x")})
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Lookup(kpl.HashKeyOf(key)).ID; got != aws.ToString(out.ShardId) {
				t.Fatalf("%s: key %s predicted in %s, stored in %s", stage, key, got, aws.ToString(out.ShardId))
			}
		}
	}
	check("created", 5)
	if _, err := kc.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("s"), ShardToSplit: aws.String("shardId-000000000001"),
		NewStartingHashKey: aws.String("100000000000000000000000000000000000000")}); err != nil {
		t.Fatal(err)
	}
	check("after a split", 6)
	if _, err := kc.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String("s"), ShardToMerge: aws.String("shardId-000000000003"),
		AdjacentShardToMerge: aws.String("shardId-000000000004")}); err != nil {
		t.Fatal(err)
	}
	check("after a merge", 5)
	arn := "arn:aws:kinesis:us-east-1:000000000000:stream/s"
	if m, err := FetchShardMap(ctx, kc, arn); err != nil || len(m.Shards()) != 5 {
		t.Errorf("by ARN: %v", err)
	}
}

func TestShardMapRefusesGaps(t *testing.T) {
	full := kpl.MaxHashKey
	half := kpl.HashKey{Hi: 1 << 63, Lo: 0}
	tests := []struct {
		name   string
		shards []Shard
	}{
		{"none", nil},
		{"a gap", []Shard{{"a", kpl.HashKey{}, kpl.HashKey{Hi: 0, Lo: 5}}, {"b", kpl.HashKey{Hi: 0, Lo: 7}, full}}},
		{"an overlap", []Shard{{"a", kpl.HashKey{}, half}, {"b", half, full}}},
		{"short of the end", []Shard{{"a", kpl.HashKey{}, half}}},
		{"not from zero", []Shard{{"a", kpl.HashKey{Hi: 0, Lo: 1}, full}}},
	}
	for _, tt := range tests {
		if _, err := newShardMap(tt.shards); !errors.Is(err, ErrIncompleteMap) {
			t.Errorf("%s: %v, want ErrIncompleteMap", tt.name, err)
		}
	}
	m, err := newShardMap([]Shard{{"b", half, full}, {"a", kpl.HashKey{}, kpl.HashKey{Hi: half.Hi - 1, Lo: ^uint64(0)}}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Lookup(kpl.HashKey{}).ID != "a" || m.Lookup(half).ID != "b" || m.Lookup(full).ID != "b" || m.Lookup(kpl.HashKey{Hi: half.Hi - 1, Lo: ^uint64(0)}).ID != "a" {
		t.Errorf("lookups at the edges are wrong: %+v", m.Shards())
	}
}
