package main

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

const (
	sdkMaxHash  = "340282366920938463463374607431768211455"
	sdkHalfHash = "170141183460469231731687303715884105728" // 2^127
	sdkHalfEnd  = "170141183460469231731687303715884105727"
)

// shardLine is a shard as "id parent adjacent start-end open|closed", with
// ids shortened to their last digit.
func shardLine(sh types.Shard) string {
	end := "open"
	if sh.SequenceNumberRange.EndingSequenceNumber != nil {
		end = "closed"
	}
	short := func(id *string) string {
		if id == nil {
			return "-"
		}
		return (*id)[len(*id)-1:]
	}
	return strings.Join([]string{short(sh.ShardId), short(sh.ParentShardId), short(sh.AdjacentParentShardId),
		aws.ToString(sh.HashKeyRange.StartingHashKey) + "-" + aws.ToString(sh.HashKeyRange.EndingHashKey), end}, " ")
}

func listShards(t *testing.T, ctx context.Context, c *sdk.Client, name string, filter *types.ShardFilter) []string {
	t.Helper()
	out, err := c.ListShards(ctx, &sdk.ListShardsInput{StreamName: aws.String(name), ShardFilter: filter})
	if err != nil {
		t.Fatalf("ListShards %+v: %v", filter, err)
	}
	lines := make([]string, len(out.Shards))
	for i, sh := range out.Shards {
		lines[i] = shardLine(sh)
	}
	return lines
}

