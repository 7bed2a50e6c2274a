package clusterfaults

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/tributary-io/tributary/internal/history"
)

// Config is a run: a cluster, a schedule and how long it lasts.
type Config struct {
	Cluster ClusterConfig
	// Seed draws the schedule (NewSchedule): the same seed gives the
	// same faults, victims and durations.
	Seed uint64
	// Kinds are the faults to draw from; every one comes at least once
	// if the run has as many steps. Partition needs the namespaces.
	Kinds []Kind
	// Steps, if above zero, is how many faults to run; the run also ends
	// once Duration has passed (if above zero) and the fault in course
	// is healed. One of them must be set.
	Steps    int
	Duration time.Duration
	// HistoryDir is where the history is written as JSON when the check
	// fails; empty means os.TempDir().
	HistoryDir string
	// Logf prints progress: each fault as it happens, rates every
	// ProgressEvery (zero: every 10 s).
	Logf          func(format string, args ...any)
	ProgressEvery time.Duration
	// Ready, if set, is called once the stream and its consumer exist,
	// before the workload starts: for checks of the fresh cluster.
	Ready func(ctx context.Context, c *Cluster) error
	// EncryptKey, if set, is the KMS KeyId the stream is encrypted under
	// (StartStreamEncryption) before the workload starts; the nodes need
	// a keyring that has it (ClusterConfig.ServeArgs).
	EncryptKey string
}

// run is the state of one Run.
type run struct {
	cfg  Config
	cl   *Cluster
	rec  *history.Recorder
	logf func(format string, args ...any)

	acked, unknown, failed, reads atomic.Int64

	mu      sync.Mutex
	readers map[string]bool      // shards with readers started
	closed  map[string]time.Time // shards seen closed by a reshard, and when
	splits  int
	merges  int
}

