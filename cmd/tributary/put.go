package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf16"

	"github.com/tributary-io/tributary/internal/cli"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/tributary-io/tributary/producer"
)

// Input formats of "tributary put".
const (
	putFormatLines  = "lines"
	putFormatJSON   = "json"
	putFormatRaw    = "raw"
	putFormatBase64 = "base64"
)

const (
	// maxRecordBytes is the largest record Kinesis takes, data and
	// partition key, once a stream's maximum is raised to its highest
	// with UpdateMaxRecordSize; 1 MiB by default.
	maxRecordBytes     = 10 << 20
	defaultMaxRecordKi = 1024
	// maxPartitionKeyLen is Kinesis's limit, in UTF-16 code units as AWS
	// counts them.
	maxPartitionKeyLen = 256
	// putFailuresShown is how many failures are shown one by one.
	putFailuresShown = 5
)

// Package variables so that tests can shorten them.
var (
	// putFlushTimeout is how long, after an interrupt, put waits for the
	// answers of the records already put.
	putFlushTimeout = 10 * time.Second
	// putProgressTTY and putProgressPlain are the times between progress
	// lines on a terminal (redrawn in place) and elsewhere (one line
	// each: a log would fill with a line a second).
	putProgressTTY   = time.Second
	putProgressPlain = 5 * time.Second
)

// putOptions are the flags of "tributary put".
type putOptions struct {
	Stream   string
	Key      string
	KeyField string
	Rate     int
	Format   string
	Endpoint string
	Region   string
}

func defaultPutOptions() putOptions {
	return putOptions{Format: putFormatLines}
}

// putOption is one flag of "tributary put" and its documentation.
type putOption = cmdOption[putOptions]

func putOptionList() []putOption {
	return []putOption{
		streamOption(func(o *putOptions) *string { return &o.Stream }, "Stream to write to, by name or ARN. Required."),
		{
			flag: "key", arg: "key",
			usage: "Partition key of every record, 1 to 256 characters: the records all go to one shard, in the order read.",
			value: func(o *putOptions) flag.Value { return &nonEmptyValue{&o.Key} },
			def:   "a random key per record",
		},
		{
			flag: "key-field", arg: "field",
			usage: "With --format json: the partition key of each record is the value of this top-level field of its object, a string or a number (its text as written). A line without it fails. Records of one key are stored in the order read.",
			value: func(o *putOptions) flag.Value { return &nonEmptyValue{&o.KeyField} },
			def:   "none",
		},
		{
			flag: "format", arg: "format",
			usage: "How standard input holds the records: lines, json, base64 or raw (see above).",
			value: func(o *putOptions) flag.Value {
				return &choiceValue{&o.Format, []string{putFormatLines, putFormatJSON, putFormatBase64, putFormatRaw}}
			},
		},
		{
			flag: "rate", arg: "records/s",
			usage: "Put at most this many records a second; 0 puts them as fast as the stream takes them.",
			value: func(o *putOptions) flag.Value { return &countValue{&o.Rate} },
		},
		clientEndpointOption(func(o *putOptions) *string { return &o.Endpoint }),
		regionOption(func(o *putOptions) *string { return &o.Region }),
	}
}

// parsePutArgs returns the options given by the command-line arguments.
// It returns flag.ErrHelp if they ask for help.
func parsePutArgs(args []string) (putOptions, error) {
	opts := defaultPutOptions()
	fs, err := parseCmdFlags("tributary put", putOptionList(), &opts, args)
	if err != nil {
		return putOptions{}, err
	}
	switch {
	case fs.NArg() > 0:
		return putOptions{}, fmt.Errorf("unexpected argument %q (records are read from standard input)", fs.Arg(0))
	case opts.Stream == "":
		return putOptions{}, errors.New("--stream is required")
	case opts.Key != "" && opts.KeyField != "":
		return putOptions{}, errors.New("--key and --key-field cannot be used together")
	case opts.KeyField != "" && opts.Format != putFormatJSON:
		return putOptions{}, fmt.Errorf("--key-field needs --format json, not %s", opts.Format)
	case opts.Key != "" && keyLen(opts.Key) > maxPartitionKeyLen:
		return putOptions{}, fmt.Errorf("--key must be at most %d characters", maxPartitionKeyLen)
	}
	return opts, nil
}

