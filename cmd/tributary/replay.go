package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tributary-io/tributary/internal/cli"
	"github.com/tributary-io/tributary/producer"
)

// replayOptions are the flags of "tributary replay".
type replayOptions struct {
	clientOptions
	In            string
	Stream        string
	Speed         float64 // 0: as fast as the stream takes them
	IDs           bool
	NoAggregation bool
	RateLimit     float64 // producer.Config.RateLimit
}

// speedValue is --speed: "max", or a positive factor of the original
// pace.
type speedValue struct{ f *float64 }

func (v *speedValue) String() string {
	if *v.f == 0 {
		return "max"
	}
	return strconv.FormatFloat(*v.f, 'g', -1, 64)
}

func (v *speedValue) Set(s string) error {
	if s == "max" {
		*v.f = 0
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f > 0) || f > 1e9 {
		return errors.New(`must be "max" or a positive number, such as 1 (the original pace) or 10`)
	}
	*v.f = f
	return nil
}

func replayCommand() *clientCommand[replayOptions] {
	client := func(o *replayOptions) *clientOptions { return &o.clientOptions }
	return &clientCommand[replayOptions]{
		name: "replay", family: "replay",
		synopsis: "replay --in file --stream name [--speed max|n] [flags]",
		doc: `Puts the records of a capture file (tributary capture's NDJSON: data,
key, arrival) into a stream, each with its partition key and its data
byte for byte, through Tributary's producer library: records are sent in
batches, refused ones again, and a partition key's records are stored in
the order of the file. The fields shard and sequence are not used: the
target stream's shards place the records by their keys.

Pace (--speed):
  max  as fast as the stream takes them
  n    n times the original pace, from the arrival times: 1 is the pace
       they were stored at, 2 twice as fast, 0.5 half as fast

By default the records carry no producer ID (see docs/producer.md), so
the stream holds plain KPL aggregates; --ids adds them, for exactly-once
writes to Tributary. --no-aggregation sends every record alone, for
consumers that do not unpack KPL aggregates.

On a terminal, a progress line on standard error; at the end a summary:
"replay: N records (X MiB) to stream S in T, R rec/s: N stored, F failed",
after the first failures with their line numbers.

Exit status: 0 if every record was stored, 1 if one was not or the file
cannot be read, 2 for wrong usage.
`,
		options: append([]cmdOption[replayOptions]{
			{
				flag: "in", arg: "file",
				usage: "Capture file to read; - is standard input. Required.",
				value: func(o *replayOptions) flag.Value { return &nonEmptyValue{&o.In} },
				def:   "none",
			},
			streamOption(func(o *replayOptions) *string { return &o.Stream }, "Stream to put the records into, by name or ARN. Required."),
			{
				flag: "speed", arg: "max|n",
				usage: "How fast to put the records: max, or n times the pace of their arrival times (see above).",
				value: func(o *replayOptions) flag.Value { return &speedValue{&o.Speed} },
			},
			{
				flag:  "ids",
				usage: "Give the records producer IDs, which Tributary uses to store a batch sent twice only once.",
				value: func(o *replayOptions) flag.Value { return &boolValue{&o.IDs} },
			},
			{
				flag:  "no-aggregation",
				usage: "Send every record alone rather than in KPL aggregates (and without IDs).",
				value: func(o *replayOptions) flag.Value { return &boolValue{&o.NoAggregation} },
			},
			{
				flag: "rate-limit", arg: "fraction",
				usage: "Most each shard is sent per second, as a fraction of AWS's shard write limits (1,000 records and 1 MiB a second), as the KPL's RateLimit: above 1 only for an endpoint that allows more, such as Tributary with --limits off, where a large value lets --speed max go as fast as the server takes records.",
				value: func(o *replayOptions) flag.Value { return &positiveFloatValue{&o.RateLimit} },
			},
		}, connectionOptionList(client)...),
		defaults: func() replayOptions { return replayOptions{RateLimit: 1.5} },
		client:   client,
		check: func(o *replayOptions, pos []string) error {
			switch {
			case o.In == "":
				return errors.New("--in is required")
			case o.Stream == "":
				return errors.New("--stream is required")
			case o.IDs && o.NoAggregation:
				return errors.New("--ids needs aggregation: not with --no-aggregation")
			}
			return wantArgs(pos)
		},
		conns: 18,
		run:   runReplay,
	}
}

// replayed is a record on its way: its line, and its Future or why it
// was not put.
type replayed struct {
	line int
	fut  *producer.Future
	err  error
}