// Run starts the cluster, runs the workload through the schedule, heals
// everything, checks the history and returns the result. An error means
// the run itself could not be made (a node that would not start, a
// final read that failed); a history that fails the check is a Result
// whose Check is not OK, with the history written to HistoryPath.
func Run(ctx context.Context, cfg Config) (Result, error) {
	start := time.Now()
	res := Result{Seed: cfg.Seed}
	if len(cfg.Kinds) == 0 || cfg.Steps <= 0 && cfg.Duration <= 0 {
		return res, errors.New("clusterfaults: a run needs kinds of faults, and steps or a duration")
	}
	logf := func(format string, args ...any) {
		if cfg.Logf != nil {
			cfg.Logf("[%6.1fs] %s", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
		}
	}
	logf("seed %d: %d nodes, faults drawn from %v", cfg.Seed, cfg.Cluster.Nodes, cfg.Kinds)
	cl, err := StartCluster(ctx, cfg.Cluster)
	if err != nil {
		return res, err
	}
	defer cl.Close()
	logf("%d nodes serve", cl.Nodes())

	r := &run{cfg: cfg, cl: cl, rec: history.NewRecorder(), logf: logf, readers: map[string]bool{}, closed: map[string]time.Time{}}
	consumerARN, err := r.setUp(ctx)
	if err != nil {
		return res, err
	}
	if cfg.Ready != nil {
		if err := cfg.Ready(ctx, cl); err != nil {
			return res, err
		}
	}

	// The workload: writers until the schedule ends and the cluster has
	// healed, readers until the last writes are acknowledged.
	stopWriting := make(chan struct{})
	var writers sync.WaitGroup
	for slot := range shardCount * slotsPerShard {
		for k := range writersPerSlot {
			node := (slot + k) % cl.Nodes()
			writers.Go(func() { r.slotWriter(ctx, stopWriting, slot, k, node) })
		}
	}
	for b := range batchWriters {
		writers.Go(func() { r.batchWriter(ctx, stopWriting, b, b%cl.Nodes()) })
	}
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	var readers sync.WaitGroup
	for s := range shardCount {
		r.startReaders(readCtx, &readers, consumerARN, fmt.Sprintf("shardId-%012d", s))
	}
	progressCtx, stopProgress := context.WithCancel(ctx)
	defer stopProgress()
	go r.progress(progressCtx)

	var reshards sync.WaitGroup
	sched := NewSchedule(cfg.Seed, cfg.Kinds, cl.Nodes())
	var faultErr error
	for n := 0; cfg.Steps <= 0 || n < cfg.Steps; n++ {
		if cfg.Duration > 0 && time.Since(start) >= cfg.Duration {
			break
		}
		step := sched.Next()
		// A reshard at every step but the first, alternately a split
		// and a merge, run alongside the quiet period and the fault.
		if n > 0 {
			reshards.Wait()
			reshards.Go(func() { r.reshard(ctx) })
		}
		if err := sleep(ctx, step.Quiet); err != nil {
			faultErr = err
			break
		}
		f, err := r.fault(ctx, n+1, step)
		res.Faults = append(res.Faults, f)
		if err != nil {
			faultErr = err
			break
		}
	}
	// Heal whatever a failure or cancellation left, then a last quiet
	// period for the outage of the last fault.
	r.healAll(context.WithoutCancel(ctx))
	if faultErr == nil {
		faultErr = sleep(ctx, quietBounds()[0])
	}
	endCtx, cancelEnd := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancelEnd()
	reshards.Wait()
	close(stopWriting)
	writers.Wait()
	writesEnd := time.Now()
	if faultErr != nil && ctx.Err() == nil {
		return res, faultErr
	}
	logf("schedule over: every fault healed, writers stopped; waiting for every node and shard to take writes")
	if err := r.settle(endCtx); err != nil {
		return res, err
	}
	stopReading()
	readers.Wait()
	stopProgress()

	// The final read, through a client that retries: reads may be sent
	// again.
	final := cl.client(int(cfg.Seed%uint64(cl.Nodes())), callTimeout, retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 10 }))
	if err := r.rec.FinalRead(endCtx, final, streamName); err != nil {
		return res, err
	}
	h := r.rec.History()
	check, err := history.Check(h)
	if err != nil {
		return res, err
	}
	res.Check = check
	if !check.OK() {
		res.HistoryPath, err = writeHistory(cfg.HistoryDir, h)
		if err != nil {
			return res, err
		}
	}

	acks := ackTimes(h.Writes)
	r.mu.Lock()
	res.Splits, res.Merges, res.Shards = r.splits, r.merges, len(r.readers)
	for i := range res.Faults {
		to := writesEnd
		if i+1 < len(res.Faults) {
			to = res.Faults[i+1].Start
		}
		res.Faults[i].Outage = worstOutage(acks, r.closed, res.Faults[i].Start, to)
	}
	r.mu.Unlock()
	res.Elapsed = time.Since(start)
	// Cancelled, the run still healed, read and checked what it did: the
	// caller tells an interrupted run by its context.
	return res, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// until calls f with a client of each node in turn until it succeeds,
// pausing between tries, or ctx ends: for the control plane (creating
// the stream, resharding, waiting), whose calls are checked by their
// effect rather than recorded. A call that hangs on a paused or cut-off
// node ends at callTimeout and the next try goes to the next node.
func (r *run) until(ctx context.Context, what string, f func(c *kinesis.Client) error) error {
	var err error
	for try := 0; ; try++ {
		if err = f(r.cl.Client(try%r.cl.Nodes(), callTimeout)); err == nil {
			return nil
		}
		if sleep(ctx, 500*time.Millisecond) != nil {
			return fmt.Errorf("clusterfaults: %s: %w (last error: %w)", what, ctx.Err(), err)
		}
	}
}

