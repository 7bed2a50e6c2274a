package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/tributary-io/tributary/bench"
	"github.com/tributary-io/tributary/internal/clusterfaults"
)

// benchOption is one flag of "tributary bench" and its documentation;
// benchOptions lists them in the order of the help text.
type benchOption struct {
	flag  string
	arg   string // placeholder for the value in the help text; "" for a switch
	usage string
	value func(o *bench.Options) flag.Value // binds the flag to a field of o
	def   string                            // default shown in the help, if not the value's
}

// synopsis is the flag as the help shows it: --flag arg, or --flag alone
// for a switch.
func (o benchOption) synopsis() string {
	if o.arg == "" {
		return "--" + o.flag
	}
	return "--" + o.flag + " " + o.arg
}

func benchOptions() []benchOption {
	return []benchOption{
		{
			flag: "endpoint", arg: "url",
			usage: "Base URL of the Kinesis endpoint to measure, e.g. http://127.0.0.1:4567. Required, but by cluster-faults, which starts its own cluster.",
			value: func(o *bench.Options) flag.Value { return &urlValue{&o.Endpoint} },
			def:   "none",
		},
		{
			flag: "region", arg: "region",
			usage: "AWS region to sign requests for; Tributary puts the streams in it.",
			value: func(o *bench.Options) flag.Value { return &nonEmptyValue{&o.Region} },
		},
		{
			flag: "workload", arg: "name",
			usage: "What to run: ingest (write throughput), drain (read throughput), latency (end-to-end latency), shards (a stream of many shards) or all of them in that order; or scale (10,000 shards on one server: create, write to all, read all back, idle CPU), soak (a mixed life for --duration, then checks) or producer (ingest through the Go producer library, KPL aggregation on) or consume (drain through the Go consumer library: 8 shards, 2 workers), which all does not include; or cluster-faults (a cluster of this binary under a random schedule of faults for --duration), which runs alone. Several, separated by commas, run one after the other: ingest,producer and drain,consume compare each pair in one run.",
			value: func(o *bench.Options) flag.Value {
				return &workloadsValue{&o.Workload, append([]string{bench.WorkloadAll}, append(bench.Workloads, bench.WorkloadSoak, bench.WorkloadProducer, bench.WorkloadConsume, bench.WorkloadScale, bench.WorkloadClusterFaults)...)}
			},
		},
		{
			flag: "json", arg: "file",
			usage: "Also write the full result as JSON to file; - writes it to standard output and the summary table to standard error.",
			value: func(o *bench.Options) flag.Value { return &stringValue{&o.JSONPath} },
			def:   "none",
		},
		{
			flag: "pid", arg: "n",
			usage: "Process id of the server, if it runs on this machine: its resident memory (VmRSS from /proc/<pid>/status) is reported at the start and end of each workload. The soak also watches that it stays alive, samples its RSS every second and counts its open file descriptors (/proc/<pid>/fd).",
			value: func(o *bench.Options) flag.Value { return &intValue{p: &o.PID, min: 1} },
			def:   "none",
		},
		{
			flag: "admin-token", arg: "token",
			usage: "The admin token of a Tributary server started with --admin, for the soak to read its stats (GET /_tributary/stats); taken from $" + adminTokenEnv + " when not given.",
			value: func(o *bench.Options) flag.Value { return &stringValue{&o.AdminToken} },
			def:   "none",
		},
		{
			flag: "http2", arg: "",
			usage: "Speak HTTP/2 to an http:// endpoint, with prior knowledge (h2c, which Tributary serves), as the SDK speaks it to AWS over TLS, where SubscribeToShard is served over HTTP/2 only. Without it an http:// endpoint is spoken to in HTTP/1.1; an https:// one negotiates HTTP/2 either way.",
			value: func(o *bench.Options) flag.Value { return &boolValue{&o.HTTP2} },
		},
		{
			flag: "producers", arg: "n",
			usage: "Concurrent producers of ingest, and of the filling of the drain stream.",
			value: func(o *bench.Options) flag.Value { return &intValue{p: &o.Producers, min: 1} },
		},
		{
			flag: "shards", arg: "n",
			usage: "Shards of the ingest stream.",
			value: func(o *bench.Options) flag.Value { return &intValue{p: &o.Shards, min: 1} },
		},
		{
			flag: "record-sizes", arg: "bytes,...",
			usage: "Comma-separated record sizes in bytes; ingest runs once for each.",
			value: func(o *bench.Options) flag.Value { return &sizesValue{&o.RecordSizes} },
		},
		{
			flag: "ingest-duration", arg: "duration",
			usage: "How long each ingest run sends records.",
			value: func(o *bench.Options) flag.Value { return &durationValue{d: &o.IngestDuration, positive: true} },
		},
		{
			flag: "consume-read-interval", arg: "duration",
			usage: "The consume workload's least time between two GetRecords on one shard (the consumer's Config.ReadInterval). The default is the consumer's, Kinesis's limit of 5 calls a second a shard; 0 does not wait, for a server with its limits off.",
			value: func(o *bench.Options) flag.Value { return &durationValue{d: &o.ConsumeReadInterval} },
		},
		{
			flag: "producer-rate-limit", arg: "fraction",
			usage: "The producer workload's rate limit per shard, as a fraction of AWS's limits (1,000 records and 1 MiB a second; an aggregate counts as one record). The default is the producer's and the KPL's; against a server with its limits off, use a high value such as 1000 to measure the producer rather than its limiter.",
			value: func(o *bench.Options) flag.Value { return &positiveFloatValue{&o.ProducerRateLimit} },
		},
		{
			flag: "drain-records", arg: "n",
			usage: "Records of 100 bytes that drain writes (not timed) and then times reading back.",
			value: func(o *bench.Options) flag.Value { return &intValue{p: &o.DrainRecords, min: 1} },
		},
		{
			flag: "latency-samples", arg: "n",
			usage: "Records that latency sends for each read path, at --latency-rate, and times from just before the PutRecord call to their receipt. 10,000 at 1,000 records/s is 10s a path and makes p99.9 the 10th slowest.",
			value: func(o *bench.Options) flag.Value { return &intValue{p: &o.LatencySamples, min: 1} },
		},
		{
			flag: "latency-rate", arg: "records/s",
			usage: "Records a second that latency's writer offers, on a fixed schedule whatever the server's answer time (up to 32 PutRecord calls in flight). A shard takes 1,000 records/s on AWS.",
			value: func(o *bench.Options) flag.Value { return &intValue{p: &o.LatencyRate, min: 1} },
		},
		{
			flag: "poll-interval", arg: "duration",
			usage: "Pause of latency's GetRecords poller after a call that returned no records; after one that returned records it calls again at once. It adds up to itself to a record's latency, and is reported with it. 0 polls back-to-back, which spends a core of client and server on empty answers and, on a small machine, slows the writes it waits for (docs/benchmarks.md); against AWS, whose shards allow 5 GetRecords a second, use 200ms.",
			value: func(o *bench.Options) flag.Value { return &durationValue{d: &o.PollInterval} },
		},
		{
			flag: "many-shards", arg: "n",
			usage: "Shards of the shards workload's stream.",
			value: func(o *bench.Options) flag.Value { return &intValue{p: &o.ManyShards, min: 1} },
		},
		{
			flag: "many-shards-duration", arg: "duration",
			usage: "How long the shards workload sends records.",
			value: func(o *bench.Options) flag.Value {
				return &durationValue{d: &o.ManyShardsDuration, positive: true}
			},
		},
		{
			flag: "scale-shards", arg: "n",
			usage: "Shards of the scale workload, in all: over streams of at most 10,000 (Kinesis's limit a stream). The server's account shard limit must allow them (serve --shard-limit).",
			value: func(o *bench.Options) flag.Value { return &intValue{p: &o.ScaleShards, min: 1} },
		},
		{
			flag: "scale-records", arg: "n",
			usage: "Records the scale workload writes to each shard, and checks it reads back from each.",
			value: func(o *bench.Options) flag.Value { return &intValue{p: &o.ScaleRecords, min: 1} },
		},
		{
			flag: "scale-record-size", arg: "bytes",
			usage: "Bytes of data of each record of the scale workload; PutRecords carry up to 500 records and 5 MiB.",
			value: func(o *bench.Options) flag.Value { return &intValue{p: &o.ScaleRecordSize, min: 1} },
		},
		{
			flag: "scale-settle", arg: "duration",
			usage: "How long the scale workload makes no call after reading, before it measures the server's idle CPU: long enough for the server's checkpoint after the writes.",
			value: func(o *bench.Options) flag.Value { return &durationValue{d: &o.ScaleSettle} },
		},
		{
			flag: "scale-idle", arg: "duration",
			usage: "How long the scale workload makes no call at the end while it measures the server's CPU time (with --pid).",
			value: func(o *bench.Options) flag.Value { return &durationValue{d: &o.ScaleIdle, positive: true} },
		},
		{
			flag:  "scale-keep",
			usage: "Leave the scale workload's streams in place rather than delete them, to measure a restart of the server with them (bench/scale.sh does).",
			value: func(o *bench.Options) flag.Value { return &boolValue{&o.ScaleKeep} },
			def:   "false",
		},
		{
			flag: "duration", arg: "duration",
			usage: "How long the soak's writers, readers and control actors run; the drain, the clean-up and the checks follow. For cluster-faults, how long faults keep coming; the last one is healed, and the final read and the check follow.",
			value: func(o *bench.Options) flag.Value { return &durationValue{d: &o.Duration, positive: true} },
		},
		{
			flag: "soak-rate", arg: "records/s",
			usage: "Records a second the soak's steady writers aim at, all streams together (the on-demand stream's hot writer comes on top, as fast as its shard takes, up to 2000/s). At least 10.",
			value: func(o *bench.Options) flag.Value { return &intValue{p: &o.SoakRate, min: 10} },
		},
		{
			flag: "soak-retention-hour", arg: "duration",
			usage: "How long an hour of retention lasts on the server: the same as its --retention-hour when it is Tributary started with one. The soak counts a record not read back as expired rather than lost once it is older than 24 of these.",
			value: func(o *bench.Options) flag.Value { return &durationValue{d: &o.SoakRetentionHour, positive: true} },
		},
		{
			flag: "soak-reader-pause", arg: "duration",
			usage: "How long the pausing readers of the soak pause, every as long of reading: longer than the server's iterator lifetime (AWS's 5 minutes, or Tributary's --iterator-lifetime), so that their iterators expire and are renewed.",
			value: func(o *bench.Options) flag.Value { return &durationValue{d: &o.SoakReaderPause, positive: true} },
		},
		{
			flag: "nodes", arg: "n",
			usage: "Nodes of the cluster-faults workload's cluster, 3 to 9; every stream has 3 replicas.",
			value: func(o *bench.Options) flag.Value { return &intValue{p: &o.ClusterNodes, min: 3} },
		},
		{
			flag: "placements", arg: "n",
			usage: "The --placements of the cluster-faults workload's nodes, 1 to 64: 4 by default, so that a fault stops some shards' writes while others carry on and a reshard may span Raft groups; 1 is what serve chooses for 3 to 5 nodes.",
			value: func(o *bench.Options) flag.Value { return &intValue{p: &o.ClusterPlacements, min: 1} },
		},
		{
			flag: "seed", arg: "n",
			usage: "Seed of the cluster-faults workload's schedule: the same seed draws the same faults, victims and durations. The seed of a run is printed at its start.",
			value: func(o *bench.Options) flag.Value { return &seedValue{&o.ClusterSeed} },
			def:   "a new one each run",
		},
		{
			flag: "faults", arg: "kind,...",
			usage: "The faults cluster-faults draws from, comma-separated: kill (kill -9 a node, restart it), pause (SIGSTOP a node past an election, SIGCONT), partition (cut a node off from the others, heal) and restart (kill -9 every node, restart them all). Each comes once before any comes twice.",
			value: func(o *bench.Options) flag.Value { return &faultsValue{&o.ClusterFaults} },
		},
		{
			flag: "cpuprofile", arg: "file",
			usage: "Write a CPU profile of the bench process for the whole run to file (go tool pprof reads it): the load, the AWS SDK, and the producer library under the producer workload.",
			value: func(o *bench.Options) flag.Value { return &stringValue{&o.CPUProfile} },
			def:   "none",
		},
		{
			flag: "stream-prefix", arg: "prefix",
			usage: "Prefix of the names of the streams the benchmark creates; each is named prefix, workload and a random suffix, and deleted at the end.",
			value: func(o *bench.Options) flag.Value { return &streamPrefixValue{&o.StreamPrefix} },
		},
		{
			flag: "create-timeout", arg: "duration",
			usage: "How long a new stream may take to become ACTIVE before its workload fails.",
			value: func(o *bench.Options) flag.Value { return &durationValue{d: &o.CreateTimeout, positive: true} },
		},
		{
			flag: "encrypt", arg: "key-id",
			usage: "Encrypt the streams the benchmark creates (not the soak's) under this KMS KeyId (StartStreamEncryption) before using them, e.g. alias/aws/kinesis; a Tributary server needs --keyring (cluster-faults writes one for the nodes it starts).",
			value: func(o *bench.Options) flag.Value { return &stringValue{&o.EncryptKey} },
		},
	}
}

