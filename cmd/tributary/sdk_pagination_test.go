package main

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// TestSDKShardPagination pages through a five-shard stream the ways the
// SDK's users do: DescribeStream with Limit and ExclusiveStartShardId,
// ListShards with MaxResults and NextToken, and a ListShards filter.
func TestSDKShardPagination(t *testing.T) {
	c, _ := startServer(t, t.TempDir())
	ctx := context.Background()
	const name = "paged"
	if _, err := c.CreateStream(ctx, &sdk.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(5)}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, ctx, c, name)
	want := make([]string, 5)
	for i := range want {
		want[i] = fmt.Sprintf("shardId-%012d", i)
	}

	// DescribeStream, two shards a page.
	var got []string
	var start *string
	for pages := 0; ; pages++ {
		out, err := c.DescribeStream(ctx, &sdk.DescribeStreamInput{StreamName: aws.String(name), Limit: aws.Int32(2), ExclusiveStartShardId: start})
		if err != nil {
			t.Fatal(err)
		}
		d := out.StreamDescription
		if len(d.Shards) > 2 || pages > 5 {
			t.Fatalf("page %d has %d shards", pages, len(d.Shards))
		}
		for _, s := range d.Shards {
			got = append(got, *s.ShardId)
		}
		if !aws.ToBool(d.HasMoreShards) {
			break
		}
		start = d.Shards[len(d.Shards)-1].ShardId
	}
	if !slices.Equal(got, want) {
		t.Fatalf("DescribeStream pages gave %v, want %v", got, want)
	}

	// ListShards, two a page, through NextToken (which must be sent
	// without the stream name, as AWS requires).
	got = nil
	in := &sdk.ListShardsInput{StreamName: aws.String(name), MaxResults: aws.Int32(2)}
	for pages := 0; ; pages++ {
		out, err := c.ListShards(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Shards) > 2 || pages > 5 {
			t.Fatalf("page %d has %d shards", pages, len(out.Shards))
		}
		for _, s := range out.Shards {
			got = append(got, *s.ShardId)
		}
		if out.NextToken == nil {
			break
		}
		in = &sdk.ListShardsInput{NextToken: out.NextToken, MaxResults: aws.Int32(2)}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ListShards pages gave %v, want %v", got, want)
	}

	// AFTER_SHARD_ID lists the shards after the one named.
	out, err := c.ListShards(ctx, &sdk.ListShardsInput{StreamName: aws.String(name),
		ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAfterShardId, ShardId: aws.String(want[2])}})
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, s := range out.Shards {
		got = append(got, *s.ShardId)
	}
	if !slices.Equal(got, want[3:]) {
		t.Fatalf("AFTER_SHARD_ID %s gave %v, want %v", want[2], got, want[3:])
	}
}
