package consumer

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// poller fetches a shard's records with GetRecords.
type poller struct {
	w      *Worker
	shard  string
	rng    hashRange
	resume Checkpoint // where reading starts; after it once records come
	waiter

	iter     *string
	last     string // the last Kinesis record's sequence number
	lastCall time.Time
	failures int
	stats    unpackStats
}

// next returns the next batch (maybe empty), how far behind the tip it
// is, and whether the shard ended with it; or a reason to stop.
func (s *poller) next(ctx context.Context) (batch []Record, behind int64, end bool, reason stopReason) {
	for {
		if r := s.sleep(s.w.cfg.ReadInterval - time.Since(s.lastCall)); r != 0 {
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
				s.w.cfg.Metrics.expiredIterators.WithLabelValues(s.w.cfg.WorkerID, s.shard).Inc()
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
			if s.w.cfg.onIdle != nil {
				s.w.cfg.onIdle(s.shard)
			}
			if r := s.sleep(s.w.cfg.IdleTime); r != 0 {
				return nil, 0, false, r
			}
		}
	}
}

// iterator gets an iterator from where reading got to: after the last
// record fetched, or at the checkpoint resumed from.
func (s *poller) iterator(ctx context.Context) (*string, error) {
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
func (s *poller) failed(call string, err error) stopReason {
	s.failures++
	if errorCode(err) == "ResourceNotFoundException" {
		if s.w.cfg.onGone != nil {
			s.w.cfg.onGone(err)
		}
		s.w.log.Warn("consumer: the shard or stream is gone; giving its lease up", "shard", s.shard, "call", call, "err", err)
		return stopShutdown
	}
	if errorCode(err) != "ProvisionedThroughputExceededException" || s.failures > 5 {
		s.w.log.Warn("consumer: call failed; trying again", "shard", s.shard, "call", call, "err", err)
	}
	return s.sleep(backoff(s.w.cfg.RetryDelay, s.failures))
}

func (s *poller) close() {}