// putUsage is the help text of "tributary put".
func putUsage() string {
	var b strings.Builder
	b.WriteString(`Usage: tributary put --stream name [--key key | --key-field field] [flags] < input

Writes the records read from standard input to a Kinesis data stream,
through Tributary's producer library: each shard's next records are sent
together as one KPL aggregated record, refused ones are sent again, and a
partition key's records are stored in the order they were read.

Input (--format):
  lines   one record per line, the line's bytes without its line end
          (\n, or \r\n)
  base64  one record per line, base64-encoded (base64 -w0 writes one)
  json    one record per line, a JSON value; the data is the line as
          given. --key-field takes each record's partition key from it
  raw     the whole input is one record

Partition keys: --key puts every record under one key; --key-field takes
each record's key from its JSON object; with neither, each record gets a
random key, which spreads the records over the stream's shards.

A record is at most the stream's maximum record size, data and partition
key together (1 MiB unless raised with UpdateMaxRecordSize, at most 10
MiB). A line that cannot be a record (longer than that, not base64 or
JSON, without its key field) fails alone, and the next lines go on.

Progress goes to standard error: a line a second on a terminal, redrawn
in place, a line every 5s elsewhere; at the end a summary, "put N records
(X MiB) to stream S in T: N stored, F failed", after the first 5 failures
with their line numbers.

On SIGINT or SIGTERM, put stops reading, waits up to 10s for the answers
of the records already put and reports; a second signal ends it at once.

The endpoint, region and credentials are found as every client
command finds them (see --endpoint and --region): put writes to
Tributary, another Kinesis emulator or AWS.

Exit status: 0 if every record read was stored, 1 if one failed or had
no answer, or the stream could not be written (it does not exist, or the
endpoint cannot be reached), 2 for wrong usage.

Flags:
`)
	writeCmdFlags(&b, putOptionList(), defaultPutOptions())
	return b.String()
}

// putMain runs "tributary put".
func putMain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts, err := parsePutArgs(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, putUsage())
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "tributary put: %v\n\nRun 'tributary put --help' for the flags.\n", err)
		return 2
	}
	// The first SIGINT or SIGTERM stops the reading and starts the final
	// flush; a second one ends the process.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)

	// The producer's requests in flight (16 by default) each hold a
	// connection; keep that many idle between them.
	c, err := newKinesisClient(ctx, opts.Endpoint, opts.Region, 18)
	if err != nil {
		fmt.Fprintf(stderr, "tributary put: %v\n", err)
		return 1
	}
	defer c.closeIdle()
	r := &putRun{opts: opts, stderr: stderr, client: c.Kinesis}
	if err := r.run(ctx, stdin); err != nil {
		fmt.Fprintf(stderr, "tributary put: %v\n", err)
		return 1
	}
	return 0
}

// producerClient is the producer's view of the client: PutRecords
// without the SDK's retries, since the producer sends refused entries
// again itself, after its backoff and in Put order.
type producerClient struct{ *kinesis.Client }

func (c producerClient) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	optFns = append(optFns, func(o *kinesis.Options) { o.Retryer = aws.NopRetryer{} })
	return c.Client.PutRecords(ctx, in, optFns...)
}

// putRun is one run of put.
type putRun struct {
	opts      putOptions
	stderr    io.Writer
	client    *kinesis.Client
	maxRecord int // the stream's maximum record size, data and key

	// read counts the records read, put or refused before (stored plus
	// failed, in the end); bytes the data of those put.
	read, stored, failed, bytes atomic.Int64

	// Kept by the collector; read once it is done.
	failures   []string // the first putFailuresShown, in input order
	unanswered int      // records without an answer by the flush deadline
}

// inRecord is what the reader makes of one line, or of the whole raw
// input.
type inRecord struct {
	line int // from 1; 0 for the raw input
	rec  producer.Record
	err  error // the line cannot be a record
}

// outcome is a record on its way: its Future, or why it never was put.
type outcome struct {
	line int
	fut  *producer.Future
	err  error
}

