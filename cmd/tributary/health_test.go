package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
)

func healthCLI(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := runMain(context.Background(), append([]string{"health"}, args...), nil, &stdout, &stderr, env(nil))
	return code, stdout.String(), stderr.String()
}

// TestHealthCommand: tributary health against the real server, a port
// where nothing listens, and wrong usage.
func TestHealthCommand(t *testing.T) {
	endpoint, _ := startPutServer(t, nil)
	// A port with nothing behind it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()

	for _, tt := range []struct {
		name       string
		args       []string
		code       int
		out, errOf string
	}{
		{"ready", []string{"--endpoint", endpoint}, 0, endpoint + "/health/ready: ok\n", ""},
		{"live", []string{"--endpoint", endpoint, "--live"}, 0, endpoint + "/health/live: ok\n", ""},
		{"nothing listens", []string{"--endpoint", dead, "--timeout", "2s"}, 1, "", "tributary health: " + dead + "/health/ready: no answer: "},
		{"not an endpoint", []string{"--endpoint", "nope"}, 2, "", "must be an http or https URL"},
		{"an argument", []string{"--endpoint", endpoint, "extra"}, 2, "", `unexpected argument "extra"`},
		{"bad timeout", []string{"--timeout", "0s"}, 2, "", "must be positive"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := healthCLI(tt.args...)
			if code != tt.code || out != tt.out || !strings.Contains(errOut, tt.errOf) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, stderr with %q", code, out, errOut, tt.code, tt.out, tt.errOf)
			}
		})
	}
	code, out, _ := healthCLI("--help")
	for _, flag := range []string{"--endpoint", "--live", "--timeout"} {
		if code != 0 || !strings.Contains(out, flag) {
			t.Errorf("--help (exit %d) does not document %s:\n%s", code, flag, out)
		}
	}
}
