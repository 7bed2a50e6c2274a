package consumer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	mathrand "math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// Client is the part of *kinesis.Client a Worker uses.
type Client interface {
	ListShards(ctx context.Context, in *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
	GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, optFns ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error)
	// For enhanced fan-out (Config.FanOut).
	DescribeStreamSummary(ctx context.Context, in *kinesis.DescribeStreamSummaryInput, optFns ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error)
	RegisterStreamConsumer(ctx context.Context, in *kinesis.RegisterStreamConsumerInput, optFns ...func(*kinesis.Options)) (*kinesis.RegisterStreamConsumerOutput, error)
	DescribeStreamConsumer(ctx context.Context, in *kinesis.DescribeStreamConsumerInput, optFns ...func(*kinesis.Options)) (*kinesis.DescribeStreamConsumerOutput, error)
	SubscribeToShard(ctx context.Context, in *kinesis.SubscribeToShardInput, optFns ...func(*kinesis.Options)) (*kinesis.SubscribeToShardOutput, error)
}

// Config configures a Worker. Stream, Client, Leases and NewProcessor are
// required; the rest have defaults.
type Config struct {
	// Stream is the stream's ARN or name.
	Stream string
	Client Client
	// Leases keeps the application's leases; all workers of one
	// application share it, and only them.
	Leases       LeaseStore
	NewProcessor ProcessorFactory
	// WorkerID names this worker in the leases; default the host name
	// and a random suffix. It must be unique among the workers.
	WorkerID string
	// InitialPosition is where an application that has no leases yet
	// starts: TrimHorizon (default), Latest, or AtTimestamp (Timestamp).
	InitialPosition string
	Timestamp       time.Time
	// FailoverTime is how long a lease's counter may stand still before
	// other workers take it as their owner's no more. Default 10 s, KCL's.
	FailoverTime time.Duration
	// ShardSyncInterval is how often the stream's shards are listed to
	// find new ones; a shard's end lists them at once too. Default 1 min.
	ShardSyncInterval time.Duration
	// IdleTime is the pause between GetRecords calls at the tip of a
	// shard. Default 1 s.
	IdleTime time.Duration
	// ReadInterval is the least time between the starts of two
	// GetRecords calls on one shard. Default 200 ms, Kinesis's limit of 5
	// calls a second a shard; a negative value does not wait, for a
	// server without limits (Tributary with --limits off), where it reads
	// 2.7 times faster (docs/benchmarks.md).
	ReadInterval time.Duration
	// MaxRecords is GetRecords' Limit. Default 10,000, the most.
	MaxRecords int32
	// FanOut, when set, makes the worker read by enhanced fan-out
	// (SubscribeToShard) as the stream consumer of that name instead of
	// polling with GetRecords; see fanout.go. The consumer is registered
	// by the first worker that needs it and shared by every worker of the
	// application; it stays registered when the workers stop.
	//
	// AWS serves SubscribeToShard over HTTP/2 only: the Client's HTTP
	// client must negotiate h2 by ALPN over TLS. The SDK's default client
	// (awshttp.NewBuildableClient, or sdkhttp.New) does; a custom
	// http.Transport needs ForceAttemptHTTP2 (or Protocols with HTTP2),
	// and the http.Client no Timeout, which would cut sessions that last
	// minutes. Tributary on a plain http:// port serves event streams over
	// HTTP/1.1 too, and over HTTP/2 with prior knowledge (h2c): an
	// http.Transport whose Protocols has only UnencryptedHTTP2, or
	// x/net/http2's Transport with AllowHTTP and a DialTLSContext that
	// dials plain TCP.
	FanOut string
	// RetryDelay is the pause before a failed call or batch is tried
	// again, growing to 32 times on repeated failures. Default 100 ms.
	RetryDelay time.Duration
	// ShutdownTimeout bounds the processors' ShutdownRequested when the
	// worker stops. Default 30 s.
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	// Metrics receives the worker's metrics; nil means collectors of its
	// own that nothing registers (see NewMetrics).
	Metrics *Metrics

	// onIdle, set by Scan, hears of a read that found no record at the
	// tip of a shard; onGone, of a read that found the stream or shard
	// gone.
	onIdle func(shard string)
	onGone func(error)
}

