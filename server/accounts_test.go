package server

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
)

// TestAccountsIsolated: two keys of two accounts, in one region, each
// with a stream named "shared" and alice with one more. Every list and
// describe operation shows each account only its own; another
// account's stream is not found by name and refused by ARN; a shard
// iterator of one account does not read for the other.
func TestAccountsIsolated(t *testing.T) {
	ctx := context.Background()
	ts := startVerifyingKinesis(t, nil)
	alice := sdkClient(ts, "us-east-1", credentials.NewStaticCredentialsProvider(aliceKey, aliceSecret, ""))
	bob := sdkClient(ts, "us-east-1", credentials.NewStaticCredentialsProvider(bobKey, bobSecret, ""))

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	wantCode := func(what string, err error, code string) {
		t.Helper()
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != code {
			t.Errorf("%s: error %v, want %s", what, err, code)
		}
	}
	create := func(c *awskinesis.Client, name string, shards int32) string {
		t.Helper()
		_, err := c.CreateStream(ctx, &awskinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(shards)})
		must(err)
		_, err = c.AddTagsToStream(ctx, &awskinesis.AddTagsToStreamInput{StreamName: aws.String(name), Tags: map[string]string{"owner": name}})
		must(err)
		d, err := c.DescribeStreamSummary(ctx, &awskinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		must(err)
		return aws.ToString(d.StreamDescriptionSummary.StreamARN)
	}
	aliceShared := create(alice, "shared", 2)
	aliceOnly := create(alice, "alice-only", 3)
	bobShared := create(bob, "shared", 1)
	if aliceShared != "arn:aws:kinesis:us-east-1:111111111111:stream/shared" || bobShared != "arn:aws:kinesis:us-east-1:222222222222:stream/shared" {
		t.Fatalf("ARNs %s and %s: want each in its key's account", aliceShared, bobShared)
	}
	reg, err := alice.RegisterStreamConsumer(ctx, &awskinesis.RegisterStreamConsumerInput{StreamARN: aws.String(aliceShared), ConsumerName: aws.String("a-reader")})
	must(err)
	aliceConsumer := aws.ToString(reg.Consumer.ConsumerARN)
	_, err = bob.RegisterStreamConsumer(ctx, &awskinesis.RegisterStreamConsumerInput{StreamARN: aws.String(bobShared), ConsumerName: aws.String("b-reader")})
	must(err)

	// ListStreams.
	for _, c := range []struct {
		client *awskinesis.Client
		want   []string
	}{{alice, []string{"alice-only", "shared"}}, {bob, []string{"shared"}}} {
		out, err := c.client.ListStreams(ctx, &awskinesis.ListStreamsInput{})
		must(err)
		if !slices.Equal(out.StreamNames, c.want) {
			t.Errorf("ListStreams = %v, want %v", out.StreamNames, c.want)
		}
		for _, s := range out.StreamSummaries {
			if arn := aws.ToString(s.StreamARN); (c.client == bob) != (arn == bobShared) {
				t.Errorf("ListStreams summary %s", arn)
			}
		}
	}

	// By name, bob sees his own "shared" and no "alice-only".
	d, err := bob.DescribeStream(ctx, &awskinesis.DescribeStreamInput{StreamName: aws.String("shared")})
	must(err)
	if aws.ToString(d.StreamDescription.StreamARN) != bobShared || len(d.StreamDescription.Shards) != 1 {
		t.Errorf("bob's DescribeStream shared: %s with %d shards", aws.ToString(d.StreamDescription.StreamARN), len(d.StreamDescription.Shards))
	}
	_, err = bob.DescribeStream(ctx, &awskinesis.DescribeStreamInput{StreamName: aws.String("alice-only")})
	wantCode("DescribeStream of alice's by name", err, "ResourceNotFoundException")
	_, err = bob.DescribeStreamSummary(ctx, &awskinesis.DescribeStreamSummaryInput{StreamName: aws.String("alice-only")})
	wantCode("DescribeStreamSummary of alice's by name", err, "ResourceNotFoundException")
	_, err = bob.ListShards(ctx, &awskinesis.ListShardsInput{StreamName: aws.String("alice-only")})
	wantCode("ListShards of alice's by name", err, "ResourceNotFoundException")
	_, err = bob.ListTagsForStream(ctx, &awskinesis.ListTagsForStreamInput{StreamName: aws.String("alice-only")})
	wantCode("ListTagsForStream of alice's by name", err, "ResourceNotFoundException")
	_, err = bob.GetShardIterator(ctx, &awskinesis.GetShardIteratorInput{StreamName: aws.String("alice-only"),
		ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	wantCode("GetShardIterator of alice's by name", err, "ResourceNotFoundException")
	shards, err := bob.ListShards(ctx, &awskinesis.ListShardsInput{StreamName: aws.String("shared")})
	must(err)
	if len(shards.Shards) != 1 {
		t.Errorf("bob's ListShards shared: %d shards, want his 1", len(shards.Shards))
	}
	tags, err := bob.ListTagsForStream(ctx, &awskinesis.ListTagsForStreamInput{StreamName: aws.String("shared")})
	must(err)
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "shared" {
		t.Errorf("bob's ListTagsForStream shared: %v", tags.Tags)
	}

	// By ARN, alice's resources are refused to bob.
	for _, c := range []struct {
		what string
		call func() error
	}{
		{"DescribeStream", func() error {
			_, err := bob.DescribeStream(ctx, &awskinesis.DescribeStreamInput{StreamARN: aws.String(aliceOnly)})
			return err
		}},
		{"DescribeStreamSummary", func() error {
			_, err := bob.DescribeStreamSummary(ctx, &awskinesis.DescribeStreamSummaryInput{StreamARN: aws.String(aliceOnly)})
			return err
		}},
		{"ListShards", func() error {
			_, err := bob.ListShards(ctx, &awskinesis.ListShardsInput{StreamARN: aws.String(aliceOnly)})
			return err
		}},
		{"ListStreamConsumers", func() error {
			_, err := bob.ListStreamConsumers(ctx, &awskinesis.ListStreamConsumersInput{StreamARN: aws.String(aliceShared)})
			return err
		}},
		{"DescribeStreamConsumer", func() error {
			_, err := bob.DescribeStreamConsumer(ctx, &awskinesis.DescribeStreamConsumerInput{ConsumerARN: aws.String(aliceConsumer)})
			return err
		}},
		{"ListTagsForStream", func() error {
			_, err := bob.ListTagsForStream(ctx, &awskinesis.ListTagsForStreamInput{StreamARN: aws.String(aliceOnly)})
			return err
		}},
		{"ListTagsForResource", func() error {
			_, err := bob.ListTagsForResource(ctx, &awskinesis.ListTagsForResourceInput{ResourceARN: aws.String(aliceOnly)})
			return err
		}},
		{"GetShardIterator", func() error {
			_, err := bob.GetShardIterator(ctx, &awskinesis.GetShardIteratorInput{StreamARN: aws.String(aliceShared),
				ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
			return err
		}},
		{"PutRecord", func() error {
			_, err := bob.PutRecord(ctx, &awskinesis.PutRecordInput{StreamARN: aws.String(aliceShared), PartitionKey: aws.String("k"), Data: []byte("x")})
			return err
		}},
	} {
		wantCode(c.what+" of alice's by ARN", c.call(), "AccessDeniedException")
	}

	// Consumers: each account lists its own.
	for _, c := range []struct {
		client *awskinesis.Client
		arn    string
		want   string
	}{{alice, aliceShared, "a-reader"}, {bob, bobShared, "b-reader"}} {
		out, err := c.client.ListStreamConsumers(ctx, &awskinesis.ListStreamConsumersInput{StreamARN: aws.String(c.arn)})
		must(err)
		if len(out.Consumers) != 1 || aws.ToString(out.Consumers[0].ConsumerName) != c.want {
			t.Errorf("ListStreamConsumers %s: %v", c.arn, out.Consumers)
		}
	}
	dc, err := alice.DescribeStreamConsumer(ctx, &awskinesis.DescribeStreamConsumerInput{StreamARN: aws.String(aliceShared), ConsumerName: aws.String("a-reader")})
	must(err)
	if aws.ToString(dc.ConsumerDescription.ConsumerARN) != aliceConsumer {
		t.Errorf("alice's DescribeStreamConsumer: %s", aws.ToString(dc.ConsumerDescription.ConsumerARN))
	}
	_, err = bob.DescribeStreamConsumer(ctx, &awskinesis.DescribeStreamConsumerInput{StreamARN: aws.String(bobShared), ConsumerName: aws.String("a-reader")})
	wantCode("bob's DescribeStreamConsumer of alice's consumer name on his stream", err, "ResourceNotFoundException")
	rt, err := alice.ListTagsForResource(ctx, &awskinesis.ListTagsForResourceInput{ResourceARN: aws.String(aliceOnly)})
	must(err)
	if len(rt.Tags) != 1 || aws.ToString(rt.Tags[0].Value) != "alice-only" {
		t.Errorf("alice's ListTagsForResource: %v", rt.Tags)
	}

	// DescribeLimits counts each account's own streams and shards.
	for _, c := range []struct {
		client        *awskinesis.Client
		open, streams int32
	}{{alice, 5, 0}, {bob, 1, 0}} {
		l, err := c.client.DescribeLimits(ctx, &awskinesis.DescribeLimitsInput{})
		must(err)
		if aws.ToInt32(l.OpenShardCount) != c.open || aws.ToInt32(l.OnDemandStreamCount) != c.streams {
			t.Errorf("DescribeLimits: open shards %d, on-demand streams %d; want %d, %d",
				aws.ToInt32(l.OpenShardCount), aws.ToInt32(l.OnDemandStreamCount), c.open, c.streams)
		}
	}

	// Records: bob's write to his "shared" is not in alice's, and alice's
	// iterator does not read for bob.
	_, err = bob.PutRecord(ctx, &awskinesis.PutRecordInput{StreamName: aws.String("shared"), PartitionKey: aws.String("k"), Data: []byte("bob's")})
	must(err)
	var aliceIters []string
	for _, id := range []string{"shardId-000000000000", "shardId-000000000001"} {
		it, err := alice.GetShardIterator(ctx, &awskinesis.GetShardIteratorInput{StreamName: aws.String("shared"),
			ShardId: aws.String(id), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		must(err)
		aliceIters = append(aliceIters, aws.ToString(it.ShardIterator))
		recs, err := alice.GetRecords(ctx, &awskinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
		must(err)
		if len(recs.Records) != 0 {
			t.Errorf("alice's shared %s has bob's records: %d", id, len(recs.Records))
		}
	}
	bit, err := bob.GetShardIterator(ctx, &awskinesis.GetShardIteratorInput{StreamName: aws.String("shared"),
		ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	must(err)
	recs, err := bob.GetRecords(ctx, &awskinesis.GetRecordsInput{ShardIterator: bit.ShardIterator})
	must(err)
	if len(recs.Records) != 1 || string(recs.Records[0].Data) != "bob's" {
		t.Errorf("bob's own records: %v", recs.Records)
	}
	for _, it := range aliceIters {
		_, err := bob.GetRecords(ctx, &awskinesis.GetRecordsInput{ShardIterator: aws.String(it)})
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) {
			t.Errorf("bob read with alice's iterator: %v, want an error", err)
		} else if code := apiErr.ErrorCode(); code != "InvalidArgumentException" || apiErr.ErrorMessage() != "Invalid ShardIterator." {
			t.Errorf("bob read with alice's iterator: %s %s", code, apiErr.ErrorMessage())
		}
	}
}
