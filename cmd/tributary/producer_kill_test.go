package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tributary-io/tributary/kpl"
	"github.com/tributary-io/tributary/producer"
)

// TestProducerExactlyOnceAcrossKill is the exactly-once run: the
// producer writes 20,000 records of 200 keys into 4 shards of the real
// server, which loses the answer of 30 % of the PutRecords calls after
// storing their records (faults' lose_answer), and is killed with
// SIGKILL a third of the way through and started again on the same
// address and data. Every record is stored exactly once, in Put order
// per key: the copies the producer sends again are recognised, before
// the kill from memory and after it from the logs. (Its first runs found
// that the producer took an answer cut short by the kill, a 200 with a
// body it could not read, for a refusal, and rebuilt the entry.)
func TestProducerExactlyOnceAcrossKill(t *testing.T) {
	const keys, perKey, shards = 200, 100, 4
	ctx := context.Background()
	dir := t.TempDir()
	rules := filepath.Join(t.TempDir(), "faults.json")
	if err := os.WriteFile(rules, []byte(`{"seed": 3, "rules": [{"operation": "PutRecords", "effect": "lose_answer", "probability": 0.3}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := startProcess(t, dir, "--faults-file", rules)
	addr := srv.addr
	c := sdkClient(addr, aws.NopRetryer{})
	if _, err := c.CreateStream(ctx, &sdk.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(shards)}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, ctx, c, "s")

	reg := prometheus.NewRegistry()
	p, err := producer.New(ctx, producer.Config{Stream: "s", Client: c, Linger: 5 * time.Millisecond,
		RetryDelay: 20 * time.Millisecond, RecordTTL: 2 * time.Minute, Metrics: producer.NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	futures := make(chan *producer.Future, keys*perKey)
	var done atomic.Int64
	failed := make(chan error, 1)
	waited := make(chan struct{})
	go func() {
		defer close(waited)
		for f := range futures {
			res, _ := f.Wait(ctx)
			if res.Err != nil {
				select {
				case failed <- res.Err:
				default:
				}
			}
			done.Add(1)
		}
	}()
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		defer close(futures)
		for n := range perKey {
			for k := range keys {
				f, err := p.Put(ctx, producer.Record{PartitionKey: fmt.Sprint("key-", k), Data: fmt.Appendf(nil, "key-%d:%d", k, n)})
				if err != nil {
					t.Error(err)
					return
				}
				futures <- f
			}
			time.Sleep(2 * time.Millisecond) // spread the run over the kill
		}
	}()

	for done.Load() < keys*perKey/3 {
		time.Sleep(time.Millisecond)
	}
	srv.stop(t, syscall.SIGKILL)
	atKill := done.Load()
	time.Sleep(300 * time.Millisecond) // the producer meets a closed port
	startProcess(t, dir, "--faults-file", rules, "--listen", addr)

	<-wrote
	cctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := p.Close(cctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	<-waited
	select {
	case err := <-failed:
		t.Fatalf("a record failed: %v", err)
	default:
	}
	transport, lost := errorCount(t, reg, "Transport"), errorCount(t, reg, "InternalFailure")
	t.Logf("%d of %d records had their outcome at the kill; calls failed by the kill: %.0f, answers lost by the fault: %.0f", atKill, keys*perKey, transport, lost)
	if transport == 0 || lost == 0 {
		t.Fatalf("the kill (%v failed calls) or the fault rule (%v lost answers) did not act", transport, lost)
	}

	read := readDeaggregated(t, ctx, sdkClient(addr, aws.NopRetryer{}), "s")
	next := make([]int, keys)
	seen := map[string]bool{}
	dups, outOfOrder := 0, map[int]bool{}
	for _, id := range slices.Sorted(maps.Keys(read)) {
		for _, r := range read[id] {
			if seen[r] {
				dups++
				continue
			}
			seen[r] = true
			ks, ns, _ := strings.Cut(strings.TrimPrefix(r, "key-"), ":")
			k, _ := strconv.Atoi(ks)
			n, _ := strconv.Atoi(ns)
			if n != next[k] {
				outOfOrder[k] = true
			}
			next[k] = n + 1
		}
	}
	if missing := keys*perKey - len(seen); dups != 0 || missing != 0 || len(outOfOrder) != 0 {
		t.Errorf("%d records stored twice, %d missing, %d keys out of order; want none", dups, missing, len(outOfOrder))
	}
}

// errorCount reads kpl_errors_by_code_total for code from reg.
func errorCount(t *testing.T, reg *prometheus.Registry, code string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "kpl_errors_by_code_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "code" && l.GetValue() == code {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// readDeaggregated reads every shard of a stream from its start and
// returns the user records' data by shard, KPL aggregates unpacked.
func readDeaggregated(t *testing.T, ctx context.Context, c *sdk.Client, stream string) map[string][]string {
	t.Helper()
	shards, err := c.ListShards(ctx, &sdk.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, sh := range shards.Shards {
		it, err := c.GetShardIterator(ctx, &sdk.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		for iter := it.ShardIterator; iter != nil; {
			got, err := c.GetRecords(ctx, &sdk.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range got.Records {
				recs, err := kpl.Deaggregate(r.Data)
				if err != nil {
					t.Fatalf("shard %s: %v", *sh.ShardId, err)
				}
				for _, u := range recs {
					out[*sh.ShardId] = append(out[*sh.ShardId], string(u.Data))
				}
			}
			if len(got.Records) == 0 && aws.ToInt64(got.MillisBehindLatest) == 0 {
				break
			}
			iter = got.NextShardIterator
		}
	}
	return out
}
