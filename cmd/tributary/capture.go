package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tributary-io/tributary/consumer"
	"github.com/tributary-io/tributary/internal/cli"
)

// captureOptions are the flags of "tributary capture".
type captureOptions struct {
	clientOptions
	Stream    string
	Out       string
	From      string
	Timestamp time.Time
	Follow    bool
	Limit     int
}

// captureRecord is one line of a capture file: a record as capture
// writes it and replay reads it. Data is base64 in the JSON (as
// encoding/json writes a []byte); Arrival is RFC 3339 with nanoseconds.
type captureRecord struct {
	Data     []byte    `json:"data"`
	Key      string    `json:"key"`
	Arrival  time.Time `json:"arrival"`
	Shard    string    `json:"shard"`
	Sequence string    `json:"sequence"`
	// SubSequence is the record's place in its KPL aggregate, only for
	// a record of one: the records of an aggregate share its sequence
	// number.
	SubSequence *int64 `json:"subSequence,omitempty"`
}

// errCaptureLimit stops the scan once --limit records are written.
var errCaptureLimit = errors.New("--limit records written")

func captureCommand() *clientCommand[captureOptions] {
	client := func(o *captureOptions) *clientOptions { return &o.clientOptions }
	return &clientCommand[captureOptions]{
		name: "capture", family: "capture",
		synopsis: `capture --stream name --out file [--from position [--timestamp time]]
                         [--follow] [--limit n] [flags]`,
		doc: `Saves the records of a stream to a file, one JSON object a line (NDJSON),
for tributary replay or any other program. Every shard is read through
Tributary's consumer library (consumer.Scan), in lineage order: a parent
shard is read to its end before its children, as a consumer must, so a
partition key's records are in the file in the order they were stored,
across splits and merges. KPL aggregated records are unpacked.

Each line has the fields
  data         the record's data, base64
  key          its partition key
  arrival      when Kinesis stored it (ApproximateArrivalTimestamp),
               RFC 3339 in UTC with nanoseconds
  shard        the shard's id
  sequence     the sequence number (the aggregate's, for a record of one)
  subSequence  the record's place in its KPL aggregate; only for those

Capture stops once every open shard is read to its tip (GetRecords says
MillisBehindLatest 0), unless --follow, which reads on until SIGINT or
SIGTERM, records reaching the file within 0.1s. On a terminal, a
progress line on standard error; at the end a summary: "capture: N
records (X MiB) from S shards of stream NAME to FILE in T".

Exit status: 0 once the records are saved, 1 if the stream cannot be
read or the file written, 2 for wrong usage.
`,
		options: append([]cmdOption[captureOptions]{
			streamOption(func(o *captureOptions) *string { return &o.Stream }, "Stream to read, by name or ARN. Required."),
			{
				flag: "out", arg: "file",
				usage: "File to write, replaced if it exists; - is standard output. Required.",
				value: func(o *captureOptions) flag.Value { return &nonEmptyValue{&o.Out} },
				def:   "none",
			},
			fromOption(func(o *captureOptions) *string { return &o.From },
				"Where to start: trim-horizon (every shard's oldest record), latest (records put after capture started) or at-timestamp (--timestamp)."),
			timestampOption(func(o *captureOptions) *time.Time { return &o.Timestamp },
				"With --from at-timestamp, and only with it: the time to start at, RFC 3339 or Unix seconds."),
			{
				flag:  "follow",
				usage: "Keep reading new records until SIGINT or SIGTERM rather than stop at the shards' tips.",
				value: func(o *captureOptions) flag.Value { return &boolValue{&o.Follow} },
			},
			{
				flag: "limit", arg: "n",
				usage: "Stop after this many records; 0 saves them all.",
				value: func(o *captureOptions) flag.Value { return &countValue{&o.Limit} },
			},
		}, connectionOptionList(client)...),
		defaults: func() captureOptions { return captureOptions{From: tailFromTrimHorizon} },
		client:   client,
		check: func(o *captureOptions, pos []string) error {
			switch {
			case o.Stream == "":
				return errors.New("--stream is required")
			case o.Out == "":
				return errors.New("--out is required")
			case o.From == tailFromAtTimestamp && o.Timestamp.IsZero():
				return errors.New("--from at-timestamp needs --timestamp")
			case o.From != tailFromAtTimestamp && !o.Timestamp.IsZero():
				return fmt.Errorf("--timestamp needs --from at-timestamp, not %s", o.From)
			}
			return wantArgs(pos)
		},
		conns: 32,
		run:   runCapture,
	}
}