func runReplay(ctx context.Context, c *awsClient, o *replayOptions, _ []string, cio cmdIO) error {
	// The first SIGINT or SIGTERM stops the reading, then the records put
	// are waited for; a second one ends the process.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)

	in := cio.stdin
	if o.In != "-" {
		f, err := os.Open(o.In)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	if _, err := describeStream(ctx, c.Kinesis, o.Stream); err != nil {
		return err
	}
	p, err := producer.New(ctx, producer.Config{
		Stream: o.Stream, Client: producerClient{c.Kinesis},
		DisableIDs: !o.IDs, DisableAggregation: o.NoAggregation,
		RateLimit: o.RateLimit,
	})
	if err != nil {
		return fmt.Errorf("stream %s: %s", o.Stream, errorText(err))
	}

	var read, stored, failed, bytes atomic.Int64
	var failures []string
	outcomes := make(chan replayed, 4096)
	// giveUp ends the waits for answers once Close has given up on them.
	giveUp, cancelWaits := context.WithCancel(context.Background())
	defer cancelWaits()
	var collected sync.WaitGroup
	collected.Go(func() {
		for r := range outcomes {
			err := r.err
			if err == nil {
				_, err = r.fut.Wait(giveUp)
			}
			if err != nil {
				failed.Add(1)
				if len(failures) < putFailuresShown {
					failures = append(failures, fmt.Sprintf("line %d: %s", r.line, errorText(err)))
				}
				continue
			}
			stored.Add(1)
		}
	})

	start := time.Now()
	stopProgress := startProgress(cio.stderr, func(elapsed time.Duration) string {
		return fmt.Sprintf("replay: %s read, %s stored, %s failed, %.1f MiB, %s rec/s", cli.Thousands(read.Load()),
			cli.Thousands(stored.Load()), cli.Thousands(failed.Load()), float64(bytes.Load())/(1<<20),
			cli.Thousands(int64(float64(stored.Load())/max(elapsed.Seconds(), 0.001))))
	})
	sc := bufio.NewScanner(in)
	sc.Buffer(nil, 2*maxRecordBytes)
	var first time.Time // arrival of the first record, for --speed n
	interrupted := false
	line := 0
	for !interrupted && sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var rec captureRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			read.Add(1)
			outcomes <- replayed{line: line, err: fmt.Errorf("not a capture record: %w", err)}
			continue
		}
		if o.Speed > 0 && !rec.Arrival.IsZero() {
			if first.IsZero() {
				first = rec.Arrival
			}
			// The record's time in the replay: its distance from the
			// first, at the speed asked. A record that arrived before an
			// earlier line (another shard's) goes at once.
			due := start.Add(time.Duration(float64(rec.Arrival.Sub(first)) / o.Speed))
			if d := time.Until(due); d > 0 {
				select {
				case <-ctx.Done():
					interrupted = true
					continue
				case <-time.After(d):
				}
			}
		}
		fut, err := p.Put(ctx, producer.Record{PartitionKey: rec.Key, Data: rec.Data})
		if err != nil && ctx.Err() != nil {
			interrupted = true
			break
		}
		read.Add(1)
		bytes.Add(int64(len(rec.Data)))
		outcomes <- replayed{line: line, fut: fut, err: err}
	}
	readErr := sc.Err()
	// Close sends what is buffered and waits for every answer: as long as
	// that takes, or after an interrupt for putFlushTimeout.
	closeCtx, cancel := ctx, context.CancelFunc(func() {})
	if interrupted {
		closeCtx, cancel = context.WithTimeout(context.Background(), putFlushTimeout)
	}
	closeErr := p.Close(closeCtx)
	cancel()
	if closeErr != nil && !interrupted {
		// Interrupted while closing.
		closeCtx, cancel = context.WithTimeout(context.Background(), putFlushTimeout)
		closeErr = p.Close(closeCtx)
		cancel()
	}
	if closeErr != nil {
		cancelWaits()
	}
	close(outcomes)
	collected.Wait()
	stopProgress()
	elapsed := time.Since(start)

	for _, f := range failures {
		fmt.Fprintf(cio.stderr, "tributary replay: %s\n", f)
	}
	if interrupted {
		fmt.Fprintf(cio.stderr, "tributary replay: interrupted after line %d\n", line)
	}
	n := read.Load()
	fmt.Fprintf(cio.stderr, "replay: %s %s (%.1f MiB) to stream %s in %.1fs, %s rec/s: %s stored, %s failed\n",
		cli.Thousands(n), plural(n, "record", "records"), float64(bytes.Load())/(1<<20), o.Stream, elapsed.Seconds(),
		cli.Thousands(int64(float64(stored.Load())/max(elapsed.Seconds(), 0.001))), cli.Thousands(stored.Load()), cli.Thousands(failed.Load()))

	var errs []error
	if readErr != nil {
		errs = append(errs, fmt.Errorf("reading %s: %w", o.In, readErr))
	}
	if closeErr != nil && failed.Load() == 0 {
		errs = append(errs, closeErr)
	}
	if f := failed.Load(); f > 0 {
		errs = append(errs, fmt.Errorf("%s %s not stored", cli.Thousands(f), plural(f, "record", "records")))
	}
	return errors.Join(errs...)
}
