package consumer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	smithy "github.com/aws/smithy-go"

	"github.com/tributary-io/tributary/kpl"
	"github.com/tributary-io/tributary/sdkhttp"
)

// start runs the consumer of a lease just taken.
func (w *Worker) start(h *heldLease) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer w.released(h)
		defer func() {
			// A panic in a Processor must not take the application down
			// with every other shard: the shard stops here, its lease is
			// given up for another try, and the panic is logged.
			if v := recover(); v != nil {
				w.log.Error("consumer: a processor panicked; giving its lease up", "shard", h.key, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				ctx, cancel := context.WithTimeout(context.Background(), w.cfg.ShutdownTimeout)
				defer cancel()
				w.giveUp(ctx, h)
			}
		}()
		w.consume(h)
	}()
}

// consume runs a shard's Processor until the shard ends or the lease
// goes (see Processor for the order of calls).
func (w *Worker) consume(h *heldLease) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := h.snapshot()
	rng, err := rangeOf(l)
	if err != nil {
		w.log.Error("consumer: a lease's hash key range is unreadable; giving it up", "shard", h.key, "err", err)
		w.giveUp(ctx, h)
		return
	}
	proc := w.cfg.NewProcessor(l.Key)
	cp := &checkpointer{w: w, h: h}
	wait := waiter{h.stopc}
	var s retriever = &poller{w: w, shard: l.Key, rng: rng, resume: l.Checkpoint, waiter: wait}
	if w.cfg.FanOut != "" {
		s = &fanOut{w: w, shard: l.Key, rng: rng, resume: l.Checkpoint, waiter: wait}
	}
	defer s.close()

	var seen seenIDs // copies to drop (dedup.go)
	var reason stopReason
	retry := 0
	for reason == 0 {
		if err := proc.Initialize(ctx, InitializeInput{ShardID: l.Key, Checkpoint: l.Checkpoint}); err != nil {
			w.log.Warn("consumer: Initialize failed; trying again", "shard", l.Key, "err", err)
			retry++
			reason = wait.sleep(backoff(w.cfg.RetryDelay, retry))
			continue
		}
		break
	}
	for reason == 0 {
		batch, behind, end, r := s.next(h.reads)
		if reason = r; reason != 0 {
			break
		}
		w.cfg.Metrics.millisBehindLatest.WithLabelValues(w.cfg.WorkerID, l.Key).Set(float64(behind))
		var dropped int
		if batch, dropped = seen.dropCopies(batch); dropped > 0 {
			w.cfg.Metrics.copiesDropped.WithLabelValues(w.cfg.WorkerID, l.Key).Add(float64(dropped))
		}
		if len(batch) > 0 {
			// Delivered again, the same batch, until the processor takes
			// it: at least once.
			for retry = 0; ; retry++ {
				cp.deliver(batch[len(batch)-1].Checkpoint())
				start := time.Now()
				err := proc.ProcessRecords(ctx, ProcessRecordsInput{Records: batch, MillisBehindLatest: behind, Checkpointer: cp})
				w.cfg.Metrics.processTime.WithLabelValues(w.cfg.WorkerID, l.Key).Observe(time.Since(start).Seconds())
				if err == nil {
					bytes := 0
					for i := range batch {
						bytes += len(batch[i].Data)
					}
					h.processed(bytes)
					m := w.cfg.Metrics
					m.recordsProcessed.WithLabelValues(w.cfg.WorkerID, l.Key).Add(float64(len(batch)))
					m.bytesProcessed.WithLabelValues(w.cfg.WorkerID, l.Key).Add(float64(bytes))
					break
				}
				w.log.Warn("consumer: ProcessRecords failed; delivering the batch again", "shard", l.Key, "err", err)
				if reason = wait.sleep(backoff(w.cfg.RetryDelay, retry+1)); reason != 0 {
					break
				}
			}
		}
		if end && reason == 0 {
			reason = w.endShard(ctx, proc, cp, l.Key, wait)
			if reason == 0 {
				if h.beingHandedOver() {
					// Ended while handing over: the new owner waits for
					// CheckpointOwner to be cleared.
					w.giveUp(ctx, h)
				}
				return // done; the lease stays at SHARD_END
			}
		}
	}
	switch reason {
	case stopLost:
		cancel()
		lctx, lcancel := context.WithTimeout(context.Background(), w.cfg.ShutdownTimeout)
		defer lcancel()
		proc.LeaseLost(lctx)
	case stopShutdown, stopHandoff:
		sctx, scancel := context.WithTimeout(context.Background(), w.cfg.ShutdownTimeout)
		defer scancel()
		if err := proc.ShutdownRequested(sctx, cp); err != nil {
			w.log.Warn("consumer: ShutdownRequested failed", "shard", l.Key, "err", err)
		}
		if reason == stopHandoff {
			w.cfg.Metrics.handedOver.WithLabelValues(w.cfg.WorkerID).Inc()
			w.noteHandedOver(l.Key)
		}
		w.giveUp(sctx, h)
	}
}

