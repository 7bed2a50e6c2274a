package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/stream"
)

// writeConfigFile writes body to a file in a temporary directory and
// returns its path.
func writeConfigFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tributary.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConfigPrecedence: each layer overrides the one below it (flag >
// environment > config file > default), for options of several kinds,
// and a value is checked in whichever layer it comes from.
func TestConfigPrecedence(t *testing.T) {
	// One file for every case: it sets a string, a duration, a boolean,
	// a count, a fraction, a size and a choice.
	file := writeConfigFile(t, `# every kind of value
listen = "0.0.0.0:4000"
sync-interval = "250ms"
admin = true
shard-limit = 500
ondemand-split-threshold = 0.9
segment-bytes = "1MiB"
log-format = "json"
`)
	fromFile := func(c *serveConfig) {
		c.Listen, c.SyncInterval, c.Admin, c.ShardLimit = "0.0.0.0:4000", 250*time.Millisecond, true, 500
		c.OnDemandSplitThreshold, c.SegmentBytes, c.LogFormat = 0.9, 1<<20, "json"
	}
	with := func(edits ...func(c *serveConfig)) serveConfig {
		c := defaultServeConfig()
		for _, e := range edits {
			e(&c)
		}
		return c
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    serveConfig
		wantErr string // substring; "" for success
	}{
		{name: "defaults without a file", want: with()},
		{name: "file over defaults", args: []string{"--config", file}, want: with(fromFile)},
		{name: "file named by the environment", env: map[string]string{configEnv: file}, want: with(fromFile)},
		{name: "--config over the environment's file", args: []string{"--config", file},
			env: map[string]string{configEnv: filepath.Join(t.TempDir(), "absent.toml")}, want: with(fromFile)},
		{
			name: "environment over file",
			args: []string{"--config", file},
			env: map[string]string{"TRIBUTARY_LISTEN": ":5000", "TRIBUTARY_SYNC_INTERVAL": "1s", "TRIBUTARY_ADMIN": "false",
				"TRIBUTARY_SHARD_LIMIT": "7", "TRIBUTARY_SEGMENT_BYTES": "8KiB"},
			want: with(fromFile, func(c *serveConfig) {
				c.Listen, c.SyncInterval, c.Admin, c.ShardLimit, c.SegmentBytes = ":5000", time.Second, false, 7, 8<<10
			}),
		},
		{
			name: "flags over environment over file",
			args: []string{"--config", file, "--listen=:6000", "--admin=false", "--ondemand-split-threshold", "0.7", "--log-format=text"},
			env:  map[string]string{"TRIBUTARY_LISTEN": ":5000", "TRIBUTARY_SHARD_LIMIT": "7", "TRIBUTARY_LOG_FORMAT": "json"},
			want: with(fromFile, func(c *serveConfig) {
				c.Listen, c.Admin, c.OnDemandSplitThreshold, c.ShardLimit, c.LogFormat = ":6000", false, 0.7, 7, "text"
			}),
		},
		{name: "an empty variable leaves the file's value", args: []string{"--config", file},
			env: map[string]string{"TRIBUTARY_LISTEN": ""}, want: with(fromFile)},
		{name: "invalid environment value under a flag", args: []string{"--config", file, "--shard-limit=3"},
			env: map[string]string{"TRIBUTARY_SHARD_LIMIT": "many"}, wantErr: `invalid value "many" for TRIBUTARY_SHARD_LIMIT: must be a whole number`},
		{name: "invalid flag over a file", args: []string{"--config", file, "--sync-interval=0"}, wantErr: "-sync-interval: must be positive"},
		{name: "missing file", args: []string{"--config", filepath.Join(t.TempDir(), "absent.toml")}, wantErr: "config file: open "},
		{name: "empty --config", args: []string{"--config="}, wantErr: "-config: must not be empty"},
		// Checked on the whole configuration, whatever layer each half
		// comes from.
		{name: "cross-option check across layers", args: []string{"--config", file, "--ondemand-merge-threshold=0.5"},
			wantErr: "--ondemand-merge-threshold 0.5 must be below half --ondemand-split-threshold 0.9"},
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

// TestConfigFileErrors: every mistake in a file is reported with the
// file, the line and the key.
func TestConfigFileErrors(t *testing.T) {
	tests := []struct {
		name, body string
		want       string // the error after "config file PATH:"
	}{
		{"unknown key with a close one", "listen = \":1\"\n\n# comment\nsync_interval = \"1s\"\n",
			`4: unknown key "sync_interval"; did you mean "sync-interval"?`},
		{"typo", "data-dri = \"/d\"\n", `1: unknown key "data-dri"; did you mean "data-dir"?`},
		{"environment variable's name", "TRIBUTARY_SHARD_LIMIT = 3\n", `1: unknown key "TRIBUTARY_SHARD_LIMIT"; did you mean "shard-limit"?`},
		{"unknown key far from any", "colour = \"blue\"\n", `1: unknown key "colour"; the keys are the flags of tributary serve --help`},
		{"file-only flags are not keys", "config = \"other.toml\"\n", `1: unknown key "config"`},
		{"dotted key", "admin = false\nlisten.port = 1\n", `2: unknown key "listen.port"`},
		{"table", "admin = true\n\n[serve]\nlisten = \":1\"\n", "3: [serve]: tables are not supported"},
		{"array table", "[[serve]]\n", "1: [serve]: tables are not supported"},
		{"invalid duration", "create-delay = \"0s\"\nsync-interval = \"soon\"\n",
			`2: invalid value "soon" for sync-interval: must be a duration such as 500ms, 2s or 1m`},
		{"duration without a unit", "sync-interval = 100\n", `1: invalid value "100" for sync-interval: must be a duration`},
		{"invalid choice", "storage = \"s3\"\n", `1: invalid value "s3" for storage: must be one of local, jetstream, memory, discard`},
		{"fraction out of range", "ondemand-split-threshold = 1.5\n", `1: invalid value "1.5" for ondemand-split-threshold: must be a number greater than 0 and at most 1`},
		{"float for a count", "shard-limit = 2.5\n", `1: invalid value "2.5" for shard-limit: must be a whole number`},
		{"string for a boolean", "admin = \"yes\"\n", `1: invalid value "yes" for admin: must be true or false`},
		{"array", "\nlisten = [\"a\"]\n", "2: listen must be a string, a number or a boolean, not an array"},
		{"inline table", "listen = { host = \"a\" }\n", "1: listen must be a string, a number or a boolean, not a table"},
		{"date", "create-delay = 1979-05-27\n", "1: create-delay must be a string, a number or a boolean, not a date or time"},
		{"key twice", "shard-limit = 1\nadmin = true\nshard-limit = 2\n", "3: key shard-limit is already defined"},
		{"not TOML", "listen = \n", "1: "},
		{"unterminated string", "account = \"123\n", "1: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfigFile(t, tt.body)
			_, err := parseServeArgs([]string{"--config", path}, env(nil))
			want := "config file " + path + ":" + tt.want
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("error = %v\nwant one starting with %q", err, want)
			}
		})
	}
}

// TestPrintConfigRoundTrip: what --print-config prints, given to
// --config, gives the same configuration; defaults are printed commented
// out and the rest set.
func TestPrintConfigRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		set  []string // lines that must be printed as they are
	}{
		{name: "defaults"},
		{
			name: "every kind of value",
			args: []string{"--listen=0.0.0.0:4567", "--data-dir=/var/lib/tributary data", "--account=000000000042", "--admin",
				"--create-delay=0", "--sync=interval", "--sync-interval=1m30s", "--ondemand-split-threshold=0.5",
				"--ondemand-merge-threshold=0.125", "--shard-limit=500", "--segment-bytes=65537", "--body-budget=1GiB",
				"--log-level=debug", "--limits-file=/etc/tributary/limits \"x\".json", "--limits=off", "--shutdown-delay=5s"},
			env: map[string]string{"TRIBUTARY_TLS_SELF_SIGNED": "true", "TRIBUTARY_DEDUP_WINDOW": "0"},
			set: []string{`listen = "0.0.0.0:4567"`, `data-dir = "/var/lib/tributary data"`, `account = "000000000042"`,
				`admin = true`, `create-delay = "0s"`, `sync-interval = "1m30s"`, `ondemand-split-threshold = 0.5`,
				`ondemand-merge-threshold = 0.125`, `shard-limit = 500`, `segment-bytes = "65537"`, `body-budget = "1GiB"`,
				`log-level = "debug"`, `limits-file = "/etc/tributary/limits \"x\".json"`, `tls-self-signed = true`, `dedup-window = "0s"`},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runMain(context.Background(), append([]string{"serve", "--print-config"}, tt.args...), nil, &stdout, &stderr, env(tt.env))
			if code != 0 {
				t.Fatalf("--print-config: exit %d, %s", code, stderr.String())
			}
			printed := stdout.String()
			want, err := parseServeArgs(tt.args, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseServeArgs([]string{"--config", writeConfigFile(t, printed)}, env(nil))
			if err != nil {
				t.Fatalf("reading back: %v\n%s", err, printed)
			}
			if got != want {
				t.Fatalf("read back %+v\nwant      %+v\nfrom:\n%s", got, want, printed)
			}
			lines := strings.Split(printed, "\n")
			for _, l := range tt.set {
				if !strings.Contains(printed, "\n"+l+"\n") {
					t.Errorf("printed config lacks the line %q", l)
				}
			}
			// Every option appears once, set or commented out at its
			// default.
			def := defaultServeConfig()
			for _, o := range serveOptions() {
				n := 0
				for _, l := range lines {
					if strings.HasPrefix(strings.TrimPrefix(l, "# "), o.flag+" = ") {
						n++
					}
				}
				if n != 1 {
					t.Errorf("option %s printed %d times", o.flag, n)
				}
				atDefault := o.value(&want).String() == o.value(&def).String()
				if commented := strings.Contains(printed, "\n# "+o.flag+" = "); commented != atDefault {
					t.Errorf("option %s: commented out %v, at its default %v", o.flag, commented, atDefault)
				}
			}
		})
	}
}

