package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/tributary-io/tributary/stream"
)

// TestBenchProducerWorkload runs ingest and the producer workload in one
// run, small, against the real server with its limits off, as the
// comparison in docs/benchmarks.md does, and checks that the producer's
// figures are there, that every record it put was stored, and that it
// aggregated (fewer Kinesis records than records); and that it wrote the
// CPU profile asked for.
func TestBenchProducerWorkload(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and runs for a few seconds")
	}
	client, _ := startServerLimits(t, t.TempDir(), stream.LimitsOff)
	endpoint := aws.ToString(client.Options().BaseEndpoint)
	dir := t.TempDir()
	jsonPath, profPath := filepath.Join(dir, "result.json"), filepath.Join(dir, "cpu.prof")

	var stdout, stderr bytes.Buffer
	status := runMain(context.Background(), []string{
		"bench",
		"--endpoint", endpoint,
		"--workload", "ingest,producer",
		"--json", jsonPath,
		"--cpuprofile", profPath,
		"--producers", "2",
		"--shards", "4",
		"--record-sizes", "100",
		"--ingest-duration", "1s",
		"--producer-rate-limit", "1000",
		"--create-timeout", "10s",
	}, nil, &stdout, &stderr, env(nil))
	if status != 0 {
		t.Fatalf("status = %d, want 0; stderr:\n%s", status, stderr.String())
	}
	if !strings.Contains(stderr.String(), "producer 100B: ") {
		t.Errorf("stderr has no progress line of the producer:\n%s", stderr.String())
	}
	if fi, err := os.Stat(profPath); err != nil || fi.Size() == 0 {
		t.Errorf("CPU profile: %v, %v", fi, err)
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var result struct {
		Workloads []struct {
			Name           string        `json:"name"`
			Records        int64         `json:"records"`
			KinesisRecords int64         `json:"kinesis_records"`
			Failed         int64         `json:"failed_records"`
			Calls          int64         `json:"calls"`
			RecordsPerSec  float64       `json:"records_per_sec"`
			Latency        *benchLatency `json:"latency_ms"`
			Error          string        `json:"error"`
		} `json:"workloads"`
	}
	if err := json.Unmarshal(data, &result); err != nil {
		t.Fatalf("result is not JSON: %v\n%s", err, data)
	}
	if len(result.Workloads) != 2 || result.Workloads[0].Name != "ingest" || result.Workloads[1].Name != "producer" {
		t.Fatalf("workloads in the result:\n%s\nwant ingest then producer", data)
	}
	p := result.Workloads[1]
	if p.Records <= 0 || p.RecordsPerSec <= 0 || p.Failed != 0 || p.Error != "" || p.Calls <= 0 || p.Latency == nil {
		t.Errorf("producer: %+v", p)
	}
	if p.KinesisRecords <= 0 || p.KinesisRecords*10 > p.Records {
		t.Errorf("producer: %d records in %d Kinesis records; want aggregates of more than 10", p.Records, p.KinesisRecords)
	}
}

// benchLatency is the JSON of a latency distribution.
type benchLatency struct {
	P50, P99, Max float64
}
