package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

// startServer runs the real server on a free port over dir, with no
// create, delete or update delay and AWS's default limits, and returns a
// client for it and a function that stops it gracefully.
func startServer(t *testing.T, dir string) (*sdk.Client, func()) {
	t.Helper()
	return startServerLimits(t, dir, "")
}

// startServerLimits is startServer with --limits set to limits (the default
// when empty). Tests that call faster than AWS allows on purpose, such as
// reading a shard back-to-back, pass stream.LimitsOff.
func startServerLimits(t *testing.T, dir, limits string) (*sdk.Client, func()) {
	t.Helper()
	addr, _, stop := runTestServer(t, nil, func(cfg *serveConfig) {
		cfg.DataDir = dir
		if limits != "" {
			cfg.Limits = limits
		}
	})
	return testClient(addr), stop
}

// createActive creates a one-shard stream and waits until it is ACTIVE.
func createActive(t *testing.T, ctx context.Context, c *sdk.Client, name string) {
	t.Helper()
	if _, err := c.CreateStream(ctx, &sdk.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatalf("CreateStream %s: %v", name, err)
	}
	waitActive(t, ctx, c, name)
}

// readAll reads a shard from the iterator until it is caught up, or to
// its end if it is closed, and returns the records and the last
// MillisBehindLatest.
func readAll(t *testing.T, ctx context.Context, c *sdk.Client, iter *string) ([]types.Record, int64) {
	t.Helper()
	var recs []types.Record
	for range 1000 {
		out, err := c.GetRecords(ctx, &sdk.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(200)})
		if err != nil {
			t.Fatalf("GetRecords: %v", err)
		}
		recs = append(recs, out.Records...)
		if len(out.Records) == 0 || out.NextShardIterator == nil {
			return recs, aws.ToInt64(out.MillisBehindLatest)
		}
		iter = out.NextShardIterator
	}
	t.Fatal("GetRecords never caught up")
	return nil, 0
}

func shardIterator(t *testing.T, ctx context.Context, c *sdk.Client, in *sdk.GetShardIteratorInput) *string {
	t.Helper()
	out, err := c.GetShardIterator(ctx, in)
	if err != nil {
		t.Fatalf("GetShardIterator %s: %v", in.ShardIteratorType, err)
	}
	return out.ShardIterator
}

// checkRecords asserts recs carry data "r<i>" and partition key "pk<i>"
// for i from first on, with increasing sequence numbers.
func checkRecords(t *testing.T, recs []types.Record, first, n int) {
	t.Helper()
	if len(recs) != n {
		t.Fatalf("read %d records, want %d", len(recs), n)
	}
	prev := ""
	for i, r := range recs {
		want := fmt.Sprintf("r%d", first+i)
		if string(r.Data) != want || aws.ToString(r.PartitionKey) != fmt.Sprintf("pk%d", first+i) {
			t.Fatalf("record %d = %q/%q, want %q/pk%d", i, r.Data, aws.ToString(r.PartitionKey), want, first+i)
		}
		seq := aws.ToString(r.SequenceNumber)
		if len(seq) < len(prev) || (len(seq) == len(prev) && seq <= prev) {
			t.Fatalf("record %d sequence number %s does not follow %s", i, seq, prev)
		}
		prev = seq
	}
}

// putNumbered writes records r<from>..r<to-1> with PutRecords.
func putNumbered(t *testing.T, ctx context.Context, c *sdk.Client, name string, from, to int) {
	t.Helper()
	var entries []types.PutRecordsRequestEntry
	for i := from; i < to; i++ {
		entries = append(entries, types.PutRecordsRequestEntry{
			Data:         []byte(fmt.Sprintf("r%d", i)),
			PartitionKey: aws.String(fmt.Sprintf("pk%d", i)),
		})
	}
	out, err := c.PutRecords(ctx, &sdk.PutRecordsInput{StreamName: aws.String(name), Records: entries})
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	if aws.ToInt32(out.FailedRecordCount) != 0 || len(out.Records) != len(entries) {
		t.Fatalf("PutRecords: %d failed, %d results for %d entries", aws.ToInt32(out.FailedRecordCount), len(out.Records), len(entries))
	}
	for i, r := range out.Records {
		if aws.ToString(r.ShardId) != "shardId-000000000000" || aws.ToString(r.SequenceNumber) == "" {
			t.Fatalf("PutRecords result %d = %+v", i, r)
		}
	}
}