// setUp creates the stream and registers the consumer, and returns its
// ARN once both are ACTIVE. Each call may be made again after an answer
// lost, so each first looks for what it would create.
func (r *run) setUp(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var streamARN string
	err := r.until(ctx, "creating the stream", func(c *kinesis.Client) error {
		out, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(streamName)})
		if code(err) == "ResourceNotFoundException" {
			if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(streamName), ShardCount: aws.Int32(shardCount)}); err != nil {
				return err
			}
			return errors.New("created; waiting for it to be ACTIVE")
		}
		if err != nil {
			return err
		}
		if s := out.StreamDescriptionSummary.StreamStatus; s != types.StreamStatusActive {
			return fmt.Errorf("stream %s", s)
		}
		if r.cfg.EncryptKey != "" && out.StreamDescriptionSummary.EncryptionType != types.EncryptionTypeKms {
			if _, err := c.StartStreamEncryption(ctx, &kinesis.StartStreamEncryptionInput{StreamName: aws.String(streamName),
				EncryptionType: types.EncryptionTypeKms, KeyId: aws.String(r.cfg.EncryptKey)}); err != nil {
				return err
			}
			return errors.New("encryption started; waiting for the stream to be ACTIVE")
		}
		streamARN = aws.ToString(out.StreamDescriptionSummary.StreamARN)
		return nil
	})
	if err != nil {
		return "", err
	}
	var arn string
	err = r.until(ctx, "registering the consumer", func(c *kinesis.Client) error {
		out, err := c.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{StreamARN: aws.String(streamARN), ConsumerName: aws.String(consumerName)})
		if code(err) == "ResourceNotFoundException" {
			if _, err := c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String(streamARN), ConsumerName: aws.String(consumerName)}); err != nil {
				return err
			}
			return errors.New("registered; waiting for it to be ACTIVE")
		}
		if err != nil {
			return err
		}
		if s := out.ConsumerDescription.ConsumerStatus; s != types.ConsumerStatusActive {
			return fmt.Errorf("consumer %s", s)
		}
		arn = aws.ToString(out.ConsumerDescription.ConsumerARN)
		return nil
	})
	return arn, err
}

// fault runs step n: injects it, holds it, heals it.
func (r *run) fault(ctx context.Context, n int, step Step) (Fault, error) {
	f := Fault{Step: step, Led: -1}
	if step.Kind != Restart {
		f.Led, f.Placements = r.leads(ctx, step.Node)
	}
	led := ""
	if f.Led >= 0 {
		led = fmt.Sprintf(" (it leads %d of %d placements)", f.Led, f.Placements)
	}
	f.Start = time.Now()
	cl := r.cl
	switch step.Kind {
	case Kill:
		r.logf("fault %d: kill -9 node %d%s; restart in %v", n, step.Node+1, led, step.Hold)
		cl.Kill(step.Node)
		if err := sleep(ctx, step.Hold); err != nil {
			return f, err
		}
		if err := cl.Start(ctx, step.Node); err != nil {
			return f, fmt.Errorf("clusterfaults: restarting after fault %d: %w", n, err)
		}
		r.logf("fault %d: node %d restarted, %v after the kill", n, step.Node+1, time.Since(f.Start).Round(10*time.Millisecond))
	case Pause:
		r.logf("fault %d: SIGSTOP node %d%s; SIGCONT in %v", n, step.Node+1, led, step.Hold)
		if err := cl.Signal(step.Node, syscall.SIGSTOP); err != nil {
			return f, err
		}
		err := sleep(ctx, step.Hold)
		if err := errors.Join(err, cl.Signal(step.Node, syscall.SIGCONT)); err != nil {
			return f, err
		}
		r.logf("fault %d: node %d resumed", n, step.Node+1)
	case Partition:
		r.logf("fault %d: node %d cut off from the others%s; healed in %v", n, step.Node+1, led, step.Hold)
		if err := cl.Net().Isolate(ctx, step.Node); err != nil {
			return f, err
		}
		err := sleep(ctx, step.Hold)
		if err := errors.Join(err, cl.Net().Rejoin(context.WithoutCancel(ctx), step.Node)); err != nil {
			return f, err
		}
		r.logf("fault %d: node %d joined again", n, step.Node+1)
	case Restart:
		r.logf("fault %d: kill -9 every node; restart all in %v", n, step.Hold)
		all := make([]int, cl.Nodes())
		for i := range all {
			all[i] = i
			cl.Kill(i)
		}
		if err := sleep(ctx, step.Hold); err != nil {
			return f, err
		}
		if err := cl.Start(ctx, all...); err != nil {
			return f, fmt.Errorf("clusterfaults: restarting the cluster after fault %d: %w", n, err)
		}
		r.logf("fault %d: every node restarted, %v after the kill", n, time.Since(f.Start).Round(10*time.Millisecond))
	default:
		return f, fmt.Errorf("clusterfaults: unknown fault %q", step.Kind)
	}
	return f, nil
}

