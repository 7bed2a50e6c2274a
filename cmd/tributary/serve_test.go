package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// records decodes the JSON log lines written so far.
func (b *syncBuffer) records(t testing.TB) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for line := range strings.Lines(b.buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestRun(t *testing.T) {
	cfg := defaultServeConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	var logs syncBuffer
	logger := newLogger(&logs, slog.LevelDebug, "json")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, logger) }()

	addr := waitListening(t, &logs, done)
	status, body := rawCall(t, addr, "ListStreams", "{}")
	want := `{"StreamNames":[],"HasMoreStreams":false,"StreamSummaries":[]}`
	if status != 200 || body != want {
		t.Fatalf("got %d %s, want 200 %s", status, body, want)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Errorf("%s still accepts connections after run returned", addr)
	}
	recs := logs.records(t)
	if last := recs[len(recs)-1]; last["msg"] != "stopped" {
		t.Errorf("last log record = %v, want msg stopped", last)
	}
}

// TestRunStorage checks that --storage picks the engine: memory keeps a
// record and leaves the data directory alone, discard acknowledges the
// record, drops it and warns that it does, jetstream keeps it in the data
// directory, where a restarted server finds it.
func TestRunStorage(t *testing.T) {
	tests := []struct {
		storage  string
		wantData string // base64 of the record GetRecords returns; "" for none
		wantWarn bool
		durable  bool // uses the data directory and keeps the record across a restart
	}{
		{storage: storageMemory, wantData: "aGVsbG8="},
		{storage: storageDiscard, wantWarn: true},
		{storage: storageJetStream, wantData: "aGVsbG8=", durable: true},
	}
	for _, tt := range tests {
		t.Run(tt.storage, func(t *testing.T) {
			cfg := defaultServeConfig()
			cfg.Listen = "127.0.0.1:0"
			cfg.Storage = tt.storage
			cfg.DataDir = filepath.Join(t.TempDir(), "unused")
			cfg.CreateDelay = 0
			var logs syncBuffer
			logger := newLogger(&logs, slog.LevelInfo, "json")

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- run(ctx, cfg, logger) }()
			addr := waitListening(t, &logs, done)

			mustRawCall(t, addr, "CreateStream", `{"StreamName":"s","ShardCount":1}`)
			waitActiveRaw(t, addr, "s")
			mustRawCall(t, addr, "PutRecord", `{"StreamName":"s","PartitionKey":"k","Data":"aGVsbG8="}`)
			checkData := func(stage string) {
				t.Helper()
				var it struct{ ShardIterator string }
				decodeBody(t, mustRawCall(t, addr, "GetShardIterator", `{"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"TRIM_HORIZON"}`), &it)
				var got struct{ Records []struct{ Data string } }
				decodeBody(t, mustRawCall(t, addr, "GetRecords", `{"ShardIterator":"`+it.ShardIterator+`"}`), &got)
				var data []string
				for _, r := range got.Records {
					data = append(data, r.Data)
				}
				if tt.wantData == "" && len(data) != 0 || tt.wantData != "" && (len(data) != 1 || data[0] != tt.wantData) {
					t.Errorf("%s: GetRecords returned data %q, want %q", stage, data, tt.wantData)
				}
			}
			checkData("after PutRecord")

			cancel()
			if err := <-done; err != nil {
				t.Fatalf("run: %v", err)
			}
			if _, err := os.Stat(cfg.DataDir); tt.durable && err != nil {
				t.Errorf("data dir stat = %v, want it created", err)
			} else if !tt.durable && !os.IsNotExist(err) {
				t.Errorf("data dir stat = %v, want it not created", err)
			}
			if tt.durable {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var logs syncBuffer
				go func() { done <- run(ctx, cfg, newLogger(&logs, slog.LevelInfo, "json")) }()
				addr = waitListening(t, &logs, done)
				checkData("after a restart")
				cancel()
				if err := <-done; err != nil {
					t.Fatalf("run after the restart: %v", err)
				}
			}
			var warned bool
			for _, rec := range logs.records(t) {
				if msg, _ := rec["msg"].(string); rec["level"] == "WARN" && strings.Contains(msg, "records are thrown away") {
					warned = true
				}
				if msg, _ := rec["msg"].(string); strings.HasPrefix(msg, "listening on ") && rec["storage"] != tt.storage {
					t.Errorf("listening record %v, want storage %s", rec, tt.storage)
				}
			}
			if warned != tt.wantWarn {
				t.Errorf("warned that records are discarded: %v, want %v", warned, tt.wantWarn)
			}
		})
	}
}