// parseBenchArgs returns the options given by the command-line arguments.
// It returns flag.ErrHelp if they ask for help.
func parseBenchArgs(args []string, lookupEnv func(string) (string, bool)) (bench.Options, error) {
	opts := bench.DefaultOptions()
	opts.AdminToken, _ = lookupEnv(adminTokenEnv)
	fs := flag.NewFlagSet("tributary bench", flag.ContinueOnError)
	// Errors and help are printed by the caller, which knows where to.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	for _, o := range benchOptions() {
		fs.Var(o.value(&opts), o.flag, o.usage)
	}
	if err := fs.Parse(args); err != nil {
		return bench.Options{}, err
	}
	if fs.NArg() > 0 {
		return bench.Options{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := opts.Validate(); err != nil {
		return bench.Options{}, err
	}
	return opts, nil
}

// benchUsage is the help text of "tributary bench".
func benchUsage() string {
	var b strings.Builder
	b.WriteString(`Usage: tributary bench --endpoint url [flags]
       tributary bench --workload cluster-faults [--duration d] [--seed n] [--nodes n]

Measures a Kinesis Data Streams endpoint (Tributary, AWS or another
compatible server) with the AWS SDK for Go and reports:

  ingest   records/s and MB/s of concurrent PutRecords of 500 records,
           and the latency of the calls, for each record size
  drain    records/s and MB/s of reading a shard from TRIM_HORIZON
  latency  time from just before a PutRecord call to a reader's receipt
           of the record, at --latency-rate records/s on one shard, for
           two read paths in turn: GetRecords polled in a loop (see
           --poll-interval), and SubscribeToShard by a registered consumer
           (enhanced fan-out, renewed when the server ends a subscription);
           p50, p99, p99.9 and max for each
  shards   records/s over a stream of many shards
  scale    --scale-shards shards (10,000) on one server: the time to create
           them, --scale-records records written to every shard and read
           back from every shard (counts checked), the server's RSS after
           each phase and, with --pid, its CPU while idle for --scale-idle;
           not part of all
  soak     a mixed life for --duration against any endpoint: streams with
           empty shards, splits, merges and UpdateShardCount, an on-demand
           stream scaling up and down, retention raised and lowered,
           consumers resubscribing, polling readers following shard
           lineage and pausing past their iterators' lifetime, streams
           deleted under their writers and readers and created again. Then
           checks, each pass, fail or skipped with its numbers: every
           acknowledged record read back exactly once and in order by
           every reader (records old enough to have expired are counted
           apart, as are those whose PutRecords answer was lost); and,
           with --pid and Tributary's admin API (serve --admin), that the
           server never died, no background task panicked, goroutines and
           file descriptors came back to their count at the start, and
           RSS stayed flat once warm. A progress line every 5s.
  producer what ingest measures, through the Go producer library (package
           producer, KPL aggregation on): --producers goroutines call Put
           for --ingest-duration; records/s counts the records stored, up
           to the last one's answer, and calls and latency are the
           library's PutRecords calls
  consume  what drain measures, through the Go consumer library (package
           consumer): a stream of 8 shards filled with --drain-records
           records of 100 B (not timed), then two workers (leases in
           memory) process them all, checkpointing each batch
  cluster-faults
           no --endpoint: starts a cluster of --nodes nodes of this binary
           (tributary serve --cluster), each in a network namespace of its
           own (which takes root), and runs it for --duration through a
           random schedule of --faults drawn from --seed, a quiet period
           between two faults, while writers on every node, GetRecords and
           SubscribeToShard readers on other nodes, and splits and merges
           go on; then heals everything, reads every shard and checks the
           history: no acknowledged record lost, duplicated or moved, no
           read that missed one or saw one later lost. Prints each fault
           as it happens, rates every 10s, and at the end how long writes
           took to resume after each fault, the counts and the verdict;
           runs alone

Each workload creates its own streams and deletes them at the end. A line
a second shows progress on standard error; a table sums up at the end, and
--json writes the full result for scripts. Calls are retried by the SDK's
standard retryer and the retried calls are counted in the result; the
soak retries only what cannot store a record twice, itself, and the
producer and consume workloads leave retries to the libraries.

'tributary bench serve-null' serves the yardstick bench/compare.sh
measures against: a null endpoint written with the standard library
alone (see 'tributary bench serve-null --help').

Exit status: 0 if every workload ran, 1 if one failed (for example the
endpoint is unreachable or a stream never became ACTIVE, a soak check
failed or the cluster-faults history failed its check), 2 for wrong
usage.

Flags:
`)
	def := bench.DefaultOptions()
	for _, o := range benchOptions() {
		fmt.Fprintf(&b, "  %s\n", o.synopsis())
		for _, line := range wrap(o.usage, 72) {
			fmt.Fprintf(&b, "        %s\n", line)
		}
		d := o.def
		if d == "" {
			d = o.value(&def).String()
		}
		fmt.Fprintf(&b, "        Default: %s.\n", d)
	}
	return b.String()
}

// benchMain runs "tributary bench".
func benchMain(ctx context.Context, args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	if len(args) > 0 && args[0] == "serve-null" {
		return benchNullMain(ctx, args[1:], stdout, stderr)
	}
	opts, err := parseBenchArgs(args, lookupEnv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, benchUsage())
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "tributary bench: %v\n\nRun 'tributary bench --help' for the flags.\n", err)
		return 2
	}
	// On SIGINT or SIGTERM the workloads stop early, but still delete
	// their streams and report what they measured.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)

	run := bench.Run
	if opts.Workload == bench.WorkloadClusterFaults {
		run = runClusterFaults
	}
	if err := run(ctx, opts, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "tributary bench: %v\n", err)
		return 1
	}
	return 0
}

