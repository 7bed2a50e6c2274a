package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRunMain(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStatus int
		wantStdout string // substring; "" means empty
		wantStderr string // substring; "" means empty
	}{
		{name: "no command", wantStatus: 2, wantStderr: "Usage:\n  tributary <command>"},
		{name: "unknown command", args: []string{"frobnicate"}, wantStatus: 2, wantStderr: "tributary: unknown command \"frobnicate\"\n\nRun 'tributary help' for the commands.\n"},
		{name: "help", args: []string{"help"}, wantStdout: "Commands:\n  serve"},
		{name: "-h", args: []string{"-h"}, wantStdout: "Commands:\n  serve"},
		{name: "--help", args: []string{"--help"}, wantStdout: "Commands:\n  serve"},
		{name: "help serve", args: []string{"help", "serve"}, wantStdout: "Usage: tributary serve [flags]"},
		{name: "help unknown", args: []string{"help", "frobnicate"}, wantStatus: 2, wantStderr: "unknown command \"frobnicate\""},
		{name: "serve --help", args: []string{"serve", "--help"}, wantStdout: "Environment: TRIBUTARY_SYNC_INTERVAL."},
		{name: "serve -h", args: []string{"serve", "-h"}, wantStdout: "Usage: tributary serve [flags]"},
		{name: "serve with a bad flag", args: []string{"serve", "--log-level=loud"}, wantStatus: 2,
			wantStderr: "tributary serve: invalid value \"loud\" for flag -log-level"},
		{name: "version", args: []string{"version"}, wantStdout: "tributary dev\ngo:       go"},
		{name: "version with an argument", args: []string{"version", "x"}, wantStatus: 2, wantStderr: "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := runMain(context.Background(), tt.args, nil, &stdout, &stderr, env(nil))
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d", status, tt.wantStatus)
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

// TestUsageErrorsAreShort: a wrong flag or command prints one line and a
// pointer to the help, not the whole help, for every command.
func TestUsageErrorsAreShort(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--bogus"}, {"bench", "--bogus"}, {"faults", "add", "--bogus"}, {"put", "--bogus"},
		{"tail", "--bogus"}, {"health", "--bogus"}, {"bogus"}, {"help", "bogus"},
		{"streams"}, {"streams", "bogus"}, {"streams", "list", "--bogus"}, {"streams", "create"}, {"streams", "describe", "--bogus"},
		{"streams", "delete"}, {"streams", "reshard", "s"}, {"shards"}, {"shards", "s", "--output", "xml"},
		{"consumers", "list"}, {"consumers", "register", "s"}, {"consumers", "deregister", "s", "c", "d"},
		{"capture", "--bogus"}, {"replay", "--in", "f"}, {"api"}, {"api", "--bogus"},
		{"cluster"}, {"cluster", "bogus"}, {"cluster", "status", "--bogus"}, {"cluster", "drain"}, {"cluster", "drain", "n3"},
		{"cluster", "drain", "n3", "n4"}, {"cluster", "add", "--bogus"}, {"cluster", "add", "--json", "n4", "--timeout", "0s"},
	} {
		var stdout, stderr bytes.Buffer
		status := runMain(context.Background(), args, nil, &stdout, &stderr, env(nil))
		lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
		if status != 2 || len(lines) != 3 || lines[1] != "" || !strings.HasPrefix(lines[2], "Run 'tributary ") || stdout.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and an error line, a blank line and a pointer to the help", args, status, stderr.String())
		}
	}
}
