package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/tributary-io/tributary/consumer"
	"github.com/tributary-io/tributary/internal/cli"
)

// Starting positions of "tributary tail".
const (
	tailFromTrimHorizon = "trim-horizon"
	tailFromLatest      = "latest"
	tailFromAtTimestamp = "at-timestamp"
)

// Output formats of "tributary tail".
const (
	tailFormatText = "text"
	tailFormatJSON = "json"
	tailFormatHex  = "hex"
)

// Package variables so that tests can change them.
var (
	// tailIdleTime is the pause between reads of a shard at its tip (the
	// consumer's IdleTime): how late a followed record can be printed.
	tailIdleTime = 250 * time.Millisecond
	// tailFlushEvery is how often what is written to standard output is
	// flushed: records are buffered, and printed at most this late.
	tailFlushEvery = 100 * time.Millisecond
)

// arrivalLayout is RFC 3339 with milliseconds, as the json and hex
// formats write arrival times (in UTC).
const arrivalLayout = "2006-01-02T15:04:05.000Z07:00"

// tailOptions are the flags of "tributary tail".
type tailOptions struct {
	Stream    string
	From      string
	Timestamp time.Time // with From at-timestamp; zero when not given
	Format    string
	Follow    bool
	EFO       string // the stream consumer to read as, by enhanced fan-out; "" polls
	Max       int    // 0: no limit
	Endpoint  string
	Region    string
}

func defaultTailOptions() tailOptions {
	return tailOptions{From: tailFromTrimHorizon, Format: tailFormatText}
}

// tailOption is one flag of "tributary tail" and its documentation.
type tailOption = cmdOption[tailOptions]

func tailOptionList() []tailOption {
	return []tailOption{
		streamOption(func(o *tailOptions) *string { return &o.Stream }, "Stream to read, by name or ARN. Required."),
		fromOption(func(o *tailOptions) *string { return &o.From },
			"Where to start reading: trim-horizon, latest or at-timestamp (see above)."),
		timestampOption(func(o *tailOptions) *time.Time { return &o.Timestamp },
			"With --from at-timestamp, and only with it: the time to start at, RFC 3339 (2024-05-01T12:00:00Z, 2024-05-01T14:00:00.250+02:00) or Unix seconds (1714564800, 1714564800.25)."),
		{
			flag: "format", arg: "format",
			usage: "How to print the records: text, json or hex (see above).",
			value: func(o *tailOptions) flag.Value {
				return &choiceValue{&o.Format, []string{tailFormatText, tailFormatJSON, tailFormatHex}}
			},
		},
		{
			flag:  "follow",
			usage: "Keep reading new records, and the shards that splits and merges make, until SIGINT or SIGTERM, rather than stop at the shards' tips.",
			value: func(o *tailOptions) flag.Value { return &boolValue{&o.Follow} },
		},
		{
			flag: "efo", arg: "name",
			usage: "Read by enhanced fan-out (SubscribeToShard) as the stream consumer of this name, registered if need be and left registered, rather than by polling with GetRecords.",
			value: func(o *tailOptions) flag.Value { return &stringValue{&o.EFO} },
		},
		{
			flag: "max", arg: "n",
			usage: "Stop after printing this many records; 0 prints them all.",
			value: func(o *tailOptions) flag.Value { return &countValue{&o.Max} },
		},
		clientEndpointOption(func(o *tailOptions) *string { return &o.Endpoint }),
		regionOption(func(o *tailOptions) *string { return &o.Region }),
	}
}