// runClusterFaults runs the cluster-faults workload with this binary as
// the nodes' program.
func runClusterFaults(ctx context.Context, opts bench.Options, stdout, stderr io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this binary for the nodes: %w", err)
	}
	program := func(serveArgs []string) (string, []string, []string) {
		return exe, append([]string{"serve"}, serveArgs...), nil
	}
	return bench.ClusterFaults(ctx, opts, program, stdout, stderr)
}

// seedValue is a schedule's seed: a whole number above 0.
type seedValue struct{ p *uint64 }

func (v *seedValue) String() string { return strconv.FormatUint(*v.p, 10) }

func (v *seedValue) Set(s string) error {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return errors.New("must be a whole number above 0")
	}
	*v.p = n
	return nil
}

// faultsValue is a comma-separated list of kinds of faults.
type faultsValue struct{ kinds *[]string }

func (v *faultsValue) String() string { return strings.Join(*v.kinds, ",") }

func (v *faultsValue) Set(s string) error {
	var kinds []string
	for k := range strings.SplitSeq(s, ",") {
		if !slices.Contains(clusterfaults.AllKinds(), clusterfaults.Kind(k)) {
			return fmt.Errorf("%q is not a fault; the faults are kill, pause, partition and restart", k)
		}
		if !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	*v.kinds = kinds
	return nil
}

// urlValue is an http or https URL with a host.
type urlValue struct{ s *string }

func (v *urlValue) String() string { return *v.s }

func (v *urlValue) Set(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an http or https URL such as http://127.0.0.1:4567")
	}
	*v.s = s
	return nil
}

