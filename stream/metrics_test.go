package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tributary-io/tributary/storage"
	"github.com/tributary-io/tributary/storage/mem"
)

// series gathers reg into one value per series, keyed
// name{label="value",...} with the labels in name order: a counter's or a
// gauge's value, a histogram's count (as name_count).
func series(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	out := make(map[string]float64)
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			name := mf.GetName()
			var v float64
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				v = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				v = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				name += "_count"
				v = float64(m.GetHistogram().GetSampleCount())
			}
			out[name+"{"+strings.Join(labels, ",")+"}"] = v
		}
	}
	return out
}

// wantSeries checks that every series of want has its value.
func wantSeries(t *testing.T, reg *prometheus.Registry, want map[string]float64) {
	t.Helper()
	got := series(t, reg)
	for k, v := range want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("%s absent, want %v", k, v)
		case g != v:
			t.Errorf("%s = %v, want %v", k, g, v)
		}
	}
}

// countSeries counts the series whose key starts with prefix.
func countSeries(t *testing.T, reg *prometheus.Registry, prefix string) int {
	t.Helper()
	n := 0
	for k := range series(t, reg) {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

const sLabels = `account="` + acct + `",region="us-east-1",stream="s"`

// shardLbl, consumerLbl and lagLbl are label sets of stream s, in the
// name order the registry gives them.
func shardLbl(i int) string {
	return fmt.Sprintf(`account="%s",region="us-east-1",shard="shardId-%012d",stream="s"`, acct, i)
}

const (
	consumerLbl = `account="` + acct + `",consumer="app",region="us-east-1",stream="s"`
	lagLbl      = `account="` + acct + `",consumer="app",region="us-east-1",shard="shardId-000000000000",stream="s"`
)

func newMetricsFixture(t *testing.T, opts Options) (*fixture, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts.Metrics = reg
	return newFixture(t, opts), reg
}

func TestMetricsOff(t *testing.T) {
	f := newFixture(t, Options{})
	if f.svc.metrics != nil {
		t.Fatal("metrics made without a registerer")
	}
	f.create(t, "s", 1)
	f.put(t, "s", "k", "v") // the nil hooks do nothing and do not panic
}

func TestPutRecordMetrics(t *testing.T) {
	f, reg := newMetricsFixture(t, Options{Limits: Limits{Profile: LimitsAWS, ShardWriteRecordsPerSec: 2}})
	f.create(t, "s", 1)
	f.put(t, "s", "k", "abc")   // 4 bytes with the key
	f.put(t, "s", "kk", "defg") // 6
	_, err := f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: StreamRef{Name: "s"}, PartitionKey: "k", Data: []byte("x")})
	wantErr(t, err, CodeThroughputExceeded, rateMsg("shardId-000000000000", "s"))
	// A call refused before it reaches a shard is timed but counts nothing else.
	_, err = f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: StreamRef{Name: "s"}, PartitionKey: "k", ExplicitHashKey: "-1", Data: []byte("x")})
	if err == nil {
		t.Fatal("PutRecord with a bad hash key succeeded")
	}
	wantSeries(t, reg, map[string]float64{
		"kinesis_incoming_bytes_total{" + sLabels + "}":                        10,
		"kinesis_incoming_records_total{" + sLabels + "}":                      2,
		"kinesis_put_record_bytes_total{" + sLabels + "}":                      10,
		"kinesis_put_record_success_total{" + sLabels + "}":                    2,
		"kinesis_write_provisioned_throughput_exceeded_total{" + sLabels + "}": 1,
		"kinesis_put_record_latency_milliseconds_count{" + sLabels + "}":       4,
		"kinesis_put_records_total_records_total{" + sLabels + "}":             0,
	})
	// No stream: no series is made for a name that names nothing.
	if _, err := f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: StreamRef{Name: "nope"}, PartitionKey: "k", Data: []byte("x")}); err == nil {
		t.Fatal("PutRecord to a missing stream succeeded")
	}
	if n := countSeries(t, reg, `kinesis_put_record_latency_milliseconds_count{account="`+acct+`",region="us-east-1",stream="nope"}`); n != 0 {
		t.Errorf("%d series for a missing stream", n)
	}
}

