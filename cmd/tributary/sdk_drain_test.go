package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptrace"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// defaultClientEnv, set to anything, makes TestSDKDrainLargePages use the
// SDK's default HTTP client, to see the race it guards against:
//
//	TRIBUTARY_DRAIN_DEFAULT_CLIENT=1 go test -count=5 -v -run SDKDrainLargePages ./cmd/tributary
const defaultClientEnv = "TRIBUTARY_DRAIN_DEFAULT_CLIENT"

const (
	drainShards     = 4
	drainWriters    = 4
	drainBatch      = 500   // records per PutRecords, AWS's maximum
	drainPage       = 10000 // records per GetRecords, AWS's maximum
	drainRecordSize = 100   // bytes of data; a full page is about 3 MB of JSON
	drainIndexWidth = 10    // the record's index, in decimal, starts its data
)

// drainRecords is how many records TestSDKDrainLargePages writes and
// reads: $TRIBUTARY_DRAIN_RECORDS if set, else two million, or one million
// under the race detector, which slows the SDK's JSON encoding and decoding
// several times over (a million records then take about a minute on two
// cores).
func drainRecords() int {
	if n, err := strconv.Atoi(os.Getenv("TRIBUTARY_DRAIN_RECORDS")); err == nil && n > 0 {
		return n
	}
	if raceEnabled {
		return 1_000_000
	}
	return 2_000_000
}

// TestSDKDrainLargePages is the regression test for the SDK client's
// closed-connection race (see package sdkhttp): it writes millions of
// records with PutRecords, reads them back in pages of about 3 MB with
// GetRecords, and checks that no call failed, that net/http wrote every
// request without error, and that every record was read exactly once.
//
// The server runs in a child process, as it would in production. In this
// process, whatever stalls the client's write goroutine long enough for
// the race (a GC pause, a busy CPU) would mostly stall the server too. On
// two cores with the SDK's default client, an in-process server saw failed
// writes but not one failed call in 15 runs; a child process saw 3 to 8
// failed calls in each of 5 runs, and under the race detector, which slows
// both sides, failed writes in 3 runs of 5 (a failed call in one).
func TestSDKDrainLargePages(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads millions of records")
	}
	c := startProcess(t, t.TempDir(), "--storage", "memory").client()
	if os.Getenv(defaultClientEnv) != "" {
		c = sdk.New(c.Options(), func(o *sdk.Options) { o.HTTPClient = awshttp.NewBuildableClient() })
		t.Log("using the SDK's default HTTP client")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	setupCtx, setupWrites := countFailedWrites(ctx)
	putCtx, putWrites := countFailedWrites(ctx)
	drainCtx, drainWrites := countFailedWrites(ctx)

	const name = "drain"
	if _, err := c.CreateStream(setupCtx, &sdk.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(drainShards)}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, setupCtx, c, name)

	n := drainRecords()
	start := time.Now()
	putFailures := putDrainRecords(t, putCtx, c, name, n)
	putTime := time.Since(start)

	start = time.Now()
	seen, pages, getFailures := drainStream(t, drainCtx, c, name, n)
	t.Logf("%d records. PutRecords: %v, %d calls failed, %d requests failed to write. GetRecords: %v, %d pages, %d calls failed, %d requests failed to write. Other calls: %d requests failed to write.",
		n, putTime.Round(time.Millisecond), putFailures, putWrites.Load(),
		time.Since(start).Round(time.Millisecond), pages, getFailures, drainWrites.Load(), setupWrites.Load())
	if k := setupWrites.Load() + putWrites.Load() + drainWrites.Load(); k != 0 {
		t.Errorf("%d requests failed to write", k)
	}

	var missing, repeated int
	for i, k := range seen {
		switch {
		case k == 0:
			if missing++; missing <= 3 {
				t.Errorf("record %d never read", i)
			}
		case k > 1:
			if repeated++; repeated <= 3 {
				t.Errorf("record %d read %d times", i, k)
			}
		}
	}
	if missing+repeated > 0 {
		t.Errorf("%d records never read, %d read more than once", missing, repeated)
	}
}

// countFailedWrites returns ctx with a trace counting the requests that
// net/http's transport failed to write. That is where the race begins,
// every time: the transport closes the connection at once, but the caller
// sees an error only if it was still reading the response.
func countFailedWrites(ctx context.Context) (context.Context, *atomic.Int64) {
	var n atomic.Int64
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err != nil {
				n.Add(1)
			}
		},
	}), &n
}

