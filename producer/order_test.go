package producer

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tributary-io/tributary/faults"
	"github.com/tributary-io/tributary/internal/inproc"
	"github.com/tributary-io/tributary/kpl"
)

// newFaultyTributary starts an in-process Tributary that fails a fraction
// of every PutRecords' entries with InternalFailure (faults'
// put_records_failures: the failed entries are not stored, the others
// are), and creates stream s.
func newFaultyTributary(t *testing.T, fraction float64, shards int, more ...faults.Rule) *kinesis.Client {
	t.Helper()
	ctx := context.Background()
	inj := faults.New(7)
	if fraction > 0 {
		// InternalFailure, not the default ProvisionedThroughputExceeded:
		// the producer rightly slows a shard down on throttling, which would
		// make these tests slow without testing more of the order.
		more = append(more, faults.Rule{Operation: "PutRecords", Effect: faults.EffectPutRecordsFailures, Fraction: fraction, ErrorCode: "InternalFailure"})
	}
	for _, r := range more {
		if _, err := inj.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	kc := inproc.Start(t, inproc.Options{Faults: inj})
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(int32(shards))}); err != nil {
		t.Fatal(err)
	}
	return kc
}

// readAll reads every record of every shard of s, as "key:n" strings in
// each shard's order, the records of KPL aggregates unpacked.
func readAll(t *testing.T, kc *kinesis.Client) map[string][]string {
	t.Helper()
	_, all, _ := readAllKCL(t, kc)
	return all
}

// readAllKCL reads as readAll does (all), and also as AWS's KCL does
// (kcl), which drops every record of an aggregate of which one record
// hashes outside the shard it was read from; dropped counts those.
func readAllKCL(t *testing.T, kc *kinesis.Client) (kcl, all map[string][]string, dropped int) {
	t.Helper()
	kclDrops := 0
	ctx := context.Background()
	shards, err := kc.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("s")})
	if err != nil {
		t.Fatal(err)
	}
	out, kclOut := map[string][]string{}, map[string][]string{}
	for _, sh := range shards.Shards {
		it, err := kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("s"), ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		iter := it.ShardIterator
		for iter != nil {
			got, err := kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range got.Records {
				if !kpl.IsAggregated(r.Data) {
					out[*sh.ShardId] = append(out[*sh.ShardId], string(r.Data))
					kclOut[*sh.ShardId] = append(kclOut[*sh.ShardId], string(r.Data))
					continue
				}
				recs, err := kpl.Deaggregate(r.Data)
				if err != nil {
					t.Fatalf("an aggregated record of %s: %v", *sh.ShardId, err)
				}
				lo, _ := kpl.ParseHashKey(aws.ToString(sh.HashKeyRange.StartingHashKey))
				hi, _ := kpl.ParseHashKey(aws.ToString(sh.HashKeyRange.EndingHashKey))
				inside := true
				for _, u := range recs {
					h := kpl.HashKeyOf(u.PartitionKey)
					if u.ExplicitHashKey != "" {
						h, _ = kpl.ParseHashKey(u.ExplicitHashKey)
					}
					if h.Cmp(lo) < 0 || h.Cmp(hi) > 0 {
						inside = false
						kclDrops += len(recs)
						break
					}
				}
				for _, u := range recs {
					out[*sh.ShardId] = append(out[*sh.ShardId], string(u.Data))
					if inside {
						kclOut[*sh.ShardId] = append(kclOut[*sh.ShardId], string(u.Data))
					}
				}
			}
			if len(got.Records) == 0 && aws.ToInt64(got.MillisBehindLatest) == 0 {
				break
			}
			iter = got.NextShardIterator
		}
	}
	return kclOut, out, kclDrops
}

// checkOrder counts, over every record read, the keys whose records are
// not in Put order, and the records read twice or never. Shards are read
// in index order, so parents before children (zero-padded ids sort so).
func checkOrder(read map[string][]string, keys, perKey int) (outOfOrder, duplicates, missing int) {
	next := make([]int, keys)
	seen := map[string]bool{}
	bad := map[int]bool{}
	// Shards in index order: parents before their children.
	for _, id := range slices.Sorted(maps.Keys(read)) {
		for _, r := range read[id] {
			if seen[r] {
				duplicates++
				continue
			}
			seen[r] = true
			k, n := parseRecord(r)
			if n != next[k] {
				bad[k] = true
			}
			next[k] = n + 1
		}
	}
	return len(bad), duplicates, keys*perKey - len(seen)
}

func record(key, n int) string { return fmt.Sprintf("key-%d:%d", key, n) }

func parseRecord(s string) (key, n int) {
	k, v, _ := strings.Cut(strings.TrimPrefix(s, "key-"), ":")
	key, _ = strconv.Atoi(k)
	n, _ = strconv.Atoi(v)
	return key, n
}

