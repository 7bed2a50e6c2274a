package bench

import (
	"context"
	"crypto/rand"
	"math/big"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// The shards workload's load: moderate on purpose, since it is about what
// many shards cost the server (memory, per-shard overhead), not about
// peak throughput, which ingest measures.
const (
	shardsProducers  = 8
	shardsBatch      = 100
	shardsRecordSize = 1024
)

// shards measures a stream of --many-shards shards: its creation, then a
// spread load of 8 producers sending PutRecords of 100 records of 1 KiB
// with explicit hash keys spread uniformly over the hash key space, so
// that every shard gets its share, for --many-shards-duration. With --pid,
// the server's RSS before creation and after the load shows what the
// shards cost.
func (b *bench) shards(ctx context.Context) ([]WorkloadResult, error) {
	w := WorkloadResult{
		Name:       WorkloadShards,
		RecordSize: shardsRecordSize,
		Producers:  shardsProducers,
		Shards:     b.opts.ManyShards,
	}
	w.RSSStartBytes = b.rss()
	name := b.streamName(WorkloadShards)
	cleanup, err := b.createStream(ctx, name, b.opts.ManyShards)
	defer cleanup()
	if err != nil {
		w.RSSEndBytes = b.rss()
		return []WorkloadResult{w}, err
	}

	data := make([]byte, shardsRecordSize)
	rand.Read(data)
	keys := spreadHashKeys(max(4*b.opts.ManyShards, 1024))
	err = b.run(ctx, putLoad{
		label:      w.label(),
		stream:     name,
		producers:  shardsProducers,
		recordSize: shardsRecordSize,
		duration:   b.opts.ManyShardsDuration,
		newBatcher: func(p int) batcher {
			// Producers start at different points of the key cycle so
			// that at any time they write to different shards.
			return cyclingKeyBatcher(data, keys, p*len(keys)/shardsProducers)
		},
	}, &w)
	w.RSSEndBytes = b.rss()
	return []WorkloadResult{w}, err
}

// spreadHashKeys returns n explicit hash keys at the midpoints of n equal
// slices of the 128-bit hash key space, in decimal as Kinesis takes them.
// Any split of the space into ranges of (about) equal size, such as the
// one CreateStream makes, then gets keys in proportion to its size.
func spreadHashKeys(n int) []*string {
	space := new(big.Int).Lsh(big.NewInt(1), 128)
	keys := make([]*string, n)
	for i := range keys {
		// (2i+1) * 2^128 / 2n: the midpoint of slice i.
		k := new(big.Int).Mul(space, big.NewInt(int64(2*i+1)))
		k.Div(k, big.NewInt(int64(2*n)))
		keys[i] = aws.String(k.String())
	}
	return keys
}

// cyclingKeyBatcher returns batches of shardsBatch records of data whose
// explicit hash keys go round keys from start.
func cyclingKeyBatcher(data []byte, keys []*string, start int) batcher {
	next := start
	entries := make([]types.PutRecordsRequestEntry, shardsBatch)
	// The partition key is required but ignored when an explicit hash key
	// is given.
	pk := aws.String("k")
	return func() []types.PutRecordsRequestEntry {
		for i := range entries {
			entries[i] = types.PutRecordsRequestEntry{
				Data:            data,
				PartitionKey:    pk,
				ExplicitHashKey: keys[next%len(keys)],
			}
			next++
		}
		return entries
	}
}
