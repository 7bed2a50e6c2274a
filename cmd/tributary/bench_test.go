package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/tributary-io/tributary/stream"
)

func TestBenchUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStatus int
		wantStdout string // substring; "" means empty
		wantStderr string // substring; "" means empty
	}{
		{name: "--help", args: []string{"bench", "--help"}, wantStdout: "Usage: tributary bench --endpoint url [flags]"},
		{name: "-h", args: []string{"bench", "-h"}, wantStdout: "Usage: tributary bench"},
		{name: "help bench", args: []string{"help", "bench"}, wantStdout: "Usage: tributary bench"},
		{name: "listed in the commands", args: []string{"help"}, wantStdout: "  bench     Measure"},
		{name: "no endpoint", args: []string{"bench"}, wantStatus: 2, wantStderr: "tributary bench: --endpoint is required"},
		{name: "endpoint not a URL", args: []string{"bench", "--endpoint", "localhost:4567"}, wantStatus: 2, wantStderr: "must be an http or https URL"},
		{name: "unknown workload", args: []string{"bench", "--endpoint", "http://x", "--workload", "bogus"}, wantStatus: 2, wantStderr: "must be one of all, ingest, drain, latency, shards, soak"},
		{name: "unknown workload in a list", args: []string{"bench", "--endpoint", "http://x", "--workload", "ingest,bogus"}, wantStatus: 2, wantStderr: "or several separated by commas"},
		{name: "zero producer rate limit", args: []string{"bench", "--endpoint", "http://x", "--workload", "producer", "--producer-rate-limit", "0"}, wantStatus: 2, wantStderr: "must be a number above 0"},
		{name: "zero soak duration", args: []string{"bench", "--endpoint", "http://x", "--workload", "soak", "--duration", "0s"}, wantStatus: 2, wantStderr: "must be positive"},
		{name: "soak rate too low", args: []string{"bench", "--endpoint", "http://x", "--workload", "soak", "--soak-rate", "5"}, wantStatus: 2, wantStderr: "must be at least 10"},
		{name: "bad record size", args: []string{"bench", "--endpoint", "http://x", "--record-sizes", "100,0"}, wantStatus: 2, wantStderr: "size \"0\" must be"},
		{name: "zero latency rate", args: []string{"bench", "--endpoint", "http://x", "--latency-rate", "0"}, wantStatus: 2, wantStderr: "must be at least 1"},
		{name: "http2 is a switch", args: []string{"bench", "--endpoint", "http://x", "--http2", "--latency-rate", "0"}, wantStatus: 2, wantStderr: "-latency-rate: must be at least 1"},
		{name: "zero producers", args: []string{"bench", "--endpoint", "http://x", "--producers", "0"}, wantStatus: 2, wantStderr: "must be at least 1"},
		{name: "zero duration", args: []string{"bench", "--endpoint", "http://x", "--ingest-duration", "0s"}, wantStatus: 2, wantStderr: "must be positive"},
		{name: "bad stream prefix", args: []string{"bench", "--endpoint", "http://x", "--stream-prefix", "a/b"}, wantStatus: 2, wantStderr: "may only have"},
		{name: "unexpected argument", args: []string{"bench", "--endpoint", "http://x", "extra"}, wantStatus: 2, wantStderr: "unexpected argument \"extra\""},
		{name: "cluster-faults in the help", args: []string{"bench", "--help"}, wantStdout: "tributary bench --workload cluster-faults [--duration d] [--seed n] [--nodes n]"},
		{name: "cluster-faults takes no endpoint", args: []string{"bench", "--endpoint", "http://x", "--workload", "cluster-faults"}, wantStatus: 2, wantStderr: "tributary bench: the cluster-faults workload starts its own cluster: it takes no --endpoint\n"},
		{name: "cluster-faults runs alone", args: []string{"bench", "--workload", "soak,cluster-faults"}, wantStatus: 2, wantStderr: "the cluster-faults workload runs alone"},
		{name: "cluster-faults on too few nodes", args: []string{"bench", "--workload", "cluster-faults", "--nodes", "2"}, wantStatus: 2, wantStderr: "-nodes: must be at least 3"},
		{name: "cluster-faults on too many nodes", args: []string{"bench", "--workload", "cluster-faults", "--nodes", "10"}, wantStatus: 2, wantStderr: "--nodes must be from 3 to 9"},
		{name: "seed zero", args: []string{"bench", "--workload", "cluster-faults", "--seed", "0"}, wantStatus: 2, wantStderr: "-seed: must be a whole number above 0"},
		{name: "unknown fault", args: []string{"bench", "--workload", "cluster-faults", "--faults", "kill,flood"}, wantStatus: 2, wantStderr: "\"flood\" is not a fault"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := runMain(context.Background(), tt.args, nil, &stdout, &stderr, env(nil))
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d; stderr:\n%s", status, tt.wantStatus, stderr.String())
			}
			check := func(name, got, want string) {
				if want == "" && got != "" || !strings.Contains(got, want) {
					t.Errorf("%s = %q, want it to contain %q", name, got, want)
				}
			}
			check("stdout", stdout.String(), tt.wantStdout)
			check("stderr", stderr.String(), tt.wantStderr)
		})
	}
}

