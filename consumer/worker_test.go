package consumer_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tributary-io/tributary/consumer"
	"github.com/tributary-io/tributary/internal/inproc"
	"github.com/tributary-io/tributary/producer"
	"github.com/tributary-io/tributary/stream"
)

// retrieval is a way for workers to read: the tests of the worker run
// with each.
type retrieval struct {
	name string
	// server is the in-process Tributary to read from.
	server inproc.Options
	// edit adapts a worker's Config.
	edit func(*consumer.Config)
}

var retrievals = []retrieval{
	{"polling", inproc.Options{}, func(*consumer.Config) {}},
	// Sessions end every 500 ms (AWS: 5 min), so that the workers
	// subscribe again many times during a test.
	{"fanout", inproc.Options{HTTP2: true, Stream: stream.Options{SubscriptionLifetime: 500 * time.Millisecond, SubscriptionHeartbeat: 100 * time.Millisecond}},
		func(c *consumer.Config) { c.FanOut = "app" }},
	// The same with the server's default limits, AWS's: 5 GetRecords a
	// second a shard, one SubscribeToShard a second a consumer and shard
	// (sessions still end every 500 ms, so subscriptions are refused and
	// tried again), and the write limits the producer meets.
	{"polling-aws-limits", inproc.Options{Stream: stream.Options{Limits: stream.Limits{Profile: stream.LimitsAWS}}}, func(*consumer.Config) {}},
	{"fanout-aws-limits", inproc.Options{HTTP2: true, Stream: stream.Options{Limits: stream.Limits{Profile: stream.LimitsAWS}, SubscriptionLifetime: 500 * time.Millisecond, SubscriptionHeartbeat: 100 * time.Millisecond}},
		func(c *consumer.Config) { c.FanOut = "app" }},
}

// collector is an application: its processors append every record's data
// in the order they process them, and checkpoint after each batch.
type collector struct {
	mu   sync.Mutex
	seen []string
	by   map[string]string // record → worker
}

type collectorProc struct {
	c      *collector
	worker string
}

func (p *collectorProc) Initialize(ctx context.Context, in consumer.InitializeInput) error {
	return nil
}

func (p *collectorProc) ProcessRecords(ctx context.Context, in consumer.ProcessRecordsInput) error {
	p.c.mu.Lock()
	for _, r := range in.Records {
		p.c.seen = append(p.c.seen, string(r.Data))
	}
	p.c.mu.Unlock()
	return in.Checkpointer.Checkpoint(ctx)
}

func (p *collectorProc) LeaseLost(ctx context.Context) {}

func (p *collectorProc) ShardEnded(ctx context.Context, cp consumer.Checkpointer) error {
	return cp.Checkpoint(ctx)
}

