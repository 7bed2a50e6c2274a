package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// TestSDKCreateStreamBurst sends 20 CreateStream calls at once to a server
// allowing 2 per second (set through --limits-file; AWS's own values are
// checked in package stream): some are refused with LimitExceededException
// and AWS's message, and no more are created than the bucket allows in the
// time the burst took. The low rate keeps the test independent of speed:
// the burst would have to take about 9 s for none to be refused.
func TestSDKCreateStreamBurst(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "limits.json")
	if err := os.WriteFile(file, []byte(`{"create_stream_per_sec": 2}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c := startServerWith(t, new(syncBuffer), func(cfg *serveConfig) { cfg.LimitsFile = file })
	errs := make([]error, 20)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.CreateStream(ctx, &sdk.CreateStreamInput{StreamName: aws.String(fmt.Sprintf("burst-%d", i)), ShardCount: aws.Int32(1)})
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
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
	// The bucket starts with 2 calls and refills at 2 per second.
	if most := 2 + int(math.Ceil(elapsed.Seconds()*2)); created < 2 || created > most || refused == 0 {
		t.Errorf("%d created and %d refused in %v, want 2 to %d created and some refused", created, refused, elapsed, most)
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

// TestSDKAccountQuotaFlags sets the account quotas with --shard-limit and
// --on-demand-stream-limit, as a user would, and sees DescribeLimits
// report them and CreateStream keep them.
func TestSDKAccountQuotaFlags(t *testing.T) {
	ctx := context.Background()
	parsed, err := parseServeArgs([]string{"--shard-limit", "3", "--on-demand-stream-limit", "1"}, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	c := startServerWith(t, new(syncBuffer), func(cfg *serveConfig) {
		cfg.ShardLimit, cfg.OnDemandStreamLimit = parsed.ShardLimit, parsed.OnDemandStreamLimit
	})
	lim, err := c.DescribeLimits(ctx, &sdk.DescribeLimitsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(lim.ShardLimit) != 3 || aws.ToInt32(lim.OnDemandStreamCountLimit) != 1 {
		t.Fatalf("DescribeLimits = shard limit %d, on-demand stream limit %d; want 3 and 1",
			aws.ToInt32(lim.ShardLimit), aws.ToInt32(lim.OnDemandStreamCountLimit))
	}
	_, err = c.CreateStream(ctx, &sdk.CreateStreamInput{StreamName: aws.String("big"), ShardCount: aws.Int32(4)})
	var le *types.LimitExceededException
	if !errors.As(err, &le) {
		t.Fatalf("CreateStream of 4 shards under a limit of 3: %v, want LimitExceededException", err)
	}
	if _, err := c.CreateStream(ctx, &sdk.CreateStreamInput{StreamName: aws.String("fits"), ShardCount: aws.Int32(3)}); err != nil {
		t.Fatalf("CreateStream of 3 shards: %v", err)
	}
	if _, err := parseServeArgs([]string{"--shard-limit", "-1"}, func(string) (string, bool) { return "", false }); err == nil {
		t.Error("--shard-limit -1 was accepted")
	}
}
