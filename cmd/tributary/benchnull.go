package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tributary-io/tributary/bench"
)

const benchNullUsage = `Usage: tributary bench serve-null [--listen host:port]

Serves the bench's yardstick: a null Kinesis endpoint written with the
standard library alone (encoding/json, MD5 routing, records kept in
memory, nothing durable, no validation or limits), for bench/compare.sh to
measure Tributary against. It answers only what the ingest, drain, latency
and shards workloads call. Runs until SIGINT or SIGTERM.

Flags:
  --listen host:port
        Where to listen. Default: 127.0.0.1:4568.
`

// benchNullMain runs "tributary bench serve-null".
func benchNullMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tributary bench serve-null", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	listen := fs.String("listen", "127.0.0.1:4568", "")
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, benchNullUsage)
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "tributary bench serve-null: %v\n\nRun 'tributary bench serve-null --help' for the flags.\n", err)
		return 2
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "tributary bench serve-null: unexpected argument %q\n\nRun 'tributary bench serve-null --help' for the flags.\n", fs.Arg(0))
		return 2
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "tributary bench serve-null: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Handler: bench.NewNullServer(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdownCtx)
	}()
	fmt.Fprintf(stderr, "tributary bench serve-null: listening on %s\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "tributary bench serve-null: %v\n", err)
		return 1
	}
	return 0
}