// leads asks node i which placements of logs it leads (its metrics):
// how many of them, and of how many it knows. -1 if it did not answer.
func (r *run) leads(ctx context.Context, i int) (led, placements int) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.cl.Addr(i)+"/metrics", nil)
	if err != nil {
		return -1, 0
	}
	resp, err := r.cl.HTTPClient(i, 5*time.Second).Do(req)
	if err != nil {
		return -1, 0
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return -1, 0
	}
	for line := range strings.Lines(string(body)) {
		if rest, ok := strings.CutPrefix(line, `tributary_cluster_stream_leader{stream="TRIBUTARY_LOGS_`); ok {
			placements++
			if strings.HasSuffix(strings.TrimSpace(rest), " 1") {
				led++
			}
		}
	}
	return led, placements
}

// healAll undoes every fault: the links healed, every node resumed, every
// node down started.
func (r *run) healAll(ctx context.Context) {
	if nw := r.cl.Net(); nw != nil {
		if err := nw.HealAll(ctx); err != nil {
			r.logf("healing the network: %v", err)
		}
	}
	var down []int
	for i := range r.cl.Nodes() {
		if r.cl.Up(i) {
			_ = r.cl.Signal(i, syscall.SIGCONT)
		} else {
			down = append(down, i)
		}
	}
	if len(down) > 0 {
		if err := r.cl.Start(ctx, down...); err != nil {
			r.logf("restarting nodes %v: %v", down, err)
		}
	}
}

// settle waits until every node answers and every open shard takes a
// write through every node, each write recorded: the cluster has healed
// (and those writes must be in the final read like any other).
func (r *run) settle(ctx context.Context) error {
	for i := range r.cl.Nodes() {
		c := r.cl.Client(i, callTimeout)
		var shards []types.Shard
		for try := 0; ; try++ {
			var err error
			if shards, err = listShards(ctx, c); err == nil {
				break
			}
			if sleep(ctx, 500*time.Millisecond) != nil {
				return fmt.Errorf("clusterfaults: node %d does not answer after the faults: %w\n%s", i+1, err, r.cl.Log(i))
			}
		}
		for _, s := range shards {
			if s.SequenceNumberRange.EndingSequenceNumber != nil {
				continue
			}
			for try := 0; ; try++ {
				in := &kinesis.PutRecordInput{StreamName: aws.String(streamName), PartitionKey: aws.String("k"),
					ExplicitHashKey: s.HashKeyRange.StartingHashKey, Data: fmt.Appendf(nil, "settle-%d-%s-%d", i, aws.ToString(s.ShardId), try)}
				_, err := r.rec.PutRecord(ctx, c, in)
				if err == nil {
					break
				}
				if sleep(ctx, 500*time.Millisecond) != nil {
					return fmt.Errorf("clusterfaults: %s takes no write through node %d after the faults: %w\n%s", aws.ToString(s.ShardId), i+1, err, r.cl.Log(i))
				}
			}
		}
	}
	return nil
}

// progress prints the rates every ProgressEvery until ctx ends.
func (r *run) progress(ctx context.Context) {
	every := r.cfg.ProgressEvery
	if every <= 0 {
		every = 10 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var lastAcked, lastReads int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		acked, reads := r.acked.Load(), r.reads.Load()
		r.mu.Lock()
		shards := len(r.readers)
		r.mu.Unlock()
		r.logf("progress: %d records acknowledged (%.0f/s), %d unknown, %d failed; %d GetRecords pages (%.0f/s); %d shards so far",
			acked, float64(acked-lastAcked)/every.Seconds(), r.unknown.Load(), r.failed.Load(), reads, float64(reads-lastReads)/every.Seconds(), shards)
		lastAcked, lastReads = acked, reads
	}
}

// writeHistory writes h as JSON in dir (os.TempDir() if empty) and
// returns the file's path.
func writeHistory(dir string, h history.History) (string, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, "tributary-history-*.json")
	if err != nil {
		return "", fmt.Errorf("clusterfaults: %w", err)
	}
	err = h.WriteJSON(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("clusterfaults: %w", err)
	}
	return filepath.Clean(f.Name()), nil
}