func (p *collectorProc) ShutdownRequested(ctx context.Context, cp consumer.Checkpointer) error {
	return cp.Checkpoint(ctx)
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

// check counts, over the records processed, those processed twice and
// never, and the keys whose records were processed out of Put order.
func (c *collector) check(keys, perKey int) (dups, missing, outOfOrder int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := make([]int, keys)
	seen := map[string]bool{}
	bad := map[int]bool{}
	for _, r := range c.seen {
		if seen[r] {
			dups++
			continue
		}
		seen[r] = true
		k, n, _ := strings.Cut(strings.TrimPrefix(r, "key-"), ":")
		ki, _ := strconv.Atoi(k)
		ni, _ := strconv.Atoi(n)
		if ni != next[ki] {
			bad[ki] = true
		}
		next[ki] = ni + 1
	}
	return dups, keys*perKey - len(seen), len(bad)
}

type testWorker struct {
	w      *consumer.Worker
	cancel context.CancelFunc
	done   chan struct{}
}

// startWorker starts a worker of application c, its Config adapted by
// edit (when not nil).
func startWorker(t *testing.T, kc consumer.Client, store consumer.LeaseStore, c *collector, id string, edits ...func(*consumer.Config)) *testWorker {
	t.Helper()
	cfg := consumer.Config{
		Stream: "s", Client: kc, Leases: store, WorkerID: id,
		NewProcessor: func(shard string) consumer.Processor { return &collectorProc{c: c, worker: id} },
		FailoverTime: 600 * time.Millisecond, ShardSyncInterval: 300 * time.Millisecond,
		IdleTime: 20 * time.Millisecond, RetryDelay: 10 * time.Millisecond,
		Logger: testLogger(),
	}
	for _, edit := range edits {
		if edit != nil {
			edit(&cfg)
		}
	}
	w, err := consumer.NewWorker(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tw := &testWorker{w: w, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(tw.done)
		if err := w.Run(ctx); err != nil {
			t.Error(err)
		}
	}()
	t.Cleanup(tw.stop)
	return tw
}

func (tw *testWorker) stop() {
	tw.cancel()
	<-tw.done
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWorkersShareAndReshard: three workers share a stream of 4 shards
// that is split and merged under them, a worker joins late and takes
// leases by graceful handoff, another leaves gracefully; every record is
// processed once, and each key's records in Put order across the reshards;
// by polling and by enhanced fan-out.
func TestWorkersShareAndReshard(t *testing.T) {
	for _, rt := range retrievals {
		t.Run(rt.name, func(t *testing.T) { testWorkersShareAndReshard(t, rt) })
	}
}

func testWorkersShareAndReshard(t *testing.T, rt retrieval) {
	const keys, rounds = 200, 3
	const perRound = 20
	ctx := context.Background()
	kc := inproc.Start(t, rt.server)
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(4)}); err != nil {
		t.Fatal(err)
	}
	p, err := producer.New(ctx, producer.Config{Stream: "s", Client: kc, Linger: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	round := 0
	put := func() {
		t.Helper()
		for n := round * perRound; n < (round+1)*perRound; n++ {
			for k := range keys {
				if _, err := p.Put(ctx, producer.Record{PartitionKey: fmt.Sprint("key-", k), Data: fmt.Appendf(nil, "key-%d:%d", k, n)}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := p.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		round++
	}

	store := consumer.NewMemoryLeaseStore()
	c := &collector{}
	a := startWorker(t, kc, store, c, "a", rt.edit)
	put()
	waitFor(t, "a to take every lease", func() bool { return len(a.w.Held()) == 4 })
	b := startWorker(t, kc, store, c, "b", rt.edit)
	cw := startWorker(t, kc, store, c, "c", rt.edit)
	waitFor(t, "the first round processed", func() bool { return c.count() >= keys*perRound })
	waitFor(t, "b and c to take leases from a", func() bool { return len(b.w.Held()) > 0 && len(cw.w.Held()) > 0 })

	if _, err := kc.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("s"), ShardToSplit: aws.String("shardId-000000000000"),
		NewStartingHashKey: aws.String("42535295865117307932921825928971026432")}); err != nil {
		t.Fatal(err)
	}
	if _, err := kc.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String("s"), ShardToMerge: aws.String("shardId-000000000002"),
		AdjacentShardToMerge: aws.String("shardId-000000000003")}); err != nil {
		t.Fatal(err)
	}
	put()
	waitFor(t, "the second round processed", func() bool { return c.count() >= 2*keys*perRound })

	b.stop() // gracefully: its leases go to a and c
	put()
	waitFor(t, "the third round processed", func() bool { return c.count() >= 3*keys*perRound })
	if len(b.w.Held()) != 0 {
		t.Errorf("b stopped but holds %v", b.w.Held())
	}
	dups, missing, outOfOrder := c.check(keys, rounds*perRound)
	if dups != 0 || missing != 0 || outOfOrder != 0 {
		t.Errorf("%d records processed twice, %d never, %d keys out of order; want none", dups, missing, outOfOrder)
	}
	// Open at the end: 1, the split's children 4 and 5, the merge's 6.
	waitFor(t, "the 4 open shards shared 2 and 2", func() bool { return len(a.w.Held()) == 2 && len(cw.w.Held()) == 2 })
}

// deadStore and deadClient stand for a worker killed at once: after kill,
// every call fails, as for a process that is gone, and its processors
// record nothing more.
type deadStore struct {
	consumer.LeaseStore
	dead *atomicBool
}

type atomicBool struct {
	mu sync.Mutex
	v  bool
}

func (b *atomicBool) set()      { b.mu.Lock(); b.v = true; b.mu.Unlock() }
func (b *atomicBool) get() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.v }

var errDead = fmt.Errorf("the worker is dead")

func (s deadStore) List(ctx context.Context) ([]consumer.Lease, error) {
	if s.dead.get() {
		return nil, errDead
	}
	return s.LeaseStore.List(ctx)
}

func (s deadStore) Update(ctx context.Context, l consumer.Lease) (consumer.Lease, error) {
	if s.dead.get() {
		return consumer.Lease{}, errDead
	}
	return s.LeaseStore.Update(ctx, l)
}

func (s deadStore) Get(ctx context.Context, key string) (consumer.Lease, error) {
	if s.dead.get() {
		return consumer.Lease{}, errDead
	}
	return s.LeaseStore.Get(ctx, key)
}

type deadProc struct {
	collectorProc
	dead *atomicBool
}

func (p *deadProc) ProcessRecords(ctx context.Context, in consumer.ProcessRecordsInput) error {
	if p.dead.get() {
		return errDead
	}
	return p.collectorProc.ProcessRecords(ctx, in)
}

// TestWorkerDies: a worker stops renewing and checkpointing at once; after
// FailoverTime the other takes its leases over from their checkpoints,
// and every record is processed, in order, at least once; by polling and
// by enhanced fan-out.
func TestWorkerDies(t *testing.T) {
	for _, rt := range retrievals {
		t.Run(rt.name, func(t *testing.T) { testWorkerDies(t, rt) })
	}
}

func testWorkerDies(t *testing.T, rt retrieval) {
	const keys, perKey = 100, 40
	ctx := context.Background()
	kc := inproc.Start(t, rt.server)
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(4)}); err != nil {
		t.Fatal(err)
	}
	p, err := producer.New(ctx, producer.Config{Stream: "s", Client: kc, Linger: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	put := func(from, to int) {
		for n := from; n < to; n++ {
			for k := range keys {
				if _, err := p.Put(ctx, producer.Record{PartitionKey: fmt.Sprint("key-", k), Data: fmt.Appendf(nil, "key-%d:%d", k, n)}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := p.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	store := consumer.NewMemoryLeaseStore()
	c := &collector{}
	dead := &atomicBool{}
	vcfg := consumer.Config{
		Stream: "s", Client: kc, Leases: deadStore{store, dead}, WorkerID: "victim",
		NewProcessor: func(string) consumer.Processor { return &deadProc{collectorProc{c: c}, dead} },
		FailoverTime: 600 * time.Millisecond, ShardSyncInterval: 300 * time.Millisecond,
		IdleTime: 20 * time.Millisecond, RetryDelay: 10 * time.Millisecond, ShutdownTimeout: time.Second,
		Logger: slog.New(slog.DiscardHandler),
	}
	rt.edit(&vcfg)
	victim, err := consumer.NewWorker(vcfg)
	if err != nil {
		t.Fatal(err)
	}
	vctx, vcancel := context.WithCancel(ctx)
	vdone := make(chan struct{})
	go func() { defer close(vdone); victim.Run(vctx) }()
	defer func() { vcancel(); <-vdone }()

	put(0, perKey/2)
	waitFor(t, "the victim to take every lease", func() bool { return len(victim.Held()) == 4 })
	waitFor(t, "the first half processed", func() bool { return c.count() >= keys*perKey/2 })
	dead.set()
	start := time.Now()
	survivor := startWorker(t, kc, store, c, "survivor", rt.edit)
	put(perKey/2, perKey)
	waitFor(t, "the survivor to take the leases over", func() bool { return len(survivor.w.Held()) == 4 })
	took := time.Since(start)
	waitFor(t, "every record processed", func() bool {
		_, missing, _ := c.check(keys, perKey)
		return missing == 0
	})
	dups, missing, outOfOrder := c.check(keys, perKey)
	t.Logf("the survivor held every lease %v after the death (FailoverTime 600ms); %d records processed twice", took.Round(time.Millisecond), dups)
	if missing != 0 || outOfOrder != 0 {
		t.Errorf("%d records never processed, %d keys out of order; want none", missing, outOfOrder)
	}
	if took < 600*time.Millisecond {
		t.Errorf("the leases moved after %v, before FailoverTime: they were not expired", took)
	}
}

// TestWorkerMetrics checks the KCL-named metrics and the ThroughputKBps
// written to the leases against what one worker did.
func TestWorkerMetrics(t *testing.T) {
	ctx := context.Background()
	kc := inproc.Start(t, inproc.Options{})
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	p, err := producer.New(ctx, producer.Config{Stream: "s", Client: kc, Linger: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	for i := range n {
		if _, err := p.Put(ctx, producer.Record{PartitionKey: fmt.Sprint(i), Data: make([]byte, 100)}); err != nil {
			t.Fatal(err)
		}
	}
	p.Flush(ctx)
	reg := prometheus.NewPedanticRegistry()
	m := consumer.NewMetrics(reg)
	store := consumer.NewMemoryLeaseStore()
	c := &collector{}
	w, err := consumer.NewWorker(consumer.Config{
		Stream: "s", Client: kc, Leases: store, WorkerID: "w", Metrics: m,
		NewProcessor: func(string) consumer.Processor { return &collectorProc{c: c} },
		FailoverTime: 300 * time.Millisecond, IdleTime: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.Run(wctx) }()
	waitFor(t, "every record processed", func() bool { return c.count() == n })
	waitFor(t, "the read rate in the leases", func() bool {
		leases, _ := store.List(ctx)
		for _, l := range leases {
			if l.ThroughputKBps <= 0 {
				return false
			}
		}
		return len(leases) == 2
	})
	if got := testutil.ToFloat64(m.CurrentLeases("w")); got != 2 {
		t.Errorf("kcl_current_leases %v, want 2", got)
	}
	cancel()
	<-done
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]float64{}
	for _, f := range families {
		for _, mt := range f.GetMetric() {
			sums[f.GetName()] += mt.GetCounter().GetValue() + float64(mt.GetHistogram().GetSampleCount())
		}
	}
	if sums["kcl_records_processed_total"] != n || sums["kcl_data_bytes_processed_total"] != 100*n {
		t.Errorf("records processed %v, bytes %v; want %d and %d", sums["kcl_records_processed_total"], sums["kcl_data_bytes_processed_total"], n, 100*n)
	}
	if sums["kcl_taken_leases_total"] != 2 || sums["kcl_process_task_time_seconds"] == 0 {
		t.Errorf("taken leases %v, ProcessRecords calls timed %v", sums["kcl_taken_leases_total"], sums["kcl_process_task_time_seconds"])
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
}

// TestBalanceByThroughput: of 4 shards, one is read 50 times faster than
// the others. Two workers share them by count first (2 and 2); then the
// one with the hot shard hands its other lease over, so that the hot
// shard's worker holds it alone and the other worker the 3 quiet ones.
func TestBalanceByThroughput(t *testing.T) {
	ctx := context.Background()
	kc := inproc.Start(t, inproc.Options{})
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(4)}); err != nil {
		t.Fatal(err)
	}
	// Shard i starts at i·2^126.
	shardKey := func(i int) string {
		return new(big.Int).Lsh(big.NewInt(int64(i)), 126).String()
	}
	wctx, stopWriting := context.WithCancel(ctx)
	var writer sync.WaitGroup
	defer func() { stopWriting(); writer.Wait() }()
	writer.Go(func() {
		data := make([]byte, 1000)
		for wctx.Err() == nil {
			var entries []types.PutRecordsRequestEntry
			for range 50 { // the hot shard, 0
				entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String("hot"), ExplicitHashKey: aws.String(shardKey(0)), Data: data})
			}
			for i := 1; i < 4; i++ {
				entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String("quiet"), ExplicitHashKey: aws.String(shardKey(i)), Data: data})
			}
			kc.PutRecords(wctx, &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: entries})
			time.Sleep(20 * time.Millisecond)
		}
	})

	store := consumer.NewMemoryLeaseStore()
	c := &collector{}
	a := startWorker(t, kc, store, c, "a")
	waitFor(t, "a to take every lease", func() bool { return len(a.w.Held()) == 4 })
	b := startWorker(t, kc, store, c, "b")
	hotAlone := func() bool {
		ha, hb := a.w.Held(), b.w.Held()
		return (len(ha) == 1 && ha[0] == "shardId-000000000000" && len(hb) == 3) ||
			(len(hb) == 1 && hb[0] == "shardId-000000000000" && len(ha) == 3)
	}
	// First the leases are shared by count (the rates are not known yet),
	// then by weight once the owners have written them.
	waitFor(t, "the read rates in the leases", func() bool {
		leases, _ := store.List(ctx)
		rates := map[string]float64{}
		for _, l := range leases {
			rates[l.Key] = l.ThroughputKBps
		}
		hot := rates["shardId-000000000000"]
		return len(rates) == 4 && hot > 0 && hot > 10*rates["shardId-000000000001"] && hot > 10*rates["shardId-000000000002"] && hot > 10*rates["shardId-000000000003"]
	})
	waitFor(t, "the hot shard's worker to hold it alone", hotAlone)
	// And it stays so: no lease moves back.
	for range 20 {
		time.Sleep(50 * time.Millisecond)
		if !hotAlone() {
			t.Fatalf("the leases moved again: a %v, b %v", a.w.Held(), b.w.Held())
		}
	}
	leases, _ := store.List(ctx)
	for _, l := range leases {
		t.Logf("%s owner %s %.0f KB/s", l.Key, l.Owner, l.ThroughputKBps)
	}
}

func testLogger() *slog.Logger {
	if os.Getenv("CONSUMER_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}
