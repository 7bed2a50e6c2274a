package consumer

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/schemas"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	smithy "github.com/aws/smithy-go"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
)

// Enhanced fan-out (Config.FanOut): each shard is read with
// SubscribeToShard as the application's registered stream consumer, which
// gets its own 2 MiB/s per shard and records pushed as they arrive.
//
// The limits AWS sets, honoured here:
//
//   - one stream consumer per application, registered once per worker
//     (not per shard); several workers registering at once meet
//     ResourceInUseException and describe the one that won;
//   - a consumer is CREATING for seconds after registration: it is
//     polled, with a bounded backoff, until ACTIVE;
//   - a session (event stream) lasts 5 minutes at most; a new one starts
//     after the last record delivered;
//   - one SubscribeToShard call per second per consumer and shard
//     (LimitExceededException), and ResourceInUseException while an
//     earlier session is still active (5 s after it started): the call
//     is tried again after at least throttledWait, then a growing backoff;
//   - SubscribeToShard over HTTP/2 only (see Config.FanOut).

const (
	// throttledWait is the least pause after LimitExceededException or
	// ResourceInUseException from SubscribeToShard: AWS's one call per
	// second per consumer and shard.
	throttledWait = time.Second
	// maxSilence ends a session that has sent nothing for this long: AWS
	// sends an event at least every 5 seconds, so the connection is dead.
	maxSilence = 35 * time.Second
)

// fanOutConsumer is a worker's stream consumer.
type fanOutConsumer struct {
	once     sync.Once
	register chan struct{} // held while registering

	mu     sync.Mutex
	arn    string // once known
	active bool   // seen ACTIVE
}

// consumerARN returns the ARN of the worker's stream consumer, ACTIVE,
// registering it if this worker has not yet: once per worker, the other
// shards wait meanwhile, and one stopped while registering leaves what it
// learned to the next. It returns a reason to stop instead if one comes
// first, or stopShutdown if the stream is gone.
func (w *Worker) consumerARN(ctx context.Context, wait waiter) (string, stopReason) {
	f := &w.fanOut
	f.once.Do(func() { f.register = make(chan struct{}, 1) })
	select {
	case f.register <- struct{}{}:
	case r := <-wait.stopc:
		return "", r
	}
	defer func() { <-f.register }()
	f.mu.Lock()
	arn, active := f.arn, f.active
	f.mu.Unlock()
	if active {
		return arn, 0
	}
	arn, r := w.registerConsumer(ctx, wait, arn)
	f.mu.Lock()
	f.arn, f.active = arn, r == 0
	f.mu.Unlock()
	return arn, r
}

// forgetConsumer drops arn, which the service no longer knows, so that
// the next consumerARN registers the consumer again.
func (w *Worker) forgetConsumer(arn string) {
	f := &w.fanOut
	f.mu.Lock()
	if f.arn == arn {
		f.arn, f.active = "", false
	}
	f.mu.Unlock()
}

// registerConsumer registers Config.FanOut as a consumer of the stream,
// or finds it registered (by another worker, or an earlier run), and
// waits until it is ACTIVE, polling with a backoff up to 32 times
// RetryDelay. arn, when known, is the consumer's. It returns the ARN with
// 0 once the consumer is ACTIVE; or the ARN known so far with the reason
// to stop that came first, or stopShutdown if the stream is gone.
func (w *Worker) registerConsumer(ctx context.Context, wait waiter, arn string) (string, stopReason) {
	var streamARN string
	if strings.HasPrefix(w.cfg.Stream, "arn:") {
		streamARN = w.cfg.Stream
	}
	name := aws.String(w.cfg.FanOut)
	var status types.ConsumerStatus
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if r := wait.sleep(backoff(w.cfg.RetryDelay, attempt)); r != 0 {
				return arn, r
			}
		}
		var err error
		var call string
		switch {
		case arn != "":
			call = "DescribeStreamConsumer"
			var d *kinesis.DescribeStreamConsumerOutput
			d, err = w.cfg.Client.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{ConsumerARN: aws.String(arn)}, safeBodies)
			if errorCode(err) == "ResourceNotFoundException" {
				arn = "" // deleted meanwhile: register it again
				continue
			}
			if err == nil && d.ConsumerDescription != nil {
				status = d.ConsumerDescription.ConsumerStatus
			}
		case streamARN == "":
			// RegisterStreamConsumer takes the stream's ARN only.
			call = "DescribeStreamSummary"
			var out *kinesis.DescribeStreamSummaryOutput
			out, err = w.cfg.Client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(w.cfg.Stream)}, safeBodies)
			if err == nil && out.StreamDescriptionSummary != nil && out.StreamDescriptionSummary.StreamARN != nil {
				streamARN = *out.StreamDescriptionSummary.StreamARN
				attempt = -1 // on to RegisterStreamConsumer at once
				continue
			}
		default:
			call = "RegisterStreamConsumer"
			var out *kinesis.RegisterStreamConsumerOutput
			out, err = w.cfg.Client.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String(streamARN), ConsumerName: name}, safeBodies)
			if errorCode(err) == "ResourceInUseException" {
				// Registered already, by another worker or an earlier
				// run (or being deleted: then described DELETING, and
				// registered again once gone).
				call = "DescribeStreamConsumer"
				var d *kinesis.DescribeStreamConsumerOutput
				d, err = w.cfg.Client.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{StreamARN: aws.String(streamARN), ConsumerName: name}, safeBodies)
				if err == nil && d.ConsumerDescription != nil {
					arn, status = aws.ToString(d.ConsumerDescription.ConsumerARN), d.ConsumerDescription.ConsumerStatus
				}
			} else if err == nil && out.Consumer != nil {
				arn, status = aws.ToString(out.Consumer.ConsumerARN), out.Consumer.ConsumerStatus
				w.log.Info("consumer: registered the stream consumer", "consumer", arn)
			}
		}
		if err != nil {
			if errorCode(err) == "ResourceNotFoundException" && call != "DescribeStreamConsumer" {
				w.log.Warn("consumer: the stream is gone; giving the lease up", "call", call, "err", err)
				return arn, stopShutdown
			}
			w.log.Warn("consumer: registering the stream consumer failed; trying again", "call", call, "err", err)
			continue
		}
		switch status {
		case types.ConsumerStatusActive:
			if arn != "" {
				return arn, 0
			}
		case types.ConsumerStatusDeleting:
			arn = "" // register it again once it is gone
		}
	}
}