// endShard calls ShardEnded until the processor checkpoints SHARD_END, and
// returns 0 then, or the reason to stop that came first.
func (w *Worker) endShard(ctx context.Context, proc Processor, cp *checkpointer, shard string, wait waiter) stopReason {
	cp.end()
	for retry := 1; ; retry++ {
		err := proc.ShardEnded(ctx, cp)
		if err == nil && cp.h.snapshot().Checkpoint.SequenceNumber == ShardEnd {
			w.log.Info("consumer: shard ended", "shard", shard)
			w.kick() // its children may start
			return 0
		}
		if err == nil {
			err = errors.New("ShardEnded returned without checkpointing: the shard's children wait until it does")
		}
		w.log.Error("consumer: ShardEnded failed; calling it again", "shard", shard, "err", err)
		if r := wait.sleep(backoff(w.cfg.RetryDelay, retry)); r != 0 {
			return r
		}
	}
}

// giveUp writes the lease unowned (or, in a handoff, clears this worker
// as CheckpointOwner), so that another worker takes it at once.
func (w *Worker) giveUp(ctx context.Context, h *heldLease) {
	me := w.cfg.WorkerID
	err := w.write(ctx, h, func(l *Lease) {
		if l.Owner == me {
			l.Owner = ""
		}
		if l.CheckpointOwner == me {
			l.CheckpointOwner = ""
		}
	})
	if err != nil && !errors.Is(err, ErrLeaseLost) {
		w.log.Warn("consumer: giving a lease up failed; it will expire", "shard", h.key, "err", err)
	}
	h.mu.Lock()
	h.gone = true
	h.mu.Unlock()
}

// retriever fetches a shard's records for its consumer: by polling
// (poller, GetRecords) or by enhanced fan-out (SubscribeToShard).
type retriever interface {
	// next returns the next batch (maybe empty), how far its last record
	// is behind the shard's tip, and whether the shard ended with it; or
	// the reason to stop that came while it waited.
	next(ctx context.Context) (batch []Record, behind int64, end bool, reason stopReason)
	close()
}

// waiter sleeps until a lease's consumer must stop.
type waiter struct{ stopc chan stopReason }

// sleep waits d, or returns the reason to stop that comes first.
func (wt waiter) sleep(d time.Duration) stopReason {
	if d <= 0 {
		select {
		case r := <-wt.stopc:
			return r
		default:
			return 0
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case r := <-wt.stopc:
		return r
	case <-t.C:
		return 0
	}
}

// checkpointer is a shard's Checkpointer.
type checkpointer struct {
	w *Worker
	h *heldLease

	mu        sync.Mutex
	delivered Checkpoint // the last record delivered
	atEnd     bool
}

func (c *checkpointer) deliver(cp Checkpoint) {
	c.mu.Lock()
	c.delivered = cp
	c.mu.Unlock()
}

func (c *checkpointer) end() {
	c.mu.Lock()
	c.atEnd = true
	c.mu.Unlock()
}

func (c *checkpointer) Checkpoint(ctx context.Context) error {
	c.mu.Lock()
	cp := c.delivered
	if c.atEnd {
		cp = Checkpoint{SequenceNumber: ShardEnd}
	}
	c.mu.Unlock()
	if cp.SequenceNumber == "" {
		return nil // nothing delivered yet
	}
	return c.CheckpointAt(ctx, cp)
}

func (c *checkpointer) CheckpointAt(ctx context.Context, cp Checkpoint) error {
	if cp.SequenceNumber == "" {
		return errors.New("consumer: CheckpointAt an empty position")
	}
	return c.w.write(ctx, c.h, func(l *Lease) {
		l.Checkpoint = cp
		l.OwnerSwitchesSinceCheckpoint = 0
		l.PendingCheckpoint, l.PendingCheckpointState = nil, nil
	})
}

// rangeOf reads a lease's hash key range; a lease without one (written
// by an older KCL) holds every key.
func rangeOf(l Lease) (hashRange, error) {
	r := hashRange{end: kpl.MaxHashKey}
	var err error
	if l.StartingHashKey != "" {
		if r.start, err = kpl.ParseHashKey(l.StartingHashKey); err != nil {
			return r, err
		}
	}
	if l.EndingHashKey != "" {
		if r.end, err = kpl.ParseHashKey(l.EndingHashKey); err != nil {
			return r, err
		}
	}
	return r, nil
}

// backoff is a capped exponential backoff, up to 32 times base, drawn
// between half the step and the step.
func backoff(base time.Duration, attempt int) time.Duration {
	d := base << min(max(attempt-1, 0), 5)
	return d/2 + rand.N(d/2+1)
}

// errorCode is an AWS error's code, or "".
func errorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// safeBodies gives a call the client's HTTP client wrapped by package
// sdkhttp, unless it is already (see the producer's safeBodies).
func safeBodies(o *kinesis.Options) {
	o.HTTPClient = sdkhttp.Ensure(o.HTTPClient)
}

func setStream(stream string, name, arn **string) {
	if len(stream) > 4 && stream[:4] == "arn:" {
		*arn = aws.String(stream)
	} else {
		*name = aws.String(stream)
	}
}
