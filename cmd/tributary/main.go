// Command tributary runs Tributary, a Kinesis Data Streams-compatible
// server that AWS's own clients use unchanged through an endpoint URL.
//
// Usage:
//
//	tributary serve [flags]   run the server (tributary serve --help)
//	tributary bench [flags]   measure a Kinesis endpoint (tributary bench --help)
//	tributary faults ...      inject faults into a server (tributary faults --help)
//	tributary put [flags]     write records from standard input (tributary put --help)
//	tributary tail [flags]    print a stream's records (tributary tail --help)
//	tributary health [flags]  ask a server whether it is ready (tributary health --help)
//	tributary streams ...     list, create, describe, delete, reshard streams
//	tributary shards STREAM   print a stream's shard map
//	tributary consumers ...   list, register, deregister stream consumers
//	tributary capture [flags] save a stream's records to an NDJSON file
//	tributary replay [flags]  put the records of a capture into a stream
//	tributary api OP JSON     make a raw signed Kinesis call
//	tributary version         print version information
//	tributary help            print this help
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `Tributary is a Kinesis Data Streams-compatible server.

Usage:
  tributary <command> [flags]

Commands:
  serve     Run the server
  bench     Measure a Kinesis endpoint: throughput, latency, many shards
  faults    Inject faults into a server started with --admin
  put       Write records read from standard input to a stream
  tail      Print the records of a stream, or follow it
  health    Ask a server whether it is ready (for health checks)
  cluster   A cluster: status (leaders, replicas, lag), add or drain a node
  version   Print version information
  help      Print this help, or a command's: tributary help serve

Operator commands, for any Kinesis endpoint (Tributary, an emulator, AWS):
  streams    List, create, describe, delete or reshard streams
  shards     Print a stream's shard map: hash ranges, lineage, sequences
  consumers  List, register or deregister stream consumers (fan-out)
  capture    Save a stream's records to a file, one JSON line each
  replay     Put the records of a capture into a stream
  api        Make a raw signed Kinesis call: tributary api ListStreams '{}'

Run 'tributary serve --help' for the server's flags,
'tributary bench --help' for the benchmark's,
'tributary put --help' for put's and
'tributary tail --help' for tail's; 'tributary COMMAND --help' for any
command's.
`

func main() {
	os.Exit(runMain(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.LookupEnv))
}

// runMain runs the command line args, with stdin the standard input of
// the commands that read it (put), and returns the exit status: 0 on
// success, 1 if the command failed, 2 if it was used wrongly.
func runMain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serveMain(ctx, rest, stdout, stderr, lookupEnv)
	case "bench":
		return benchMain(ctx, rest, stdout, stderr, lookupEnv)
	case "faults":
		return faultsMain(ctx, rest, stdout, stderr, lookupEnv)
	case "put":
		return putMain(ctx, rest, stdin, stdout, stderr)
	case "tail":
		return tailMain(ctx, rest, stdout, stderr)
	case "health":
		return healthMain(ctx, rest, stdout, stderr)
	case "cluster":
		return clusterMain(ctx, rest, stdout, stderr, lookupEnv)
	case "streams", "shards", "consumers", "capture", "replay", "api":
		return operatorCommands()[cmd](ctx, rest, cmdIO{stdin: stdin, stdout: stdout, stderr: stderr})
	case "version":
		if len(rest) > 0 {
			fmt.Fprintf(stderr, "tributary version: unexpected argument %q\n", rest[0])
			return 2
		}
		fmt.Fprint(stdout, versionString())
		return 0
	case "help", "-h", "-help", "--help":
		switch {
		case len(rest) == 0:
			fmt.Fprint(stdout, usage)
		case len(rest) == 1 && rest[0] == "serve":
			fmt.Fprint(stdout, serveUsage())
		case len(rest) == 1 && rest[0] == "bench":
			fmt.Fprint(stdout, benchUsage())
		case len(rest) == 1 && rest[0] == "faults":
			fmt.Fprint(stdout, faultsUsage())
		case len(rest) == 1 && rest[0] == "put":
			fmt.Fprint(stdout, putUsage())
		case len(rest) == 1 && rest[0] == "tail":
			fmt.Fprint(stdout, tailUsage())
		case len(rest) == 1 && rest[0] == "health":
			fmt.Fprint(stdout, healthUsage())
		case len(rest) == 1 && rest[0] == "cluster":
			fmt.Fprint(stdout, clusterUsage())
		case len(rest) == 1 && operatorCommands()[rest[0]] != nil:
			return operatorCommands()[rest[0]](ctx, []string{"--help"}, cmdIO{stdin: stdin, stdout: stdout, stderr: stderr})
		case len(rest) == 1 && rest[0] == "version":
			fmt.Fprint(stdout, "Usage: tributary version\n\nPrints the version of Tributary, the Go version it was built with and its\nsource revision.\n")
		default:
			fmt.Fprintf(stderr, "tributary help: unknown command %q\n\nRun 'tributary help' for the commands.\n", rest[0])
			return 2
		}
		return 0
	default:
		fmt.Fprintf(stderr, "tributary: unknown command %q\n\nRun 'tributary help' for the commands.\n", cmd)
		return 2
	}
}

// serveMain runs "tributary serve" until SIGINT or SIGTERM.
func serveMain(ctx context.Context, args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	cmd, err := parseServeCommand(args, lookupEnv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, serveUsage())
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "tributary serve: %v\n\nRun 'tributary serve --help' for the flags.\n", err)
		return 2
	}
	cfg := cmd.cfg
	if cmd.printConfig {
		var b strings.Builder
		writeConfig(&b, cfg)
		fmt.Fprint(stdout, b.String())
		return 0
	}

	logger := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Once the first signal has started a graceful shutdown, restore the
	// default handling so that a second one stops a shutdown that hangs.
	context.AfterFunc(ctx, stop)

	if err := run(ctx, cfg, logger); err != nil {
		logger.Error("tributary serve failed", slog.Any("error", err))
		return 1
	}
	return 0
}

// newLogger returns a logger writing to w at level in format "text" or
// "json".
func newLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// operatorCommands returns the main functions of the operator commands,
// by name.
func operatorCommands() map[string]func(context.Context, []string, cmdIO) int {
	return map[string]func(context.Context, []string, cmdIO) int{
		"streams":   streamsCommands().main,
		"shards":    shardsCommand().main,
		"consumers": consumersCommands().main,
		"capture":   captureCommand().main,
		"replay":    replayCommand().main,
		"api":       apiMain,
	}
}
