// Package e2e_test runs the consumer library as an application would:
// workers in separate processes (this test binary, re-executed; see
// TestMain), against a Tributary, with each lease store, joining,
// leaving, killed with SIGKILL, while the stream is split and merged.
package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/tributary-io/tributary/consumer"
	"github.com/tributary-io/tributary/internal/inproc"
	"github.com/tributary-io/tributary/internal/testsvc/dynalite"
	"github.com/tributary-io/tributary/internal/testsvc/postgres"
	"github.com/tributary-io/tributary/producer"
	streamsvc "github.com/tributary-io/tributary/stream"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(workerEnv); spec != "" {
		os.Exit(runWorker(spec))
	}
	os.Exit(m.Run())
}

// worker is a worker process.
type worker struct {
	id   string
	cmd  *exec.Cmd
	out  *outFile
	log  string // its standard error
	done chan struct{}
	err  error // Wait's, once done is closed
	// termed: SIGTERM was sent.
	termed bool
}

type harness struct {
	t       *testing.T
	dir     string
	spec    workerSpec // the workers' settings but ID and Out
	workers []*worker
}

// start starts worker id in a process of its own.
func (h *harness) start(id string) *worker {
	h.t.Helper()
	spec := h.spec
	spec.ID, spec.Out, spec.Hold = id, filepath.Join(h.dir, id+".out"), filepath.Join(h.dir, id+".hold")
	js, err := json.Marshal(spec)
	if err != nil {
		h.t.Fatal(err)
	}
	w := &worker{id: id, out: &outFile{worker: id, path: spec.Out}, log: filepath.Join(h.dir, id+".log"), done: make(chan struct{})}
	logf, err := os.Create(w.log)
	if err != nil {
		h.t.Fatal(err)
	}
	defer logf.Close() // the process has its own
	w.cmd = exec.Command(os.Args[0], "-test.run=^$")
	w.cmd.Env = append(os.Environ(), workerEnv+"="+string(js))
	w.cmd.Stdout, w.cmd.Stderr = logf, logf
	// Killed with the test binary, however it ends.
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := w.cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	go func() { w.err = w.cmd.Wait(); close(w.done) }()
	h.t.Cleanup(func() {
		w.cmd.Process.Kill()
		<-w.done
	})
	h.workers = append(h.workers, w)
	return w
}

// term sends w SIGTERM, once: a second one could come after the worker
// stopped listening for it, on its way out.
func (w *worker) term() {
	if !w.termed {
		w.termed = true
		w.cmd.Process.Signal(syscall.SIGTERM)
	}
}

// stop ends w with SIGTERM and waits for it to exit.
func (h *harness) stop(w *worker) {
	h.t.Helper()
	w.term()
	select {
	case <-w.done:
	case <-time.After(60 * time.Second):
		h.t.Errorf("%s did not exit within 60s of SIGTERM", w.id)
	}
}