// TestOrderUnderPartialFailures puts 200 keys' records, interleaved, into
// 8 shards of a server that fails 30 % of every PutRecords' entries, and
// reads every key's records back in Put order, each exactly once. The
// same records sent by the usual loop (refused entries go into the next
// request) come back out of order for many keys, which shows the test
// can fail.
func TestOrderUnderPartialFailures(t *testing.T) {
	const keys, perKey, shards = 200, 50, 8
	ctx := context.Background()

	kc := newFaultyTributary(t, 0.3, shards)
	p, err := New(ctx, Config{Stream: "s", Client: kc, RetryDelay: time.Millisecond, Linger: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var futures []*Future
	for n := range perKey {
		for k := range keys {
			f, err := p.Put(ctx, Record{PartitionKey: fmt.Sprint("key-", k), Data: []byte(record(k, n))})
			if err != nil {
				t.Fatal(err)
			}
			futures = append(futures, f)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := p.Close(cctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	retried := 0
	for i, f := range futures {
		res, err := f.Wait(ctx)
		if err != nil || res.Err != nil || res.SequenceNumber == "" || res.ShardID == "" {
			t.Fatalf("record %d: %+v, %v", i, res, err)
		}
		if res.Attempts > 1 {
			retried++
		}
	}
	if retried == 0 {
		t.Fatal("no record was retried: the fault rule did not act")
	}
	outOfOrder, dups, missing := checkOrder(readAll(t, kc), keys, perKey)
	t.Logf("producer: %d of %d records retried; %d keys out of order, %d duplicates, %d missing", retried, keys*perKey, outOfOrder, dups, missing)
	if outOfOrder != 0 || dups != 0 || missing != 0 {
		t.Errorf("producer: %d keys out of order, %d duplicates, %d missing; want none", outOfOrder, dups, missing)
	}

	naive := newFaultyTributary(t, 0.3, shards)
	naiveLoop(t, naive, keys, perKey)
	outOfOrder, dups, missing = checkOrder(readAll(t, naive), keys, perKey)
	t.Logf("naive loop: %d keys of %d out of order, %d duplicates, %d missing", outOfOrder, keys, dups, missing)
	if outOfOrder == 0 {
		t.Errorf("the naive loop kept every key in order: the faults did not reorder anything, so the test proves nothing")
	}
}

// naiveLoop is how PutRecords is commonly used: batches of 500, and the
// entries a batch refused go at the front of the next.
func naiveLoop(t *testing.T, kc *kinesis.Client, keys, perKey int) {
	t.Helper()
	ctx := context.Background()
	var queue []types.PutRecordsRequestEntry
	for n := range perKey {
		for k := range keys {
			queue = append(queue, types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint("key-", k)), Data: []byte(record(k, n))})
		}
	}
	for len(queue) > 0 {
		batch := queue[:min(500, len(queue))]
		queue = queue[len(batch):]
		out, err := kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: batch})
		if err != nil {
			t.Fatal(err)
		}
		var failed []types.PutRecordsRequestEntry
		for i, r := range out.Records {
			if r.ErrorCode != nil {
				failed = append(failed, batch[i])
			}
		}
		queue = append(failed, queue...)
	}
}

// TestOrderAcrossReshards is the run: 100,000 records of 1,000
// keys into 8 shards, 30 % of every PutRecords' entries failing and a
// tenth of the answers lost after the records were stored, a split after
// the first third is stored and a merge after the second, so that the
// producer's map is stale each time. Every key's records come back in
// Put order, parents before children, each exactly once.
func TestOrderAcrossReshards(t *testing.T) {
	const keys, perKey, shards = 1000, 100, 8
	ctx := context.Background()
	kc := newFaultyTributary(t, 0.3, shards, faults.Rule{Operation: "PutRecords", Effect: faults.EffectLoseAnswer, Probability: 0.1})
	p, err := New(ctx, Config{Stream: "s", Client: kc, RetryDelay: time.Millisecond, Linger: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	phase := func(from, to int) {
		t.Helper()
		var futures []*Future
		for n := from; n < to; n++ {
			for k := range keys {
				f, err := p.Put(ctx, Record{PartitionKey: fmt.Sprint("key-", k), Data: []byte(record(k, n))})
				if err != nil {
					t.Fatal(err)
				}
				futures = append(futures, f)
			}
		}
		for i, f := range futures {
			if res, err := f.Wait(ctx); err != nil || res.Err != nil {
				t.Fatalf("record %d of rounds %d to %d: %+v, %v", i, from, to, res, err)
			}
		}
	}
	phase(0, perKey/3)
	if _, err := kc.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("s"), ShardToSplit: aws.String("shardId-000000000001"),
		NewStartingHashKey: aws.String("63802943797675961899382738893456539648")}); err != nil { // the middle of shard 1 of 8
		t.Fatal(err)
	}
	phase(perKey/3, 2*perKey/3)
	if _, err := kc.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String("s"), ShardToMerge: aws.String("shardId-000000000004"),
		AdjacentShardToMerge: aws.String("shardId-000000000005")}); err != nil {
		t.Fatal(err)
	}
	phase(2*perKey/3, perKey)
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := p.Close(cctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	kcl, all, kclDrops := readAllKCL(t, kc)
	if len(kcl) < shards+2 {
		t.Fatalf("records in %d shards; the children of the reshards got none", len(kcl))
	}
	// As AWS's KCL reads: an aggregate that landed in a child not holding
	// all its records is dropped whole, and the producer sent its records
	// again, so they are there once, in order.
	outOfOrder, dups, missing := checkOrder(kcl, keys, perKey)
	resent := int(testutil.ToFloat64(p.cfg.Metrics.misplacedRecords.WithLabelValues("s")))
	t.Logf("read as KCL reads: %d keys out of order, %d duplicates, %d missing; %d records in aggregates KCL drops, %d sent again", outOfOrder, dups, missing, kclDrops, resent)
	if outOfOrder != 0 || dups != 0 || missing != 0 {
		t.Errorf("read as KCL reads: %d keys out of order, %d duplicates, %d missing; want none", outOfOrder, dups, missing)
	}
	if kclDrops != resent {
		t.Errorf("%d records are in aggregates KCL drops, but the producer sent %d again", kclDrops, resent)
	}
	// Read whole, the first copies come first: in order, and the
	// duplicates are exactly the records sent again after a reshard (the
	// copies sent again after a lost answer were recognised by their IDs).
	outOfOrder, dups, missing = checkOrder(all, keys, perKey)
	if outOfOrder != 0 || dups != resent || missing != 0 {
		t.Errorf("read whole: %d keys out of order, %d duplicates, %d missing; want 0, %d, 0", outOfOrder, dups, missing, resent)
	}
}