func (c *Config) setDefaults() error {
	if c.Stream == "" || c.Client == nil || c.Leases == nil || c.NewProcessor == nil {
		return errors.New("consumer: Config.Stream, Client, Leases and NewProcessor are required")
	}
	if c.WorkerID == "" {
		host, _ := os.Hostname()
		var b [4]byte
		rand.Read(b[:])
		c.WorkerID = host + "-" + hex.EncodeToString(b[:])
	}
	switch c.InitialPosition {
	case "":
		c.InitialPosition = TrimHorizon
	case TrimHorizon, Latest:
	case AtTimestamp:
		if c.Timestamp.IsZero() {
			return errors.New("consumer: InitialPosition AtTimestamp needs Config.Timestamp")
		}
	default:
		return fmt.Errorf("consumer: InitialPosition %q: want %s, %s or %s", c.InitialPosition, TrimHorizon, Latest, AtTimestamp)
	}
	if c.FailoverTime <= 0 {
		c.FailoverTime = 10 * time.Second
	}
	if c.ShardSyncInterval <= 0 {
		c.ShardSyncInterval = time.Minute
	}
	if c.IdleTime <= 0 {
		c.IdleTime = time.Second
	}
	if c.ReadInterval == 0 {
		c.ReadInterval = 200 * time.Millisecond
	}
	if c.MaxRecords <= 0 {
		c.MaxRecords = 10_000
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = 100 * time.Millisecond
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics(nil)
	}
	c.Logger = c.Logger.With("worker", c.WorkerID)
	return nil
}

// Worker processes a share of a stream's shards: it takes leases, runs a
// Processor for each, renews them, and gives them up when it stops.
//
// How workers share the shards, without talking to each other (only
// through the LeaseStore's compare-and-set on the lease counter):
//
//   - A worker renews its leases every FailoverTime/3, which moves their
//     counters; a lease whose counter stood still for FailoverTime, as
//     this worker's clock measures it, belongs to a worker that is gone.
//   - Each round, a worker counts the workable leases (not at SHARD_END,
//     every parent at SHARD_END) and the workers owning them, and takes
//     unowned or expired ones up to its even share. Two workers reaching
//     for one lease write it conditionally; one of them wins.
//   - With nothing free, a worker takes one lease a round from the worker
//     with the heaviest load when that brings the two loads closer
//     (rebalance): a lease weighs 1 plus its read rate over the mean, so
//     loads are lease counts until rates are known, and a hot shard then
//     counts as several idle ones. It takes it by graceful handoff (KCL
//     3.x): it writes itself as Owner and the old owner as
//     CheckpointOwner. The old owner, at its next write, sees that, asks
//     its Processor to shut down (ShutdownRequested, which checkpoints)
//     and clears CheckpointOwner; only then does the new owner start,
//     from that checkpoint, so a planned move delivers nothing twice. If
//     the old owner is gone, the counter stands still and the new owner
//     starts
//     after FailoverTime.
type Worker struct {
	cfg Config
	log *slog.Logger

	mu   sync.Mutex
	held map[string]*heldLease // by shard id
	// seen is when each lease's counter was last seen to change.
	seen map[string]observed
	// handedOver is when this worker last handed each lease over.
	handedOver map[string]time.Time
	// wake makes the coordinator run a round now (a shard ended).
	wake chan struct{}
	wg   sync.WaitGroup
	// fanOut is the registered stream consumer, with Config.FanOut.
	fanOut fanOutConsumer
}

type observed struct {
	counter int64
	at      time.Time
}

// NewWorker checks cfg and returns a Worker; Run starts it.
func NewWorker(cfg Config) (*Worker, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	return &Worker{cfg: cfg, log: cfg.Logger, held: make(map[string]*heldLease), seen: make(map[string]observed), handedOver: make(map[string]time.Time), wake: make(chan struct{}, 1)}, nil
}

// ID is the worker's id in the leases.
func (w *Worker) ID() string { return w.cfg.WorkerID }