func (r *putRun) run(ctx context.Context, stdin io.Reader) error {
	if err := r.checkStream(ctx); err != nil {
		return err
	}
	p, err := producer.New(ctx, producer.Config{Stream: r.opts.Stream, Client: producerClient{r.client}})
	if err != nil {
		return fmt.Errorf("stream %s: %s", r.opts.Stream, errorText(err))
	}
	start := time.Now()
	stopProgress := r.startProgress(start)

	// The reader runs apart so that an interrupt stops the run even while
	// a read from a terminal or a pipe blocks.
	recs := make(chan inRecord, 64)
	stopRead := make(chan struct{})
	var readErr error
	go func() {
		defer close(recs)
		readErr = r.readInput(stdin, recs, stopRead)
	}()

	outcomes := make(chan outcome, 4096)
	giveUp, cancelWaits := context.WithCancel(context.Background())
	defer cancelWaits()
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		r.collect(giveUp, outcomes)
	}()

	pace := pacer{rate: r.opts.Rate}
	lastLine, interrupted, eof := 0, false, false
	for !interrupted && !eof {
		select {
		case <-ctx.Done():
			interrupted = true
		case in, ok := <-recs:
			if !ok {
				eof = true
				break
			}
			if in.err != nil {
				r.read.Add(1)
				lastLine = in.line
				outcomes <- outcome{line: in.line, err: in.err}
				break
			}
			if pace.wait(ctx) != nil {
				interrupted = true
				break
			}
			fut, err := p.Put(ctx, in.rec)
			if err != nil && ctx.Err() != nil {
				interrupted = true
				break
			}
			if err != nil {
				err = fmt.Errorf("%s: %w", where(in.line), err)
			}
			r.read.Add(1)
			r.bytes.Add(int64(len(in.rec.Data)))
			lastLine = in.line
			outcomes <- outcome{line: in.line, fut: fut, err: err}
		}
	}
	close(stopRead)

	// Close sends what is buffered and waits for every answer; after an
	// interrupt, while reading or while closing, for putFlushTimeout.
	closeCtx, cancel := ctx, context.CancelFunc(func() {})
	if interrupted {
		closeCtx, cancel = context.WithTimeout(context.Background(), putFlushTimeout)
	}
	err = p.Close(closeCtx)
	cancel()
	if err != nil && !interrupted {
		closeCtx, cancel = context.WithTimeout(context.Background(), putFlushTimeout)
		err = p.Close(closeCtx)
		cancel()
	}
	if err != nil {
		// Close gave up on the records still unanswered: so do their
		// waits.
		cancelWaits()
	}
	close(outcomes)
	<-collected
	elapsed := time.Since(start)
	stopProgress()

	for _, f := range r.failures {
		fmt.Fprintf(r.stderr, "tributary put: %s\n", f)
	}
	failed := r.failed.Load()
	if more := failed - int64(len(r.failures)); more > 0 {
		fmt.Fprintf(r.stderr, "tributary put: and %s more %s\n", cli.Thousands(more), plural(more, "failure", "failures"))
	}
	switch {
	case interrupted && r.opts.Format == putFormatRaw:
		fmt.Fprintf(r.stderr, "tributary put: interrupted before the end of the input\n")
	case interrupted:
		fmt.Fprintf(r.stderr, "tributary put: interrupted: stopped reading after line %d\n", lastLine)
	}
	n := r.read.Load()
	fmt.Fprintf(r.stderr, "put %s %s (%.1f MiB) to stream %s in %.1fs: %s stored, %s failed\n",
		cli.Thousands(n), plural(n, "record", "records"), float64(r.bytes.Load())/(1<<20), r.opts.Stream,
		elapsed.Seconds(), cli.Thousands(r.stored.Load()), cli.Thousands(failed))

	var errs []error
	// readErr is set before recs is closed, so only once seen closed.
	if eof && readErr != nil {
		errs = append(errs, fmt.Errorf("reading standard input: %w", readErr))
	}
	if r.unanswered > 0 {
		errs = append(errs, fmt.Errorf("%s %s had no answer within %v of the interrupt, and may or may not be stored",
			cli.Thousands(int64(r.unanswered)), plural(int64(r.unanswered), "record", "records"), putFlushTimeout))
	}
	if failed > int64(r.unanswered) {
		errs = append(errs, fmt.Errorf("%s %s not stored", cli.Thousands(failed-int64(r.unanswered)), plural(failed-int64(r.unanswered), "record", "records")))
	}
	return errors.Join(errs...)
}

// checkStream reads the stream's description: whether it can be written,
// and its maximum record size.
func (r *putRun) checkStream(ctx context.Context) error {
	d, err := describeStream(ctx, r.client, r.opts.Stream)
	if err != nil {
		return err
	}
	r.maxRecord = defaultMaxRecordKi << 10
	if k := aws.ToInt32(d.MaxRecordSizeInKiB); k > 0 {
		r.maxRecord = int(k) << 10
	}
	return nil
}

