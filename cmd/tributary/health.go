package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tributary-io/tributary/server"
)

// healthOptions are the flags of "tributary health".
type healthOptions struct {
	Endpoint string
	Live     bool
	Timeout  time.Duration
}

func healthOptionList() []cmdOption[healthOptions] {
	return []cmdOption[healthOptions]{
		endpointOption(func(o *healthOptions) *string { return &o.Endpoint }),
		{
			flag:  "live",
			usage: "Ask whether the process serves at all (" + server.LivePath + ") rather than whether it is ready for Kinesis requests (" + server.ReadyPath + ").",
			value: func(o *healthOptions) flag.Value { return &boolValue{&o.Live} },
		},
		{
			flag: "timeout", arg: "duration",
			usage: "How long to wait for the answer; no answer by then is unhealthy.",
			value: func(o *healthOptions) flag.Value { return &durationValue{d: &o.Timeout, positive: true} },
		},
	}
}

func healthUsage() string {
	var b strings.Builder
	b.WriteString(`Usage: tributary health [--endpoint url] [--live] [--timeout duration]

Asks a Tributary server whether it is ready to serve Kinesis requests
(GET ` + server.ReadyPath + `: storage open and recovered, not shutting down), or
with --live whether the process serves at all (GET ` + server.LivePath + `), and
prints the answer. For container and systemd health checks.

Exit status: 0 healthy, 1 not (or no answer within --timeout), 2 for wrong
usage.

Flags:
`)
	writeCmdFlags(&b, healthOptionList(), healthOptions{Endpoint: defaultEndpoint, Timeout: 5 * time.Second})
	return b.String()
}

// healthMain runs "tributary health".
func healthMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts := healthOptions{Endpoint: defaultEndpoint, Timeout: 5 * time.Second}
	fs, err := parseCmdFlags("tributary health", healthOptionList(), &opts, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, healthUsage())
		return 0
	}
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err != nil {
		fmt.Fprintf(stderr, "tributary health: %v\n\nRun 'tributary health --help' for the flags.\n", err)
		return 2
	}
	path := server.ReadyPath
	if opts.Live {
		path = server.LivePath
	}
	url := strings.TrimSuffix(opts.Endpoint, "/") + path
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "tributary health: %v\n", err)
		return 2
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "tributary health: %s: no answer: %v\n", url, err)
		return 1
	}
	defer resp.Body.Close()
	var body struct{ Status, Reason string }
	json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&body)
	line := body.Status
	if body.Reason != "" {
		line += ": " + body.Reason
	}
	if line == "" {
		line = resp.Status
	}
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "tributary health: %s: %d %s\n", url, resp.StatusCode, line)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %s\n", url, line)
	return 0
}