// parseTailArgs returns the options given by the command-line arguments.
// It returns flag.ErrHelp if they ask for help.
func parseTailArgs(args []string) (tailOptions, error) {
	opts := defaultTailOptions()
	fs, err := parseCmdFlags("tributary tail", tailOptionList(), &opts, args)
	if err != nil {
		return tailOptions{}, err
	}
	switch {
	case fs.NArg() > 0:
		return tailOptions{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case opts.Stream == "":
		return tailOptions{}, errors.New("--stream is required")
	case opts.From == tailFromAtTimestamp && opts.Timestamp.IsZero():
		return tailOptions{}, errors.New("--from at-timestamp needs --timestamp")
	case opts.From != tailFromAtTimestamp && !opts.Timestamp.IsZero():
		return tailOptions{}, fmt.Errorf("--timestamp needs --from at-timestamp, not %s", opts.From)
	}
	return opts, nil
}

// timestampValue is a time in RFC 3339 or in Unix seconds, with a
// fraction or not.
type timestampValue struct{ t *time.Time }

func (v *timestampValue) String() string {
	if v.t.IsZero() {
		return ""
	}
	return v.t.Format(time.RFC3339Nano)
}

func (v *timestampValue) Set(s string) error {
	t, err := parseTimestamp(s)
	if err != nil {
		return err
	}
	*v.t = t
	return nil
}

// parseTimestamp reads a time in RFC 3339 or in Unix seconds.
func parseTimestamp(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	secs, frac, hasFrac := strings.Cut(s, ".")
	digits := func(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }
	if digits(secs) && (!hasFrac || digits(frac) && len(frac) <= 9) {
		sec, err := strconv.ParseInt(secs, 10, 64)
		if err == nil && sec <= 1<<40 {
			nsec, _ := strconv.Atoi((frac + "000000000")[:9])
			return time.Unix(sec, int64(nsec)), nil
		}
	}
	return time.Time{}, errors.New("must be a time in RFC 3339, such as 2024-05-01T12:00:00Z, or in Unix seconds, such as 1714564800")
}

// tailUsage is the help text of "tributary tail".
func tailUsage() string {
	var b strings.Builder
	b.WriteString(`Usage: tributary tail --stream name [--from position [--timestamp time]]
                      [--format format] [--follow] [--max n] [flags]

Prints the records of a Kinesis data stream on standard output, through
Tributary's consumer library (consumer.Scan). Every shard is read, each
in order and a parent shard before its children, so that a partition
key's records are printed in the order they were stored, across splits
and merges; the records of different shards are interleaved. KPL
aggregated records are unpacked: each record that the producer library
(tributary put) or the KPL packed in one is printed on its own.

Where reading starts (--from):
  trim-horizon  every shard's oldest record
  latest        the records put after tail started (the open shards)
  at-timestamp  in every shard, the first record stored at or after
                --timestamp

Without --follow, tail stops once every shard was read to its tip (an
open shard) or its end (a closed one). With --follow it goes on reading
new records, and new shards, until SIGINT or SIGTERM; a shard at its tip
is read again every 0.25s. --max stops it after that many records. Nothing
is remembered from one run to the next.

Output (--format):
  text  one line a record: its data, as is but for what would break the
        line or upset a terminal: a newline is written \n, a carriage
        return \r, another control character or a byte that is not UTF-8
        \xNN, a Unicode control or line separator \uNNNN. A tab is
        written as is, and so is a backslash, so text is for reading:
        json and hex give the exact bytes
  json  one JSON object a line, with the fields
          shard              the shard's id
          sequenceNumber     the Kinesis record's (the aggregate's)
          subSequenceNumber  the record's place in its KPL aggregate,
                             from 0; only for a record of one
          partitionKey
          explicitHashKey    only when the record has one (a record of
                             an aggregate: GetRecords does not return a
                             plain record's)
          arrival            when Kinesis stored it: RFC 3339 in UTC,
                             with milliseconds
          data               the data as a string when it is text (valid
                             UTF-8 without control characters other than
                             tab, newline and carriage return); else in
                             base64, and then "dataEncoding": "base64"
          producerId, producerSeq
                             the record's ID, when Tributary's producer
                             put it (see docs/producer.md)
  hex   per record, a header line with json's fields as name=value (the
        partition key quoted) and bytes=N, the data's length, then the
        data as hexdump -C shows it (no line for an empty record)

Standard error gets the calls that failed, with the AWS error's code and
message (tail tries them again), and at the end a summary: "tail: N
records (X MiB) from S shards of stream NAME in T", S counting the
shards records came from.

The endpoint, region and credentials are found as every client
command finds them (see --endpoint and --region): tail reads from
Tributary, another Kinesis emulator or AWS.

Exit status: 0 once the records were read (to the shards' tips, --max of
them, or until SIGINT or SIGTERM), 1 if the stream cannot be read (it
does not exist, or the endpoint cannot be reached) or standard output
cannot be written, 2 for wrong usage.

Flags:
`)
	writeCmdFlags(&b, tailOptionList(), defaultTailOptions())
	return b.String()
}

// tailMain runs "tributary tail".
func tailMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := parseTailArgs(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, tailUsage())
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "tributary tail: %v\n\nRun 'tributary tail --help' for the flags.\n", err)
		return 2
	}
	// The first SIGINT or SIGTERM stops the reading; a second one ends
	// the process.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)

	// A connection per shard read at once.
	c, err := newKinesisClient(ctx, opts.Endpoint, opts.Region, 32)
	if err != nil {
		fmt.Fprintf(stderr, "tributary tail: %v\n", err)
		return 1
	}
	defer c.closeIdle()
	r := &tailRun{opts: opts, stderr: stderr, out: newTailWriter(stdout, opts.Format)}
	if err := r.run(ctx, c.Kinesis); err != nil {
		fmt.Fprintf(stderr, "tributary tail: %v\n", err)
		return 1
	}
	return 0
}