// readInput reads records from in and sends them on recs until the end
// of the input or until stop is closed. It returns the error of a read
// that failed.
func (r *putRun) readInput(in io.Reader, recs chan<- inRecord, stop <-chan struct{}) error {
	send := func(x inRecord) bool {
		select {
		case recs <- x:
			return true
		case <-stop:
			return false
		}
	}
	if r.opts.Format == putFormatRaw {
		data, err := io.ReadAll(io.LimitReader(in, maxRecordBytes+1))
		if err != nil {
			return err
		}
		x := inRecord{rec: producer.Record{Data: data}}
		if len(data) > maxRecordBytes {
			x.err = fmt.Errorf("the input is larger than %s, the largest record Kinesis takes", sizeText(maxRecordBytes))
			x.rec.Data = nil
		} else {
			x.rec.PartitionKey, x.err = r.key(data)
		}
		if x.err == nil {
			x.err = r.checkSize(x.rec)
		}
		if x.err != nil {
			x.err = fmt.Errorf("the input: %w", x.err)
		}
		send(x)
		return nil
	}
	maxLine := maxRecordBytes
	if r.opts.Format == putFormatBase64 {
		maxLine = base64.StdEncoding.EncodedLen(maxRecordBytes)
	}
	lr := lineReader{r: bufio.NewReaderSize(in, 64<<10), max: maxLine}
	for n := 1; ; n++ {
		line, err := lr.next()
		if err == io.EOF {
			return nil
		}
		var tooLong *lineTooLongError
		if err != nil && !errors.As(err, &tooLong) {
			return err
		}
		x := inRecord{line: n}
		if err == nil {
			x.rec, x.err = r.parse(line)
		} else {
			x.err = err
		}
		if x.err != nil {
			x.err = fmt.Errorf("line %d: %w", n, x.err)
		}
		if !send(x) {
			return nil
		}
	}
}

// parse makes a record of one line, as --format and --key-field ask.
func (r *putRun) parse(line []byte) (producer.Record, error) {
	var rec producer.Record
	switch r.opts.Format {
	case putFormatLines:
		rec.Data = line
	case putFormatBase64:
		// Padded or not.
		s := bytes.TrimRight(line, "=")
		rec.Data = make([]byte, base64.RawStdEncoding.DecodedLen(len(s)))
		n, err := base64.RawStdEncoding.Decode(rec.Data, s)
		if err != nil {
			return rec, fmt.Errorf("not base64: %v", err)
		}
		rec.Data = rec.Data[:n]
	case putFormatJSON:
		if !json.Valid(line) {
			return rec, errors.New("not a JSON value")
		}
		rec.Data = line
	}
	var err error
	if rec.PartitionKey, err = r.key(rec.Data); err != nil {
		return rec, err
	}
	return rec, r.checkSize(rec)
}

// key returns the partition key of a record of data.
func (r *putRun) key(data []byte) (string, error) {
	switch {
	case r.opts.Key != "":
		return r.opts.Key, nil
	case r.opts.KeyField == "":
		// 64 random bits, in hex: spread evenly over the hash key space,
		// as MD5 hashes them.
		return strconv.FormatUint(rand.Uint64()|1<<63, 16), nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
		return "", fmt.Errorf("not a JSON object, so no field %q for --key-field", r.opts.KeyField)
	}
	v, ok := obj[r.opts.KeyField]
	if !ok {
		return "", fmt.Errorf("no field %q for --key-field", r.opts.KeyField)
	}
	var key string
	switch {
	case len(v) > 0 && v[0] == '"':
		if err := json.Unmarshal(v, &key); err != nil {
			return "", err
		}
	case len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9'):
		key = string(v)
	default:
		return "", fmt.Errorf("field %q is %s, not a string or a number", r.opts.KeyField, v)
	}
	switch n := keyLen(key); {
	case n == 0:
		return "", fmt.Errorf("field %q is empty, and a partition key cannot be", r.opts.KeyField)
	case n > maxPartitionKeyLen:
		return "", fmt.Errorf("field %q is %d characters long, and a partition key at most %d", r.opts.KeyField, n, maxPartitionKeyLen)
	}
	return key, nil
}

// checkSize refuses a record larger than the stream's maximum: Kinesis
// would refuse the whole PutRecords call it is in, the other records of
// the call with it.
func (r *putRun) checkSize(rec producer.Record) error {
	if n := len(rec.Data) + len(rec.PartitionKey); n > r.maxRecord {
		return fmt.Errorf("%s bytes, data and partition key, is larger than the maximum record size of stream %s, %s (UpdateMaxRecordSize raises it up to 10 MiB)",
			cli.Thousands(int64(n)), r.opts.Stream, sizeText(r.maxRecord))
	}
	return nil
}