// fanOut fetches a shard's records with SubscribeToShard, one session
// after another, each starting after the last record received.
type fanOut struct {
	w      *Worker
	shard  string
	rng    hashRange
	resume Checkpoint // where reading starts; after it once events come
	waiter

	arn    string // the stream consumer's
	es     *kinesis.SubscribeToShardEventStream
	events <-chan types.SubscribeToShardEventStream
	// last is the sequence number to start the next session after: the
	// last Kinesis record received, or before any the continuation of the
	// last event.
	last     string
	gotEvent bool // in the current session
	failures int
	pause    time.Duration // before the next SubscribeToShard
	stats    unpackStats
}

// next returns the next batch, how far behind the tip it is, and whether
// the shard ended with it; or a reason to stop. Sessions that end are
// followed by new ones.
func (s *fanOut) next(ctx context.Context) (batch []Record, behind int64, end bool, reason stopReason) {
	silence := time.NewTimer(maxSilence)
	defer silence.Stop()
	for {
		if s.es == nil {
			if s.resume.SequenceNumber == ShardEnd {
				return nil, 0, true, 0
			}
			if r := s.subscribe(ctx); r != 0 {
				s.close()
				return nil, 0, false, r
			}
		}
		silence.Reset(maxSilence)
		var ev types.SubscribeToShardEventStream
		var ok bool
		select {
		case r := <-s.stopc:
			// The session is of no use any more; another worker may
			// want to subscribe at once.
			s.close()
			return nil, 0, false, r
		case <-silence.C:
			s.w.log.Warn("consumer: no event for too long; subscribing again", "shard", s.shard, "silence", maxSilence)
			s.failed(nil)
			continue
		case ev, ok = <-s.events:
		}
		if !ok {
			if r := s.sessionEnded(); r != 0 {
				return nil, 0, false, r
			}
			continue
		}
		e, isEvent := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent)
		if !isEvent {
			continue // an event type this SDK does not know
		}
		s.gotEvent, s.failures = true, 0
		recs := e.Value.Records
		batch = unpack(s.shard, s.rng, recs, s.resume, &s.stats)
		if n := len(recs); n > 0 {
			s.last = aws.ToString(recs[n-1].SequenceNumber)
		} else if c := aws.ToString(e.Value.ContinuationSequenceNumber); c != "" {
			// No record, but a position to resume after, which LATEST
			// would not keep if no record came yet.
			s.last = c
		}
		behind = aws.ToInt64(e.Value.MillisBehindLatest)
		if e.Value.ContinuationSequenceNumber == nil {
			if len(e.Value.ChildShards) > 0 {
				s.close()
				return batch, behind, true, 0
			}
			// KCL too refuses an end without children.
			s.w.log.Warn("consumer: an event without ContinuationSequenceNumber nor ChildShards; subscribing again", "shard", s.shard)
			s.failed(nil)
		}
		if len(batch) > 0 {
			return batch, behind, false, 0
		}
		if len(recs) == 0 && behind == 0 && s.w.cfg.onIdle != nil {
			s.w.cfg.onIdle(s.shard) // at the tip (Scan's end)
		}
	}
}