// waitActiveRaw waits for stream name to become ACTIVE.
func waitActiveRaw(t *testing.T, addr, name string) {
	t.Helper()
	for range 500 {
		var d struct{ StreamDescriptionSummary struct{ StreamStatus string } }
		decodeBody(t, mustRawCall(t, addr, "DescribeStreamSummary", `{"StreamName":"`+name+`"}`), &d)
		if d.StreamDescriptionSummary.StreamStatus == "ACTIVE" {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("stream %s never became ACTIVE", name)
}

// rawCall sends a JSON Kinesis request for operation op and returns the
// status and the body of the response.
func rawCall(t *testing.T, addr, op, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", "http://"+addr, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
	req.Header.Set("X-Amz-Date", "20250101T000000Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// mustRawCall is rawCall for a request that must succeed.
func mustRawCall(t *testing.T, addr, op, body string) string {
	t.Helper()
	status, resp := rawCall(t, addr, op, body)
	if status != 200 {
		t.Fatalf("%s: %d %s", op, status, resp)
	}
	return resp
}

func decodeBody(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
}

func TestRunListenError(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg := defaultServeConfig()
	cfg.Listen = busy.Addr().String()
	cfg.DataDir = t.TempDir()
	err = run(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "listen on "+cfg.Listen) {
		t.Fatalf("run = %v, want a listen error", err)
	}
}

// waitListening waits for run's "listening on" log record and returns the
// address it reports.
func waitListening(t testing.TB, logs *syncBuffer, done <-chan error) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, rec := range logs.records(t) {
			if msg, _ := rec["msg"].(string); strings.HasPrefix(msg, "listening on ") {
				addr, _ := rec["addr"].(string)
				if msg != "listening on "+addr {
					t.Fatalf("listening record %v", rec)
				}
				return addr
			}
		}
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatal("run never logged that it was listening")
	return ""
}

// TestRunAdminStats: with --admin, GET /_tributary/stats reports the
// process's figures and the counts of both the engine's and the service's
// background tasks, which a soak reads to tell that none panicked.
func TestRunAdminStats(t *testing.T) {
	addr, _, _ := runTestServer(t, nil, func(c *serveConfig) {
		c.Admin = true
		c.AdminToken = testAdminToken
		c.CleanInterval = 10 * time.Millisecond
		c.CheckpointInterval = 10 * time.Millisecond
		c.ReapInterval = 10 * time.Millisecond
	})
	// Cleaning runs per shard log, so there must be one.
	mustRawCall(t, addr, "CreateStream", `{"StreamName":"s","ShardCount":1}`)
	type counts struct{ Runs, Failures, Panics int64 }
	var st struct {
		Goroutines int                          `json:"goroutines"`
		OpenFDs    *int                         `json:"open_fds"`
		RSSBytes   *int64                       `json:"rss_bytes"`
		Background map[string]map[string]counts `json:"background"`
	}
	// Each task has run once the tickers fired a few times.
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, err := http.NewRequest("GET", "http://"+addr+"/_tributary/stats", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET stats: %d %s", resp.StatusCode, body)
		}
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatalf("decoding %s: %v", body, err)
		}
		if st.Background["engine"]["clean"].Runs > 0 && st.Background["engine"]["checkpoint"].Runs > 0 &&
			st.Background["service"]["reaper"].Runs > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("background tasks not all counted after 10s: %s", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st.Goroutines < 1 {
		t.Errorf("goroutines %d", st.Goroutines)
	}
	for comp, tasks := range st.Background {
		for task, c := range tasks {
			if c.Panics != 0 || c.Failures != 0 {
				t.Errorf("%s task %s: %+v, want no failures on an idle server", comp, task, c)
			}
		}
	}
}

// TestOpenEngineRefusesOtherEnginesData: a data directory written by one
// engine does not open under the other, which would start empty beside it
// and make the streams seem lost; it opens under its own again.
func TestOpenEngineRefusesOtherEnginesData(t *testing.T) {
	tests := []struct{ wrote, opens string }{
		{storageLocal, storageJetStream},
		{storageJetStream, storageLocal},
	}
	logger := newLogger(io.Discard, slog.LevelError, "json")
	for _, tt := range tests {
		t.Run(tt.wrote, func(t *testing.T) {
			cfg := defaultServeConfig()
			cfg.DataDir = t.TempDir()
			cfg.Storage = tt.wrote
			e, err := openEngine(t.Context(), cfg, nil, logger, newRegistry())
			if err != nil {
				t.Fatalf("open %s: %v", tt.wrote, err)
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			cfg.Storage = tt.opens
			if e, err := openEngine(t.Context(), cfg, nil, logger, newRegistry()); err == nil {
				_ = e.Close()
				t.Fatalf("--storage %s opened a directory of --storage %s", tt.opens, tt.wrote)
			} else if want := "holds the data of --storage " + tt.wrote; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q, want it to say %q", err, want)
			}
			cfg.Storage = tt.wrote
			e, err = openEngine(t.Context(), cfg, nil, logger, newRegistry())
			if err != nil {
				t.Fatalf("reopen %s: %v", tt.wrote, err)
			}
			_ = e.Close()
		})
	}
}
