package jetstream

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
)

// TestServerLog: the server's lines reach the engine's logger at the
// levels the engine chose, tagged as the server's.
func TestServerLog(t *testing.T) {
	cases := []struct {
		name      string
		call      func(serverLog)
		wantLevel string // "" for nothing logged at info level
		wantMsg   string
	}{
		{"notice", func(s serverLog) { s.Noticef("Starting %s", "nats-server") }, "", ""},
		{"warning", func(s serverLog) { s.Warnf("disk %d%% full", 95) }, "WARN", "disk 95% full"},
		{"payload advice", func(s serverLog) { s.Warnf("Maximum payloads over %s are generally discouraged", "8.00 MB") }, "", ""},
		{"error", func(s serverLog) { s.Errorf("recovering %q: %v", "blk", "bad checksum") }, "ERROR", `recovering "blk": bad checksum`},
		{"fatal", func(s serverLog) { s.Fatalf("cannot start") }, "ERROR", "cannot start"},
		{"debug", func(s serverLog) { s.Debugf("detail") }, "", ""},
		{"trace", func(s serverLog) { s.Tracef("wire") }, "", ""},
	}
	for _, tc := range cases {
		var buf bytes.Buffer
		tc.call(serverLog{slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))})
		if tc.wantLevel == "" {
			if buf.Len() != 0 {
				t.Errorf("%s: logged %s, want nothing at info level", tc.name, buf.String())
			}
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
			t.Fatalf("%s: %v in %q", tc.name, err, buf.String())
		}
		if rec["level"] != tc.wantLevel || rec["msg"] != tc.wantMsg || rec["component"] != "nats-server" {
			t.Errorf("%s: logged %v, want level %s msg %q component nats-server", tc.name, rec, tc.wantLevel, tc.wantMsg)
		}
	}
}
