package producer

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// TestMetrics runs 1,000 records through a server failing 30 % of the
// entries and checks the KPL-named metrics against what happened.
func TestMetrics(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg)
	kc := newFaultyTributary(t, 0.3, 4)
	p, err := New(ctx, Config{Stream: "s", Client: kc, RetryDelay: time.Millisecond, Linger: time.Millisecond, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	for i := range n {
		if _, err := p.Put(ctx, Record{PartitionKey: fmt.Sprint("k", i%50), Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		// Twenty rounds of aggregates, some 80 entries: enough that the
		// fault rule fails some (with one round of 4, none failed 1 run
		// in 20).
		if i%50 == 49 {
			if err := p.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(m.userRecordsReceived); got != n {
		t.Errorf("UserRecordsReceived %v, want %d", got, n)
	}
	if got := testutil.ToFloat64(m.userRecordsPending); got != 0 {
		t.Errorf("UserRecordsPending %v after Close, want 0", got)
	}
	if got := sum(t, reg, "kpl_user_records_put_total"); got != n {
		t.Errorf("UserRecordsPut %v, want %d", got, n)
	}
	kinesis := sum(t, reg, "kpl_kinesis_records_put_total")
	if kinesis < 4 || kinesis >= n {
		t.Errorf("KinesisRecordsPut %v, want aggregates: at least one per shard, fewer than the %d records", kinesis, n)
	}
	errs := testutil.ToFloat64(m.allErrors.WithLabelValues("s"))
	if byCode := testutil.ToFloat64(m.errorsByCode.WithLabelValues("s", "InternalFailure")); errs == 0 || byCode != errs {
		t.Errorf("AllErrors %v, ErrorsByCode{InternalFailure} %v: want equal and above 0", errs, byCode)
	}
	for _, name := range []string{"kpl_retries_per_record", "kpl_buffering_time_seconds"} {
		if got := histogramCount(t, reg, name); got != n {
			t.Errorf("%s counted %d records, want %d", name, got, n)
		}
	}
	if got := histogramCount(t, reg, "kpl_request_time_seconds"); got == 0 || float64(got) < kinesis/4 {
		t.Errorf("RequestTime counted %d requests for %v Kinesis records", got, kinesis)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
}

func families(t *testing.T, reg *prometheus.Registry, name string) *dto.MetricFamily {
	t.Helper()
	fs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.GetName() == name {
			return f
		}
	}
	t.Fatalf("no metric %s", name)
	return nil
}

func sum(t *testing.T, reg *prometheus.Registry, name string) float64 {
	total := 0.0
	for _, m := range families(t, reg, name).GetMetric() {
		total += m.GetCounter().GetValue()
	}
	return total
}

func histogramCount(t *testing.T, reg *prometheus.Registry, name string) uint64 {
	var total uint64
	for _, m := range families(t, reg, name).GetMetric() {
		total += m.GetHistogram().GetSampleCount()
	}
	return total
}