// workloadsValue is a comma-separated list of workload names, each one
// of choices.
type workloadsValue struct {
	s       *string
	choices []string
}

func (v *workloadsValue) String() string { return *v.s }

func (v *workloadsValue) Set(s string) error {
	for name := range strings.SplitSeq(s, ",") {
		if !slices.Contains(v.choices, name) {
			return fmt.Errorf("must be one of %s, or several separated by commas", strings.Join(v.choices, ", "))
		}
	}
	*v.s = s
	return nil
}

// positiveFloatValue is a number above zero.
type positiveFloatValue struct{ p *float64 }

func (v *positiveFloatValue) String() string { return strconv.FormatFloat(*v.p, 'g', -1, 64) }

func (v *positiveFloatValue) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f > 0) || math.IsInf(f, 1) {
		return errors.New("must be a number above 0")
	}
	*v.p = f
	return nil
}

// stringValue is any string.
type stringValue struct{ s *string }

func (v *stringValue) String() string { return *v.s }

func (v *stringValue) Set(s string) error {
	*v.s = s
	return nil
}

// intValue is an integer of at least min.
type intValue struct {
	p   *int
	min int
}

func (v *intValue) String() string { return strconv.Itoa(*v.p) }

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("must be a whole number")
	}
	if n < v.min {
		return fmt.Errorf("must be at least %d", v.min)
	}
	*v.p = n
	return nil
}

// sizesValue is a comma-separated list of record sizes in bytes.
type sizesValue struct{ sizes *[]int }

func (v *sizesValue) String() string {
	s := make([]string, len(*v.sizes))
	for i, n := range *v.sizes {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func (v *sizesValue) Set(s string) error {
	var sizes []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 1<<20 {
			return fmt.Errorf("size %q must be a number of bytes from 1 to 1048576", f)
		}
		sizes = append(sizes, n)
	}
	*v.sizes = sizes
	return nil
}

// streamPrefixValue is the start of a stream name: not empty, and of the
// characters a stream name may have, so that a bad prefix fails here and
// not at the first CreateStream.
type streamPrefixValue struct{ s *string }

func (v *streamPrefixValue) String() string { return *v.s }

func (v *streamPrefixValue) Set(s string) error {
	// The longest workload name and the suffix take 17 of the 128
	// characters a stream name may have.
	if s == "" || len(s) > 100 {
		return errors.New("must be 1 to 100 characters")
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return errors.New("may only have letters, digits, _, . and -")
		}
	}
	*v.s = s
	return nil
}