// wantAPIError asserts err is the AWS error code with exactly message.
func wantAPIError(t *testing.T, err error, code, message string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("got %v, want %s", err, code)
	}
	if ae.ErrorCode() != code || ae.ErrorMessage() != message {
		t.Fatalf("got %s %q, want %s %q", ae.ErrorCode(), ae.ErrorMessage(), code, message)
	}
}

func TestSDKStreams(t *testing.T) {
	ctx := context.Background()
	c, _ := startServer(t, t.TempDir())
	for _, name := range []string{"beta", "alpha", "gamma"} {
		createActive(t, ctx, c, name)
	}

	d, err := c.DescribeStream(ctx, &sdk.DescribeStreamInput{StreamName: aws.String("alpha")})
	if err != nil {
		t.Fatal(err)
	}
	sd := d.StreamDescription
	if aws.ToString(sd.StreamName) != "alpha" ||
		aws.ToString(sd.StreamARN) != "arn:aws:kinesis:us-east-1:"+testAccount+":stream/alpha" ||
		sd.StreamStatus != types.StreamStatusActive ||
		aws.ToInt32(sd.RetentionPeriodHours) != 24 ||
		aws.ToBool(sd.HasMoreShards) ||
		len(sd.Shards) != 1 || aws.ToString(sd.Shards[0].ShardId) != "shardId-000000000000" {
		t.Fatalf("DescribeStream = %+v", sd)
	}

	var names []string
	pages := sdk.NewListStreamsPaginator(c, &sdk.ListStreamsInput{Limit: aws.Int32(1)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.StreamNames) != 1 {
			t.Fatalf("page of %d names, want 1", len(page.StreamNames))
		}
		names = append(names, page.StreamNames...)
	}
	if want := []string{"alpha", "beta", "gamma"}; !slices.Equal(names, want) {
		t.Fatalf("ListStreams pages = %v, want %v", names, want)
	}

	shards, err := c.ListShards(ctx, &sdk.ListShardsInput{StreamName: aws.String("beta")})
	if err != nil {
		t.Fatal(err)
	}
	if len(shards.Shards) != 1 || aws.ToString(shards.Shards[0].ShardId) != "shardId-000000000000" ||
		aws.ToString(shards.Shards[0].HashKeyRange.StartingHashKey) != "0" ||
		aws.ToString(shards.Shards[0].HashKeyRange.EndingHashKey) != "340282366920938463463374607431768211455" {
		t.Fatalf("ListShards = %+v", shards.Shards)
	}

	for _, step := range []struct {
		increase bool
		hours    int32
	}{{true, 48}, {false, 36}} {
		if step.increase {
			_, err = c.IncreaseStreamRetentionPeriod(ctx, &sdk.IncreaseStreamRetentionPeriodInput{StreamName: aws.String("alpha"), RetentionPeriodHours: aws.Int32(step.hours)})
		} else {
			_, err = c.DecreaseStreamRetentionPeriod(ctx, &sdk.DecreaseStreamRetentionPeriodInput{StreamName: aws.String("alpha"), RetentionPeriodHours: aws.Int32(step.hours)})
		}
		if err != nil {
			t.Fatal(err)
		}
		// Retention changes make the stream UPDATING; with no delay it is
		// ACTIVE again at once, but poll to be independent of that.
		waitActive(t, ctx, c, "alpha")
		s, err := c.DescribeStreamSummary(ctx, &sdk.DescribeStreamSummaryInput{StreamName: aws.String("alpha")})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToInt32(s.StreamDescriptionSummary.RetentionPeriodHours); got != step.hours {
			t.Fatalf("retention = %d, want %d", got, step.hours)
		}
	}

	if _, err := c.AddTagsToStream(ctx, &sdk.AddTagsToStreamInput{StreamName: aws.String("alpha"), Tags: map[string]string{"b": "2", "a": "1"}}); err != nil {
		t.Fatal(err)
	}
	checkTags(t, ctx, c, "alpha", "a=1 b=2")
	if _, err := c.RemoveTagsFromStream(ctx, &sdk.RemoveTagsFromStreamInput{StreamName: aws.String("alpha"), TagKeys: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	checkTags(t, ctx, c, "alpha", "b=2")
	arn := sd.StreamARN
	if _, err := c.TagResource(ctx, &sdk.TagResourceInput{ResourceARN: arn, Tags: map[string]string{"c": "3"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &sdk.UntagResourceInput{ResourceARN: arn, TagKeys: []string{"b"}}); err != nil {
		t.Fatal(err)
	}
	rt, err := c.ListTagsForResource(ctx, &sdk.ListTagsForResourceInput{ResourceARN: arn})
	if err != nil {
		t.Fatal(err)
	}
	if got := tagString(rt.Tags); got != "c=3" {
		t.Fatalf("ListTagsForResource = %s, want c=3", got)
	}

	lim, err := c.DescribeLimits(ctx, &sdk.DescribeLimitsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(lim.ShardLimit) != 20000 || aws.ToInt32(lim.OpenShardCount) != 3 ||
		aws.ToInt32(lim.OnDemandStreamCount) != 0 || aws.ToInt32(lim.OnDemandStreamCountLimit) != 50 {
		t.Fatalf("DescribeLimits = %+v", lim)
	}

	if _, err := c.UpdateMaxRecordSize(ctx, &sdk.UpdateMaxRecordSizeInput{StreamARN: arn, MaxRecordSizeInKiB: aws.Int32(2048)}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, ctx, c, "alpha")
	sum, err := c.DescribeStreamSummary(ctx, &sdk.DescribeStreamSummaryInput{StreamName: aws.String("alpha")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToInt32(sum.StreamDescriptionSummary.MaxRecordSizeInKiB); got != 2048 {
		t.Fatalf("MaxRecordSizeInKiB = %d, want 2048", got)
	}
	// 1.5 MiB fits the raised limit.
	if _, err := c.PutRecord(ctx, &sdk.PutRecordInput{StreamName: aws.String("alpha"), PartitionKey: aws.String("k"), Data: make([]byte, 3<<19)}); err != nil {
		t.Fatalf("PutRecord of 1.5 MiB after raising the limit: %v", err)
	}

	if _, err := c.DeleteStream(ctx, &sdk.DeleteStreamInput{StreamName: aws.String("gamma")}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := c.DescribeStreamSummary(ctx, &sdk.DescribeStreamSummaryInput{StreamName: aws.String("gamma")})
		var gone *types.ResourceNotFoundException
		if errors.As(err, &gone) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gamma not gone after DeleteStream: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	left, err := c.ListStreams(ctx, &sdk.ListStreamsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"alpha", "beta"}; !slices.Equal(left.StreamNames, want) {
		t.Fatalf("ListStreams after delete = %v, want %v", left.StreamNames, want)
	}

	_, err = c.DescribeStream(ctx, &sdk.DescribeStreamInput{StreamName: aws.String("missing")})
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Fatalf("DescribeStream missing: %v, want ResourceNotFoundException", err)
	}
	wantAPIError(t, err, "ResourceNotFoundException", "Stream missing under account "+testAccount+" not found.")

	_, err = c.CreateStream(ctx, &sdk.CreateStreamInput{StreamName: aws.String("alpha"), ShardCount: aws.Int32(1)})
	var inUse *types.ResourceInUseException
	if !errors.As(err, &inUse) {
		t.Fatalf("duplicate CreateStream: %v, want ResourceInUseException", err)
	}
	wantAPIError(t, err, "ResourceInUseException", "Stream alpha under account "+testAccount+" already exists.")

	_, err = c.CreateStream(ctx, &sdk.CreateStreamInput{StreamName: aws.String("bad name!"), ShardCount: aws.Int32(1)})
	var invalid *types.ValidationException
	if !errors.As(err, &invalid) {
		t.Fatalf("CreateStream bad name: %v, want ValidationException", err)
	}
	wantAPIError(t, err, "ValidationException",
		"1 validation error detected: Value 'bad name!' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
}

// waitActive waits until name is ACTIVE.
func waitActive(t *testing.T, ctx context.Context, c *sdk.Client, name string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := c.DescribeStreamSummary(ctx, &sdk.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s still %s", name, out.StreamDescriptionSummary.StreamStatus)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tagString renders tags as "k=v k=v" in the order received.
func tagString(tags []types.Tag) string {
	var s []string
	for _, tg := range tags {
		s = append(s, aws.ToString(tg.Key)+"="+aws.ToString(tg.Value))
	}
	return strings.Join(s, " ")
}

func checkTags(t *testing.T, ctx context.Context, c *sdk.Client, name, want string) {
	t.Helper()
	out, err := c.ListTagsForStream(ctx, &sdk.ListTagsForStreamInput{StreamName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if got := tagString(out.Tags); got != want || aws.ToBool(out.HasMoreTags) {
		t.Fatalf("ListTagsForStream = %q (more %v), want %q", got, aws.ToBool(out.HasMoreTags), want)
	}
}

func TestSDKRecords(t *testing.T) {
	ctx := context.Background()
	// Limits off: the test reads its shard back-to-back, faster than AWS's
	// 5 GetRecords calls per second.
	c, _ := startServerLimits(t, t.TempDir(), stream.LimitsOff)
	const name = "events"
	createActive(t, ctx, c, name)
	stream := aws.String(name)
	shard := aws.String("shardId-000000000000")

	start := time.Now()
	pr, err := c.PutRecord(ctx, &sdk.PutRecordInput{StreamName: stream, Data: []byte("r0"), PartitionKey: aws.String("pk0")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(pr.ShardId) != *shard || aws.ToString(pr.SequenceNumber) == "" {
		t.Fatalf("PutRecord = %+v", pr)
	}
	putNumbered(t, ctx, c, name, 1, 501)

	recs, behind := readAll(t, ctx, c, shardIterator(t, ctx, c, &sdk.GetShardIteratorInput{
		StreamName: stream, ShardId: shard, ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	}))
	checkRecords(t, recs, 0, 501)
	if behind != 0 {
		t.Errorf("MillisBehindLatest at the tip = %d, want 0", behind)
	}
	if aws.ToString(recs[0].SequenceNumber) != aws.ToString(pr.SequenceNumber) {
		t.Errorf("first record %s, PutRecord returned %s", aws.ToString(recs[0].SequenceNumber), aws.ToString(pr.SequenceNumber))
	}
	if at := aws.ToTime(recs[0].ApproximateArrivalTimestamp); at.Before(start.Add(-time.Second)) || at.After(time.Now().Add(time.Second)) {
		t.Errorf("ApproximateArrivalTimestamp %v, want about %v", at, start)
	}

	after, _ := readAll(t, ctx, c, shardIterator(t, ctx, c, &sdk.GetShardIteratorInput{
		StreamName: stream, ShardId: shard, ShardIteratorType: types.ShardIteratorTypeAfterSequenceNumber,
		StartingSequenceNumber: recs[399].SequenceNumber,
	}))
	checkRecords(t, after, 400, 101)

	latest := shardIterator(t, ctx, c, &sdk.GetShardIteratorInput{
		StreamName: stream, ShardId: shard, ShardIteratorType: types.ShardIteratorTypeLatest,
	})
	first, err := c.GetRecords(ctx, &sdk.GetRecordsInput{ShardIterator: latest})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Records) != 0 {
		t.Fatalf("LATEST read %d old records", len(first.Records))
	}
	putNumbered(t, ctx, c, name, 501, 503)
	later, _ := readAll(t, ctx, c, first.NextShardIterator)
	checkRecords(t, later, 501, 2)

	ts := aws.ToTime(later[0].ApproximateArrivalTimestamp)
	atTS, _ := readAll(t, ctx, c, shardIterator(t, ctx, c, &sdk.GetShardIteratorInput{
		StreamName: stream, ShardId: shard, ShardIteratorType: types.ShardIteratorTypeAtTimestamp, Timestamp: &ts,
	}))
	if len(atTS) == 0 || string(atTS[len(atTS)-1].Data) != "r502" {
		t.Fatalf("AT_TIMESTAMP read %d records, want r501 and r502 last", len(atTS))
	}
	for _, r := range atTS {
		if aws.ToTime(r.ApproximateArrivalTimestamp).Before(ts) {
			t.Fatalf("AT_TIMESTAMP %v returned %s that arrived at %v", ts, r.Data, aws.ToTime(r.ApproximateArrivalTimestamp))
		}
	}
	past := start.Add(-time.Hour)
	fromPast, _ := readAll(t, ctx, c, shardIterator(t, ctx, c, &sdk.GetShardIteratorInput{
		StreamName: stream, ShardId: shard, ShardIteratorType: types.ShardIteratorTypeAtTimestamp, Timestamp: &past,
	}))
	checkRecords(t, fromPast, 0, 503)

	// Tamper with a signed iterator: flip one character in the middle.
	it := []byte(aws.ToString(latest))
	mid := len(it) / 2
	if it[mid] == 'A' {
		it[mid] = 'B'
	} else {
		it[mid] = 'A'
	}
	_, err = c.GetRecords(ctx, &sdk.GetRecordsInput{ShardIterator: aws.String(string(it))})
	var invalid *types.InvalidArgumentException
	if !errors.As(err, &invalid) {
		t.Fatalf("tampered iterator: %v, want InvalidArgumentException", err)
	}
	wantAPIError(t, err, "InvalidArgumentException", "Invalid ShardIterator.")
}

func TestSDKRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c, stop := startServer(t, dir)
	const name = "durable"
	createActive(t, ctx, c, name)
	putNumbered(t, ctx, c, name, 0, 300)
	stop()

	c, _ = startServer(t, dir)
	putNumbered(t, ctx, c, name, 300, 310)
	recs, _ := readAll(t, ctx, c, shardIterator(t, ctx, c, &sdk.GetShardIteratorInput{
		StreamName: aws.String(name), ShardId: aws.String("shardId-000000000000"),
		ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	}))
	checkRecords(t, recs, 0, 310)
}

// TestServerErrorsInRequestEncoding checks that errors the HTTP front
// raises itself, before any operation runs, come back in the caller's
// encoding, as kinesis.ErrorResponse writes them.
func TestServerErrorsInRequestEncoding(t *testing.T) {
	cfg := defaultServeConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, newLogger(&logs, slog.LevelDebug, "json")) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	addr := waitListening(t, &logs, done)

	req, err := http.NewRequest("POST", "http://"+addr, bytes.NewReader([]byte{0xa0})) // CBOR {}
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-cbor-1.1")
	req.Header.Set("X-Amz-Target", "Kinesis_20131202.ListStreams")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := kinesis.ErrorResponse("application/x-amz-cbor-1.1", kinesis.MissingAuthenticationToken())
	if resp.StatusCode != want.Status || resp.Header.Get("Content-Type") != want.ContentType || !bytes.Equal(body, want.Body) {
		t.Fatalf("got %d %s %x, want %d %s %x", resp.StatusCode, resp.Header.Get("Content-Type"), body, want.Status, want.ContentType, want.Body)
	}
}