// errTailMax stops the scan once --max records are printed.
var errTailMax = errors.New("--max records printed")

// tailRun is one run of tail.
type tailRun struct {
	opts   tailOptions
	stderr io.Writer
	out    *tailWriter

	// Counted in the scan's function, which Scan calls one at a time.
	records, bytes int64
	shards         map[string]bool
}

func (r *tailRun) run(ctx context.Context, client *kinesis.Client) error {
	if _, err := describeStream(ctx, client, r.opts.Stream); err != nil {
		return err
	}
	cfg := consumer.ScanConfig{
		Stream: r.opts.Stream, Client: client, Follow: r.opts.Follow, IdleTime: tailIdleTime, FanOut: r.opts.EFO,
		Logger: slog.New(&tailLogHandler{mu: new(sync.Mutex), w: r.stderr}),
	}
	switch r.opts.From {
	case tailFromTrimHorizon:
		cfg.From = consumer.TrimHorizon
	case tailFromLatest:
		cfg.From = consumer.Latest
	case tailFromAtTimestamp:
		cfg.From, cfg.Timestamp = consumer.AtTimestamp, r.opts.Timestamp
	}
	r.shards = map[string]bool{}
	start := time.Now()
	stopFlush := r.out.startFlushing()
	err := consumer.Scan(ctx, cfg, func(rec consumer.Record) error {
		if err := r.out.write(&rec); err != nil {
			return fmt.Errorf("writing standard output: %w", err)
		}
		r.records++
		r.bytes += int64(len(rec.Data))
		r.shards[rec.ShardID] = true
		if r.opts.Max > 0 && r.records >= int64(r.opts.Max) {
			return errTailMax
		}
		return nil
	})
	flushErr := stopFlush()
	elapsed := time.Since(start)

	interrupted := false
	switch {
	case errors.Is(err, errTailMax):
		err = nil
	case err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()):
		err, interrupted = nil, true
	}
	if err == nil && flushErr != nil {
		err = fmt.Errorf("writing standard output: %w", flushErr)
	}
	if interrupted && !r.opts.Follow {
		fmt.Fprintf(r.stderr, "tributary tail: interrupted before every shard was read to its tip\n")
	}
	fmt.Fprintf(r.stderr, "tail: %s %s (%.1f MiB) from %s %s of stream %s in %.1fs\n",
		cli.Thousands(r.records), plural(r.records, "record", "records"), float64(r.bytes)/(1<<20),
		cli.Thousands(int64(len(r.shards))), plural(int64(len(r.shards)), "shard", "shards"), r.opts.Stream, elapsed.Seconds())
	return err
}

