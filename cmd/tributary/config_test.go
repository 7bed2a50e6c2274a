package main

import (
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/stream"
)

// env returns a lookupEnv over m.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestParseServeArgs(t *testing.T) {
	def := defaultServeConfig()
	with := func(f func(c *serveConfig)) serveConfig {
		c := defaultServeConfig()
		f(&c)
		return c
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    serveConfig
		wantErr string // substring of the error; "" for success
	}{
		{name: "defaults", want: def},
		{
			name: "environment over defaults",
			env: map[string]string{
				"TRIBUTARY_LISTEN": ":9000", "TRIBUTARY_STORAGE": "memory", "TRIBUTARY_DATA_DIR": "/var/lib/tributary",
				"TRIBUTARY_ACCOUNT": "123456789012", "TRIBUTARY_CREATE_DELAY": "0",
				"TRIBUTARY_DELETE_DELAY": "1s", "TRIBUTARY_UPDATE_DELAY": "2m",
				"TRIBUTARY_LOG_LEVEL": "DEBUG", "TRIBUTARY_LOG_FORMAT": "json",
				"TRIBUTARY_SYNC": "interval", "TRIBUTARY_SYNC_INTERVAL": "250ms",
				"TRIBUTARY_ONDEMAND_INTERVAL": "10s", "TRIBUTARY_ONDEMAND_SPLIT_THRESHOLD": "0.9",
				"TRIBUTARY_ONDEMAND_MERGE_THRESHOLD": "0.1", "TRIBUTARY_ONDEMAND_COOLDOWN": "1h",
				"TRIBUTARY_LIMITS": "off", "TRIBUTARY_LIMITS_FILE": "limits.json",
				"TRIBUTARY_CHECKPOINT_INTERVAL": "1s", "TRIBUTARY_CLEAN_INTERVAL": "2s", "TRIBUTARY_SEGMENT_BYTES": "65536",
				"TRIBUTARY_REAP_INTERVAL": "3s", "TRIBUTARY_ITERATOR_LIFETIME": "4s", "TRIBUTARY_SUBSCRIPTION_LIFETIME": "5s",
				"TRIBUTARY_SUBSCRIPTION_HEARTBEAT": "6s", "TRIBUTARY_RETENTION_HOUR": "7s", "TRIBUTARY_DEDUP_WINDOW": "8s",
				"TRIBUTARY_GROUP_COMMIT_WAIT": "0", "TRIBUTARY_ELECTION_TIMEOUT": "3s", "TRIBUTARY_PLACEMENTS": "2", "TRIBUTARY_JETSTREAM_GROUP_WAIT": "7ms",
			},
			want: serveConfig{
				Listen: ":9000", Storage: storageMemory, DataDir: "/var/lib/tributary", Account: "123456789012",
				CreateDelay: 0, DeleteDelay: time.Second, UpdateDelay: 2 * time.Minute,
				LogLevel: slog.LevelDebug, LogFormat: "json", Sync: syncInterval, SyncInterval: 250 * time.Millisecond,
				OnDemandInterval: 10 * time.Second, OnDemandSplitThreshold: 0.9, OnDemandMergeThreshold: 0.1, OnDemandCooldown: time.Hour,
				Limits: stream.LimitsOff, LimitsFile: "limits.json", Auth: authOff,
				CheckpointInterval: time.Second, CleanInterval: 2 * time.Second, SegmentBytes: 65536,
				ReapInterval: 3 * time.Second, IteratorLifetime: 4 * time.Second, SubscriptionLifetime: 5 * time.Second,
				SubscriptionHeartbeat: 6 * time.Second, RetentionHour: 7 * time.Second, DedupWindow: 8 * time.Second,
				ReadHeaderTimeout: def.ReadHeaderTimeout, ReadTimeout: def.ReadTimeout, IdleTimeout: def.IdleTimeout, BodyBudget: def.BodyBudget,
				Replicas: def.Replicas, GroupCommitWait: 0, ElectionTimeout: 3 * time.Second, Placements: 2, JetStreamGroupWait: 7 * time.Millisecond,
			},
		},
		{
			name: "flags over environment",
			args: []string{"--listen", "0.0.0.0:4568", "-log-level=warn", "--create-delay=0s", "--sync", "always", "--storage=discard"},
			env:  map[string]string{"TRIBUTARY_LISTEN": ":9000", "TRIBUTARY_LOG_LEVEL": "debug", "TRIBUTARY_CREATE_DELAY": "3s", "TRIBUTARY_SYNC": "interval", "TRIBUTARY_STORAGE": "memory"},
			want: with(func(c *serveConfig) {
				c.Listen, c.LogLevel, c.CreateDelay, c.Sync, c.Storage = "0.0.0.0:4568", slog.LevelWarn, 0, syncAlways, storageDiscard
			}),
		},
		{
			name: "empty environment variable counts as unset",
			env:  map[string]string{"TRIBUTARY_LISTEN": "", "TRIBUTARY_ACCOUNT": ""},
			want: def,
		},
		{
			name: "flags alone",
			args: []string{"--data-dir=d", "--account=000000000001", "--update-delay=1h", "--log-format=text", "--sync-interval=1s", "--log-level=error"},
			want: with(func(c *serveConfig) {
				c.DataDir, c.Account, c.UpdateDelay, c.SyncInterval, c.LogLevel = "d", "000000000001", time.Hour, time.Second, slog.LevelError
			}),
		},
		{
			name: "on-demand flags over environment",
			args: []string{"--ondemand-interval=100ms", "--ondemand-split-threshold", "1", "--ondemand-merge-threshold=0.05", "--ondemand-cooldown=2s"},
			env:  map[string]string{"TRIBUTARY_ONDEMAND_INTERVAL": "5m", "TRIBUTARY_ONDEMAND_MERGE_THRESHOLD": "0.3"},
			want: with(func(c *serveConfig) {
				c.OnDemandInterval, c.OnDemandSplitThreshold, c.OnDemandMergeThreshold, c.OnDemandCooldown = 100*time.Millisecond, 1, 0.05, 2*time.Second
			}),
		},
		{name: "zero on-demand interval", args: []string{"--ondemand-interval=0"}, wantErr: "-ondemand-interval: must be positive"},
		{name: "zero on-demand cooldown", env: map[string]string{"TRIBUTARY_ONDEMAND_COOLDOWN": "0s"}, wantErr: "TRIBUTARY_ONDEMAND_COOLDOWN: must be positive"},
		{name: "segment too small", args: []string{"--segment-bytes=100"}, wantErr: "-segment-bytes: must be at least 4KiB"},
		{name: "zero clean interval", env: map[string]string{"TRIBUTARY_CLEAN_INTERVAL": "0"}, wantErr: "TRIBUTARY_CLEAN_INTERVAL: must be positive"},
		{name: "split threshold above 1", args: []string{"--ondemand-split-threshold=1.5"},
			wantErr: `invalid value "1.5" for flag -ondemand-split-threshold: must be a number greater than 0 and at most 1`},
		{name: "zero merge threshold", args: []string{"--ondemand-merge-threshold=0"}, wantErr: "-ondemand-merge-threshold: must be a number greater than 0"},
		{name: "threshold not a number", env: map[string]string{"TRIBUTARY_ONDEMAND_SPLIT_THRESHOLD": "high"}, wantErr: "TRIBUTARY_ONDEMAND_SPLIT_THRESHOLD: must be a number"},
		{name: "merge threshold too close to split threshold", args: []string{"--ondemand-split-threshold=0.5", "--ondemand-merge-threshold=0.25"},
			wantErr: "--ondemand-merge-threshold 0.25 must be below half --ondemand-split-threshold 0.5"},
		{name: "invalid environment value names the variable", env: map[string]string{"TRIBUTARY_LOG_LEVEL": "loud"},
			wantErr: `invalid value "loud" for TRIBUTARY_LOG_LEVEL: must be one of debug, info, warn, error`},
		{name: "invalid environment value is reported even when a flag overrides it", args: []string{"--sync=always"},
			env: map[string]string{"TRIBUTARY_SYNC": "sometimes"}, wantErr: `TRIBUTARY_SYNC: must be one of always, interval`},
		{name: "bad log level", args: []string{"--log-level=trace"}, wantErr: `invalid value "trace" for flag -log-level: must be one of debug, info, warn, error`},
		{name: "bad log format", args: []string{"--log-format=xml"}, wantErr: "must be one of text, json"},
		{name: "storage flag", args: []string{"--storage", "memory"}, want: with(func(c *serveConfig) { c.Storage = storageMemory })},
		{name: "bad storage", args: []string{"--storage=s3"}, wantErr: `invalid value "s3" for flag -storage: must be one of local, jetstream, memory, discard`},
		{name: "bad storage in environment", env: map[string]string{"TRIBUTARY_STORAGE": "Memory"},
			wantErr: `invalid value "Memory" for TRIBUTARY_STORAGE: must be one of local, jetstream, memory, discard`},
		{name: "bad sync mode", args: []string{"--sync=never"}, wantErr: "must be one of always, interval"},
		{name: "negative delay", args: []string{"--delete-delay=-1s"}, wantErr: "-delete-delay: must not be negative"},
		{name: "not a duration", args: []string{"--create-delay=soon"}, wantErr: "must be a duration such as 500ms"},
		{name: "zero sync interval", args: []string{"--sync-interval=0"}, wantErr: "-sync-interval: must be positive"},
		{name: "listen without port", args: []string{"--listen=localhost"}, wantErr: "must be host:port"},
		{name: "listen with bad port", args: []string{"--listen=localhost:http"}, wantErr: `port "http" must be a number`},
		{name: "listen with port out of range", env: map[string]string{"TRIBUTARY_LISTEN": ":70000"}, wantErr: "TRIBUTARY_LISTEN"},
		{name: "metrics listen flag over environment", args: []string{"--metrics-listen=:9100"}, env: map[string]string{"TRIBUTARY_METRICS_LISTEN": "127.0.0.1:9101"},
			want: with(func(c *serveConfig) { c.MetricsListen = ":9100" })},
		{name: "metrics listen from environment", env: map[string]string{"TRIBUTARY_METRICS_LISTEN": "127.0.0.1:9101"},
			want: with(func(c *serveConfig) { c.MetricsListen = "127.0.0.1:9101" })},
		// Empty turns it off, which the main listen address cannot be.
		{name: "metrics listen empty", args: []string{"--metrics-listen="}, want: def},
		{name: "listen empty", args: []string{"--listen="}, wantErr: "must be host:port"},
		{name: "metrics listen without port", args: []string{"--metrics-listen=localhost"}, wantErr: `invalid value "localhost" for flag -metrics-listen: must be host:port`},
		{name: "short account", args: []string{"--account=1234"}, wantErr: "must be 12 digits"},
		{name: "account with letters", args: []string{"--account=12345678901a"}, wantErr: "must be 12 digits"},
		{name: "empty data dir", args: []string{"--data-dir="}, wantErr: "must not be empty"},
		{name: "limits flag over environment", args: []string{"--limits", "aws", "--limits-file=l.json"}, env: map[string]string{"TRIBUTARY_LIMITS": "off"},
			want: with(func(c *serveConfig) { c.Limits, c.LimitsFile = stream.LimitsAWS, "l.json" })},
		{name: "limits off", args: []string{"--limits=off"}, want: with(func(c *serveConfig) { c.Limits = stream.LimitsOff })},
		{name: "bad limits", args: []string{"--limits=strict"}, wantErr: `invalid value "strict" for flag -limits: must be one of aws, off`},
		{
			name: "timeouts and body budget, flags over environment",
			args: []string{"--read-timeout=5s", "--body-budget", "1GiB"},
			env: map[string]string{"TRIBUTARY_READ_HEADER_TIMEOUT": "2s", "TRIBUTARY_READ_TIMEOUT": "1m",
				"TRIBUTARY_IDLE_TIMEOUT": "10m", "TRIBUTARY_BODY_BUDGET": "512MiB"},
			want: with(func(c *serveConfig) {
				c.ReadHeaderTimeout, c.ReadTimeout, c.IdleTimeout, c.BodyBudget = 2*time.Second, 5*time.Second, 10*time.Minute, 1<<30
			}),
		},
		{name: "body budget in bytes", args: []string{"--body-budget=140000000"}, want: with(func(c *serveConfig) { c.BodyBudget = 140000000 })},
		{name: "body budget in KiB", env: map[string]string{"TRIBUTARY_BODY_BUDGET": "140000KiB"}, want: with(func(c *serveConfig) { c.BodyBudget = 140000 << 10 })},
		{name: "body budget below the body limit", args: []string{"--body-budget=64MiB"}, wantErr: `invalid value "64MiB" for flag -body-budget: must be at least 128MiB`},
		{name: "body budget without a number", env: map[string]string{"TRIBUTARY_BODY_BUDGET": "MiB"}, wantErr: "TRIBUTARY_BODY_BUDGET: must be a size in bytes, or with a unit"},
		{name: "body budget with a decimal unit", args: []string{"--body-budget=300MB"}, wantErr: "must be a size in bytes, or with a unit: KiB, MiB or GiB"},
		{name: "body budget negative", args: []string{"--body-budget=-1"}, wantErr: "must be a size in bytes"},
		{name: "body budget overflowing", args: []string{"--body-budget=9000000000GiB"}, wantErr: "must be a size in bytes"},
		{name: "zero read timeout", args: []string{"--read-timeout=0"}, wantErr: "-read-timeout: must be positive"},
		{name: "zero read header timeout", env: map[string]string{"TRIBUTARY_READ_HEADER_TIMEOUT": "0s"}, wantErr: "TRIBUTARY_READ_HEADER_TIMEOUT: must be positive"},
		{name: "negative idle timeout", args: []string{"--idle-timeout=-1s"}, wantErr: "-idle-timeout: must not be negative"},
		{name: "unknown flag", args: []string{"--port=1"}, wantErr: "flag provided but not defined: -port"},
		{name: "positional argument", args: []string{"extra"}, wantErr: `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseServeArgs(tt.args, env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseServeArgs: %v", err)
			}
			if got != tt.want {
				t.Fatalf("config = %+v\nwant     %+v", got, tt.want)
			}
		})
	}
}

func TestParseServeArgsHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "-help"} {
		if _, err := parseServeArgs([]string{arg}, env(nil)); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%s: error = %v, want flag.ErrHelp", arg, err)
		}
	}
}

func TestServeUsageDocumentsEveryOption(t *testing.T) {
	usage := serveUsage()
	for _, o := range serveOptions() {
		for _, want := range []string{"--" + o.flag + " ", "Environment: " + o.env + "."} {
			if !strings.Contains(usage, want) {
				t.Errorf("serve usage lacks %q", want)
			}
		}
	}
	for _, want := range []string{
		"Environment: TRIBUTARY_LISTEN. Default: 127.0.0.1:4567.",
		"Environment: TRIBUTARY_STORAGE. Default: local.",
		"Environment: TRIBUTARY_CREATE_DELAY. Default: 500ms.",
		"Environment: TRIBUTARY_LOG_LEVEL. Default: info.",
		"Environment: TRIBUTARY_SYNC. Default: always.",
		"Environment: TRIBUTARY_SYNC_INTERVAL. Default: 100ms.",
		"Environment: TRIBUTARY_ONDEMAND_INTERVAL. Default: 1m0s.",
		"Environment: TRIBUTARY_ONDEMAND_SPLIT_THRESHOLD. Default: 0.8.",
		"Environment: TRIBUTARY_ONDEMAND_MERGE_THRESHOLD. Default: 0.2.",
		"Environment: TRIBUTARY_ONDEMAND_COOLDOWN. Default: 15m0s.",
		"Environment: TRIBUTARY_LIMITS. Default: aws.",
		"Environment: TRIBUTARY_LIMITS_FILE. Default: none.",
		"Environment: TRIBUTARY_READ_HEADER_TIMEOUT. Default: 30s.",
		"Environment: TRIBUTARY_READ_TIMEOUT. Default: 1m0s.",
		"Environment: TRIBUTARY_IDLE_TIMEOUT. Default: 2m0s.",
		"Environment: TRIBUTARY_BODY_BUDGET. Default: 256MiB.",
	} {
		if !strings.Contains(usage, want) {
			t.Errorf("serve usage lacks %q", want)
		}
	}
}

func TestUsageDocumentsEveryLimitKey(t *testing.T) {
	usage := strings.Join(strings.Fields(serveUsage()), " ")
	for _, k := range limitKeys(&stream.Limits{}) {
		if !strings.Contains(usage, k.key) {
			t.Errorf("serve usage lacks the limits-file key %q", k.key)
		}
	}
}

func TestStreamLimits(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		cfg     serveConfig
		want    stream.Limits
		wantErr string // substring
	}{
		{name: "aws", cfg: serveConfig{Limits: stream.LimitsAWS}, want: stream.Limits{Profile: stream.LimitsAWS}},
		{name: "off", cfg: serveConfig{Limits: stream.LimitsOff}, want: stream.Limits{Profile: stream.LimitsOff}},
		{
			name: "overrides",
			cfg: serveConfig{Limits: stream.LimitsAWS, LimitsFile: write("ok.json",
				`{"shard_write_bytes_per_sec": 2097152, "shard_write_records_per_sec": 2000, "shard_read_calls_per_sec": 10, "tags_per_sec": 7, "dry_run_per_sec": 3}`)},
			want: stream.Limits{Profile: stream.LimitsAWS, ShardWriteBytesPerSec: 2097152, ShardWriteRecordsPerSec: 2000, ShardReadCallsPerSec: 10, TagsPerSec: 7, DryRunPerSec: 3},
		},
		{name: "unknown key", cfg: serveConfig{Limits: stream.LimitsAWS, LimitsFile: write("typo.json", `{"shard_write_record_per_sec": 1}`)},
			wantErr: `unknown key "shard_write_record_per_sec"; keys are shard_write_bytes_per_sec,`},
		{name: "zero", cfg: serveConfig{Limits: stream.LimitsAWS, LimitsFile: write("zero.json", `{"list_shards_per_sec": 0}`)},
			wantErr: "list_shards_per_sec must be a positive integer, got 0"},
		{name: "fraction", cfg: serveConfig{Limits: stream.LimitsAWS, LimitsFile: write("frac.json", `{"list_shards_per_sec": 1.5}`)},
			wantErr: "list_shards_per_sec must be a positive integer, got 1.5"},
		{name: "not an object", cfg: serveConfig{Limits: stream.LimitsAWS, LimitsFile: write("list.json", `[1]`)},
			wantErr: "must be a JSON object"},
		{name: "missing file", cfg: serveConfig{Limits: stream.LimitsAWS, LimitsFile: filepath.Join(dir, "none.json")},
			wantErr: "limits file: open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := streamLimits(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("streamLimits: %v", err)
			}
			if got != tt.want {
				t.Errorf("streamLimits = %+v, want %+v", got, tt.want)
			}
		})
	}
}
