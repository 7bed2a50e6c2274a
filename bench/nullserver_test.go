package bench

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The null server must serve every workload compare.sh runs against it,
// and give back what was written: drain and latency read their records
// through it. It does not serve SubscribeToShard, so the latency
// workload's second path fails against it, and only that path.
func TestNullServerServesTheWorkloads(t *testing.T) {
	srv := httptest.NewServer(NewNullServer())
	defer srv.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKID")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	opts := DefaultOptions()
	opts.Endpoint = srv.URL
	opts.Workload = "ingest,drain,latency,shards"
	opts.IngestDuration = 300 * time.Millisecond
	opts.RecordSizes = []int{100}
	opts.DrainRecords = 3000
	opts.LatencySamples = 20
	opts.ManyShards = 16
	opts.ManyShardsDuration = 300 * time.Millisecond
	opts.JSONPath = filepath.Join(t.TempDir(), "result.json")
	err := Run(context.Background(), opts, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "RegisterStreamConsumer") {
		t.Fatalf("Run: %v, want the SubscribeToShard path's RegisterStreamConsumer to fail", err)
	}
	b, err := os.ReadFile(opts.JSONPath)
	if err != nil {
		t.Fatal(err)
	}
	var result Result
	if err := json.Unmarshal(b, &result); err != nil {
		t.Fatal(err)
	}
	got := map[string]WorkloadResult{}
	for _, w := range result.Workloads {
		if w.Path == PathSubscribeToShard {
			if w.Error == "" {
				t.Errorf("SubscribeToShard path without an error: %+v", w)
			}
			continue
		}
		got[w.Name] = w
	}
	for _, name := range []string{"ingest", "drain", "latency", "shards"} {
		w, ok := got[name]
		if !ok || w.Records == 0 || w.FailedRecords != 0 {
			t.Errorf("%s: %+v", name, w)
		}
	}
	if w := got["drain"]; w.Records != 3000 {
		t.Errorf("drain read %d records, want 3000", w.Records)
	}
	if w := got["drain"]; w.Bytes != 3000*100 {
		t.Errorf("drain read %d bytes, want %d", w.Bytes, 3000*100)
	}
}

func TestNullSequenceRoundTrips(t *testing.T) {
	for _, c := range []struct{ shard, index int }{{0, 0}, {3, 1}, {255, 123456789}} {
		seq := nullSequence(c.shard, c.index)
		if len(seq) != 56 {
			t.Errorf("%q: %d digits, want 56 as Kinesis's", seq, len(seq))
		}
		if n, ok := nullIndex(seq); !ok || n != c.index {
			t.Errorf("nullIndex(%q) = %d, %v; want %d", seq, n, ok, c.index)
		}
	}
	if _, ok := nullIndex("12"); ok {
		t.Error("nullIndex accepted a short sequence number")
	}
}