// tailWriter prints records on an output, buffered; startFlushing
// flushes the buffer now and then, so that followed records show.
type tailWriter struct {
	mu     sync.Mutex
	w      *bufio.Writer
	format string
	enc    *json.Encoder // json: writes into w
	line   []byte        // scratch
	err    error         // the first write that failed
}

func newTailWriter(w io.Writer, format string) *tailWriter {
	t := &tailWriter{w: bufio.NewWriterSize(w, 64<<10), format: format}
	t.enc = json.NewEncoder(t.w)
	t.enc.SetEscapeHTML(false)
	return t
}

// startFlushing flushes the output every tailFlushEvery until the
// returned function is called, which flushes it a last time and returns
// the error of the first write that failed.
func (t *tailWriter) startFlushing() (stop func() error) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(tailFlushEvery)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				t.mu.Lock()
				if t.err == nil && t.w.Buffered() > 0 {
					t.err = t.w.Flush()
				}
				t.mu.Unlock()
			}
		}
	})
	return func() error {
		close(done)
		wg.Wait()
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.err == nil {
			t.err = t.w.Flush()
		}
		return t.err
	}
}

// write prints one record in the writer's format.
func (t *tailWriter) write(r *consumer.Record) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return t.err
	}
	switch t.format {
	case tailFormatText:
		t.line = append(appendText(t.line[:0], r.Data), '\n')
		_, t.err = t.w.Write(t.line)
	case tailFormatJSON:
		t.err = t.enc.Encode(jsonRecord(r))
	case tailFormatHex:
		t.line = append(appendHexHeader(t.line[:0], r), '\n')
		if _, t.err = t.w.Write(t.line); t.err == nil && len(r.Data) > 0 {
			d := hex.Dumper(t.w)
			if _, t.err = d.Write(r.Data); t.err == nil {
				t.err = d.Close()
			}
		}
	}
	return t.err
}

// appendText appends data as the text format prints it: on one line, as
// is but for newlines (\n), carriage returns (\r), other control
// characters and bytes that are not UTF-8 (\xNN), and Unicode controls
// and line and paragraph separators (\uNNNN). Tabs and backslashes are
// left as they are.
func appendText(dst, data []byte) []byte {
	for i := 0; i < len(data); {
		c, size := utf8.DecodeRune(data[i:])
		switch {
		case c == utf8.RuneError && size <= 1:
			dst = fmt.Appendf(dst, `\x%02x`, data[i])
		case c == '\n':
			dst = append(dst, `\n`...)
		case c == '\r':
			dst = append(dst, `\r`...)
		case c == '\t':
			dst = append(dst, '\t')
		case c < utf8.RuneSelf && unicode.IsControl(c):
			dst = fmt.Appendf(dst, `\x%02x`, c)
		case unicode.IsControl(c) || c == '\u2028' || c == '\u2029':
			dst = fmt.Appendf(dst, `\u%04x`, c)
		default:
			dst = append(dst, data[i:i+size]...)
		}
		i += size
	}
	return dst
}

