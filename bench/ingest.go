package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	mrand "math/rand/v2"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// ingestBatch is the number of records per PutRecords call of ingest: the
// most Kinesis accepts, which is how a producer library such as the KPL
// sends under load.
const ingestBatch = 500

// partitionKeys is the number of distinct partition keys of each ingest
// producer: enough that their hashes spread evenly over the shards.
const partitionKeys = 1024

// ingest measures write throughput: for each record size, --producers
// concurrent producers send PutRecords of 500 records with random
// partition keys into a fresh stream of --shards shards for
// --ingest-duration.
func (b *bench) ingest(ctx context.Context) ([]WorkloadResult, error) {
	var results []WorkloadResult
	for _, size := range b.opts.RecordSizes {
		w, err := b.ingestSize(ctx, size)
		results = append(results, w)
		if err != nil {
			return results, err
		}
	}
	return results, nil
}

func (b *bench) ingestSize(ctx context.Context, size int) (w WorkloadResult, err error) {
	w = WorkloadResult{
		Name:       WorkloadIngest,
		RecordSize: size,
		Producers:  b.opts.Producers,
		Shards:     b.opts.Shards,
	}
	w.RSSStartBytes = b.rss()
	name := b.streamName(WorkloadIngest)
	// The end RSS is taken before the stream is deleted: it is what the
	// load left, stream included.
	defer func() { w.RSSEndBytes = b.rss() }()
	cleanup, err := b.createStream(ctx, name, b.opts.Shards)
	defer cleanup()
	if err != nil {
		return w, err
	}

	// Random data, because a server or a disk that compresses would make
	// a constant payload look faster than real data.
	data := make([]byte, size)
	rand.Read(data)
	err = b.run(ctx, putLoad{
		label:      w.label(),
		stream:     name,
		producers:  b.opts.Producers,
		recordSize: size,
		duration:   b.opts.IngestDuration,
		newBatcher: func(int) batcher { return randomKeyBatcher(data) },
	}, &w)
	return w, err
}

// randomKeyBatcher returns batches of ingestBatch records of data, each
// under a partition key drawn at random from a fixed set, so that the
// records spread over the shards as a real key space would.
func randomKeyBatcher(data []byte) batcher {
	keys := make([]*string, partitionKeys)
	for i := range keys {
		var k [8]byte
		rand.Read(k[:])
		keys[i] = aws.String(hex.EncodeToString(k[:]))
	}
	rng := mrand.New(mrand.NewPCG(mrand.Uint64(), mrand.Uint64()))
	entries := make([]types.PutRecordsRequestEntry, ingestBatch)
	return func() []types.PutRecordsRequestEntry {
		for i := range entries {
			entries[i] = types.PutRecordsRequestEntry{
				Data:         data,
				PartitionKey: keys[rng.IntN(len(keys))],
			}
		}
		return entries
	}
}