// TestExampleConfigLoads: deploy/tributary.toml is a valid config file
// and sets what its comments say.
func TestExampleConfigLoads(t *testing.T) {
	path := filepath.Join("..", "..", "deploy", "tributary.toml")
	got, err := parseServeArgs([]string{"--config", path}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := defaultServeConfig()
	want.Listen = "0.0.0.0:4567"
	want.DataDir = "/var/lib/tributary"
	want.LogFormat = "json"
	want.ShutdownDelay = 5 * time.Second
	want.Limits = stream.LimitsAWS
	want.LogLevel = slog.LevelInfo
	if got != want {
		t.Errorf("deploy/tributary.toml gives %+v\nwant %+v", got, want)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "abc", 0}, {"", "abc", 3}, {"abc", "", 3},
		{"sync-interval", "sync_interval", 1}, {"data-dri", "data-dir", 2}, {"kitten", "sitting", 3},
	} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestServeUsageDocumentsConfigFile: serve --help names the config flags
// and the order of precedence.
func TestServeUsageDocumentsConfigFile(t *testing.T) {
	usage := strings.Join(strings.Fields(serveUsage()), " ")
	for _, want := range []string{
		"--config file", "Environment: " + configEnv + ". Default: none.", "--print-config",
		"A flag given on the command line wins over the environment, which wins over the config file, which wins over the default.",
	} {
		if !strings.Contains(usage, want) {
			t.Errorf("serve usage lacks %q", want)
		}
	}
}
