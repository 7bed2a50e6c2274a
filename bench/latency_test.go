package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/tributary-io/tributary/internal/inproc"
	"github.com/tributary-io/tributary/stream"
)

// TestLatencyWorkload runs the latency workload briefly against a real
// server in the process, over HTTP/1.1 and over HTTP/2, with
// subscriptions that the server ends every 50ms, so that the
// SubscribeToShard reader must renew its subscription several times to
// see every record.
func TestLatencyWorkload(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server and sends records for a second")
	}
	tests := []struct {
		name  string
		http2 bool
	}{
		{"http1", false},
		{"h2c", true},
	}
	const samples = 300
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := inproc.Start(t, inproc.Options{
				HTTP2:  tt.http2,
				Stream: stream.Options{SubscriptionLifetime: 50 * time.Millisecond},
			})
			opts := DefaultOptions()
			opts.Endpoint = aws.ToString(client.Options().BaseEndpoint)
			opts.HTTP2 = tt.http2
			opts.Workload = WorkloadLatency
			opts.JSONPath = "-"
			opts.LatencySamples = samples
			opts.LatencyRate = 1000
			opts.PollInterval = 2 * time.Millisecond
			opts.CreateTimeout = 10 * time.Second
			var stdout bytes.Buffer
			if err := Run(context.Background(), opts, &stdout, io.Discard); err != nil {
				t.Fatalf("Run: %v", err)
			}
			var r Result
			if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
				t.Fatalf("result is not JSON: %v\n%s", err, stdout.Bytes())
			}
			paths := map[string]WorkloadResult{}
			for _, w := range r.Workloads {
				if w.Name != WorkloadLatency {
					t.Errorf("workload %q, want only latency", w.Name)
				}
				paths[w.Path] = w
			}
			if len(paths) != 2 {
				t.Fatalf("paths %v, want GetRecords and SubscribeToShard", paths)
			}
			for _, path := range []string{PathGetRecords, PathSubscribeToShard} {
				w, ok := paths[path]
				if !ok {
					t.Errorf("no result for %s", path)
					continue
				}
				if w.Error != "" {
					t.Errorf("%s: error %q", path, w.Error)
				}
				// Every record acknowledged is read exactly once.
				if w.Records != samples || w.Calls != samples || w.FailedRecords != 0 {
					t.Errorf("%s: records %d, calls %d, failed %d, want %d, %d, 0", path, w.Records, w.Calls, w.FailedRecords, samples, samples)
				}
				if w.ReadCalls < 1 {
					t.Errorf("%s: read calls %d, want at least 1", path, w.ReadCalls)
				}
				if w.OfferedRate == nil || *w.OfferedRate != 1000 {
					t.Errorf("%s: offered rate %v, want 1000", path, w.OfferedRate)
				}
				if l := w.ReadAfterAnswerMS; l == nil || !(l.P50 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
					t.Errorf("%s: read after answer %+v, want ordered percentiles", path, l)
				}
				for name, l := range map[string]*Latency{"latency": w.LatencyMS, "put latency": w.PutLatencyMS} {
					if l == nil {
						t.Errorf("%s: no %s", path, name)
						continue
					}
					if !(0 < l.P50 && l.P50 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
						t.Errorf("%s: %s p50, p99, p99.9, max = %v, %v, %v, %v, want 0 < p50 <= p99 <= p99.9 <= max",
							path, name, l.P50, l.P99, l.P999, l.Max)
					}
				}
			}
			if p := paths[PathGetRecords].PollIntervalMS; p == nil || *p != 2 {
				t.Errorf("GetRecords poll interval %v ms, want 2", p)
			}
			if p := paths[PathSubscribeToShard].PollIntervalMS; p != nil {
				t.Errorf("SubscribeToShard poll interval %v, want none", *p)
			}
			// The subscriptions last 50ms and the records take 300ms to
			// send: the reader renewed its subscription, and lost nothing
			// across the renewals (records above).
			if n := paths[PathSubscribeToShard].ReadCalls; n < 3 {
				t.Errorf("SubscribeToShard calls %d, want at least 3 (renewals)", n)
			}
		})
	}
}
