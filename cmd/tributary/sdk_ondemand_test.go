package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/tributary-io/tributary/stream"
)

// startServerWith is startServer over in-memory storage with cfg changed by
// set, and the server's log kept in logs.
func startServerWith(t *testing.T, logs *syncBuffer, set func(cfg *serveConfig)) *sdk.Client {
	t.Helper()
	addr, _, _ := runTestServer(t, logs, func(cfg *serveConfig) {
		cfg.Storage = storageMemory
		cfg.LogLevel = slog.LevelInfo
		set(cfg)
	})
	return testClient(addr)
}

// openRanges is the hash key ranges of the open shards, in order.
func openRanges(shards []types.Shard) []string {
	var out []string
	for _, sh := range shards {
		if sh.SequenceNumberRange.EndingSequenceNumber == nil {
			out = append(out, aws.ToString(sh.HashKeyRange.StartingHashKey)+"-"+aws.ToString(sh.HashKeyRange.EndingHashKey))
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		// Decimal keys: shorter is smaller.
		a, _, _ = strings.Cut(a, "-")
		b, _, _ = strings.Cut(b, "-")
		if len(a) != len(b) {
			return len(a) - len(b)
		}
		return strings.Compare(a, b)
	})
	return out
}

// TestSDKOnDemandScaling drives an ON_DEMAND stream through the real server
// with a scaler evaluating every 50ms: a burst splits a hot shard, and once
// the burst is over the split is undone, back to the 4 shards the stream
// started with.
func TestSDKOnDemandScaling(t *testing.T) {
	var logs syncBuffer
	c := startServerWith(t, &logs, func(cfg *serveConfig) {
		cfg.OnDemandInterval = 50 * time.Millisecond
		cfg.OnDemandCooldown = 300 * time.Millisecond
		// The burst is far over a shard's write limit on purpose, to make
		// the scaler split; throttling would fail some of its entries.
		cfg.Limits = stream.LimitsOff
	})
	ctx := context.Background()
	name := aws.String("ondemand")
	if _, err := c.CreateStream(ctx, &sdk.CreateStreamInput{StreamName: name,
		StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, ctx, c, *name)
	list := func() []types.Shard {
		t.Helper()
		out, err := c.ListShards(ctx, &sdk.ListShardsInput{StreamName: name})
		if err != nil {
			t.Fatal(err)
		}
		return out.Shards
	}
	initial := openRanges(list())
	if len(initial) != 4 {
		t.Fatalf("new on-demand stream has open shards %v, want 4", initial)
	}

	// The burst: 500 records on three keys per request, far over 800
	// records/s for the shards they land in, until a split shows.
	entries := make([]types.PutRecordsRequestEntry, 500)
	for i := range entries {
		entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprintf("key-%d", i%3)), Data: []byte("payload")}
	}
	var shards []types.Shard
	for deadline := time.Now().Add(5 * time.Second); ; {
		out, err := c.PutRecords(ctx, &sdk.PutRecordsInput{StreamName: name, Records: entries})
		if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
			t.Fatalf("PutRecords: %v", err)
		}
		if shards = list(); len(shards) > 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no split within 5s of the burst")
		}
	}
	byID := make(map[string]types.Shard)
	for _, sh := range shards {
		byID[aws.ToString(sh.ShardId)] = sh
	}
	split := false
	for _, sh := range shards {
		p, ok := byID[aws.ToString(sh.ParentShardId)]
		if ok && sh.AdjacentParentShardId == nil {
			split = true
			if p.SequenceNumberRange.EndingSequenceNumber == nil {
				t.Errorf("parent %s of %s is still open", aws.ToString(p.ShardId), aws.ToString(sh.ShardId))
			}
		}
	}
	if !split {
		t.Fatalf("no shard with a ParentShardId after the burst: %v", shards)
	}

	// After the burst the children merge back, never below 4 open shards.
	for deadline := time.Now().Add(8 * time.Second); ; {
		shards = list()
		merged := slices.ContainsFunc(shards, func(sh types.Shard) bool { return sh.AdjacentParentShardId != nil })
		if got := openRanges(shards); merged && slices.Equal(got, initial) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("open shards %v did not merge back to %v", openRanges(shards), initial)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a few more evaluations
	if got := openRanges(list()); !slices.Equal(got, initial) {
		t.Errorf("open shards %v after merging back, want %v", got, initial)
	}
	for _, msg := range []string{`"msg":"stream: on-demand split","stream":"ondemand"`, `"msg":"stream: on-demand merge","stream":"ondemand"`} {
		if !strings.Contains(logs.String(), msg) {
			t.Errorf("log lacks %s", msg)
		}
	}
}

// TestSDKOnDemandCapacityFromLimitsFile: a shard's capacity, for the
// scaler, is the shard write limit of --limits-file. Writing at that
// limit (50 records/s here, far under AWS's 1000) makes the scaler split,
// where measured against 1000 records/s the shard would look cold forever.
func TestSDKOnDemandCapacityFromLimitsFile(t *testing.T) {
	limits := filepath.Join(t.TempDir(), "limits.json")
	if err := os.WriteFile(limits, []byte(`{"shard_write_records_per_sec": 50}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c := startServerWith(t, nil, func(cfg *serveConfig) {
		cfg.OnDemandInterval = 200 * time.Millisecond
		cfg.Limits = stream.LimitsAWS
		cfg.LimitsFile = limits
	})
	ctx := context.Background()
	name := aws.String("ondemand")
	if _, err := c.CreateStream(ctx, &sdk.CreateStreamInput{StreamName: name,
		StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, ctx, c, *name)
	entries := make([]types.PutRecordsRequestEntry, 10)
	for i := range entries {
		entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String("hot"), Data: []byte("payload")}
	}
	throttled := 0
	for deadline := time.Now().Add(20 * time.Second); ; {
		out, err := c.PutRecords(ctx, &sdk.PutRecordsInput{StreamName: name, Records: entries})
		if err != nil {
			t.Fatalf("PutRecords: %v", err)
		}
		throttled += int(aws.ToInt32(out.FailedRecordCount))
		shards, err := c.ListShards(ctx, &sdk.ListShardsInput{StreamName: name})
		if err != nil {
			t.Fatal(err)
		}
		if len(shards.Shards) > 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no split after 20s of writing at the shard's limit (%d entries throttled)", throttled)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if throttled == 0 {
		t.Error("no entry throttled: the test did not write at the shard's limit")
	}
}
