package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tributary-io/tributary/internal/inproc"
	"github.com/tributary-io/tributary/stream"
)

// TestSDKMetrics drives the Kinesis metrics end to end: aws-sdk-go-v2
// over HTTP/2 against the real HTTP server, the api and the domain, and
// the registry they fill.
func TestSDKMetrics(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reg := prometheus.NewRegistry()
	// The reaper forgets a deleted stream's series again after requests
	// that were under way brought some back (stream/metrics.go, Lifetime).
	c := inproc.Start(t, inproc.Options{HTTP2: true, Stream: stream.Options{Metrics: reg, ReapInterval: 20 * time.Millisecond}})
	if _, err := c.CreateStream(ctx, &sdk.CreateStreamInput{StreamName: aws.String("m"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	arn := aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/m")
	if _, err := c.EnableEnhancedMonitoring(ctx, &sdk.EnableEnhancedMonitoringInput{StreamARN: arn, ShardLevelMetrics: []types.MetricsName{types.MetricsNameAll}}); err != nil {
		t.Fatal(err)
	}
	var entries []types.PutRecordsRequestEntry
	for _, d := range []string{"a", "bb", "ccc"} {
		entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String("k"), Data: []byte(d)})
	}
	if _, err := c.PutRecords(ctx, &sdk.PutRecordsInput{StreamARN: arn, Records: entries}); err != nil {
		t.Fatal(err)
	}
	it, err := c.GetShardIterator(ctx, &sdk.GetShardIteratorInput{StreamARN: arn, ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := c.GetRecords(ctx, &sdk.GetRecordsInput{ShardIterator: it.ShardIterator}); err != nil || len(out.Records) != 3 {
		t.Fatalf("GetRecords: %v records, %v", len(out.Records), err)
	}
	consumer, err := c.RegisterStreamConsumer(ctx, &sdk.RegisterStreamConsumerInput{StreamARN: arn, ConsumerName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := c.SubscribeToShard(ctx, &sdk.SubscribeToShardInput{ConsumerARN: consumer.Consumer.ConsumerARN, ShardId: aws.String("shardId-000000000000"),
		StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon}})
	if err != nil {
		t.Fatal(err)
	}
	es := sub.GetStream()
	ev, ok := <-es.Events()
	if e, isEvent := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent); !ok || !isEvent || len(e.Value.Records) != 3 {
		t.Fatalf("first event %#v (open %v), want the 3 records", ev, ok)
	}
	es.Close()

	want := []struct {
		name  string
		value float64
	}{
		{"kinesis_incoming_records_total", 3},
		{"kinesis_incoming_bytes_total", 9}, // "k" and the data: 2+3+4
		{"kinesis_put_records_success_total", 1},
		{"kinesis_put_records_total_records_total", 3},
		{"kinesis_get_records_records_total", 3},
		{"kinesis_get_records_bytes_total", 9},
		{"kinesis_subscribe_to_shard_success_total", 1},
		{"kinesis_subscribe_to_shard_event_records_total", 1 * 3},
		{"kinesis_shard_incoming_records_total", 3},
		{"kinesis_shard_outgoing_records_total", 6}, // GetRecords and the event
	}
	got := gatherValues(t, reg)
	for _, w := range want {
		if got[w.name] != w.value {
			t.Errorf("%s = %v, want %v", w.name, got[w.name], w.value)
		}
	}

	if _, err := c.DeleteStream(ctx, &sdk.DeleteStreamInput{StreamARN: arn, EnforceConsumerDeletion: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	// The subscription's server side may still record its last event as
	// the stream goes: the series are gone once the reaper has run.
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := testutil.GatherAndCount(reg)
		if err == nil && n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d series 10 s after DeleteStream (%v), want 0", n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// gatherValues sums each metric's counter and gauge values over its
// series (the test has one stream, consumer and shard).
func gatherValues(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]float64)
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			out[mf.GetName()] += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return out
}