func TestSDKSplitAndMerge(t *testing.T) {
	c, _ := startServer(t, t.TempDir())
	ctx := context.Background()
	createActive(t, ctx, c, "r")
	var last *sdk.PutRecordOutput
	for _, d := range []string{"a", "b"} {
		out, err := c.PutRecord(ctx, &sdk.PutRecordInput{StreamName: aws.String("r"), PartitionKey: aws.String("k"), Data: []byte(d)})
		if err != nil {
			t.Fatal(err)
		}
		last = out
	}
	_, err := c.SplitShard(ctx, &sdk.SplitShardInput{StreamName: aws.String("r"), ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String(sdkHalfHash)})
	if err != nil {
		t.Fatalf("SplitShard: %v", err)
	}
	waitActive(t, ctx, c, "r")
	want := []string{
		"0 - - 0-" + sdkMaxHash + " closed",
		"1 0 - 0-" + sdkHalfEnd + " open",
		"2 0 - " + sdkHalfHash + "-" + sdkMaxHash + " open",
	}
	if got := listShards(t, ctx, c, "r", nil); !slices.Equal(got, want) {
		t.Fatalf("after split\n%q\nwant\n%q", got, want)
	}
	d, err := c.DescribeStream(ctx, &sdk.DescribeStreamInput{StreamName: aws.String("r")})
	if err != nil {
		t.Fatal(err)
	}
	if end := aws.ToString(d.StreamDescription.Shards[0].SequenceNumberRange.EndingSequenceNumber); end != aws.ToString(last.SequenceNumber) {
		t.Errorf("EndingSequenceNumber %s, want the last record's %s", end, aws.ToString(last.SequenceNumber))
	}

	// The parent read to its end: its records, no iterator, the children.
	it, err := c.GetShardIterator(ctx, &sdk.GetShardIteratorInput{StreamName: aws.String("r"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetRecords(ctx, &sdk.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		t.Fatal(err)
	}
	var children []string
	for _, ch := range got.ChildShards {
		children = append(children, aws.ToString(ch.ShardId)+" "+strings.Join(ch.ParentShards, ",")+" "+
			aws.ToString(ch.HashKeyRange.StartingHashKey)+"-"+aws.ToString(ch.HashKeyRange.EndingHashKey))
	}
	wantChildren := []string{
		"shardId-000000000001 shardId-000000000000 0-" + sdkHalfEnd,
		"shardId-000000000002 shardId-000000000000 " + sdkHalfHash + "-" + sdkMaxHash,
	}
	if len(got.Records) != 2 || got.NextShardIterator != nil || !slices.Equal(children, wantChildren) {
		t.Errorf("GetRecords at the parent's end: %d records, next %v, children %q", len(got.Records), got.NextShardIterator, children)
	}

	_, err = c.MergeShards(ctx, &sdk.MergeShardsInput{StreamName: aws.String("r"), ShardToMerge: aws.String("shardId-000000000001"), AdjacentShardToMerge: aws.String("shardId-000000000002")})
	if err != nil {
		t.Fatalf("MergeShards: %v", err)
	}
	waitActive(t, ctx, c, "r")
	want = append([]string{want[0], strings.Replace(want[1], "open", "closed", 1), strings.Replace(want[2], "open", "closed", 1)},
		"3 1 2 0-"+sdkMaxHash+" open")
	if got := listShards(t, ctx, c, "r", nil); !slices.Equal(got, want) {
		t.Fatalf("after merge\n%q\nwant\n%q", got, want)
	}
	sum, err := c.DescribeStreamSummary(ctx, &sdk.DescribeStreamSummaryInput{StreamName: aws.String("r")})
	if err != nil {
		t.Fatal(err)
	}
	if n := aws.ToInt32(sum.StreamDescriptionSummary.OpenShardCount); n != 1 {
		t.Errorf("OpenShardCount %d, want 1", n)
	}
	put, err := c.PutRecord(ctx, &sdk.PutRecordInput{StreamName: aws.String("r"), PartitionKey: aws.String("k"), Data: []byte("c")})
	if err != nil || aws.ToString(put.ShardId) != "shardId-000000000003" {
		t.Errorf("PutRecord after merge: %v %v", put, err)
	}
}

func TestSDKUpdateShardCountAndMode(t *testing.T) {
	c, _ := startServer(t, t.TempDir())
	ctx := context.Background()
	if _, err := c.CreateStream(ctx, &sdk.CreateStreamInput{StreamName: aws.String("u"), ShardCount: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, ctx, c, "u")
	out, err := c.UpdateShardCount(ctx, &sdk.UpdateShardCountInput{StreamName: aws.String("u"), TargetShardCount: aws.Int32(5), ScalingType: types.ScalingTypeUniformScaling})
	if err != nil {
		t.Fatalf("UpdateShardCount: %v", err)
	}
	if aws.ToInt32(out.CurrentShardCount) != 3 || aws.ToInt32(out.TargetShardCount) != 5 || aws.ToString(out.StreamName) != "u" ||
		aws.ToString(out.StreamARN) != "arn:aws:kinesis:us-east-1:"+testAccount+":stream/u" {
		t.Errorf("UpdateShardCount output %+v", out)
	}
	waitActive(t, ctx, c, "u")
	open := listShards(t, ctx, c, "u", &types.ShardFilter{Type: types.ShardFilterTypeAtLatest})
	if len(open) != 5 {
		t.Errorf("open shards %q, want 5", open)
	}

	arn := aws.String("arn:aws:kinesis:us-east-1:" + testAccount + ":stream/u")
	for _, mode := range []types.StreamMode{types.StreamModeOnDemand, types.StreamModeProvisioned} {
		if _, err := c.UpdateStreamMode(ctx, &sdk.UpdateStreamModeInput{StreamARN: arn, StreamModeDetails: &types.StreamModeDetails{StreamMode: mode}}); err != nil {
			t.Fatalf("UpdateStreamMode %s: %v", mode, err)
		}
		waitActive(t, ctx, c, "u")
		sum, err := c.DescribeStreamSummary(ctx, &sdk.DescribeStreamSummaryInput{StreamARN: arn})
		if err != nil {
			t.Fatal(err)
		}
		if got := sum.StreamDescriptionSummary.StreamModeDetails.StreamMode; got != mode {
			t.Errorf("mode %s, want %s", got, mode)
		}
	}
}

func TestSDKListShardsFilters(t *testing.T) {
	c, _ := startServer(t, t.TempDir())
	ctx := context.Background()
	createActive(t, ctx, c, "f")
	time.Sleep(5 * time.Millisecond)
	before := time.Now()
	time.Sleep(5 * time.Millisecond)
	if _, err := c.SplitShard(ctx, &sdk.SplitShardInput{StreamName: aws.String("f"), ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String(sdkHalfHash)}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, ctx, c, "f")
	time.Sleep(5 * time.Millisecond)
	after := time.Now()
	ids := func(lines []string) string {
		var s []string
		for _, l := range lines {
			s = append(s, l[:1])
		}
		return strings.Join(s, ",")
	}
	tests := []struct {
		filter types.ShardFilter
		want   string
	}{
		{types.ShardFilter{Type: types.ShardFilterTypeAfterShardId, ShardId: aws.String("shardId-000000000001")}, "2"},
		{types.ShardFilter{Type: types.ShardFilterTypeAtTrimHorizon}, "0"},
		{types.ShardFilter{Type: types.ShardFilterTypeFromTrimHorizon}, "0,1,2"},
		{types.ShardFilter{Type: types.ShardFilterTypeAtLatest}, "1,2"},
		{types.ShardFilter{Type: types.ShardFilterTypeAtTimestamp, Timestamp: aws.Time(before)}, "0"},
		{types.ShardFilter{Type: types.ShardFilterTypeAtTimestamp, Timestamp: aws.Time(after)}, "1,2"},
		{types.ShardFilter{Type: types.ShardFilterTypeFromTimestamp, Timestamp: aws.Time(before)}, "0,1,2"},
		{types.ShardFilter{Type: types.ShardFilterTypeFromTimestamp, Timestamp: aws.Time(after)}, "1,2"},
	}
	for _, tc := range tests {
		if got := ids(listShards(t, ctx, c, "f", &tc.filter)); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.filter.Type, got, tc.want)
		}
	}
}

func TestSDKReshardErrors(t *testing.T) {
	c, _ := startServer(t, t.TempDir())
	ctx := context.Background()
	if _, err := c.CreateStream(ctx, &sdk.CreateStreamInput{StreamName: aws.String("e"), ShardCount: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, ctx, c, "e")
	const under = " in stream e under account " + testAccount

	_, err := c.SplitShard(ctx, &sdk.SplitShardInput{StreamName: aws.String("e"), ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String("1")})
	var invalid *types.InvalidArgumentException
	if !errors.As(err, &invalid) {
		t.Fatalf("SplitShard at StartingHashKey+1: %v, want InvalidArgumentException", err)
	}
	wantAPIError(t, err, "InvalidArgumentException", "NewStartingHashKey 1 used in SplitShard() on shard shardId-000000000000"+under+
		" is not both greater than one plus the shard's StartingHashKey 0 and less than the shard's EndingHashKey 113427455640312821154458202477256070484.")

	_, err = c.MergeShards(ctx, &sdk.MergeShardsInput{StreamName: aws.String("e"), ShardToMerge: aws.String("shardId-000000000000"), AdjacentShardToMerge: aws.String("shardId-000000000002")})
	wantAPIError(t, err, "InvalidArgumentException", "Shards shardId-000000000000 and shardId-000000000002"+under+" are not an adjacent pair of shards eligible for merging")

	_, err = c.SplitShard(ctx, &sdk.SplitShardInput{StreamName: aws.String("e"), ShardToSplit: aws.String("shardId-000000000007"), NewStartingHashKey: aws.String("5")})
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Fatalf("SplitShard unknown shard: %v, want ResourceNotFoundException", err)
	}
	wantAPIError(t, err, "ResourceNotFoundException", "Shard shardId-000000000007"+under+" does not exist")

	_, err = c.MergeShards(ctx, &sdk.MergeShardsInput{StreamName: aws.String("missing"), ShardToMerge: aws.String("shardId-000000000000"), AdjacentShardToMerge: aws.String("shardId-000000000001")})
	wantAPIError(t, err, "ResourceNotFoundException", "Stream missing under account "+testAccount+" not found.")

	_, err = c.UpdateShardCount(ctx, &sdk.UpdateShardCountInput{StreamName: aws.String("e"), TargetShardCount: aws.Int32(7), ScalingType: types.ScalingTypeUniformScaling})
	var limit *types.LimitExceededException
	if !errors.As(err, &limit) {
		t.Fatalf("UpdateShardCount over double: %v, want LimitExceededException", err)
	}
	wantAPIError(t, err, "LimitExceededException", "UpdateShardCount cannot scale up over double your current open shard count. Current open shard count: 3, Target shard count: 7")

	// A closed shard can be neither split nor merged again.
	if _, err := c.MergeShards(ctx, &sdk.MergeShardsInput{StreamName: aws.String("e"), ShardToMerge: aws.String("shardId-000000000000"), AdjacentShardToMerge: aws.String("shardId-000000000001")}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, ctx, c, "e")
	_, err = c.SplitShard(ctx, &sdk.SplitShardInput{StreamName: aws.String("e"), ShardToSplit: aws.String("shardId-000000000001"), NewStartingHashKey: aws.String(sdkHalfHash)})
	wantAPIError(t, err, "InvalidArgumentException", "Shard shardId-000000000001"+under+" has already been merged or split, and thus is not eligible for merging or splitting.")
}
