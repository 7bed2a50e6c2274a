package consumer

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	smithy "github.com/aws/smithy-go"

	"github.com/tributary-io/tributary/kpl"
	"github.com/tributary-io/tributary/sdkhttp"
)

// minCallGap keeps GetRecords calls on one shard within Kinesis's five a
// second.
const minCallGap = 200 * time.Millisecond

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
	s := &shardReader{w: w, shard: l.Key, rng: rng, resume: l.Checkpoint, stopc: h.stopc}

	var reason stopReason
	retry := 0
	for reason == 0 {
		if err := proc.Initialize(ctx, InitializeInput{ShardID: l.Key, Checkpoint: l.Checkpoint}); err != nil {
			w.log.Warn("consumer: Initialize failed; trying again", "shard", l.Key, "err", err)
			retry++
			reason = s.sleep(backoff(w.cfg.RetryDelay, retry))
			continue
		}
		break
	}
	for reason == 0 {
		batch, behind, end, r := s.next(ctx)
		if reason = r; reason != 0 {
			break
		}
		if len(batch) > 0 {
			// Delivered again, the same batch, until the processor takes
			// it: at least once.
			for retry = 0; ; retry++ {
				cp.deliver(batch[len(batch)-1].Checkpoint())
				err := proc.ProcessRecords(ctx, ProcessRecordsInput{Records: batch, MillisBehindLatest: behind, Checkpointer: cp})
				if err == nil {
					break
				}
				w.log.Warn("consumer: ProcessRecords failed; delivering the batch again", "shard", l.Key, "err", err)
				if reason = s.sleep(backoff(w.cfg.RetryDelay, retry+1)); reason != 0 {
					break
				}
			}
		}
		if end && reason == 0 {
			reason = w.endShard(ctx, proc, cp, s)
			if reason == 0 {
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
		w.giveUp(sctx, h)
	}
}

// endShard calls ShardEnded until the processor checkpoints SHARD_END, and
// returns 0 then, or the reason to stop that came first.
func (w *Worker) endShard(ctx context.Context, proc Processor, cp *checkpointer, s *shardReader) stopReason {
	cp.end()
	for retry := 1; ; retry++ {
		err := proc.ShardEnded(ctx, cp)
		if err == nil && cp.h.snapshot().Checkpoint.SequenceNumber == ShardEnd {
			w.log.Info("consumer: shard ended", "shard", s.shard)
			w.kick() // its children may start
			return 0
		}
		if err == nil {
			err = errors.New("ShardEnded returned without checkpointing: the shard's children wait until it does")
		}
		w.log.Error("consumer: ShardEnded failed; calling it again", "shard", s.shard, "err", err)
		if r := s.sleep(backoff(w.cfg.RetryDelay, retry)); r != 0 {
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

// shardReader fetches a shard's records with GetRecords.
type shardReader struct {
	w      *Worker
	shard  string
	rng    hashRange
	resume Checkpoint // where reading starts; after it once records come
	stopc  chan stopReason

	iter     *string
	last     string // the last Kinesis record's sequence number
	lastCall time.Time
	failures int
	stats    unpackStats
}

// next returns the next batch (maybe empty), how far behind the tip it
// is, and whether the shard ended with it; or a reason to stop.
func (s *shardReader) next(ctx context.Context) (batch []Record, behind int64, end bool, reason stopReason) {
	for {
		if r := s.sleep(minCallGap - time.Since(s.lastCall)); r != 0 {
			return nil, 0, false, r
		}
		if s.iter == nil {
			if s.resume.SequenceNumber == ShardEnd {
				return nil, 0, true, 0
			}
			it, err := s.iterator(ctx)
			if err != nil {
				if r := s.failed("GetShardIterator", err); r != 0 {
					return nil, 0, false, r
				}
				continue
			}
			s.iter = it
		}
		s.lastCall = time.Now()
		out, err := s.w.cfg.Client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: s.iter, Limit: aws.Int32(s.w.cfg.MaxRecords)}, safeBodies)
		if err != nil {
			if code := errorCode(err); code == "ExpiredIteratorException" {
				s.iter = nil // a new one from where reading got to
				continue
			}
			if r := s.failed("GetRecords", err); r != 0 {
				return nil, 0, false, r
			}
			continue
		}
		s.failures = 0
		batch = unpack(s.shard, s.rng, out.Records, s.resume, &s.stats)
		if n := len(out.Records); n > 0 {
			s.last = aws.ToString(out.Records[n-1].SequenceNumber)
		}
		s.iter = out.NextShardIterator
		behind = aws.ToInt64(out.MillisBehindLatest)
		if s.iter == nil {
			return batch, behind, true, 0
		}
		if len(batch) > 0 {
			return batch, behind, false, 0
		}
		if len(out.Records) == 0 && behind == 0 {
			if r := s.sleep(s.w.cfg.IdleTime); r != 0 {
				return nil, 0, false, r
			}
		}
	}
}

// iterator gets an iterator from where reading got to: after the last
// record fetched, or at the checkpoint resumed from.
func (s *shardReader) iterator(ctx context.Context) (*string, error) {
	in := &kinesis.GetShardIteratorInput{ShardId: aws.String(s.shard)}
	setStream(s.w.cfg.Stream, &in.StreamName, &in.StreamARN)
	switch cp := s.resume.SequenceNumber; {
	case s.last != "":
		in.ShardIteratorType, in.StartingSequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(s.last)
	case cp == TrimHorizon:
		in.ShardIteratorType = types.ShardIteratorTypeTrimHorizon
	case cp == Latest:
		in.ShardIteratorType = types.ShardIteratorTypeLatest
	case cp == AtTimestamp:
		in.ShardIteratorType, in.Timestamp = types.ShardIteratorTypeAtTimestamp, aws.Time(s.w.cfg.Timestamp)
	default:
		// At the checkpoint's record: records of it up to the
		// checkpoint's sub-sequence number are left out (unpack).
		in.ShardIteratorType, in.StartingSequenceNumber = types.ShardIteratorTypeAtSequenceNumber, aws.String(cp)
	}
	out, err := s.w.cfg.Client.GetShardIterator(ctx, in, safeBodies)
	if err != nil {
		return nil, err
	}
	return out.ShardIterator, nil
}

// failed logs a failed call and waits before the next; it returns a
// reason to stop when one comes meanwhile, or when the shard is gone.
func (s *shardReader) failed(call string, err error) stopReason {
	s.failures++
	if errorCode(err) == "ResourceNotFoundException" {
		s.w.log.Warn("consumer: the shard or stream is gone; giving its lease up", "shard", s.shard, "call", call, "err", err)
		return stopShutdown
	}
	if errorCode(err) != "ProvisionedThroughputExceededException" || s.failures > 5 {
		s.w.log.Warn("consumer: call failed; trying again", "shard", s.shard, "call", call, "err", err)
	}
	return s.sleep(backoff(s.w.cfg.RetryDelay, s.failures))
}

// sleep waits d, or returns the reason to stop that comes first.
func (s *shardReader) sleep(d time.Duration) stopReason {
	if d <= 0 {
		select {
		case r := <-s.stopc:
			return r
		default:
			return 0
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case r := <-s.stopc:
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

// backoff is a capped exponential backoff with full jitter.
func backoff(base time.Duration, attempt int) time.Duration {
	d := base << min(max(attempt-1, 0), 5)
	return d/2 + time.Duration(int64(d/2)*int64(time.Now().UnixNano()%1000)/1000)
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
// sdkhttp (see the producer's safeBodies).
func safeBodies(o *kinesis.Options) {
	if _, ok := o.HTTPClient.(*sdkhttp.Client); !ok && o.HTTPClient != nil {
		o.HTTPClient = sdkhttp.Wrap(o.HTTPClient)
	}
}

func setStream(stream string, name, arn **string) {
	if len(stream) > 4 && stream[:4] == "arn:" {
		*arn = aws.String(stream)
	} else {
		*name = aws.String(stream)
	}
}
