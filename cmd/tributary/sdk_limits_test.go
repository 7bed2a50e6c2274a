package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// TestSDKCreateStreamBurst sends 10 CreateStream calls at once to a server
// with the default limits: AWS allows 5 per second per account and region,
// so some are refused with LimitExceededException and AWS's message.
func TestSDKCreateStreamBurst(t *testing.T) {
	ctx := context.Background()
	c, _ := startServer(t, t.TempDir())
	errs := make([]error, 10)
	done := make(chan int)
	for i := range errs {
		go func() {
			_, errs[i] = c.CreateStream(ctx, &sdk.CreateStreamInput{StreamName: aws.String(fmt.Sprintf("burst-%d", i)), ShardCount: aws.Int32(1)})
			done <- i
		}()
	}
	for range errs {
		<-done
	}
	created, refused := 0, 0
	for i, err := range errs {
		var le *types.LimitExceededException
		switch {
		case err == nil:
			created++
		case errors.As(err, &le):
			refused++
			want := fmt.Sprintf("Rate exceeded for stream burst-%d under account %s.", i, testAccount)
			if le.ErrorMessage() != want {
				t.Errorf("CreateStream burst-%d: message %q, want %q", i, le.ErrorMessage(), want)
			}
		default:
			t.Errorf("CreateStream burst-%d: %v", i, err)
		}
	}
	// The bucket holds 5 calls and refills at 5 per second while the burst
	// is served, so at least 5 are created and, unless the burst took most
	// of a second, some refused.
	if created < 5 || refused == 0 {
		t.Errorf("%d created and %d refused, want at least 5 created and some refused", created, refused)
	}
}

// throttleCounter is the SDK's standard retryer, counting the throttling
// errors it is asked about.
type throttleCounter struct {
	aws.RetryerV2
	throttles *atomic.Int64
}

func (r throttleCounter) IsErrorRetryable(err error) bool {
	var pte *types.ProvisionedThroughputExceededException
	if errors.As(err, &pte) {
		r.throttles.Add(1)
	}
	return r.RetryerV2.IsErrorRetryable(err)
}

// TestSDKRetryerRecoversFromWriteThrottles puts records one by one at twice
// a shard's record rate (lowered to 50 per second with --limits-file) through
// a client with the SDK's standard retryer and a short backoff: the server
// throttles, and every call still succeeds through retries, each record
// stored once.
func TestSDKRetryerRecoversFromWriteThrottles(t *testing.T) {
	const (
		limit = 50
		calls = 200
	)
	file := filepath.Join(t.TempDir(), "limits.json")
	if err := os.WriteFile(file, fmt.Appendf(nil, `{"shard_write_records_per_sec": %d}`, limit), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	plain := startServerWith(t, &logs, func(cfg *serveConfig) { cfg.LimitsFile = file })
	var throttles atomic.Int64
	c := sdk.New(plain.Options(), func(o *sdk.Options) {
		o.Retryer = throttleCounter{
			RetryerV2: retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 50
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 10 * time.Millisecond, nil })
				// The client-side retry quota would stop retries under
				// sustained throttling; the test is about the server.
				o.RateLimiter = ratelimit.None
			}),
			throttles: &throttles,
		}
	})
	ctx := context.Background()
	createActive(t, ctx, c, "retry")

	start := time.Now()
	for i := range calls {
		// Paced at twice the limit; a call slowed by retries makes the
		// next ones go at once.
		if d := time.Until(start.Add(time.Duration(i) * time.Second / (2 * limit))); d > 0 {
			time.Sleep(d)
		}
		if _, err := c.PutRecord(ctx, &sdk.PutRecordInput{StreamName: aws.String("retry"), PartitionKey: aws.String("k"), Data: fmt.Appendf(nil, "%d", i)}); err != nil {
			t.Fatalf("PutRecord %d: %v", i, err)
		}
	}
	if throttles.Load() == 0 {
		t.Error("no call was throttled; want retries of ProvisionedThroughputExceededException")
	}
	t.Logf("%d calls, %d throttled attempts retried", calls, throttles.Load())

	recs, _ := readAll(t, ctx, c, shardIterator(t, ctx, c, &sdk.GetShardIteratorInput{
		StreamName: aws.String("retry"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	}))
	if len(recs) != calls {
		t.Fatalf("read %d records, want %d", len(recs), calls)
	}
	for i, r := range recs {
		if got, want := string(r.Data), fmt.Sprint(i); got != want {
			t.Fatalf("record %d is %q, want %q", i, got, want)
		}
	}
}