// TestBenchUsageDocumentsEveryFlag guards the promise that --help explains
// every flag, with its default.
func TestBenchUsageDocumentsEveryFlag(t *testing.T) {
	help := benchUsage()
	for _, o := range benchOptions() {
		if !strings.Contains(help, "  "+o.synopsis()+"\n") {
			t.Errorf("help does not document --%s", o.flag)
		}
	}
	if n, want := strings.Count(help, "Default: "), len(benchOptions()); n != want {
		t.Errorf("help has %d defaults, want %d", n, want)
	}
}

func TestBenchUnreachableEndpoint(t *testing.T) {
	// A port that was free a moment ago: connections to it are refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	var stdout, stderr bytes.Buffer
	status := runMain(context.Background(), []string{"bench", "--endpoint", "http://" + addr, "--workload", "latency", "--create-timeout", "2s"}, nil, &stdout, &stderr, env(nil))
	if status != 1 {
		t.Errorf("status = %d, want 1; stderr:\n%s", status, stderr.String())
	}
	if !strings.Contains(stderr.String(), "tributary bench: latency: creating stream") {
		t.Errorf("stderr = %q, want the failed workload", stderr.String())
	}
}

// TestBenchAllWorkloads runs every workload once, small, against the real
// server, and checks the JSON the way a script would: by field name.
func TestBenchAllWorkloads(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and runs for a few seconds")
	}
	// Limits off: benchmarks measure the server, not AWS's quotas (issue 4).
	client, _ := startServerLimits(t, t.TempDir(), stream.LimitsOff)
	endpoint := aws.ToString(client.Options().BaseEndpoint)
	jsonPath := filepath.Join(t.TempDir(), "result.json")

	var stdout, stderr bytes.Buffer
	status := runMain(context.Background(), []string{
		"bench",
		"--endpoint", endpoint,
		"--json", jsonPath,
		// The server runs in this process, so its RSS is ours.
		"--pid", strconv.Itoa(os.Getpid()),
		"--producers", "2",
		"--shards", "2",
		"--record-sizes", "100",
		"--ingest-duration", "1s",
		"--drain-records", "2000",
		"--latency-samples", "20",
		"--many-shards", "16",
		"--many-shards-duration", "1s",
		"--create-timeout", "10s",
	}, nil, &stdout, &stderr, env(nil))
	if status != 0 {
		t.Fatalf("status = %d, want 0; stderr:\n%s", status, stderr.String())
	}
	if !strings.Contains(stdout.String(), "workload") || !strings.Contains(stdout.String(), "ingest") {
		t.Errorf("stdout has no summary table:\n%s", stdout.String())
	}
	for _, want := range []string{"latency GetRecords", "latency SubscribeToShard", "p99.9 ms", "1ms after an empty answer"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("summary has no %q:\n%s", want, stdout.String())
		}
	}
	if !strings.Contains(stderr.String(), "rec/s") {
		t.Errorf("stderr has no progress line:\n%s", stderr.String())
	}

	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var result struct {
		Endpoint  string           `json:"endpoint"`
		Started   string           `json:"started"`
		GoVersion string           `json:"go_version"`
		Workloads []map[string]any `json:"workloads"`
	}
	if err := json.Unmarshal(data, &result); err != nil {
		t.Fatalf("result is not JSON: %v\n%s", err, data)
	}
	if result.Endpoint != endpoint || result.Started == "" || !strings.HasPrefix(result.GoVersion, "go") {
		t.Errorf("endpoint, started, go_version = %q, %q, %q", result.Endpoint, result.Started, result.GoVersion)
	}

	// The latency workload has a result for each read path.
	byName := map[string]map[string]any{}
	for _, w := range result.Workloads {
		name, _ := w["name"].(string)
		if path, ok := w["path"].(string); ok {
			name += "/" + path
		}
		byName[name] = w
	}
	tests := []struct {
		name        string
		wantLatency bool
		wantMB      bool
	}{
		{"ingest", true, true},
		{"drain", false, true},
		{"latency/GetRecords", true, false},
		{"latency/SubscribeToShard", true, false},
		{"shards", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, ok := byName[tt.name]
			if !ok {
				t.Fatalf("no %s workload in\n%s", tt.name, data)
			}
			num := func(field string) float64 {
				t.Helper()
				v, ok := w[field].(float64)
				if !ok {
					t.Fatalf("%s is %v (%T), want a number", field, w[field], w[field])
				}
				return v
			}
			if n := num("records"); n <= 0 {
				t.Errorf("records = %v, want > 0", n)
			}
			if n := num("failed_records"); n != 0 {
				t.Errorf("failed_records = %v, want 0", n)
			}
			if n := num("records_per_sec"); n <= 0 {
				t.Errorf("records_per_sec = %v, want > 0", n)
			}
			if n := num("duration_s"); n <= 0 {
				t.Errorf("duration_s = %v, want > 0", n)
			}
			if e, ok := w["error"]; ok {
				t.Errorf("error = %v, want none", e)
			}
			num("retried_calls")
			num("calls")
			num("bytes")
			if n := num("rss_start_bytes"); n <= 0 {
				t.Errorf("rss_start_bytes = %v, want > 0", n)
			}
			if n := num("rss_end_bytes"); n <= 0 {
				t.Errorf("rss_end_bytes = %v, want > 0", n)
			}
			if _, ok := w["mb_per_sec"]; ok != tt.wantMB {
				t.Errorf("mb_per_sec present = %v, want %v", ok, tt.wantMB)
			}
			lat, ok := w["latency_ms"].(map[string]any)
			if ok != tt.wantLatency {
				t.Fatalf("latency_ms = %v, want present %v", w["latency_ms"], tt.wantLatency)
			}
			if ok {
				p50, p99, p999, pmax := lat["p50"].(float64), lat["p99"].(float64), lat["p99_9"].(float64), lat["max"].(float64)
				if !(0 < p50 && p50 <= p99 && p99 <= p999 && p999 <= pmax) {
					t.Errorf("latency_ms p50, p99, p99_9, max = %v, %v, %v, %v, want 0 < p50 <= p99 <= p99_9 <= max", p50, p99, p999, pmax)
				}
			}
		})
	}
	if n := byName["drain"]["records"]; n != 2000.0 {
		t.Errorf("drain records = %v, want 2000", n)
	}
	for _, path := range []string{"GetRecords", "SubscribeToShard"} {
		w := byName["latency/"+path]
		if n := w["records"]; n != 20.0 {
			t.Errorf("latency %s records = %v, want 20", path, n)
		}
		if n, _ := w["read_calls"].(float64); n < 1 {
			t.Errorf("latency %s read_calls = %v, want at least 1", path, w["read_calls"])
		}
		if n := w["offered_rate"]; n != 1000.0 {
			t.Errorf("latency %s offered_rate = %v, want 1000", path, n)
		}
	}
	if n := byName["latency/GetRecords"]["poll_interval_ms"]; n != 1.0 {
		t.Errorf("latency GetRecords poll_interval_ms = %v, want 1", n)
	}
	if n := byName["shards"]["shards"]; n != 16.0 {
		t.Errorf("shards shards = %v, want 16", n)
	}

	// Every stream the benchmark made is gone or going.
	out, err := client.ListStreams(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range out.StreamSummaries {
		if s.StreamStatus != "DELETING" {
			t.Errorf("stream %s left %s", aws.ToString(s.StreamName), s.StreamStatus)
		}
	}
}
