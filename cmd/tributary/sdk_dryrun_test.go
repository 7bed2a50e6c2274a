package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/tributary-io/tributary/stream"
)

const dryRunMessage = "The request would have succeeded without the DryRun parameter."

// dryRunCalls makes each call that takes DryRun with the real SDK, with
// DryRun set as given, against stream s of one shard and its consumer.
func dryRunCalls(c *sdk.Client, consumerARN string, iter *string) []struct {
	op   string
	call func(ctx context.Context, dry *bool) error
} {
	shard := aws.String("shardId-000000000000")
	return []struct {
		op   string
		call func(ctx context.Context, dry *bool) error
	}{
		{"PutRecord", func(ctx context.Context, dry *bool) error {
			_, err := c.PutRecord(ctx, &sdk.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: []byte("dry"), DryRun: dry})
			return err
		}},
		{"PutRecords", func(ctx context.Context, dry *bool) error {
			_, err := c.PutRecords(ctx, &sdk.PutRecordsInput{StreamARN: aws.String(streamARN("s")), DryRun: dry,
				Records: []types.PutRecordsRequestEntry{{PartitionKey: aws.String("k"), Data: []byte("dry")}}})
			return err
		}},
		{"GetShardIterator", func(ctx context.Context, dry *bool) error {
			_, err := c.GetShardIterator(ctx, &sdk.GetShardIteratorInput{StreamName: aws.String("s"), ShardId: shard,
				ShardIteratorType: types.ShardIteratorTypeTrimHorizon, DryRun: dry})
			return err
		}},
		{"GetRecords", func(ctx context.Context, dry *bool) error {
			_, err := c.GetRecords(ctx, &sdk.GetRecordsInput{ShardIterator: iter, DryRun: dry})
			return err
		}},
		{"SubscribeToShard", func(ctx context.Context, dry *bool) error {
			out, err := c.SubscribeToShard(ctx, &sdk.SubscribeToShardInput{ConsumerARN: aws.String(consumerARN), ShardId: shard,
				StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon}, DryRun: dry})
			if err == nil {
				out.GetStream().Close()
			}
			return err
		}},
	}
}

// dryRunSetup starts a server with the given limits and makes stream s
// with one record, "r0", an ACTIVE consumer and an iterator at the start.
func dryRunSetup(t *testing.T, ctx context.Context, limits string) (*sdk.Client, string, *string) {
	t.Helper()
	c := newClient(startServerAddr(t, func(cfg *serveConfig) { cfg.Limits = limits }), nil)
	createActive(t, ctx, c, "s")
	consumer := registerActive(t, ctx, c, streamARN("s"), "app")
	if _, err := c.PutRecord(ctx, &sdk.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: []byte("r0")}); err != nil {
		t.Fatal(err)
	}
	iter := shardIterator(t, ctx, c, &sdk.GetShardIteratorInput{StreamName: aws.String("s"), ShardId: aws.String("shardId-000000000000"),
		ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	return c, aws.ToString(consumer.ConsumerARN), iter
}

func TestSDKDryRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, consumer, iter := dryRunSetup(t, ctx, stream.LimitsOff)
	for _, tc := range dryRunCalls(c, consumer, iter) {
		t.Run(tc.op, func(t *testing.T) {
			err := tc.call(ctx, aws.Bool(true))
			var dr *types.DryRunOperationException
			if !errors.As(err, &dr) {
				t.Fatalf("got %v, want DryRunOperationException", err)
			}
			wantAPIError(t, err, "DryRunOperationException", dryRunMessage)
		})
	}
	recs, _ := readAll(t, ctx, c, iter)
	if len(recs) != 1 || string(recs[0].Data) != "r0" {
		t.Fatalf("shard holds %d records after the dry runs, want only r0", len(recs))
	}

	// A dry run that would fail gets the real call's error.
	_, err := c.PutRecord(ctx, &sdk.PutRecordInput{StreamName: aws.String("nope"), PartitionKey: aws.String("k"), Data: []byte("x"), DryRun: aws.Bool(true)})
	wantAPIError(t, err, "ResourceNotFoundException", "Stream nope under account "+testAccount+" not found.")
	_, err = c.GetShardIterator(ctx, &sdk.GetShardIteratorInput{StreamName: aws.String("s"), ShardId: aws.String("shardId-000000000000"),
		ShardIteratorType: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(time.Now().Add(time.Hour)), DryRun: aws.Bool(true)})
	var ia *types.InvalidArgumentException
	if !errors.As(err, &ia) {
		t.Fatalf("dry run at a future timestamp: got %v, want InvalidArgumentException", err)
	}
}

// TestSDKDryRunRate: under --limits aws, one dry run per second per stream.
func TestSDKDryRunRate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, consumer, iter := dryRunSetup(t, ctx, stream.LimitsAWS)
	calls := dryRunCalls(c, consumer, iter)
	var dr *types.DryRunOperationException
	if err := calls[0].call(ctx, aws.Bool(true)); !errors.As(err, &dr) {
		t.Fatalf("first dry run: got %v, want DryRunOperationException", err)
	}
	// The bucket refills continuously, so within the second the next dry
	// run on the stream is refused unless the machine stalled that long.
	start := time.Now()
	err := calls[3].call(ctx, aws.Bool(true))
	if time.Since(start) < 500*time.Millisecond {
		wantAPIError(t, err, "ThrottlingException", "Rate exceeded for DryRun requests to stream s under account "+testAccount+".")
	}
}
