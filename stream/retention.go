package stream

import (
	"context"
	"time"
)

// Retention bounds in hours: one day to one year.
const (
	minRetentionHours = 24
	maxRetentionHours = 8760
)

// retention is how long the stream's records stay readable: its
// RetentionHours, in hours of Options.RetentionHour (an hour, except in
// tests that need records to expire within seconds).
func (s *Service) retention(r *streamRecord) time.Duration {
	return time.Duration(r.RetentionHours) * s.retentionHour
}

// IncreaseStreamRetentionPeriod lengthens how long records stay readable.
func (s *Service) IncreaseStreamRetentionPeriod(ctx context.Context, scope Scope, in RetentionInput) error {
	return s.setRetention(ctx, scope, in, true)
}

// DecreaseStreamRetentionPeriod shortens how long records stay readable;
// records older than the new period become unreadable at once.
func (s *Service) DecreaseStreamRetentionPeriod(ctx context.Context, scope Scope, in RetentionInput) error {
	return s.setRetention(ctx, scope, in, false)
}

// setRetention records the new period in the catalogue and then applies it
// to every shard log, closed ones included. A failure part way leaves the
// catalogue ahead of some logs; repeating the request (the same value is
// accepted in both directions) finishes the job.
func (s *Service) setRetention(ctx context.Context, scope Scope, in RetentionInput, increase bool) error {
	hours := in.RetentionPeriodHours
	if hours < minRetentionHours {
		return errRetentionTooShort(hours)
	}
	if hours > maxRetentionHours {
		return errRetentionTooLong(hours)
	}
	name, err := resolve(scope, in.Stream)
	if err != nil {
		return err
	}
	rec, err := s.update(ctx, scope, name, func(rec *streamRecord, st StreamStatus) error {
		if st != StatusActive {
			return errNotActive(name, scope.Account, st)
		}
		if increase && hours < rec.RetentionHours {
			return errRetentionNotLonger(hours, name, rec.RetentionHours)
		}
		if !increase && hours > rec.RetentionHours {
			return errRetentionNotShorter(hours, name, rec.RetentionHours)
		}
		rec.RetentionHours = hours
		return nil
	})
	if err != nil {
		return internal("set retention", err)
	}
	for i := range rec.Shards {
		l, err := s.shardLog(ctx, rec, uint32(i))
		if err != nil {
			return internal("set retention", err)
		}
		if err := l.SetRetention(ctx, s.retention(rec)); err != nil {
			return internal("set retention", err)
		}
	}
	return nil
}

// RetentionInput is the request of IncreaseStreamRetentionPeriod and
// DecreaseStreamRetentionPeriod.
type RetentionInput struct {
	Stream               StreamRef
	RetentionPeriodHours int
}