// failingEngine fails the appends of one log, for InternalFailure.
type failingEngine struct {
	*mem.Engine
	fail string // log name
}

type failingLog struct{ storage.ShardLog }

func (failingLog) Append(context.Context, []storage.Record) ([]storage.Appended, error) {
	return nil, errors.New("disk on fire")
}

func (e *failingEngine) Log(ctx context.Context, name string) (storage.ShardLog, error) {
	l, err := e.Engine.Log(ctx, name)
	if err == nil && name == e.fail {
		return failingLog{l}, nil
	}
	return l, err
}

func TestPutRecordsMetrics(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	engine := &failingEngine{Engine: mem.New(mem.Options{Now: clock.Now})}
	t.Cleanup(func() { engine.Close() })
	reg := prometheus.NewRegistry()
	svc, err := New(context.Background(), engine, Options{Now: clock.Now, Logger: quiet, Metrics: reg,
		CreateDelay: NoDelay, Limits: Limits{Profile: LimitsAWS, ShardWriteRecordsPerSec: 3}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	f := &fixture{svc: svc, clock: clock, ctx: context.Background()}
	f.create(t, "s", 2)
	engine.fail = logName(mustRecord(t, f, "s").ID, 1)
	enable(t, f, MetricAll)

	// Shard 0 (hash key 0) takes 3 of its 5 entries, 2 throttled; shard 1
	// (the top hash key) takes its 2, which its log fails.
	var in PutRecordsInput
	in.Stream = StreamRef{Name: "s"}
	for i := range 5 {
		in.Records = append(in.Records, PutRecordsEntry{PartitionKey: "k", ExplicitHashKey: "0", Data: []byte(fmt.Sprintf("r%d", i))})
	}
	top := "340282366920938463463374607431768211455"
	in.Records = append(in.Records,
		PutRecordsEntry{PartitionKey: "k", ExplicitHashKey: top, Data: []byte("a")},
		PutRecordsEntry{PartitionKey: "k", ExplicitHashKey: top, Data: []byte("b")})
	out, err := svc.PutRecords(f.ctx, scope, in)
	if err != nil {
		t.Fatal(err)
	}
	if out.FailedRecordCount != 4 {
		t.Fatalf("FailedRecordCount %d, want 4", out.FailedRecordCount)
	}
	// A second call whose entries all fail: a call, but no success. Shard
	// 1 has one record of its 3 a second left: one entry fails, one is
	// throttled.
	in.Records = in.Records[5:]
	if _, err := svc.PutRecords(f.ctx, scope, in); err != nil {
		t.Fatal(err)
	}
	// A call refused whole by validation (a record over the stream's
	// maximum size): timed, and no entry counted.
	big := PutRecordsInput{Stream: StreamRef{Name: "s"}, Records: []PutRecordsEntry{
		{PartitionKey: "k", Data: []byte("ok")},
		{PartitionKey: "k", Data: make([]byte, 1<<20)},
	}}
	if _, err := svc.PutRecords(f.ctx, scope, big); err == nil {
		t.Fatal("PutRecords with a record over 1 MiB succeeded")
	}
	wantSeries(t, reg, map[string]float64{
		"kinesis_incoming_bytes_total{" + sLabels + "}":                                  9, // "k"+"rN", 3 bytes each
		"kinesis_incoming_records_total{" + sLabels + "}":                                3,
		"kinesis_put_records_bytes_total{" + sLabels + "}":                               9,
		"kinesis_put_records_records_total{" + sLabels + "}":                             3,
		"kinesis_put_records_successful_records_total{" + sLabels + "}":                  3,
		"kinesis_put_records_failed_records_total{" + sLabels + "}":                      3,
		"kinesis_put_records_throttled_records_total{" + sLabels + "}":                   3,
		"kinesis_put_records_total_records_total{" + sLabels + "}":                       9,
		"kinesis_put_records_success_total{" + sLabels + "}":                             1,
		"kinesis_put_records_latency_milliseconds_count{" + sLabels + "}":                3,
		"kinesis_write_provisioned_throughput_exceeded_total{" + sLabels + "}":           3,
		"kinesis_shard_incoming_bytes_total{" + shardLbl(0) + "}":                        9,
		"kinesis_shard_incoming_records_total{" + shardLbl(0) + "}":                      3,
		"kinesis_shard_write_provisioned_throughput_exceeded_total{" + shardLbl(0) + "}": 2,
		"kinesis_shard_incoming_records_total{" + shardLbl(1) + "}":                      0,
		"kinesis_shard_write_provisioned_throughput_exceeded_total{" + shardLbl(1) + "}": 1,
	})
}

// enable turns on enhanced monitoring of stream s.
func enable(t *testing.T, f *fixture, metrics ...string) *EnhancedMonitoringOutput {
	t.Helper()
	out, err := f.svc.EnableEnhancedMonitoring(f.ctx, scope, EnhancedMonitoringInput{Stream: StreamRef{Name: "s"}, ShardLevelMetrics: metrics})
	if err != nil {
		t.Fatalf("EnableEnhancedMonitoring(%v): %v", metrics, err)
	}
	return out
}

func TestGetRecordsMetrics(t *testing.T) {
	f, reg := newMetricsFixture(t, Options{Limits: Limits{Profile: LimitsAWS, ShardReadCallsPerSec: 1}})
	f.create(t, "s", 2)
	enable(t, f, MetricOutgoingBytes, MetricOutgoingRecords, MetricIteratorAgeMilliseconds, MetricReadProvisionedThroughputExceeded)
	f.put(t, "s", "k", "abc")
	f.put(t, "s", "k", "de")
	shard := mustRecord(t, f, "s").route(partitionHash("k")).Index
	f.clock.Advance(3 * time.Second)
	it := f.iterator(t, GetShardIteratorInput{Stream: StreamRef{Name: "s"}, ShardID: shardID(shard), ShardIteratorType: TrimHorizon})
	out := f.get(t, it, 0)
	_, err := f.svc.GetRecords(f.ctx, scope, GetRecordsInput{ShardIterator: out.NextShardIterator})
	wantErr(t, err, CodeThroughputExceeded, rateMsg(shardID(shard), "s"))
	sl := shardLbl(int(shard))
	wantSeries(t, reg, map[string]float64{
		"kinesis_get_records_bytes_total{" + sLabels + "}":                     7,
		"kinesis_get_records_records_total{" + sLabels + "}":                   2,
		"kinesis_get_records_success_total{" + sLabels + "}":                   1,
		"kinesis_get_records_latency_milliseconds_count{" + sLabels + "}":      2,
		"kinesis_read_provisioned_throughput_exceeded_total{" + sLabels + "}":  1,
		"kinesis_get_records_iterator_age_milliseconds{" + sLabels + "}":       3000,
		"kinesis_shard_outgoing_bytes_total{" + sl + "}":                       7,
		"kinesis_shard_outgoing_records_total{" + sl + "}":                     2,
		"kinesis_shard_iterator_age_milliseconds{" + sl + "}":                  3000,
		"kinesis_shard_read_provisioned_throughput_exceeded_total{" + sl + "}": 1,
	})

	// At the tip the age is 0: the reader is caught up.
	f.clock.Advance(time.Second)
	f.get(t, out.NextShardIterator, 0)
	wantSeries(t, reg, map[string]float64{
		"kinesis_get_records_iterator_age_milliseconds{" + sLabels + "}": 0,
		"kinesis_shard_iterator_age_milliseconds{" + sl + "}":            0,
		"kinesis_get_records_success_total{" + sLabels + "}":             2,
	})
}

// TestShardLevelGating: the kinesis_shard_* series exist exactly for the
// metrics enhanced monitoring turned on, from the call on.
func TestShardLevelGating(t *testing.T) {
	f, reg := newMetricsFixture(t, Options{UpdateDelay: NoDelay})
	f.create(t, "s", 2)
	f.put(t, "s", "k", "v")
	if n := countSeries(t, reg, "kinesis_shard_"); n != 0 {
		t.Fatalf("%d shard-level series before EnableEnhancedMonitoring, want 0", n)
	}
	enable(t, f, MetricIncomingRecords)
	if n, m := countSeries(t, reg, "kinesis_shard_"), countSeries(t, reg, "kinesis_shard_incoming_records_total{"); n != 2 || m != 2 {
		t.Fatalf("after enabling IncomingRecords: %d shard-level series, %d of IncomingRecords; want 2 and 2", n, m)
	}
	f.put(t, "s", "k", "v")
	shard := int(mustRecord(t, f, "s").route(partitionHash("k")).Index)
	wantSeries(t, reg, map[string]float64{"kinesis_shard_incoming_records_total{" + shardLbl(shard) + "}": 1})

	enable(t, f, MetricAll)
	if n := countSeries(t, reg, "kinesis_shard_"); n != 14 {
		t.Fatalf("after ALL: %d shard-level series, want 7 metrics x 2 shards", n)
	}
	if _, err := f.svc.DisableEnhancedMonitoring(f.ctx, scope, EnhancedMonitoringInput{Stream: StreamRef{Name: "s"}, ShardLevelMetrics: []string{MetricIncomingRecords, MetricOutgoingBytes}}); err != nil {
		t.Fatal(err)
	}
	if n, m := countSeries(t, reg, "kinesis_shard_"), countSeries(t, reg, "kinesis_shard_incoming_records_total{"); n != 10 || m != 0 {
		t.Fatalf("after disabling two: %d shard-level series, %d of IncomingRecords; want 10 and 0", n, m)
	}
	f.put(t, "s", "k", "v") // a disabled metric does not come back with an event
	if m := countSeries(t, reg, "kinesis_shard_incoming_records_total{"); m != 0 {
		t.Fatalf("IncomingRecords came back after a put: %d series", m)
	}
	if _, err := f.svc.DisableEnhancedMonitoring(f.ctx, scope, EnhancedMonitoringInput{Stream: StreamRef{Name: "s"}, ShardLevelMetrics: []string{MetricAll}}); err != nil {
		t.Fatal(err)
	}
	if n := countSeries(t, reg, "kinesis_shard_"); n != 0 {
		t.Fatalf("after disabling ALL: %d shard-level series, want 0", n)
	}
}

// TestShardLevelAfterRestart: the set is in the catalogue, so a new
// Service over the same engine publishes the same shard-level metrics.
func TestShardLevelAfterRestart(t *testing.T) {
	f, _ := newMetricsFixture(t, Options{UpdateDelay: NoDelay})
	f.create(t, "s", 1)
	enable(t, f, MetricIncomingBytes)
	f.svc.Close()

	reg := prometheus.NewRegistry()
	svc, err := New(context.Background(), f.engine, Options{Now: f.clock.Now, Logger: quiet, Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	d, err := svc.DescribeStreamSummary(f.ctx, scope, StreamRef{Name: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.ShardLevelMetrics, []string{MetricIncomingBytes}) {
		t.Errorf("ShardLevelMetrics after restart %v, want [IncomingBytes]", d.ShardLevelMetrics)
	}
	if _, err := svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: StreamRef{Name: "s"}, PartitionKey: "k", Data: []byte("abc")}); err != nil {
		t.Fatal(err)
	}
	wantSeries(t, reg, map[string]float64{"kinesis_shard_incoming_bytes_total{" + shardLbl(0) + "}": 4})
	if n := countSeries(t, reg, "kinesis_shard_"); n != 1 {
		t.Errorf("%d shard-level series after restart, want 1 (IncomingBytes of shard 0)", n)
	}
}

func TestEnhancedMonitoring(t *testing.T) {
	f := newFixture(t, Options{UpdateDelay: 2 * time.Second})
	f.create(t, "s", 1)
	all := shardMetricNames[:]
	steps := []struct {
		advance          time.Duration // before the call
		enable           bool
		ref              StreamRef
		metrics          []string
		current, desired []string
		wantErr          string // the message of the error, if any
	}{
		{enable: true, ref: StreamRef{Name: "s"}, metrics: []string{MetricOutgoingBytes, MetricIncomingBytes},
			current: []string{}, desired: []string{MetricIncomingBytes, MetricOutgoingBytes}},
		// UPDATING for UpdateDelay: another change is refused.
		{enable: true, ref: StreamRef{Name: "s"}, metrics: []string{MetricAll},
			wantErr: "Stream s under account " + acct + " not ACTIVE, instead in state UPDATING"},
		{advance: 2 * time.Second, enable: true, ref: StreamRef{ARN: testStreamARN}, metrics: []string{MetricAll},
			current: []string{MetricIncomingBytes, MetricOutgoingBytes}, desired: all},
		{advance: 2 * time.Second, enable: false, ref: StreamRef{Name: "s"}, metrics: []string{MetricAll},
			current: all, desired: []string{}},
		// Nothing to change: the answer, and the stream stays ACTIVE.
		{advance: 2 * time.Second, enable: false, ref: StreamRef{Name: "s"}, metrics: []string{MetricIncomingBytes},
			current: []string{}, desired: []string{}},
		{enable: true, ref: StreamRef{Name: "nope"}, metrics: []string{MetricAll},
			wantErr: "Stream nope under account " + acct + " not found."},
	}
	for i, st := range steps {
		f.clock.Advance(st.advance)
		in := EnhancedMonitoringInput{Stream: st.ref, ShardLevelMetrics: st.metrics}
		var out *EnhancedMonitoringOutput
		var err error
		if st.enable {
			out, err = f.svc.EnableEnhancedMonitoring(f.ctx, scope, in)
		} else {
			out, err = f.svc.DisableEnhancedMonitoring(f.ctx, scope, in)
		}
		if st.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), st.wantErr) {
				t.Fatalf("step %d: err %v, want %q", i, err, st.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		want := EnhancedMonitoringOutput{StreamName: "s", StreamARN: testStreamARN, CurrentShardLevelMetrics: st.current, DesiredShardLevelMetrics: st.desired}
		if out.StreamName != want.StreamName || out.StreamARN != want.StreamARN ||
			!slices.Equal(out.CurrentShardLevelMetrics, want.CurrentShardLevelMetrics) || out.CurrentShardLevelMetrics == nil ||
			!slices.Equal(out.DesiredShardLevelMetrics, want.DesiredShardLevelMetrics) || out.DesiredShardLevelMetrics == nil {
			t.Fatalf("step %d: %+v, want %+v", i, out, want)
		}
		d, err := f.svc.DescribeStream(f.ctx, scope, DescribeStreamInput{Stream: StreamRef{Name: "s"}})
		if err != nil {
			t.Fatal(err)
		}
		wantStatus := StatusUpdating
		if slices.Equal(st.current, st.desired) {
			wantStatus = StatusActive
		}
		if !slices.Equal(d.ShardLevelMetrics, st.desired) || d.StreamStatus != wantStatus {
			t.Fatalf("step %d: DescribeStream shows %v %s, want %v %s", i, d.ShardLevelMetrics, d.StreamStatus, st.desired, wantStatus)
		}
	}
}

func TestDeleteStreamRemovesSeries(t *testing.T) {
	f, reg := newMetricsFixture(t, Options{UpdateDelay: NoDelay, DeleteDelay: NoDelay})
	f.create(t, "s", 1)
	f.create(t, "t", 1)
	enable(t, f, MetricAll)
	f.put(t, "s", "k", "v")
	f.put(t, "t", "k", "v")
	it := f.iterator(t, GetShardIteratorInput{Stream: StreamRef{Name: "s"}, ShardID: "shardId-000000000000", ShardIteratorType: TrimHorizon})
	f.get(t, it, 0)
	if n := countSeries(t, reg, ""); n == 0 {
		t.Fatal("no series before the deletion")
	}
	if err := f.svc.DeleteStream(f.ctx, scope, DeleteStreamInput{Stream: StreamRef{Name: "s"}}); err != nil {
		t.Fatal(err)
	}
	for k := range series(t, reg) {
		if strings.Contains(k, `stream="s"`) {
			t.Errorf("series %s left after DeleteStream", k)
		}
	}
	wantSeries(t, reg, map[string]float64{`kinesis_incoming_records_total{account="` + acct + `",region="us-east-1",stream="t"}`: 1})
}

func TestSubscribeToShardMetrics(t *testing.T) {
	f, reg := newMetricsFixture(t, Options{})
	f.create(t, "s", 1)
	enable(t, f, MetricOutgoingBytes, MetricOutgoingRecords)
	arn := f.register(t, "app").ConsumerARN
	f.clock.Advance(defaultDelay)
	f.put(t, "s", "k", "abc")
	f.clock.Advance(time.Second)
	f.put(t, "s", "k", "de")
	sub := f.subscribe(t, arn, "shardId-000000000000", StartingPosition{Type: TrimHorizon})
	_, err := f.svc.SubscribeToShard(f.ctx, scope, SubscribeToShardInput{ConsumerARN: arn, ShardID: "shardId-000000000000", StartingPosition: StartingPosition{Type: Latest}})
	wantErr(t, err, CodeInUse, "Another active subscription exists for this consumer: "+acct+":s:shardId-000000000000:app")
	if ev := next(t, sub); len(ev.Records) != 2 {
		t.Fatalf("event of %d records, want 2", len(ev.Records))
	}
	cl := consumerLbl
	wantSeries(t, reg, map[string]float64{
		"kinesis_subscribe_to_shard_success_total{" + cl + "}":              1,
		"kinesis_subscribe_to_shard_rate_exceeded_total{" + cl + "}":        1,
		"kinesis_subscribe_to_shard_event_bytes_total{" + cl + "}":          7,
		"kinesis_subscribe_to_shard_event_records_total{" + cl + "}":        2,
		"kinesis_subscribe_to_shard_event_success_total{" + cl + "}":        1,
		"kinesis_subscribe_to_shard_event_millis_behind_latest{" + cl + "}": 0,
		"kinesis_shard_outgoing_bytes_total{" + shardLbl(0) + "}":           7,
		"kinesis_shard_outgoing_records_total{" + shardLbl(0) + "}":         2,
	})
	if err := f.svc.DeregisterStreamConsumer(f.ctx, scope, ConsumerRef{ConsumerARN: arn}); err != nil {
		t.Fatal(err)
	}
	for k := range series(t, reg) {
		if strings.Contains(k, `consumer="app"`) {
			t.Errorf("series %s left after DeregisterStreamConsumer", k)
		}
	}
}

// TestConsumerLag: the lag grows with records put while the session does
// not read, and is back to zero once an event delivers them.
func TestConsumerLag(t *testing.T) {
	f, reg := newMetricsFixture(t, Options{})
	f.create(t, "s", 1)
	arn := f.register(t, "app").ConsumerARN
	f.clock.Advance(defaultDelay)
	f.put(t, "s", "k", "1")
	f.put(t, "s", "k", "2")
	sub := f.subscribe(t, arn, "shardId-000000000000", StartingPosition{Type: TrimHorizon})
	lag := lagLbl
	if n := countSeries(t, reg, "tributary_consumer_lag_"); n != 0 {
		t.Fatalf("%d lag series before the first event, want 0", n)
	}
	next(t, sub)
	wantSeries(t, reg, map[string]float64{
		"tributary_consumer_lag_records{" + lag + "}":      0,
		"tributary_consumer_lag_milliseconds{" + lag + "}": 0,
	})

	steps := []struct {
		advance time.Duration
		puts    int
		read    bool
		records float64
		millis  float64
	}{
		{advance: 2 * time.Second, puts: 3, records: 3, millis: 2000},
		{advance: time.Second, puts: 1, records: 4, millis: 3000},
		{read: true, records: 0, millis: 0},
		{advance: 500 * time.Millisecond, puts: 2, records: 2, millis: 500},
		{read: true, records: 0, millis: 0},
	}
	for i, st := range steps {
		f.clock.Advance(st.advance)
		for range st.puts {
			f.put(t, "s", "k", "x")
		}
		if st.read {
			next(t, sub)
		}
		got := series(t, reg)
		if r, m := got["tributary_consumer_lag_records{"+lag+"}"], got["tributary_consumer_lag_milliseconds{"+lag+"}"]; r != st.records || m != st.millis {
			t.Errorf("step %d: lag %v records, %v ms; want %v, %v", i, r, m, st.records, st.millis)
		}
	}

	sub.Close()
	if n := countSeries(t, reg, "tributary_consumer_lag_"); n != 0 {
		t.Errorf("%d lag series after the session ended, want 0", n)
	}
}

// TestMetricsConcurrent puts, reads, scrapes and toggles enhanced
// monitoring at once (run it with -race); the stream-level counts come
// out exact.
func TestMetricsConcurrent(t *testing.T) {
	f, reg := newMetricsFixture(t, Options{UpdateDelay: NoDelay})
	f.create(t, "s", 2)
	arn := f.register(t, "app").ConsumerARN
	f.clock.Advance(defaultDelay)
	sub := f.subscribe(t, arn, "shardId-000000000000", StartingPosition{Type: TrimHorizon})
	const writers, puts = 4, 50
	var writing, background sync.WaitGroup
	for w := range writers {
		writing.Add(1)
		go func() {
			defer writing.Done()
			for i := range puts {
				in := PutRecordsInput{Stream: StreamRef{Name: "s"}, Records: []PutRecordsEntry{
					{PartitionKey: fmt.Sprintf("a%d-%d", w, i), Data: []byte("x")},
					{PartitionKey: fmt.Sprintf("b%d-%d", w, i), Data: []byte("y")},
				}}
				if _, err := f.svc.PutRecords(f.ctx, scope, in); err != nil {
					t.Errorf("PutRecords: %v", err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	loop := func(fn func()) {
		background.Add(1)
		go func() {
			defer background.Done()
			for {
				select {
				case <-done:
					return
				default:
					fn()
				}
			}
		}()
	}
	loop(func() { series(t, reg) })
	loop(func() {
		in := EnhancedMonitoringInput{Stream: StreamRef{Name: "s"}, ShardLevelMetrics: []string{MetricAll}}
		if _, err := f.svc.EnableEnhancedMonitoring(f.ctx, scope, in); err != nil {
			t.Errorf("Enable: %v", err)
		}
		if _, err := f.svc.DisableEnhancedMonitoring(f.ctx, scope, in); err != nil {
			t.Errorf("Disable: %v", err)
		}
	})
	background.Add(1)
	go func() {
		defer background.Done()
		for {
			if _, err := sub.Next(); err != nil {
				return // ended below
			}
		}
	}()
	writing.Wait()
	close(done)
	sub.End(io.EOF)
	background.Wait()
	wantSeries(t, reg, map[string]float64{
		"kinesis_incoming_records_total{" + sLabels + "}":          2 * writers * puts,
		"kinesis_put_records_total_records_total{" + sLabels + "}": 2 * writers * puts,
		"kinesis_put_records_success_total{" + sLabels + "}":       writers * puts,
	})
}

// TestMetricsTwoRegions: streams of one name in two regions have series
// of their own, and deleting one leaves the other's.
func TestMetricsTwoRegions(t *testing.T) {
	f, reg := newMetricsFixture(t, Options{})
	eu := Scope{Account: acct, Region: "eu-west-1"}
	for _, sc := range []Scope{scope, eu} {
		if err := f.svc.CreateStream(f.ctx, sc, CreateStreamInput{StreamName: "s", ShardCount: ptr(1)}); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Advance(defaultDelay)
	for _, sc := range []Scope{scope, eu} {
		if _, err := f.svc.PutRecord(f.ctx, sc, PutRecordInput{Stream: StreamRef{Name: "s"}, PartitionKey: "k", Data: []byte("v")}); err != nil {
			t.Fatal(err)
		}
		it, err := f.svc.GetShardIterator(f.ctx, sc, GetShardIteratorInput{Stream: StreamRef{Name: "s"}, ShardID: "shardId-000000000000", ShardIteratorType: TrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.GetRecords(f.ctx, sc, GetRecordsInput{ShardIterator: it.ShardIterator}); err != nil {
			t.Fatal(err)
		}
	}
	euLabels := `account="` + acct + `",region="eu-west-1",stream="s"`
	wantSeries(t, reg, map[string]float64{ // series fails the test if Gather does
		"kinesis_incoming_records_total{" + sLabels + "}":                 1,
		"kinesis_incoming_records_total{" + euLabels + "}":                1,
		"kinesis_get_records_iterator_age_milliseconds{" + sLabels + "}":  0,
		"kinesis_get_records_iterator_age_milliseconds{" + euLabels + "}": 0,
	})
	if err := f.svc.DeleteStream(f.ctx, eu, DeleteStreamInput{Stream: StreamRef{Name: "s"}}); err != nil {
		t.Fatal(err)
	}
	if n := countSeries(t, reg, "kinesis_incoming_records_total{"+euLabels); n != 0 {
		t.Errorf("%d series of the deleted stream in eu-west-1 left", n)
	}
	wantSeries(t, reg, map[string]float64{"kinesis_incoming_records_total{" + sLabels + "}": 1})
}

// TestShardLevelAfterSplit: the children of a split get the stream's
// shard-level series with their first record; the closed parent keeps
// its own.
func TestShardLevelAfterSplit(t *testing.T) {
	f, reg := newMetricsFixture(t, Options{UpdateDelay: NoDelay})
	f.create(t, "s", 1)
	enable(t, f, MetricIncomingRecords)
	f.put(t, "s", "k", "before")
	if err := f.svc.SplitShard(f.ctx, scope, SplitShardInput{Stream: StreamRef{Name: "s"}, ShardToSplit: "shardId-000000000000", NewStartingHashKey: halfHash}); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"0", halfHash} {
		if _, err := f.svc.PutRecord(f.ctx, scope, PutRecordInput{Stream: StreamRef{Name: "s"}, PartitionKey: "k", ExplicitHashKey: h, Data: []byte("v")}); err != nil {
			t.Fatal(err)
		}
	}
	wantSeries(t, reg, map[string]float64{
		"kinesis_shard_incoming_records_total{" + shardLbl(0) + "}": 1,
		"kinesis_shard_incoming_records_total{" + shardLbl(1) + "}": 1,
		"kinesis_shard_incoming_records_total{" + shardLbl(2) + "}": 1,
		"kinesis_incoming_records_total{" + sLabels + "}":           3,
	})
}

// TestConsumerLagFarBehind: a session that starts further behind than
// one event carries does not know the count of records left until it
// reaches the tip; its lag is then the difference of positions, never
// less than the records left, and exact once it has caught up.
func TestConsumerLagFarBehind(t *testing.T) {
	f, reg := newMetricsFixture(t, Options{})
	f.create(t, "s", 1)
	arn := f.register(t, "app").ConsumerARN
	f.clock.Advance(defaultDelay)
	const batches = 21 // 10,500 records: one event takes 10,000
	for range batches {
		in := PutRecordsInput{Stream: StreamRef{Name: "s"}}
		for range 500 {
			in.Records = append(in.Records, PutRecordsEntry{PartitionKey: "k", Data: []byte("x")})
		}
		if _, err := f.svc.PutRecords(f.ctx, scope, in); err != nil {
			t.Fatal(err)
		}
	}
	sub := f.subscribe(t, arn, "shardId-000000000000", StartingPosition{Type: TrimHorizon})
	if ev := next(t, sub); len(ev.Records) != maxEventRecords {
		t.Fatalf("first event of %d records, want %d", len(ev.Records), maxEventRecords)
	}
	left := float64(batches*500 - maxEventRecords)
	if got := series(t, reg)["tributary_consumer_lag_records{"+lagLbl+"}"]; got < left {
		t.Errorf("lag %v records with %v left, want at least %v", got, left, left)
	}
	if ev := next(t, sub); float64(len(ev.Records)) != left {
		t.Fatalf("second event of %d records, want %v", len(ev.Records), left)
	}
	f.put(t, "s", "k", "y")
	wantSeries(t, reg, map[string]float64{"tributary_consumer_lag_records{" + lagLbl + "}": 1})
}
