package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/server"
)

// systemdUnit is a unit file: for each section, for each key, its values
// in order.
type systemdUnit map[string]map[string][]string

func parseSystemdUnit(t *testing.T, path string) systemdUnit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := systemdUnit{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a key=value in a section: %q", path, n, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestSystemdUnit: deploy/tributary.service runs serve with the example
// config as an unprivileged user, hardened, with a stop timeout above the
// server's own shutdown, and its ExecStart parses as serve's command line;
// systemd-analyze verify finds nothing to say about it when installed.
func TestSystemdUnit(t *testing.T) {
	path := filepath.Join("..", "..", "deploy", "tributary.service")
	u := parseSystemdUnit(t, path)
	svc := u["Service"]
	for key, want := range map[string]string{
		"Type": "exec", "User": "tributary", "StateDirectory": "tributary", "ReadWritePaths": "/var/lib/tributary",
		"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
		"Restart": "on-failure", "KillSignal": "SIGTERM", "LimitNOFILE": "65536",
	} {
		if got := svc[key]; !slices.Equal(got, []string{want}) {
			t.Errorf("[Service] %s = %q, want %q", key, got, want)
		}
	}
	if got := u["Install"]["WantedBy"]; !slices.Equal(got, []string{"multi-user.target"}) {
		t.Errorf("[Install] WantedBy = %q", got)
	}

	exec0 := svc["ExecStart"]
	if len(exec0) != 1 {
		t.Fatalf("ExecStart = %q, want one", exec0)
	}
	words := strings.Fields(exec0[0])
	if len(words) < 2 || !filepath.IsAbs(words[0]) || words[1] != "serve" {
		t.Fatalf("ExecStart %q, want /absolute/tributary serve ...", exec0[0])
	}
	// The flags are serve's, and with the example config in place of the
	// installed one they give a configuration.
	args := slices.Clone(words[2:])
	i := slices.Index(args, "--config")
	if i < 0 || i+1 == len(args) || args[i+1] != "/etc/tributary/tributary.toml" {
		t.Fatalf("ExecStart %q does not read /etc/tributary/tributary.toml", exec0[0])
	}
	args[i+1] = filepath.Join("..", "..", "deploy", "tributary.toml")
	cfg, err := parseServeArgs(args, env(nil))
	if err != nil {
		t.Fatalf("ExecStart's arguments: %v", err)
	}
	if want := "/var/lib/" + svc["StateDirectory"][0]; cfg.DataDir != want {
		t.Errorf("data-dir %s is not the StateDirectory %s", cfg.DataDir, want)
	}
	// systemd reads "45s" as Go does.
	stop, err := time.ParseDuration(svc["TimeoutStopSec"][0])
	if err != nil {
		t.Fatalf("TimeoutStopSec: %v", err)
	}
	if need := cfg.ShutdownDelay + server.DefaultShutdownTimeout; stop <= need {
		t.Errorf("TimeoutStopSec %v is not above the shutdown delay and timeout, %v", stop, need)
	}

	// systemd's own check, where systemd is installed (Debian's systemd
	// package), with ExecStart pointing at an executable that exists.
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not installed: the unit is not verified by systemd")
		return
	}
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	copied := filepath.Join(t.TempDir(), "tributary.service")
	if err := os.WriteFile(copied, []byte(strings.Replace(string(body), "ExecStart="+words[0], "ExecStart="+self, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	// verify exits 0 on unknown keys and bad values too, so its output is
	// what tells.
	out, err := exec.Command(analyze, "verify", copied).CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