// drainData is record i's data: its index in decimal, then padding.
func drainData(i int) []byte {
	b := make([]byte, drainRecordSize)
	copy(b, fmt.Sprintf("%0*d", drainIndexWidth, i))
	for j := drainIndexWidth; j < len(b); j++ {
		b[j] = 'a' + byte(j%26)
	}
	return b
}

// drainIndex returns the index of the record with data b, and whether b is
// the data drainData gives that index (pad being what follows the index).
func drainIndex(b, pad []byte) (int, bool) {
	if len(b) != drainRecordSize || !bytes.Equal(b[drainIndexWidth:], pad) {
		return 0, false
	}
	i, err := strconv.Atoi(string(b[:drainIndexWidth]))
	return i, err == nil && i >= 0
}

// putDrainRecords writes records 0 to n-1 from drainWriters writers and
// returns how many calls failed, each also reported as a test error. A
// failed call is not retried: under this race the server has stored its
// records, and a retry would store them twice.
func putDrainRecords(t *testing.T, ctx context.Context, c *sdk.Client, stream string, n int) int {
	t.Helper()
	var (
		mu       sync.Mutex
		failures int
		wg       sync.WaitGroup
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if failures++; failures <= 5 {
			t.Errorf(format, args...)
		}
	}
	for w := range drainWriters {
		wg.Go(func() {
			// Writer w writes the batches w, w+drainWriters, ...
			for from := w * drainBatch; from < n && ctx.Err() == nil; from += drainWriters * drainBatch {
				entries := make([]types.PutRecordsRequestEntry, 0, drainBatch)
				for i := from; i < min(from+drainBatch, n); i++ {
					entries = append(entries, types.PutRecordsRequestEntry{
						PartitionKey: aws.String(strconv.Itoa(i)),
						Data:         drainData(i),
					})
				}
				out, err := c.PutRecords(ctx, &sdk.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
				if err != nil {
					fail("PutRecords of records %d to %d: %v", from, from+len(entries)-1, err)
					continue
				}
				if k := aws.ToInt32(out.FailedRecordCount); k != 0 {
					fail("PutRecords of records %d to %d: %d entries failed", from, from+len(entries)-1, k)
				}
			}
		})
	}
	wg.Wait()
	return failures
}

// drainStream reads every shard of the stream from TRIM_HORIZON to its
// end, one reader per shard, and returns how many times each record 0 to
// n-1 was read, the number of pages and the number of failed GetRecords
// calls, each also reported as a test error. A failed GetRecords is made
// again with the same iterator so that the rest is still read.
func drainStream(t *testing.T, ctx context.Context, c *sdk.Client, stream string, n int) ([]int, int, int) {
	t.Helper()
	shards, err := c.ListShards(ctx, &sdk.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatalf("ListShards: %v", err)
	}
	var (
		mu       sync.Mutex
		seen     = make([]int, n)
		foreign  int
		pages    int
		failures int
		wg       sync.WaitGroup
		pad      = drainData(0)[drainIndexWidth:]
	)
	for _, sh := range shards.Shards {
		it := shardIterator(t, ctx, c, &sdk.GetShardIteratorInput{
			StreamName: aws.String(stream), ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		wg.Go(func() {
			for consecutive := 0; consecutive < 10 && ctx.Err() == nil; {
				out, err := c.GetRecords(ctx, &sdk.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(drainPage)})
				if err != nil {
					mu.Lock()
					if failures++; failures <= 5 {
						t.Errorf("GetRecords on %s: %v", aws.ToString(sh.ShardId), err)
					}
					mu.Unlock()
					consecutive++
					continue
				}
				consecutive = 0
				mu.Lock()
				pages++
				for _, r := range out.Records {
					if i, ok := drainIndex(r.Data, pad); ok && i < n {
						seen[i]++
					} else if foreign++; foreign <= 3 {
						t.Errorf("record %s on %s has data %.20q, not written by the test", aws.ToString(r.SequenceNumber), aws.ToString(sh.ShardId), r.Data)
					}
				}
				mu.Unlock()
				// An empty page means the reader is at the tip: every
				// record was written before the drain began.
				if len(out.Records) == 0 {
					return
				}
				it = out.NextShardIterator
			}
			t.Errorf("gave up reading %s", aws.ToString(sh.ShardId))
		})
	}
	wg.Wait()
	if foreign > 0 {
		t.Errorf("%d records read that the test did not write", foreign)
	}
	return seen, pages, failures
}
