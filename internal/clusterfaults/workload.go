package clusterfaults

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/tributary-io/tributary/internal/history"
)

// The workload's stream: four shards, on the engine's four placements.
const (
	streamName   = "faults"
	consumerName = "faults-reader"
	shardCount   = 4
	// slotsPerShard writers' hash keys fall in each of the first shards
	// (two, so that a split at a shard's middle gives each child one).
	slotsPerShard = 2
	// writersPerSlot writers aim at each hash key, each through another
	// node: while one waits on a node that is paused or cut off, the
	// other shows whether the shard takes writes.
	writersPerSlot = 2
	// batchWriters write PutRecords of batchSize records with spread
	// partition keys, on top.
	batchWriters = 2
	batchSize    = 10
	// writerPace is the least time between two calls of one writer:
	// about 20 calls a second each, enough to see an outage to the 50 ms
	// and few enough for the history of a long run to fit in memory.
	writerPace = 50 * time.Millisecond
	// callTimeout bounds a write or a read: longer than an election, so a
	// call made at a fault can succeed through it.
	callTimeout = 20 * time.Second
)

// slotKey is the hash key of writer slot j: slots 2s and 2s+1 are a
// quarter and three quarters into shard s's range, so that splitting a
// shard at its middle gives each child one slot.
func slotKey(j int) *big.Int {
	// The hash space is 2^128; shard s has [s·2^126, (s+1)·2^126), and
	// slot j is at (2j+1)·2^124: a quarter and three quarters in.
	return new(big.Int).Lsh(big.NewInt(int64(2*j+1)), 124)
}