// logTails logs the end of each worker's log, for a failure.
func (h *harness) logTails() {
	for _, w := range h.workers {
		b, _ := os.ReadFile(w.log)
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		h.t.Logf("--- the last lines of %s's log (of %d):\n%s", w.id, len(lines), strings.Join(lines[max(0, len(lines)-40):], "\n"))
	}
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// workable is consumer's rule: a lease whose shard is not done, and whose
// parents (those with a lease) are.
func workable(l consumer.Lease, byKey map[string]consumer.Lease) bool {
	if l.Checkpoint.SequenceNumber == consumer.ShardEnd {
		return false
	}
	for _, p := range l.ParentShardIDs {
		if pl, ok := byKey[p]; ok && pl.Checkpoint.SequenceNumber != consumer.ShardEnd {
			return false
		}
	}
	return true
}

// TestWorkerProcesses: the test. Workers in separate processes
// share a stream of 8 shards while 100,000 records of 1,000 keys are put
// with the producer library: 3 workers start, a 4th joins, one leaves
// (SIGTERM), one is killed (SIGKILL) within a batch and a new one starts,
// a shard is split and two merged. Then every record was processed at
// least once, exactly once unless it was in flight at the kill, each
// key's records first processed in Put order, and the leases end evenly
// spread over the live workers. Once with each lease store, the server
// applying AWS's default limits: with DynamoDB the workers poll
// (GetRecords), with PostgreSQL they read by enhanced fan-out.
func TestWorkerProcesses(t *testing.T) {
	for _, tc := range []struct{ kind, fanOut string }{{"dynamodb", ""}, {"postgres", "e2e-app"}} {
		name := tc.kind + "-polling"
		if tc.fanOut != "" {
			name = tc.kind + "-fanout"
		}
		t.Run(name, func(t *testing.T) { runProcesses(t, tc.kind, tc.fanOut) })
	}
}

func runProcesses(t *testing.T, kind, fanOut string) {
	const keys, perKey = 1000, 100
	const pace = 100 * time.Millisecond // per round of one record a key
	began := time.Now()
	ctx := context.Background()

	var storeAddr string
	switch kind {
	case "dynamodb":
		ep, stop := dynalite.Start(t)
		t.Cleanup(stop)
		storeAddr = ep
	case "postgres":
		dsn, stop := postgres.Start(t)
		t.Cleanup(stop)
		storeAddr = dsn
	}
	const table = "e2e_leases"
	store, closeStore, err := openStore(ctx, kind, storeAddr, table)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeStore)
	list := func() map[string]consumer.Lease {
		t.Helper()
		leases, err := store.List(ctx)
		if err != nil {
			t.Fatalf("listing the leases: %v", err)
		}
		byKey := map[string]consumer.Lease{}
		for _, l := range leases {
			byKey[l.Key] = l
		}
		return byKey
	}

	kc := inproc.Start(t, inproc.Options{Stream: streamsvc.Options{Limits: streamsvc.Limits{Profile: streamsvc.LimitsAWS}}})
	const stream = "e2e"
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(8)}); err != nil {
		t.Fatal(err)
	}
	// TRIBUTARY_E2E_DIR keeps the workers' outputs and logs there.
	dir := t.TempDir()
	if keep := os.Getenv("TRIBUTARY_E2E_DIR"); keep != "" {
		dir = filepath.Join(keep, kind)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	h := &harness{t: t, dir: dir, spec: workerSpec{
		Kinesis: aws.ToString(kc.Options().BaseEndpoint), Stream: stream,
		Store: kind, StoreAddr: storeAddr, Table: table,
		FailoverTime: 3 * time.Second, ShardSync: time.Second, Idle: 50 * time.Millisecond,
		Retry: 20 * time.Millisecond, MaxRecords: 20, FanOut: fanOut,
	}}
	defer func() {
		if t.Failed() {
			h.logTails()
		}
	}()

	for _, id := range []string{"w1", "w2", "w3"} {
		h.start(id)
	}
	waitFor(t, 60*time.Second, "the 8 leases taken", func() bool {
		owned := 0
		for _, l := range list() {
			if l.Owner != "" {
				owned++
			}
		}
		return owned == 8
	})
	started := time.Now()

	// The producer puts one record a key per round, a round every pace.
	p, err := producer.New(ctx, producer.Config{Stream: stream, Client: kc, Linger: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var round atomic.Int64
	produced := make(chan error, 1)
	go func() {
		produced <- func() error {
			futures := make([]*producer.Future, 0, keys*perKey)
			for n := range perKey {
				for k := range keys {
					f, err := p.Put(ctx, producer.Record{PartitionKey: fmt.Sprint("key-", k), Data: fmt.Appendf(nil, "key-%d:%d", k, n)})
					if err != nil {
						return err
					}
					futures = append(futures, f)
				}
				round.Store(int64(n + 1))
				time.Sleep(time.Until(started.Add(time.Duration(n+1) * pace)))
			}
			if err := p.Flush(ctx); err != nil {
				return err
			}
			failed := 0
			var last error
			for _, f := range futures {
				if res, _ := f.Wait(ctx); res.Err != nil {
					failed, last = failed+1, res.Err
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d Puts failed, the last with %v", failed, last)
			}
			return p.Close(ctx)
		}()
	}()
	var producerErr error
	producerDone := false
	waitRound := func(percent int) {
		t.Helper()
		for round.Load() < int64(perKey*percent/100) && !producerDone {
			select {
			case producerErr = <-produced:
				producerDone = true
			case <-time.After(5 * time.Millisecond):
			}
		}
	}

	waitRound(15)
	h.start("w4") // joins: takes leases by graceful handoff
	waitRound(30)
	if _, err := kc.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String(stream), ShardToSplit: aws.String("shardId-000000000000"),
		NewStartingHashKey: aws.String("21267647932558653966460912964485513216")}); err != nil { // 2^124, the middle of shard 0
		t.Fatal(err)
	}
	waitRound(45)
	leaver := h.workers[1]
	leaver.term() // leaves gracefully
	waitRound(60)
	if _, err := kc.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String(stream), ShardToMerge: aws.String("shardId-000000000002"),
		AdjacentShardToMerge: aws.String("shardId-000000000003")}); err != nil {
		t.Fatal(err)
	}
	waitRound(75)
	// The kill: at a random moment, within a batch. The victim's
	// processors are told to stop half-way through their next batch (the
	// hold file); once one has (its P line), SIGKILL.
	victim := h.workers[2]
	time.Sleep(time.Duration(rand.Int64N(int64(200 * time.Millisecond))))
	if err := os.WriteFile(filepath.Join(h.dir, victim.id+".hold"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, victim.id+" within a batch", func() bool {
		if err := victim.out.poll(); err != nil {
			t.Fatal(err)
		}
		return victim.out.midBatch()
	})
	killNs := time.Now().UnixNano()
	victim.cmd.Process.Signal(syscall.SIGKILL)
	killed := time.Now()
	h.start("w5") // the replacement
	if !producerDone {
		producerErr = <-produced
	}
	if producerErr != nil {
		t.Fatalf("producer: %v", producerErr)
	}
	putDone := time.Now()

	// Every record processed.
	seen := map[string]bool{}
	scanned := map[*outFile]int{}
	waitFor(t, 3*time.Minute, "every record processed", func() bool {
		for _, w := range h.workers {
			if err := w.out.poll(); err != nil {
				t.Fatal(err)
			}
			for _, e := range w.out.events[scanned[w.out]:] {
				if e.kind == 'R' {
					seen[e.text] = true
				}
			}
			scanned[w.out] = len(w.out.events)
		}
		return len(seen) >= keys*perKey
	})
	drained := time.Now()

	// The leases settled: the stream idle by the workers' measure (a mean
	// read rate under 1 KB/s), then the same owners for FailoverTime, no
	// handoff under way, every workable lease held by a live worker.
	live := []*worker{h.workers[0], h.workers[3], h.workers[4]}
	liveIDs := map[string]bool{}
	for _, w := range live {
		liveIDs[w.id] = true
	}
	var settledLeases map[string]consumer.Lease
	last, since := "", time.Now()
	waitFor(t, 2*time.Minute, "the leases to settle", func() bool {
		leases := list()
		var sig []string
		var rate float64
		n := 0
		for _, l := range leases {
			if workable(l, leases) {
				if !liveIDs[l.Owner] || l.CheckpointOwner != "" {
					sig = append(sig, "unsettled")
				}
				sig = append(sig, l.Key+"="+l.Owner)
				rate += l.ThroughputKBps
				n++
			}
		}
		if n == 0 || rate/float64(n) >= 1 {
			sig = append(sig, "unsettled")
		}
		slices.Sort(sig)
		s := strings.Join(sig, " ")
		if s != last || strings.Contains(s, "unsettled") {
			last, since = s, time.Now()
			return false
		}
		settledLeases = leases
		return time.Since(since) >= h.spec.FailoverTime
	})
	settled := time.Now()

	// The spread, once the stream is idle: the workers then weigh every
	// lease alike (consumer's idleKBps), and each live worker must hold
	// ⌊n/w⌋ or ⌈n/w⌉ of the n workable leases, which are those of the
	// open shards.
	shards, err := kc.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	var open, work []string
	for _, s := range shards.Shards {
		if s.SequenceNumberRange.EndingSequenceNumber == nil {
			open = append(open, aws.ToString(s.ShardId))
		}
	}
	held := map[string][]string{}
	for _, l := range settledLeases {
		if workable(l, settledLeases) {
			work = append(work, l.Key)
			held[l.Owner] = append(held[l.Owner], fmt.Sprintf("%s (%.2g KB/s)", strings.TrimPrefix(l.Key, "shardId-"), l.ThroughputKBps))
		}
	}
	slices.Sort(work)
	slices.Sort(open)
	if !slices.Equal(work, open) {
		t.Errorf("workable leases %v, open shards %v: want the same", work, open)
	}
	lo, hi := len(work)/len(live), (len(work)+len(live)-1)/len(live)
	for _, w := range live {
		slices.Sort(held[w.id])
		t.Logf("leases of %s at the end: %d, %v", w.id, len(held[w.id]), held[w.id])
		if n := len(held[w.id]); n < lo || n > hi {
			t.Errorf("%s holds %d of the %d leases of open shards; want %d to %d (%d live workers)", w.id, n, len(work), lo, hi, len(live))
		}
	}

	// Every worker stops gracefully and gives its leases up.
	for _, w := range live {
		w.term()
	}
	for _, w := range append(live, leaver) {
		h.stop(w)
		if w.err != nil {
			t.Errorf("%s, stopped with SIGTERM: %v; want exit status 0", w.id, w.err)
		}
	}
	<-victim.done
	if ws, ok := victim.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Errorf("the victim ended with %v, not SIGKILL", victim.err)
	}
	for _, l := range list() {
		// A lease at SHARD_END stays with the worker that ended it.
		if l.Checkpoint.SequenceNumber != consumer.ShardEnd && (l.Owner != "" || l.CheckpointOwner != "") {
			t.Errorf("after every worker stopped, lease %s is owned by %q (checkpoint owner %q)", l.Key, l.Owner, l.CheckpointOwner)
		}
	}

	// What the application wrote.
	var files []*outFile
	for _, w := range h.workers {
		if err := w.out.poll(); err != nil {
			t.Fatal(err)
		}
		if len(w.out.partial) > 0 && w != victim {
			t.Errorf("%s's output ends with a partial line %q", w.id, w.out.partial)
		}
		files = append(files, w.out)
	}
	rep := analyze(files, victim.id, killNs, keys, perKey)
	moves := slices.Sorted(maps.Keys(rep.moves))
	var movesText []string
	for _, m := range moves {
		movesText = append(movesText, fmt.Sprintf("%s %d", m, rep.moves[m]))
	}
	t.Logf("%s: %d records of %d keys put; %d processed (copies included), %d never", kind, keys*perKey, keys, rep.processings, len(rep.missing))
	t.Logf("in flight at the kill: %d records, %d of them processed again by another worker; processed twice: %d because of the kill, %d otherwise (across %d graceful moves and the rest); stored twice: %d",
		rep.inFlight, rep.inFlightAgain, rep.killDups, rep.otherDups, rep.moves["graceful"], rep.storedTwice)
	t.Logf("processors started: %s; failed checkpoints %d; the victim's shards restarted within %v of the kill (FailoverTime %v)",
		strings.Join(movesText, ", "), rep.checkpointFailures, rep.failover.Round(time.Millisecond), h.spec.FailoverTime)
	t.Logf("elapsed: %v in all; leases taken %v after the services started; put %v; every record processed %v after the last Put, %v after the kill; leases settled %v later",
		time.Since(began).Round(time.Millisecond), started.Sub(began).Round(time.Millisecond), putDone.Sub(started).Round(time.Millisecond),
		drained.Sub(putDone).Round(time.Millisecond), drained.Sub(killed).Round(time.Millisecond), settled.Sub(drained).Round(time.Millisecond))

	if len(rep.missing) > 0 {
		t.Errorf("%d records never processed, such as %v", len(rep.missing), rep.missing[:min(5, len(rep.missing))])
	}
	if len(rep.unexpected) > 0 {
		t.Errorf("%d records processed that were never put, such as %v", len(rep.unexpected), rep.unexpected[:min(5, len(rep.unexpected))])
	}
	if rep.inFlight == 0 {
		t.Errorf("the kill found no record in flight: it was not within a batch")
	}
	if rep.otherDups > 0 {
		t.Errorf("%d records processed more than once other than in flight at the kill; want none:\n%s", rep.otherDups, strings.Join(rep.otherExamples, "\n"))
	}
	if rep.storedTwice > 0 {
		t.Errorf("%d records processed at two positions of the stream", rep.storedTwice)
	}
	if rep.outOfOrderKeys > 0 {
		t.Errorf("%d keys first processed out of Put order, such as %s", rep.outOfOrderKeys, rep.orderExample)
	}
	if rep.unCheckpointed > 0 {
		t.Errorf("%d records processed and never checkpointed by a worker that was not killed", rep.unCheckpointed)
	}
	if rep.moves["graceful"] == 0 || rep.moves["after killed"] == 0 {
		t.Errorf("moves %v: want some graceful and some after the kill", rep.moves)
	}
}