func runCapture(ctx context.Context, c *awsClient, o *captureOptions, _ []string, cio cmdIO) error {
	// The first SIGINT or SIGTERM stops the reading, and what was read is
	// saved; a second one ends the process.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)

	if _, err := describeStream(ctx, c.Kinesis, o.Stream); err != nil {
		return err
	}
	var out io.Writer = cio.stdout
	name := "standard output"
	if o.Out != "-" {
		f, err := os.Create(o.Out)
		if err != nil {
			return err
		}
		defer f.Close()
		out, name = f, o.Out
	}
	w := bufio.NewWriterSize(out, 256<<10)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	// mu guards w: the records are buffered, and flushed now and then so
	// that a followed stream's records reach the file while it runs.
	var mu sync.Mutex
	flushDone := make(chan struct{})
	var flusher sync.WaitGroup
	flusher.Go(func() {
		t := time.NewTicker(tailFlushEvery)
		defer t.Stop()
		for {
			select {
			case <-flushDone:
				return
			case <-t.C:
				mu.Lock()
				if w.Buffered() > 0 {
					w.Flush() // an error stays in w, for the next write
				}
				mu.Unlock()
			}
		}
	})

	cfg := consumer.ScanConfig{
		Stream: o.Stream, Client: c.Kinesis, Follow: o.Follow, IdleTime: tailIdleTime,
		Logger: slog.New(&tailLogHandler{mu: new(sync.Mutex), w: cio.stderr, prefix: "tributary capture: "}),
	}
	switch o.From {
	case tailFromTrimHorizon:
		cfg.From = consumer.TrimHorizon
	case tailFromLatest:
		cfg.From = consumer.Latest
	case tailFromAtTimestamp:
		cfg.From, cfg.Timestamp = consumer.AtTimestamp, o.Timestamp
	}
	var records, bytes atomic.Int64
	shards := map[string]bool{}
	stopProgress := startProgress(cio.stderr, func(elapsed time.Duration) string {
		n := records.Load()
		return fmt.Sprintf("capture: %s records, %.1f MiB, %s rec/s", cli.Thousands(n),
			float64(bytes.Load())/(1<<20), cli.Thousands(int64(float64(n)/max(elapsed.Seconds(), 0.001))))
	})
	start := time.Now()
	// Scan calls its function one record at a time.
	err := consumer.Scan(ctx, cfg, func(r consumer.Record) error {
		line := captureRecord{
			Data: r.Data, Key: r.PartitionKey, Arrival: r.ApproximateArrivalTimestamp.UTC(),
			Shard: r.ShardID, Sequence: r.SequenceNumber,
		}
		if r.Aggregated {
			line.SubSequence = &r.SubSequenceNumber
		}
		mu.Lock()
		err := enc.Encode(&line)
		mu.Unlock()
		if err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
		records.Add(1)
		bytes.Add(int64(len(r.Data)))
		shards[r.ShardID] = true
		if o.Limit > 0 && records.Load() >= int64(o.Limit) {
			return errCaptureLimit
		}
		return nil
	})
	stopProgress()
	close(flushDone)
	flusher.Wait()
	elapsed := time.Since(start)
	interrupted := false
	switch {
	case errors.Is(err, errCaptureLimit):
		err = nil
	case err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()):
		err, interrupted = nil, true
	}
	if ferr := w.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("writing %s: %w", name, ferr)
	}
	if f, ok := out.(*os.File); ok && o.Out != "-" {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("writing %s: %w", name, cerr)
		}
	}
	if interrupted && !o.Follow {
		fmt.Fprintf(cio.stderr, "tributary capture: interrupted before every shard was read to its tip\n")
	}
	n := records.Load()
	fmt.Fprintf(cio.stderr, "capture: %s %s (%.1f MiB) from %s %s of stream %s to %s in %.1fs\n",
		cli.Thousands(n), plural(n, "record", "records"), float64(bytes.Load())/(1<<20),
		cli.Thousands(int64(len(shards))), plural(int64(len(shards)), "shard", "shards"), o.Stream, name, elapsed.Seconds())
	return err
}
