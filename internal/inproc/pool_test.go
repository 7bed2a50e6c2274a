package inproc

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/tributary-io/tributary/storage"
	"github.com/tributary-io/tributary/storage/jetstream"
	"github.com/tributary-io/tributary/storage/local"
)

// The front end gives request bodies, decoding buffers and answers back
// to kinesis's pools once an answer is written (server.Handler), and the
// next requests reuse them. Were anything to keep a reference past that
// point (an engine keeping a record's data rather than a copy, an answer
// reused before it is sent), records would be stored or read with
// another request's bytes. Here writers and readers run at once, every
// record's data names its key and position, and everything read back
// must be exactly what was written.
func TestPooledBuffersKeepRecordsIntact(t *testing.T) {
	engines := []struct {
		name string
		open func(t *testing.T) storage.Engine
	}{
		{"mem", func(t *testing.T) storage.Engine { return nil }},
		{"local", func(t *testing.T) storage.Engine {
			e, err := local.Open(t.TempDir(), local.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { e.Close() })
			return e
		}},
		{"jetstream", func(t *testing.T) storage.Engine {
			e, err := jetstream.Open(context.Background(), jetstream.Options{Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { e.Close() })
			return e
		}},
	}
	for _, e := range engines {
		for _, h2 := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/http2=%v", e.name, h2), func(t *testing.T) {
				checkPooledBuffers(t, Start(t, Options{Engine: e.open(t), HTTP2: h2}))
			})
		}
	}
}

func checkPooledBuffers(t *testing.T, client *kinesis.Client) {
	ctx := context.Background()
	const (
		writers = 6
		calls   = 20
		batch   = 100
	)
	name := aws.String("pooled")
	if _, err := client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: name, ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	// Each record's data is its key repeated to a length that differs
	// from call to call, so that bodies and answers of all sizes share
	// the pools.
	dataOf := func(key string, n int) []byte {
		var b []byte
		for len(b) < n {
			b = append(b, key...)
			b = append(b, '|')
		}
		return b[:n]
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for c := range calls {
				entries := make([]types.PutRecordsRequestEntry, batch)
				for i := range entries {
					key := fmt.Sprintf("w%d-c%d-r%d", w, c, i)
					entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(key), Data: dataOf(key, 20+(w*calls+c)*7%900)}
				}
				out, err := client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: name, Records: entries})
				if err != nil {
					t.Error(err)
					return
				}
				if aws.ToInt32(out.FailedRecordCount) != 0 {
					t.Errorf("PutRecords: %d failed", aws.ToInt32(out.FailedRecordCount))
					return
				}
			}
		})
	}
	// Readers poll while the writers write, so that GetRecords answers
	// and PutRecords bodies take buffers from the same pools. Pages of
	// two sizes: a small one, and one large enough for the read path's
	// pooled record slices. Every read of a record must show the same
	// sequence number, and numbers must increase along a shard: the
	// numbers' text is lent from a pool too.
	seqOf := map[string]string{}
	var seqMu sync.Mutex
	limit := int32(137)
	read := func(check bool) int {
		shards, err := client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: name})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, s := range shards.Shards {
			it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: name, ShardId: s.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
			if err != nil {
				t.Fatal(err)
			}
			iter := it.ShardIterator
			limit = 137 + 2000 - limit // 137, 2000, 137...
			last := ""
			for {
				out, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(limit)})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range out.Records {
					key := aws.ToString(r.PartitionKey)
					if want := dataOf(key, len(r.Data)); check && string(r.Data) != string(want) {
						t.Fatalf("record %s read back as %.60q, want %.60q", key, r.Data, want)
					}
					seq := aws.ToString(r.SequenceNumber)
					if len(seq) < len(last) || len(seq) == len(last) && seq <= last {
						t.Fatalf("record %s has sequence number %s, not after the one before it, %s", key, seq, last)
					}
					last = seq
					seqMu.Lock()
					first, seen := seqOf[key]
					if !seen {
						seqOf[key] = seq
					}
					seqMu.Unlock()
					if seen && first != seq {
						t.Fatalf("record %s read with sequence number %s, earlier with %s", key, seq, first)
					}
				}
				n += len(out.Records)
				if len(out.Records) == 0 || aws.ToInt64(out.MillisBehindLatest) == 0 && len(out.Records) < int(limit) {
					break
				}
				iter = out.NextShardIterator
			}
		}
		return n
	}
	done := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
				read(true)
			}
		}
	})
	wg.Wait()
	close(done)
	readers.Wait()
	if got, want := read(true), writers*calls*batch; got != want {
		t.Fatalf("read %d records back, want %d", got, want)
	}
}