// collect waits for the outcome of each record in input order, counts
// them and keeps the first failures. A wait ends with giveUp.
func (r *putRun) collect(giveUp context.Context, outcomes <-chan outcome) {
	fail := func(text string) {
		r.failed.Add(1)
		if len(r.failures) < putFailuresShown {
			r.failures = append(r.failures, text)
		}
	}
	for o := range outcomes {
		if o.err != nil {
			fail(errorText(o.err))
			continue
		}
		res, err := o.fut.Wait(giveUp)
		switch {
		case err != nil:
			r.unanswered++
			fail(where(o.line) + ": no answer before the deadline")
		case res.Err != nil:
			fail(where(o.line) + ": " + errorText(res.Err))
		default:
			r.stored.Add(1)
		}
	}
}

// where names a record in messages.
func where(line int) string {
	if line == 0 {
		return "the input"
	}
	return "line " + strconv.Itoa(line)
}

// startProgress prints a progress line on stderr every putProgressTTY on
// a terminal, redrawn in place, or every putProgressPlain elsewhere, until
// the returned function is called; on a terminal that function clears
// the line. Runs shorter than an interval print none.
func (r *putRun) startProgress(start time.Time) (stop func()) {
	tty := cli.IsTerminal(r.stderr)
	every := putProgressPlain
	if tty {
		every = putProgressTTY
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		last, lastStored, width := start, int64(0), 0
		for {
			select {
			case <-done:
				if tty && width > 0 {
					fmt.Fprintf(r.stderr, "\r%s\r", strings.Repeat(" ", width))
				}
				return
			case now := <-t.C:
				stored := r.stored.Load()
				rate := float64(stored-lastStored) / now.Sub(last).Seconds()
				last, lastStored = now, stored
				line := fmt.Sprintf("put: %.0fs %s read, %s stored, %s failed, %.1f MiB, %s rec/s",
					now.Sub(start).Seconds(), cli.Thousands(r.read.Load()), cli.Thousands(stored),
					cli.Thousands(r.failed.Load()), float64(r.bytes.Load())/(1<<20), cli.Thousands(int64(rate)))
				if !tty {
					fmt.Fprintln(r.stderr, line)
					continue
				}
				fmt.Fprintf(r.stderr, "\r%s%s", line, strings.Repeat(" ", max(width-len(line), 0)))
				width = max(width, len(line))
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// pacer spaces Put calls to at most rate a second (none when 0). It
// keeps no credit for time spent waiting elsewhere, so that a stall is
// not followed by a burst above the rate.
type pacer struct {
	rate int
	next time.Time
}

func (p *pacer) wait(ctx context.Context) error {
	if p.rate <= 0 {
		return nil
	}
	now := time.Now()
	if d := p.next.Sub(now); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		now = p.next
	}
	p.next = now.Add(time.Second / time.Duration(p.rate))
	return nil
}

// lineReader reads lines of at most max bytes, without their line end.
type lineReader struct {
	r   *bufio.Reader
	max int
}

// lineTooLongError is a line longer than the reader's max; the reader
// has skipped it.
type lineTooLongError struct{ max int }

func (e *lineTooLongError) Error() string {
	return fmt.Sprintf("longer than %s, the most a line can be for a record of at most 10 MiB", sizeText(e.max))
}

// next returns the next line, in a new slice, or io.EOF at the end of the
// input. A last line without a line end is a line.
func (l *lineReader) next() ([]byte, error) {
	var line []byte
	read, tooLong := 0, false
	for {
		frag, err := l.r.ReadSlice('\n')
		read += len(frag)
		// The line end, 1 or 2 bytes, is not part of the line.
		if !tooLong && len(line)+len(frag) > l.max+2 {
			tooLong, line = true, nil
		}
		if !tooLong {
			line = append(line, frag...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && read > 0 {
			break
		}
		if err != nil {
			return nil, err
		}
		break
	}
	if tooLong {
		return nil, &lineTooLongError{max: l.max}
	}
	if bytes.HasSuffix(line, []byte("\n")) {
		line = bytes.TrimSuffix(line[:len(line)-1], []byte("\r"))
	}
	if len(line) > l.max {
		return nil, &lineTooLongError{max: l.max}
	}
	if line == nil {
		line = []byte{}
	}
	return line, nil
}

// keyLen is the length of a partition key as Kinesis counts it, in UTF-16
// code units.
func keyLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// sizeText is a byte count for messages: in MiB or KiB when it is a whole
// number of them.
func sizeText(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + " KiB"
	}
	return cli.Thousands(int64(n)) + " bytes"
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