// isText reports whether data can be the json format's data string:
// valid UTF-8 without control characters other than tab, newline and
// carriage return.
func isText(data []byte) bool {
	if !utf8.Valid(data) {
		return false
	}
	for _, c := range string(data) {
		if unicode.IsControl(c) && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// tailJSON is a record as the json format prints it.
type tailJSON struct {
	Shard             string  `json:"shard"`
	SequenceNumber    string  `json:"sequenceNumber"`
	SubSequenceNumber *int64  `json:"subSequenceNumber,omitempty"`
	PartitionKey      string  `json:"partitionKey"`
	ExplicitHashKey   string  `json:"explicitHashKey,omitempty"`
	Arrival           string  `json:"arrival"`
	Data              string  `json:"data"`
	DataEncoding      string  `json:"dataEncoding,omitempty"`
	ProducerID        string  `json:"producerId,omitempty"`
	ProducerSeq       *uint64 `json:"producerSeq,omitempty"`
}

func jsonRecord(r *consumer.Record) tailJSON {
	j := tailJSON{
		Shard:           r.ShardID,
		SequenceNumber:  r.SequenceNumber,
		PartitionKey:    r.PartitionKey,
		ExplicitHashKey: r.ExplicitHashKey,
		Arrival:         r.ApproximateArrivalTimestamp.UTC().Format(arrivalLayout),
	}
	if r.Aggregated {
		j.SubSequenceNumber = &r.SubSequenceNumber
	}
	if isText(r.Data) {
		j.Data = string(r.Data)
	} else {
		j.Data, j.DataEncoding = base64.StdEncoding.EncodeToString(r.Data), "base64"
	}
	if r.HasID {
		j.ProducerID, j.ProducerSeq = r.ID.Producer, &r.ID.Seq
	}
	return j
}

// appendHexHeader appends the hex format's header line of r, without its
// line end.
func appendHexHeader(dst []byte, r *consumer.Record) []byte {
	dst = fmt.Appendf(dst, "shard=%s sequenceNumber=%s", r.ShardID, r.SequenceNumber)
	if r.Aggregated {
		dst = fmt.Appendf(dst, " subSequenceNumber=%d", r.SubSequenceNumber)
	}
	dst = append(dst, " partitionKey="...)
	dst = strconv.AppendQuote(dst, r.PartitionKey)
	if r.ExplicitHashKey != "" {
		dst = fmt.Appendf(dst, " explicitHashKey=%s", r.ExplicitHashKey)
	}
	dst = fmt.Appendf(dst, " arrival=%s", r.ApproximateArrivalTimestamp.UTC().Format(arrivalLayout))
	if r.HasID {
		dst = fmt.Appendf(dst, " producerId=%s producerSeq=%d", r.ID.Producer, r.ID.Seq)
	}
	return fmt.Appendf(dst, " bytes=%d", len(r.Data))
}

// tailLogHandler writes the consumer's warnings and errors to standard
// error, one line each: the message, its attributes, and the error with
// the AWS error's code and message. Information is left out.
type tailLogHandler struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string // of every line; "tributary tail: " when empty
	attrs  []slog.Attr
}

func (h *tailLogHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h *tailLogHandler) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	if h.prefix == "" {
		b.WriteString("tributary tail: ")
	} else {
		b.WriteString(h.prefix)
	}
	b.WriteString(strings.TrimPrefix(rec.Message, "consumer: "))
	var errText string
	var parts []string
	add := func(a slog.Attr) bool {
		switch v := a.Value.Resolve(); {
		case a.Key == "worker":
			// Always Scan's one worker.
		case a.Key == "err":
			if err, ok := v.Any().(error); ok {
				errText = errorText(err)
			} else {
				errText = v.String()
			}
		case a.Key == "stack":
			// A processor's panic: too long for a line, and the message
			// says what it was.
		default:
			parts = append(parts, a.Key+" "+v.String())
		}
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	rec.Attrs(add)
	if len(parts) > 0 {
		b.WriteString(" (" + strings.Join(parts, ", ") + ")")
	}
	if errText != "" {
		b.WriteString(": " + errText)
	}
	b.WriteString("\n")
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *tailLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &tailLogHandler{mu: h.mu, w: h.w, prefix: h.prefix, attrs: append(h.attrs[:len(h.attrs):len(h.attrs)], attrs...)}
}

func (h *tailLogHandler) WithGroup(string) slog.Handler { return h }
