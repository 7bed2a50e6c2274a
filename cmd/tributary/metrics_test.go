package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tributary-io/tributary/internal/bgtask"
)

// scrape GETs url without any credentials and parses the answer, which
// must be 200 in Prometheus's text format.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	return scrapeWith(t, http.DefaultClient, url)
}

// scrapeWith is scrape through client.
func scrapeWith(t *testing.T, client *http.Client, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: parsing: %v", url, err)
	}
	return families
}

// value returns the series of families[name] with exactly labels: a
// counter's or gauge's value, a histogram's count; 0 when absent, and
// whether it was there.
func value(families map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	for _, m := range families[name].GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		match := true
		for _, lp := range m.GetLabel() {
			if labels[lp.GetName()] != lp.GetValue() {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// TestBackgroundCollector: the background task metrics are bgtask's
// counts as they are at the scrape, by component and task.
func TestBackgroundCollector(t *testing.T) {
	stats := map[string]map[string]bgtask.Stats{
		"engine":  {"checkpoint": {Runs: 7, LastSeconds: 0.25}},
		"service": {"reap": {Runs: 3, Failures: 2, Panics: 1, LastSeconds: 1.5}},
	}
	c := newBackgroundCollector(func() map[string]map[string]bgtask.Stats { return stats })
	want := `
# HELP tributary_background_task_failures_total Runs of a background task that failed, panics included; a failed task is retried at its next run.
# TYPE tributary_background_task_failures_total counter
tributary_background_task_failures_total{component="engine",task="checkpoint"} 0
tributary_background_task_failures_total{component="service",task="reap"} 2
# HELP tributary_background_task_last_duration_seconds How long the last run of a background task took.
# TYPE tributary_background_task_last_duration_seconds gauge
tributary_background_task_last_duration_seconds{component="engine",task="checkpoint"} 0.25
tributary_background_task_last_duration_seconds{component="service",task="reap"} 1.5
# HELP tributary_background_task_panics_total Runs of a background task that panicked: a bug, contained, logged with its stack at error level.
# TYPE tributary_background_task_panics_total counter
tributary_background_task_panics_total{component="engine",task="checkpoint"} 0
tributary_background_task_panics_total{component="service",task="reap"} 1
# HELP tributary_background_task_runs_total Runs of a background task (checkpoints, cleaning, the journal's group commits, reaping, resharding, scaling).
# TYPE tributary_background_task_runs_total counter
tributary_background_task_runs_total{component="engine",task="checkpoint"} 7
tributary_background_task_runs_total{component="service",task="reap"} 3
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	// Read at each scrape, not copied at registration.
	stats["engine"]["checkpoint"] = bgtask.Stats{Runs: 8}
	if err := testutil.CollectAndCompare(c, strings.NewReader(`
# HELP tributary_background_task_runs_total Runs of a background task (checkpoints, cleaning, the journal's group commits, reaping, resharding, scaling).
# TYPE tributary_background_task_runs_total counter
tributary_background_task_runs_total{component="engine",task="checkpoint"} 8
tributary_background_task_runs_total{component="service",task="reap"} 3
`), "tributary_background_task_runs_total"); err != nil {
		t.Error(err)
	}
}

// TestMetricsEndpoint: the real server serves /metrics on its port and
// on --metrics-listen, without a signature; requests, the storage's group
// commits and fsyncs, the journal's background runs and the stream's
// bytes move by what the calls made do, and the bytes go with the stream.
func TestMetricsEndpoint(t *testing.T) {
	addr, logs, stop := runTestServer(t, nil, func(c *serveConfig) {
		c.MetricsListen = "127.0.0.1:0"
		// No checkpoint to add fsyncs of its own; deletions reaped soon.
		c.CheckpointInterval = time.Hour
		c.ReapInterval = 10 * time.Millisecond
	})
	var metricsAddr, metricsURLs string
	for _, rec := range logs.records(t) {
		if msg, _ := rec["msg"].(string); strings.HasPrefix(msg, "listening on ") {
			metricsAddr, _ = rec["metrics_addr"].(string)
			metricsURLs, _ = rec["metrics"].(string)
		}
	}
	if metricsAddr == "" || metricsURLs != "http://"+addr+"/metrics http://"+metricsAddr+"/metrics" {
		t.Fatalf("listening line: metrics_addr %q, metrics %q", metricsAddr, metricsURLs)
	}
	main := "http://" + addr + "/metrics"

	mustRawCall(t, addr, "CreateStream", `{"StreamName":"s","ShardCount":1}`)
	before := scrape(t, main)
	for _, family := range []string{"process_open_fds", "go_goroutines", "go_memstats_heap_inuse_bytes",
		"tributary_http_connections_open", "tributary_http_body_budget_bytes", "tributary_storage_logs", "tributary_storage_open_files"} {
		if before[family] == nil {
			t.Errorf("no %s", family)
		}
	}
	const puts = 3
	for range puts {
		mustRawCall(t, addr, "PutRecord", `{"StreamName":"s","PartitionKey":"k","Data":"aGVsbG8="}`)
	}
	if status, body := rawCall(t, addr, "DescribeStream", `{"StreamName":"nope"}`); status != 400 || !strings.Contains(body, "ResourceNotFoundException") {
		t.Fatalf("DescribeStream of a missing stream: %d %s", status, body)
	}
	if status, _ := rawCall(t, addr, "BrewCoffee", `{}`); status != 400 {
		t.Fatalf("an unknown operation: %d", status)
	}
	var after map[string]*dto.MetricFamily
	delta := func(name string, labels map[string]string) float64 {
		a, _ := value(after, name, labels)
		b, _ := value(before, name, labels)
		return a - b
	}
	wants := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"tributary_requests_total", map[string]string{"operation": "PutRecord", "error": "none"}, puts},
		{"tributary_request_duration_seconds", map[string]string{"operation": "PutRecord"}, puts},
		{"tributary_requests_total", map[string]string{"operation": "DescribeStream", "error": "ResourceNotFoundException"}, 1},
		{"tributary_requests_total", map[string]string{"operation": "unknown", "error": "UnknownOperationException"}, 1},
		// Each put, alone, is a group commit of one record, fsynced,
		// and a run of the committer's task.
		{"tributary_storage_group_commit_records", nil, puts},
		{"tributary_storage_fsyncs_total", map[string]string{"file": "journal"}, puts},
		{"tributary_storage_fsync_duration_seconds", map[string]string{"file": "journal"}, puts},
		{"tributary_background_task_runs_total", map[string]string{"component": "engine", "task": "journal"}, puts},
	}
	// A count may move just after the client has its answer: the front
	// end counts a request once its answer is written, and a background
	// task its run once the run returns, after the waiters are released.
	// So scrape until every count has reached its value (or the deadline
	// passes), then check that none went past it.
	reached := func() bool {
		for _, tt := range wants {
			if delta(tt.name, tt.labels) < tt.want {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		after = scrape(t, main)
		if reached() || time.Now().After(deadline) {
			break
		}
	}
	for _, tt := range wants {
		if got := delta(tt.name, tt.labels); got != tt.want {
			t.Errorf("%s%v moved by %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}

	// The stream's bytes are all the storage's, and grew with the puts.
	stream := map[string]string{"account": testAccount, "region": "us-east-1", "stream": "s"}
	bytesBefore, _ := value(before, "tributary_stream_storage_bytes", stream)
	bytesAfter, ok := value(after, "tributary_stream_storage_bytes", stream)
	total, _ := value(after, "tributary_storage_bytes", nil)
	if !ok || bytesAfter <= bytesBefore || bytesAfter != total {
		t.Errorf("stream bytes %v (present %v), before the puts %v, storage bytes %v; want grown and equal to the storage's", bytesAfter, ok, bytesBefore, total)
	}

	// Deleted and reaped, the stream has no series, and its bytes are gone.
	mustRawCall(t, addr, "DeleteStream", `{"StreamName":"s"}`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		now := scrape(t, main)
		_, present := value(now, "tributary_stream_storage_bytes", stream)
		total, _ := value(now, "tributary_storage_bytes", nil)
		logs, _ := value(now, "tributary_storage_logs", nil)
		if !present && total == 0 && logs == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("10s after DeleteStream: stream series present %v, storage bytes %v, logs %v", present, total, logs)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The metrics port serves the same registry, and nothing else.
	own := scrape(t, "http://"+metricsAddr+"/metrics")
	if n, _ := value(own, "tributary_requests_total", map[string]string{"operation": "PutRecord", "error": "none"}); n != puts {
		t.Errorf("the metrics port reports %v PutRecords, want %d", n, puts)
	}
	for _, tt := range []struct {
		method, url string
		status      int
	}{
		{"POST", main, 405},
		{"DELETE", main, 405},
		{"HEAD", main, 200},
		{"POST", "http://" + metricsAddr + "/metrics", 405},
		{"GET", "http://" + metricsAddr + "/", 404},
		{"GET", "http://" + metricsAddr + "/health/ready", 404},
	} {
		req, _ := http.NewRequest(tt.method, tt.url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.url, resp.StatusCode, tt.status)
		}
	}

	// The metrics port stops with the server.
	stop()
	if c, err := net.Dial("tcp", metricsAddr); err == nil {
		c.Close()
		t.Error("the metrics port still accepts connections after the server stopped")
	}
}

// TestMetricsListenInUse: an address for metrics that cannot be listened
// on fails the start, naming it, and leaves nothing running.
func TestMetricsListenInUse(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := defaultServeConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.MetricsListen = taken.Addr().String()
	err = run(t.Context(), cfg, newLogger(io.Discard, 0, "json"))
	if err == nil || !strings.Contains(err.Error(), "listen for metrics on "+cfg.MetricsListen) {
		t.Fatalf("run: %v, want a failure to listen for metrics", err)
	}
	// The storage was closed: a new server can open the directory.
	engine, err := openEngine(t.Context(), cfg, nil, newLogger(io.Discard, 0, "json"), newRegistry())
	if err != nil {
		t.Fatalf("the data directory is still held: %v", err)
	}
	engine.Close()
}
