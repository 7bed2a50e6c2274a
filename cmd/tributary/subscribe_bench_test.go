package main

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/tributary-io/tributary/stream"
)

// BenchmarkSubscribeLatency measures, on loopback, the time from the start
// of a PutRecord to the record's arrival at a SubscribeToShard subscriber
// (HTTP/2, as the SDKs subscribe), one record at a time, and reports its
// median and 99th percentile. With local storage the put includes its
// fsync (--sync always), and so does the jetstream engine's.
//
//	go test ./cmd/tributary -run '^$' -bench SubscribeLatency -benchtime 2000x
func BenchmarkSubscribeLatency(b *testing.B) {
	for _, storage := range []string{storageMemory, storageLocal, storageJetStream} {
		b.Run(storage, func(b *testing.B) {
			benchSubscribeLatency(b, storage)
		})
	}
}

func benchSubscribeLatency(b *testing.B, storage string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := startBenchServer(b, storage)
	c := newClient(addr, transports[1].client())
	if _, err := c.CreateStream(ctx, &sdk.CreateStreamInput{StreamName: aws.String("bench"), ShardCount: aws.Int32(1)}); err != nil {
		b.Fatal(err)
	}
	reg, err := c.RegisterStreamConsumer(ctx, &sdk.RegisterStreamConsumerInput{StreamARN: aws.String(streamARN("bench")), ConsumerName: aws.String("bench")})
	if err != nil {
		b.Fatal(err)
	}
	out, err := c.SubscribeToShard(ctx, &sdk.SubscribeToShardInput{
		ConsumerARN: reg.Consumer.ConsumerARN, ShardId: aws.String("shardId-000000000000"),
		StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeLatest},
	})
	if err != nil {
		b.Fatal(err)
	}
	es := out.GetStream()
	defer es.Close()
	arrived := make(chan string, 16)
	go func() {
		defer close(arrived)
		for ev := range es.Events() {
			if v, ok := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent); ok {
				for _, r := range v.Value.Records {
					arrived <- string(r.Data)
				}
			}
		}
	}()

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		want := strconv.Itoa(i)
		start := time.Now()
		if _, err := c.PutRecord(ctx, &sdk.PutRecordInput{StreamName: aws.String("bench"), PartitionKey: aws.String("k"), Data: []byte(want)}); err != nil {
			b.Fatal(err)
		}
		got, ok := <-arrived
		if !ok {
			b.Fatalf("stream ended: %v", es.Err())
		}
		if got != want {
			b.Fatalf("received %q, want %q", got, want)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	ms := func(q float64) float64 {
		return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(ms(0.50), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
}

// startBenchServer runs a server for a benchmark, without throttling.
func startBenchServer(b *testing.B, storage string) string {
	addr, _, _ := runTestServer(b, nil, func(cfg *serveConfig) {
		cfg.Storage = storage
		cfg.Limits = stream.LimitsOff
		cfg.LogLevel = slog.LevelInfo // per-request debug lines would be measured too
	})
	return addr
}
