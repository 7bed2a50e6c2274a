package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
)

// activePoll is the time between DescribeStreamSummary calls while a new
// stream is CREATING: short, because emulators are often ACTIVE at once.
const activePoll = 100 * time.Millisecond

// deleteTimeout bounds the clean-up of a stream, which runs even after the
// run was interrupted, and may have to wait for a stream to finish
// CREATING before it can be deleted.
const deleteTimeout = 30 * time.Second

// streamName returns a fresh stream name for workload: the prefix, the
// workload and a random suffix, so that runs never collide with each other
// or with what an earlier, interrupted run left behind.
func (b *bench) streamName(workload string) string {
	var suffix [4]byte
	rand.Read(suffix[:])
	return b.opts.StreamPrefix + workload + "-" + hex.EncodeToString(suffix[:])
}

// createStream creates a provisioned stream of shards shards and waits
// until it is ACTIVE. It returns a function that deletes the stream; the
// caller must call it even if createStream fails, since the stream may
// exist though it never became ACTIVE.
func (b *bench) createStream(ctx context.Context, name string, shards int) (cleanup func(), err error) {
	cleanup = func() {
		// The stream must go even if ctx was cancelled (Ctrl-C), or every
		// interrupted run would leave streams, and shards, behind.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deleteTimeout)
		defer cancel()
		if err := b.deleteStream(ctx, name); err != nil {
			fmt.Fprintf(b.stderr, "bench: warning: stream %s is left behind: %v\n", name, err)
		}
	}
	_, err = b.client.CreateStream(ctx, &kinesis.CreateStreamInput{
		StreamName: aws.String(name),
		ShardCount: aws.Int32(int32(shards)),
	})
	if err != nil {
		// The stream exists only if the request may have reached the
		// server and the answer was lost. Deleting after the server said
		// no could delete a stream of the same name that is not ours.
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) || errors.Is(err, syscall.ECONNREFUSED) {
			cleanup = func() {}
		}
		return cleanup, fmt.Errorf("creating stream %s: %w", name, err)
	}
	if err := b.waitActive(ctx, name); err != nil {
		return cleanup, err
	}
	if b.opts.EncryptKey != "" {
		if _, err := b.client.StartStreamEncryption(ctx, &kinesis.StartStreamEncryptionInput{
			StreamName:     aws.String(name),
			EncryptionType: types.EncryptionTypeKms,
			KeyId:          aws.String(b.opts.EncryptKey),
		}); err != nil {
			return cleanup, fmt.Errorf("encrypting stream %s: %w", name, err)
		}
		// UPDATING until the switch is done, as on AWS.
		if err := b.waitActive(ctx, name); err != nil {
			return cleanup, err
		}
	}
	return cleanup, nil
}

// deleteStream deletes a stream. A stream still CREATING cannot be deleted
// yet (ResourceInUseException), which happens when it did not become
// ACTIVE in time, so deleteStream tries again until ctx is done.
func (b *bench) deleteStream(ctx context.Context, name string) error {
	for {
		_, err := b.client.DeleteStream(ctx, &kinesis.DeleteStreamInput{
			StreamName:              aws.String(name),
			EnforceConsumerDeletion: aws.Bool(true),
		})
		var notFound *types.ResourceNotFoundException
		var inUse *types.ResourceInUseException
		switch {
		case err == nil, errors.As(err, &notFound):
			return nil
		case !errors.As(err, &inUse):
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(activePoll):
		}
	}
}

// waitActive polls DescribeStreamSummary until the stream is ACTIVE or
// --create-timeout has passed.
func (b *bench) waitActive(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, b.opts.CreateTimeout)
	defer cancel()
	for {
		out, err := b.client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		var notFound *types.ResourceNotFoundException
		switch {
		case err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive:
			return nil
		case err != nil && ctx.Err() != nil:
			return fmt.Errorf("stream %s not ACTIVE after %v: %w", name, b.opts.CreateTimeout, ctx.Err())
		case err != nil && !errors.As(err, &notFound):
			// AWS may not know a stream for a moment after creating it;
			// any other error is final.
			return fmt.Errorf("describing stream %s: %w", name, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stream %s not ACTIVE after %v: %w", name, b.opts.CreateTimeout, ctx.Err())
		case <-time.After(activePoll):
		}
	}
}

// shardIDs lists the shards of a stream.
func (b *bench) shardIDs(ctx context.Context, name string) ([]string, error) {
	var ids []string
	in := &kinesis.ListShardsInput{StreamName: aws.String(name)}
	for {
		out, err := b.client.ListShards(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("listing shards of %s: %w", name, err)
		}
		for _, s := range out.Shards {
			ids = append(ids, aws.ToString(s.ShardId))
		}
		if out.NextToken == nil {
			break
		}
		// A call with a NextToken must not name the stream.
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
	return ids, nil
}

// rss returns the RSS of --pid, if given; it is only called between the
// goroutines of workloads, so needs no lock. A failure to read it is a
// warning, not an error, since the figures are worth having without it.
func (b *bench) rss() MaybeBytes {
	if b.opts.PID == 0 {
		return MaybeBytes{}
	}
	n, err := readRSS(b.opts.PID)
	if err != nil {
		// Once is enough: it will fail the same way every time.
		if !b.rssWarned {
			fmt.Fprintf(b.stderr, "bench: warning: reading RSS of pid %d: %v\n", b.opts.PID, err)
			b.rssWarned = true
		}
		return MaybeBytes{Asked: true}
	}
	return MaybeBytes{Asked: true, Known: true, Bytes: n}
}

// onlyShardIterator returns an iterator of type typ on the one shard of a
// single-shard stream.
func (b *bench) onlyShardIterator(ctx context.Context, name string, typ types.ShardIteratorType) (*string, error) {
	ids, err := b.shardIDs(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(ids) != 1 {
		return nil, fmt.Errorf("stream %s has %d shards, want 1", name, len(ids))
	}
	out, err := b.client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName:        aws.String(name),
		ShardId:           aws.String(ids[0]),
		ShardIteratorType: typ,
	})
	if err != nil {
		return nil, fmt.Errorf("GetShardIterator: %w", err)
	}
	return out.ShardIterator, nil
}