// Run works until ctx ends, then asks every Processor to shut down
// (ShutdownRequested), gives its leases up so that other workers take
// them at once, and returns. It returns early only if the lease store
// cannot be prepared.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.cfg.Leases.Init(ctx); err != nil {
		return fmt.Errorf("consumer: prepare the lease store: %w", err)
	}
	w.log.Info("consumer: worker started", "stream", w.cfg.Stream)
	renew := time.NewTicker(w.cfg.FailoverTime / 3)
	defer renew.Stop()
	var lastSync time.Time
	for {
		now := time.Now()
		if now.Sub(lastSync) >= w.cfg.ShardSyncInterval {
			if err := w.syncShards(ctx); err != nil {
				w.log.Warn("consumer: listing shards failed; trying again next round", "err", err)
			} else {
				lastSync = now
			}
		}
		w.renewAll(ctx)
		if err := w.takeLeases(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("consumer: reading the leases failed; trying again next round", "err", err)
		}
		select {
		case <-ctx.Done():
			w.shutdown()
			w.log.Info("consumer: worker stopped")
			return nil
		case <-renew.C:
		case <-w.wake:
			lastSync = time.Time{}
		}
	}
}

// shutdown stops every shard consumer gracefully and waits for them.
func (w *Worker) shutdown() {
	w.mu.Lock()
	for _, h := range w.held {
		h.stop(stopShutdown)
	}
	w.mu.Unlock()
	w.wg.Wait()
	// Left: leases taken by handoff whose consumer never started. No
	// longer held; they expire after FailoverTime, as when a worker dies.
	// (Written unowned, one could be taken by a third worker while the
	// old owner is still handing it over, and records delivered twice.)
	for _, h := range w.heldLeases() {
		h.mu.Lock()
		h.gone = true
		h.mu.Unlock()
		w.released(h)
	}
}

// heldLeases returns the leases held now. Callers lock each one after:
// the lock order is a heldLease's mu before the Worker's, never the other
// way round (write holds h.mu and observes under w.mu).
func (w *Worker) heldLeases() []*heldLease {
	w.mu.Lock()
	defer w.mu.Unlock()
	held := make([]*heldLease, 0, len(w.held))
	for _, h := range w.held {
		held = append(held, h)
	}
	return held
}

// renewAll renews every lease held, which also finds those handed over
// or lost.
func (w *Worker) renewAll(ctx context.Context) {
	for _, h := range w.heldLeases() {
		if h.waitingForHandoff() {
			continue // the old owner still writes it
		}
		kbps := h.throughput(time.Now())
		if err := w.write(ctx, h, func(l *Lease) { l.ThroughputKBps = kbps }); err != nil && !errors.Is(err, ErrLeaseLost) && ctx.Err() == nil {
			w.log.Warn("consumer: renewing a lease failed", "shard", h.key, "err", err)
		}
	}
}

// ErrLeaseLost is returned by a Checkpointer once another worker holds
// the lease.
var ErrLeaseLost = errors.New("consumer: the lease is another worker's")

// write applies change to the lease held and stores it, conditionally on
// its counter. When someone else wrote the lease since, it reads it
// again: if this worker still owns it, or is its CheckpointOwner during a
// handoff, change is applied to the fresh copy and written; otherwise the
// lease is lost, its consumer is stopped, and ErrLeaseLost returned.
func (w *Worker) write(ctx context.Context, h *heldLease, change func(*Lease)) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gone {
		return ErrLeaseLost
	}
	for attempt := 0; ; attempt++ {
		next := clone(h.l)
		change(&next)
		stored, err := w.cfg.Leases.Update(ctx, next)
		if err == nil {
			h.l = stored
			w.observe(stored, time.Now())
			return nil
		}
		if !errors.Is(err, ErrLeaseChanged) || attempt == 3 {
			if errors.Is(err, ErrLeaseNotFound) {
				h.loseLocked(w)
				return ErrLeaseLost
			}
			return err
		}
		fresh, err := w.cfg.Leases.Get(ctx, h.key)
		if err != nil {
			if errors.Is(err, ErrLeaseNotFound) {
				h.loseLocked(w)
				return ErrLeaseLost
			}
			return err
		}
		switch {
		case fresh.Owner == w.cfg.WorkerID && fresh.CheckpointOwner == "":
			// Still ours; someone else touched it (a lease tool, KCL's
			// leader): go on from its copy.
		case fresh.Owner != w.cfg.WorkerID && fresh.CheckpointOwner == w.cfg.WorkerID:
			// Being handed over: this worker may still checkpoint, and
			// stops its processor gracefully.
			if !h.handingOver {
				h.handingOver = true
				w.log.Info("consumer: handing a lease over", "shard", h.key, "to", fresh.Owner)
				h.stop(stopHandoff)
			}
		default:
			h.loseLocked(w)
			w.cfg.Metrics.lostLeases.WithLabelValues(w.cfg.WorkerID).Inc()
			w.log.Info("consumer: lease lost", "shard", h.key, "owner", fresh.Owner)
			return ErrLeaseLost
		}
		h.l = fresh
	}
}