// subscribe starts a session from where reading got to, trying again
// until one starts or a reason to stop comes.
func (s *fanOut) subscribe(ctx context.Context) stopReason {
	for {
		if r := s.sleep(s.pause); r != 0 {
			return r
		}
		s.pause = 0
		if s.arn == "" {
			arn, r := s.w.consumerARN(ctx, s.waiter)
			if r != 0 {
				return r
			}
			s.arn = arn
		}
		out, err := s.w.cfg.Client.SubscribeToShard(ctx, &kinesis.SubscribeToShardInput{
			ConsumerARN: aws.String(s.arn), ShardId: aws.String(s.shard), StartingPosition: s.position(),
		}, safeBodies, ownCodec)
		if err != nil {
			if r := s.failed(err); r != 0 {
				return r
			}
			continue
		}
		s.es = out.GetStream()
		s.events = s.es.Events()
		s.gotEvent = false
		return 0
	}
}

// position is where the next session starts: after the last record
// received, or at the checkpoint resumed from.
func (s *fanOut) position() *types.StartingPosition {
	switch cp := s.resume.SequenceNumber; {
	case s.last != "":
		return &types.StartingPosition{Type: types.ShardIteratorTypeAfterSequenceNumber, SequenceNumber: aws.String(s.last)}
	case cp == TrimHorizon:
		return &types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon}
	case cp == Latest:
		return &types.StartingPosition{Type: types.ShardIteratorTypeLatest}
	case cp == AtTimestamp:
		return &types.StartingPosition{Type: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(s.w.cfg.Timestamp)}
	default:
		// At the checkpoint's record: records of it up to the
		// checkpoint's sub-sequence number are left out (unpack).
		return &types.StartingPosition{Type: types.ShardIteratorTypeAtSequenceNumber, SequenceNumber: aws.String(cp)}
	}
}

// sessionEnded follows the end of a session's events: AWS ends each after
// 5 minutes, cleanly; an error, or an end before any event, counts as a
// failure, and the next session waits.
func (s *fanOut) sessionEnded() stopReason {
	err := s.es.Err()
	got := s.gotEvent
	s.close()
	if err == nil && got {
		s.w.log.Debug("consumer: subscription ended; subscribing again", "shard", s.shard)
		return 0
	}
	if err == nil {
		err = errors.New("the subscription ended before any event")
	}
	return s.failed(err)
}

// failed ends the session if one is open and sets the pause before the
// next SubscribeToShard. It returns a reason to stop for a failure that
// calls for one: the stream is gone.
func (s *fanOut) failed(err error) stopReason {
	s.close()
	s.failures++
	s.pause = backoff(s.w.cfg.RetryDelay, s.failures)
	switch code := errorCode(err); code {
	case "LimitExceededException", "ResourceInUseException":
		// Too soon after the last call, or the last session is still
		// active on the service's side (or the consumer is not ACTIVE).
		s.pause = max(s.pause, throttledWait)
		if s.failures > 5 {
			s.w.log.Warn("consumer: SubscribeToShard refused; trying again", "shard", s.shard, "err", err)
		}
	case "ResourceNotFoundException":
		var api smithy.APIError
		if errors.As(err, &api) && strings.HasPrefix(api.ErrorMessage(), "Consumer ") {
			// The consumer was deregistered: register it again and go on
			// from where reading got to.
			s.w.log.Warn("consumer: the stream consumer is gone; registering it again", "shard", s.shard, "err", err)
			s.w.forgetConsumer(s.arn)
			s.arn = ""
			return 0
		}
		s.w.log.Warn("consumer: the shard or stream is gone; giving its lease up", "shard", s.shard, "err", err)
		return stopShutdown
	default:
		if err != nil {
			s.w.log.Warn("consumer: subscription failed; subscribing again", "shard", s.shard, "err", err)
		}
	}
	return 0
}

// close ends the current session, if any.
func (s *fanOut) close() {
	if s.es != nil {
		s.es.Close()
		s.es, s.events = nil, nil
	}
}

// ownCodec gives a SubscribeToShard call a protocol of its own. smithy-go
// (v1.28) keeps one event stream codec per client, which every session
// uses without synchronisation: starting a session while another reads is
// a data race (aws/smithy-go#714; harmless today, but -race reports it).
// A protocol made as the client makes its own has a codec of its own.
func ownCodec(o *kinesis.Options) {
	if _, ok := o.Protocol.(*awsjson.Protocol); ok {
		o.Protocol = awsjson.New11(schemas.Kinesis_20131202)
	}
}
