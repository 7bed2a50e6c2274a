package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/tributary-io/tributary/internal/cli"
)

// Output formats of the operator commands (streams, shards, consumers).
const (
	outputTable = "table"
	outputJSON  = "json"
)

const (
	// waitPoll is the time between two looks at a stream or a consumer
	// that --wait waits for.
	waitPoll = time.Second
	// progressEvery is the time between two redraws of a progress line.
	progressEvery = time.Second
)

// clientOptions are the flags every operator command has.
type clientOptions struct {
	Endpoint string
	Region   string
	Output   string
}

// clientOptionList is the --output, --endpoint and --region flags of an
// operator command whose options o holds as field(o).
func clientOptionList[O any](field func(*O) *clientOptions) []cmdOption[O] {
	return []cmdOption[O]{
		{
			flag: "output", arg: "format",
			usage: "table, aligned columns for people, or json, one JSON document for scripts (fields as listed above).",
			value: func(o *O) flag.Value {
				return &choiceValue{&field(o).Output, []string{outputTable, outputJSON}}
			},
			def: outputTable,
		},
		clientEndpointOption(func(o *O) *string { return &field(o).Endpoint }),
		regionOption(func(o *O) *string { return &field(o).Region }),
	}
}

// connectionOptionList is the --endpoint and --region flags of a
// command that writes no table (capture, replay, api).
func connectionOptionList[O any](field func(*O) *clientOptions) []cmdOption[O] {
	return clientOptionList(field)[1:]
}

// parseInterleaved parses args into opts with the flags of list, which
// may come before, between or after the positional arguments
// (streams create NAME --shards 2); it returns the positional ones. A
// "--" ends the flags.
func parseInterleaved[O any](name string, list []cmdOption[O], opts *O, args []string) ([]string, error) {
	var pos []string
	for {
		fs, err := parseCmdFlags(name, list, opts, args)
		if err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// wantArgs checks that pos holds the names in want, the positional
// arguments of a command (for its error messages).
func wantArgs(pos []string, want ...string) error {
	switch {
	case len(pos) < len(want):
		return fmt.Errorf("missing %s", strings.Join(want[len(pos):], " and "))
	case len(pos) > len(want):
		return fmt.Errorf("unexpected argument %q", pos[len(want)])
	}
	for i, p := range pos {
		if p == "" {
			return fmt.Errorf("%s must not be empty", want[i])
		}
	}
	return nil
}

// usageFailure prints a usage error of command cmd ("streams create")
// and returns the exit status of one, 2. The help pointer names the
// command whose --help documents the flags.
func usageFailure(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "tributary %s: %v\n\nRun 'tributary %s --help' for the flags.\n", cmd, err, cmd)
	return 2
}

// failure prints the error of a command that failed and returns its exit
// status, 1. AWS errors show as their code and message.
func failure(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "tributary %s: %s\n", cmd, errorText(err))
	return 1
}

// writeJSON writes v as one indented JSON document.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// newTable returns a writer of aligned columns, separated by tabs in
// what is written to it; Flush writes them.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// timeText is how the tables show a time: UTC, to the second.
func timeText(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// startProgress redraws the line that line returns on w every
// progressEvery, when w is a terminal, until the returned function is
// called, which clears it. Elsewhere (a log, a pipe) it prints nothing:
// the summary at the end says it all.
func startProgress(w io.Writer, line func(elapsed time.Duration) string) (stop func()) {
	if !cli.IsTerminal(w) {
		return func() {}
	}
	start := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		width := 0
		for {
			select {
			case <-done:
				if width > 0 {
					fmt.Fprintf(w, "\r%s\r", strings.Repeat(" ", width))
				}
				return
			case now := <-t.C:
				l := line(now.Sub(start))
				fmt.Fprintf(w, "\r%s%s", l, strings.Repeat(" ", max(width-len(l), 0)))
				width = max(width, len(l))
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// waitFor calls check every waitPoll until it reports done or fails, or
// ctx ends, with a progress line on w (a terminal) that what returns
// describes.
func waitFor(ctx context.Context, w io.Writer, check func(context.Context) (done bool, state string, err error)) error {
	var mu sync.Mutex
	state := ""
	stop := startProgress(w, func(elapsed time.Duration) string {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprintf("waiting: %s (%.0fs)", state, elapsed.Seconds())
	})
	defer stop()
	for {
		done, s, err := check(ctx)
		if err != nil || done {
			return err
		}
		mu.Lock()
		state = s
		mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(waitPoll):
		}
	}
}

// clientCommand is an operator command that talks to a Kinesis endpoint:
// its flags, positional arguments, help and what it does. O holds its
// options, clientOptions among them.
type clientCommand[O any] struct {
	name     string // "streams create": the words after "tributary"
	family   string // "streams": what its errors are prefixed with
	synopsis string // the usage line after "tributary "
	doc      string // the help text between the usage line and the flags
	options  []cmdOption[O]
	defaults func() O
	client   func(*O) *clientOptions
	// check validates the options and the positional arguments, for a
	// usage error.
	check func(o *O, pos []string) error
	// conns is how many calls the command may have in flight.
	conns int
	run   func(ctx context.Context, c *awsClient, o *O, pos []string, io cmdIO) error
}

// cmdIO is a command's standard input and outputs.
type cmdIO struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func (cc *clientCommand[O]) usage() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: tributary %s\n\n%s\nFlags:\n", cc.synopsis, cc.doc)
	writeCmdFlags(&b, cc.options, cc.defaults())
	return b.String()
}

// main runs the command with args, the arguments after its name, and
// returns the exit status.
func (cc *clientCommand[O]) main(ctx context.Context, args []string, cio cmdIO) int {
	opts := cc.defaults()
	pos, err := parseInterleaved("tributary "+cc.name, cc.options, &opts, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(cio.stdout, cc.usage())
		return 0
	}
	if err == nil {
		err = cc.check(&opts, pos)
	}
	if err != nil {
		return usageFailure(cio.stderr, cc.name, err)
	}
	co := cc.client(&opts)
	c, err := newKinesisClient(ctx, co.Endpoint, co.Region, max(cc.conns, 2))
	if err != nil {
		return failure(cio.stderr, cc.family, err)
	}
	defer c.closeIdle()
	if err := cc.run(ctx, c, &opts, pos, cio); err != nil {
		return failure(cio.stderr, cc.family, err)
	}
	return 0
}

// commandFamily is a command whose first argument names a subcommand
// (streams list, consumers register).
type commandFamily struct {
	name string
	doc  string // the help text of "tributary NAME --help"
	subs map[string]func(ctx context.Context, args []string, cio cmdIO) int
}

func (f *commandFamily) main(ctx context.Context, args []string, cio cmdIO) int {
	if len(args) == 0 {
		return usageFailure(cio.stderr, f.name, errors.New("missing subcommand"))
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(cio.stdout, f.doc)
		return 0
	}
	sub, ok := f.subs[args[0]]
	if !ok {
		return usageFailure(cio.stderr, f.name, fmt.Errorf("unknown subcommand %q", args[0]))
	}
	return sub(ctx, args[1:], cio)
}