// observe notes when a lease's counter was seen to change.
func (w *Worker) observe(l Lease, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if o, ok := w.seen[l.Key]; !ok || o.counter != l.Counter {
		w.seen[l.Key] = observed{l.Counter, now}
	}
}

func (w *Worker) expired(l Lease, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	o, ok := w.seen[l.Key]
	return ok && o.counter == l.Counter && now.Sub(o.at) > w.cfg.FailoverTime
}

// workable reports whether l's shard can be processed: not finished, and
// every parent finished (or unknown: older than the application).
func workable(l Lease, byKey map[string]Lease) bool {
	if l.Checkpoint.SequenceNumber == ShardEnd {
		return false
	}
	for _, p := range l.ParentShardIDs {
		if pl, ok := byKey[p]; ok && pl.Checkpoint.SequenceNumber != ShardEnd {
			return false
		}
	}
	return true
}

// takeLeases runs one round of the sharing described on Worker.
func (w *Worker) takeLeases(ctx context.Context) error {
	leases, err := w.cfg.Leases.List(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	byKey := make(map[string]Lease, len(leases))
	for _, l := range leases {
		byKey[l.Key] = l
		w.observe(l, now)
	}
	w.checkHandoffs(ctx, byKey, now)

	var work []Lease
	load := map[string]int{w.cfg.WorkerID: 0} // leases per live worker
	for _, l := range leases {
		if !workable(l, byKey) {
			continue
		}
		work = append(work, l)
		if l.Owner != "" && !w.expired(l, now) {
			load[l.Owner]++
		}
	}
	if len(work) == 0 {
		return nil
	}
	target := int(math.Ceil(float64(len(work)) / float64(len(load))))
	mine := load[w.cfg.WorkerID]
	w.mu.Lock()
	heldNow := make(map[string]bool, len(w.held))
	for k := range w.held {
		heldNow[k] = true
	}
	w.mu.Unlock()
	var free []Lease
	for _, l := range work {
		switch {
		case l.Owner == w.cfg.WorkerID && !heldNow[l.Key]:
			// Ours by name but not held: left by an earlier run of this
			// worker id, or a give-up that failed.
			free = append(free, l)
			if !w.expired(l, now) {
				mine-- // counted in load, to be taken again
			}
		case l.Owner != w.cfg.WorkerID && (l.Owner == "" || w.expired(l, now)):
			free = append(free, l)
		}
	}
	mathrand.Shuffle(len(free), func(i, j int) { free[i], free[j] = free[j], free[i] })
	for _, l := range free {
		if mine >= target {
			break
		}
		if w.take(ctx, l, false) {
			mine++
		}
	}
	if len(free) > 0 {
		return nil
	}
	w.rebalance(ctx, work, now)
	return nil
}

// idleKBps is the mean read rate (KB/s) of the workable leases below
// which the stream is taken to be idle, and its leases all weigh 1. An
// idle lease's ThroughputKBps halves at every renewal, towards zero but
// never to it, so rates that stopped keep the proportions they had and
// would otherwise go on weighing (TestIdleStreamBalancesByCount).
const idleKBps = 1.0

// rebalance moves at most one lease a round to this worker, by graceful
// handoff, from the worker with the heaviest load, when that makes the
// two loads closer. A lease weighs 1 plus its read rate (ThroughputKBps)
// over the mean rate of the workable leases: with no rates known, loads
// are lease counts; a hot shard weighs as several idle ones (KCL 3.x
// balances by throughput too). The move must lower the difference of the
// two loads by at least a tenth of the mean load, and the lease must
// weigh less than the difference, so that a lease never moves back and
// forth: the sum of the loads' squares falls with every move. Below a
// mean rate of idleKBps the stream is idle and every lease weighs 1.
func (w *Worker) rebalance(ctx context.Context, work []Lease, now time.Time) {
	var total float64
	for _, l := range work {
		total += l.ThroughputKBps
	}
	mean := total / float64(len(work))
	weight := func(l Lease) float64 {
		if mean < idleKBps {
			return 1
		}
		return 1 + l.ThroughputKBps/mean
	}
	load := map[string]float64{w.cfg.WorkerID: 0}
	for _, l := range work {
		if l.Owner != "" && !w.expired(l, now) {
			load[l.Owner] += weight(l)
		}
	}
	var sum float64
	for _, n := range load {
		sum += n
	}
	threshold := 0.1 * sum / float64(len(load))
	// The best move over every other worker's leases, not only the most
	// loaded worker's: that one may hold a single hot lease that can never
	// move, while another holds several (TestRebalancePastAnUnmovableLease).
	mine := load[w.cfg.WorkerID]
	var best Lease
	bestGain := 0.0
	for _, l := range work {
		if l.Owner == "" || l.Owner == w.cfg.WorkerID || l.CheckpointOwner != "" || w.expired(l, now) || w.gaveUpLately(l.Key, now) {
			continue
		}
		diff := load[l.Owner] - mine
		wt := weight(l)
		if gain := min(wt, diff-wt); wt < diff && gain >= threshold && gain > bestGain {
			best, bestGain = l, gain
		}
	}
	if bestGain > 0 {
		w.take(ctx, best, true)
	}
}

// gaveUpLately reports whether this worker handed the lease of key over
// within the last three failover times: it does not take such a lease
// back by rebalancing, so that rates measured a moment apart by different
// workers cannot send a lease back and forth.
func (w *Worker) gaveUpLately(key string, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	at, ok := w.handedOver[key]
	return ok && now.Sub(at) < 3*w.cfg.FailoverTime
}

// noteHandedOver records that the lease of key was handed over now.
func (w *Worker) noteHandedOver(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	for k, at := range w.handedOver {
		if now.Sub(at) >= 3*w.cfg.FailoverTime {
			delete(w.handedOver, k)
		}
	}
	w.handedOver[key] = now
}

// take writes this worker as l's owner. A lease taken from a live owner
// (handoff) names that owner as CheckpointOwner, and its consumer waits
// until the old owner is done (checkHandoffs).
func (w *Worker) take(ctx context.Context, l Lease, handoff bool) bool {
	next := clone(l)
	if next.Owner != w.cfg.WorkerID {
		next.OwnerSwitchesSinceCheckpoint++
	}
	next.CheckpointOwner = ""
	if handoff {
		next.CheckpointOwner = l.Owner
	}
	next.Owner = w.cfg.WorkerID
	stored, err := w.cfg.Leases.Update(ctx, next)
	if err != nil {
		if !errors.Is(err, ErrLeaseChanged) && !errors.Is(err, ErrLeaseNotFound) && ctx.Err() == nil {
			w.log.Warn("consumer: taking a lease failed", "shard", l.Key, "err", err)
		}
		return false
	}
	w.observe(stored, time.Now())
	// The read rate starts from the old owner's, so that the balance does
	// not see the lease idle while its new owner measures it.
	h := &heldLease{key: l.Key, l: stored, stopc: make(chan stopReason, 1), handoffFrom: stored.CheckpointOwner, handoffSince: time.Now(), kbps: stored.ThroughputKBps}
	h.reads, h.cancelReads = context.WithCancel(context.Background())
	w.mu.Lock()
	if old := w.held[l.Key]; old != nil {
		old.stop(stopLost)
	}
	w.held[l.Key] = h
	w.cfg.Metrics.currentLeases.WithLabelValues(w.cfg.WorkerID).Set(float64(len(w.held)))
	w.mu.Unlock()
	w.cfg.Metrics.takenLeases.WithLabelValues(w.cfg.WorkerID).Inc()
	w.log.Info("consumer: lease taken", "shard", l.Key, "from", l.Owner, "handoff", handoff)
	if !handoff {
		w.start(h)
	}
	return true
}

// checkHandoffs starts the consumers of leases taken by handoff once the
// old owner cleared CheckpointOwner, or once its counter stood still for
// FailoverTime (the old owner is gone).
func (w *Worker) checkHandoffs(ctx context.Context, byKey map[string]Lease, now time.Time) {
	for _, h := range w.heldLeases() {
		if !h.waitingForHandoff() {
			continue
		}
		l, ok := byKey[h.key]
		switch {
		case !ok || l.Owner != w.cfg.WorkerID:
			// Taken from this worker before it started: if it is named
			// as the old owner of that handoff, it has nothing to hand
			// over, and says so at once rather than let the taker wait
			// FailoverTime (TestHandoffOfALeaseNotYetStarted).
			if ok && l.CheckpointOwner == w.cfg.WorkerID {
				l.CheckpointOwner = ""
				if _, err := w.cfg.Leases.Update(ctx, l); err != nil && ctx.Err() == nil {
					w.log.Debug("consumer: clearing the checkpoint owner of a lease never started failed", "shard", h.key, "err", err)
				}
			}
			h.mu.Lock()
			h.loseLocked(w)
			h.mu.Unlock()
			continue
		case l.CheckpointOwner == "":
		case w.expired(l, now):
			w.log.Info("consumer: the old owner did not hand the lease over in time; starting from its checkpoint", "shard", h.key, "from", l.CheckpointOwner)
			l.CheckpointOwner = ""
		default:
			continue
		}
		h.mu.Lock()
		h.l, h.handoffFrom = l, ""
		h.mu.Unlock()
		if err := w.write(ctx, h, func(l *Lease) { l.CheckpointOwner = "" }); err != nil {
			continue
		}
		w.start(h)
	}
}

// released is called by a shard consumer that ended: the lease is no
// longer this worker's to renew.
func (w *Worker) released(h *heldLease) {
	w.mu.Lock()
	if w.held[h.key] == h {
		delete(w.held, h.key)
	}
	w.cfg.Metrics.currentLeases.WithLabelValues(w.cfg.WorkerID).Set(float64(len(w.held)))
	w.mu.Unlock()
}

// kick makes the coordinator run a round at once.
func (w *Worker) kick() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// heldLease is a lease this worker holds, and its consumer's controls.
type heldLease struct {
	key string

	mu sync.Mutex
	l  Lease // as last written or read
	// handoffFrom is the old owner while a handoff to this worker waits.
	handoffFrom  string
	handoffSince time.Time
	// handingOver: this worker is the old owner of a handoff.
	handingOver bool
	gone        bool
	stopc       chan stopReason // the first reason to stop wins
	stopOnce    sync.Once
	// reads is the context of the consumer's reads, cancelled by stop.
	reads       context.Context
	cancelReads context.CancelFunc

	// The read rate, for ThroughputKBps: bytes processed since the last
	// renewal, and its smoothed rate.
	rateMu    sync.Mutex
	bytes     int64
	rateSince time.Time
	kbps      float64
}

// processed counts bytes the processor took.
func (h *heldLease) processed(n int) {
	h.rateMu.Lock()
	h.bytes += int64(n)
	h.rateMu.Unlock()
}

// throughput is the read rate in KB/s, smoothed over renewals (each new
// interval weighs a half), as written to ThroughputKBps.
func (h *heldLease) throughput(now time.Time) float64 {
	h.rateMu.Lock()
	defer h.rateMu.Unlock()
	if h.rateSince.IsZero() {
		h.rateSince = now
		return h.kbps
	}
	if d := now.Sub(h.rateSince).Seconds(); d > 0 {
		rate := float64(h.bytes) / 1000 / d
		h.kbps = (h.kbps + rate) / 2
		h.bytes, h.rateSince = 0, now
	}
	return h.kbps
}

type stopReason int

const (
	stopLost     stopReason = iota + 1 // another worker holds the lease
	stopShutdown                       // the worker stops: checkpoint, give the lease up
	stopHandoff                        // another worker takes it over gracefully
)

// stop tells the lease's consumer to stop, for reason r, and cancels the
// read it may be waiting on (a read cancelled loses nothing: the next one
// starts where it would have). The processor's calls are not cancelled:
// a batch being processed is finished and checkpointed.
func (h *heldLease) stop(r stopReason) {
	h.stopOnce.Do(func() {
		h.stopc <- r
		h.cancelReads()
	})
}

func (h *heldLease) beingHandedOver() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.handingOver
}

func (h *heldLease) waitingForHandoff() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.handoffFrom != ""
}

// loseLocked marks the lease lost and stops its consumer. Called with h.mu.
func (h *heldLease) loseLocked(w *Worker) {
	if h.gone {
		return
	}
	h.gone = true
	h.stop(stopLost)
	if h.handoffFrom != "" {
		w.released(h) // its consumer never started
	}
}

// snapshot returns the lease as last known.
func (h *heldLease) snapshot() Lease {
	h.mu.Lock()
	defer h.mu.Unlock()
	return clone(h.l)
}

// sortedKeys is for logs and tests.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Held returns the shard ids of the leases this worker holds now.
func (w *Worker) Held() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return sortedKeys(w.held)
}