// pace waits out the rest of writerPace since last, or returns false when
// the writer must stop.
func pace(ctx context.Context, stop <-chan struct{}, last time.Time) bool {
	t := time.NewTimer(time.Until(last.Add(writerPace)))
	defer t.Stop()
	select {
	case <-stop:
		return false
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// slotWriter writes single records at slot's hash key through one node,
// until stop. While its node is down it waits: a client's load balancer
// sends nothing to a node that refuses connections, and calls refused
// would only swell the unknowns. A paused or cut-off node it keeps
// calling, which is the point.
func (r *run) slotWriter(ctx context.Context, stop <-chan struct{}, slot, k, node int) {
	c := r.cl.Client(node, callTimeout)
	key := slotKey(slot).String()
	for n := 0; ; n++ {
		last := time.Now()
		if r.cl.Up(node) {
			in := &kinesis.PutRecordInput{StreamName: aws.String(streamName), PartitionKey: aws.String("k"),
				ExplicitHashKey: aws.String(key), Data: fmt.Appendf(nil, "s%d-%d-%d", slot, k, n)}
			_, err := r.rec.PutRecord(ctx, c, in)
			r.count(1, err)
		}
		if !pace(ctx, stop, last) {
			return
		}
	}
}

// batchWriter writes PutRecords of batchSize records spread over the
// shards by their partition keys.
func (r *run) batchWriter(ctx context.Context, stop <-chan struct{}, b, node int) {
	c := r.cl.Client(node, callTimeout)
	for n := 0; ; n++ {
		last := time.Now()
		if r.cl.Up(node) {
			in := &kinesis.PutRecordsInput{StreamName: aws.String(streamName)}
			for i := range batchSize {
				in.Records = append(in.Records, types.PutRecordsRequestEntry{
					PartitionKey: aws.String(fmt.Sprintf("p%d", n*batchSize+i)), Data: fmt.Appendf(nil, "b%d-%d-%d", b, n, i)})
			}
			out, err := r.rec.PutRecords(ctx, c, in)
			if err == nil {
				for _, e := range out.Records {
					r.count(1, errorCode(e.ErrorCode))
				}
			} else {
				r.count(batchSize, err)
			}
		}
		if !pace(ctx, stop, last) {
			return
		}
	}
}

type entryError string

func (e entryError) Error() string { return string(e) }

func errorCode(code *string) error {
	if code == nil {
		return nil
	}
	return entryError(*code)
}

// count adds n records' outcome to the progress counters.
func (r *run) count(n int, err error) {
	switch {
	case err == nil:
		r.acked.Add(int64(n))
	case history.Definite(code(err)):
		r.failed.Add(int64(n))
	default:
		r.unknown.Add(int64(n))
	}
}

func code(err error) string {
	var e entryError
	if errors.As(err, &e) {
		return string(e)
	}
	var ae interface{ ErrorCode() string }
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// countingClient counts the reads that returned.
type countingClient struct {
	history.Client
	reads *atomic.Int64
}

func (c countingClient) GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error) {
	out, err := c.Client.GetRecords(ctx, in, optFns...)
	if err == nil {
		c.reads.Add(1)
	}
	return out, err
}

// startReaders starts a GetRecords reader and a SubscribeToShard reader of
// shard, each on another node, once per shard; each, when the shard
// closes (a reshard), starts the readers of its children.
func (r *run) startReaders(ctx context.Context, wg *sync.WaitGroup, consumerARN, shard string) {
	r.mu.Lock()
	if r.readers[shard] {
		r.mu.Unlock()
		return
	}
	r.readers[shard] = true
	idx := len(r.readers)
	r.mu.Unlock()
	n := r.cl.Nodes()
	poller := countingClient{r.cl.Client((idx+1)%n, callTimeout), &r.reads}
	// No timeout for a subscription, which lasts minutes; the recorder
	// subscribes again when it ends or fails.
	subscriber := r.cl.Client((idx+2)%n, 0)
	opts := history.ReadOptions{Limit: 500, Poll: 100 * time.Millisecond}
	wg.Go(func() {
		if _, err := r.rec.ReadShard(ctx, poller, streamName, shard, opts); err == nil {
			r.children(ctx, wg, consumerARN, shard)
		}
	})
	wg.Go(func() {
		if _, err := r.rec.Subscribe(ctx, subscriber, consumerARN, streamName, shard, opts); err == nil {
			r.children(ctx, wg, consumerARN, shard)
		}
	})
}

// children starts the readers of the children of shard, closed.
func (r *run) children(ctx context.Context, wg *sync.WaitGroup, consumerARN, shard string) {
	var kids []string
	err := r.until(ctx, "listing the children of "+shard, func(c *kinesis.Client) error {
		shards, err := listShards(ctx, c)
		if err != nil {
			return err
		}
		kids = kids[:0]
		for _, s := range shards {
			if aws.ToString(s.ParentShardId) == shard || aws.ToString(s.AdjacentParentShardId) == shard {
				kids = append(kids, aws.ToString(s.ShardId))
			}
		}
		if len(kids) == 0 {
			return fmt.Errorf("%s is closed but has no children yet", shard)
		}
		return nil
	})
	if err != nil {
		return // the run is over
	}
	for _, k := range kids {
		r.startReaders(ctx, wg, consumerARN, k)
	}
}

func listShards(ctx context.Context, c *kinesis.Client) ([]types.Shard, error) {
	var shards []types.Shard
	in := &kinesis.ListShardsInput{StreamName: aws.String(streamName)}
	for {
		out, err := c.ListShards(ctx, in)
		if err != nil {
			return nil, err
		}
		shards = append(shards, out.Shards...)
		if out.NextToken == nil {
			return shards, nil
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
}

// openShardAt returns the open shard whose hash range holds key.
func openShardAt(shards []types.Shard, key *big.Int) (types.Shard, bool) {
	for _, s := range shards {
		if s.SequenceNumberRange == nil || s.SequenceNumberRange.EndingSequenceNumber != nil || s.HashKeyRange == nil {
			continue
		}
		lo, _ := new(big.Int).SetString(aws.ToString(s.HashKeyRange.StartingHashKey), 10)
		hi, _ := new(big.Int).SetString(aws.ToString(s.HashKeyRange.EndingHashKey), 10)
		if lo != nil && hi != nil && lo.Cmp(key) <= 0 && key.Cmp(hi) <= 0 {
			return s, true
		}
	}
	return types.Shard{}, false
}

// reshard splits the shard of writer slots 0 and 1 at its middle if one
// shard has both, or else merges the two shards that have them: a split
// and a merge alternate. It decides once and then retries through
// faults until the parents are closed, so that a call whose answer was
// lost is not made twice.
func (r *run) reshard(ctx context.Context) {
	var parents []string
	var split bool
	err := r.until(ctx, "choosing a reshard", func(c *kinesis.Client) error {
		shards, err := listShards(ctx, c)
		if err != nil {
			return err
		}
		a, okA := openShardAt(shards, slotKey(0))
		b, okB := openShardAt(shards, slotKey(1))
		if !okA || !okB {
			return errors.New("no open shard holds the first writer slots")
		}
		split = aws.ToString(a.ShardId) == aws.ToString(b.ShardId)
		parents = []string{aws.ToString(a.ShardId)}
		if !split {
			parents = append(parents, aws.ToString(b.ShardId))
		}
		return nil
	})
	if err != nil {
		r.logf("reshard: %v", err)
		return
	}
	what := "split of " + parents[0]
	if !split {
		what = "merge of " + strings.Join(parents, " and ")
	}
	r.logf("reshard: %s begins", what)
	began := time.Now()
	err = r.until(ctx, what, func(c *kinesis.Client) error {
		shards, err := listShards(ctx, c)
		if err != nil {
			return err
		}
		open := 0
		for _, s := range shards {
			if slices.Contains(parents, aws.ToString(s.ShardId)) && s.SequenceNumberRange.EndingSequenceNumber == nil {
				open++
			}
		}
		if open == 0 {
			return nil // done, perhaps by a call whose answer was lost
		}
		if split {
			// The middle of [0, 2^126): the shard of slots 0 and 1 is
			// always the first quarter of the hash space.
			_, err = c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String(streamName), ShardToSplit: aws.String(parents[0]),
				NewStartingHashKey: aws.String(new(big.Int).Lsh(big.NewInt(1), 125).String())})
		} else {
			_, err = c.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String(streamName), ShardToMerge: aws.String(parents[0]), AdjacentShardToMerge: aws.String(parents[1])})
		}
		if err == nil {
			err = errors.New("sent; waiting for the parents to close")
		}
		return err
	})
	if err != nil {
		r.logf("reshard: %v", err)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range parents {
		r.closed[p] = time.Now()
	}
	if split {
		r.splits++
	} else {
		r.merges++
	}
	r.logf("reshard: %s done in %v", what, time.Since(began).Round(10*time.Millisecond))
}
