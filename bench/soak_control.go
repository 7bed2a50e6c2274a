package bench

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// clamp bounds d to lo..hi.
func clamp(d, lo, hi time.Duration) time.Duration { return min(max(d, lo), hi) }

// openShard is an open shard's id and hash key range.
type openShard struct {
	id         string
	start, end *big.Int
}

func (o openShard) width() *big.Int {
	return new(big.Int).Add(new(big.Int).Sub(o.end, o.start), big.NewInt(1))
}

// mid is the first hash key of the upper half of the shard's range, where
// a split divides it in two.
func (o openShard) mid() *big.Int {
	return new(big.Int).Add(o.start, new(big.Int).Rsh(o.width(), 1))
}

// openShards returns the open shards, in hash key order.
func openShards(shards []types.Shard) []openShard {
	var open []openShard
	for _, sh := range shards {
		if sh.SequenceNumberRange == nil || sh.SequenceNumberRange.EndingSequenceNumber != nil || sh.HashKeyRange == nil {
			continue
		}
		start, ok1 := new(big.Int).SetString(aws.ToString(sh.HashKeyRange.StartingHashKey), 10)
		end, ok2 := new(big.Int).SetString(aws.ToString(sh.HashKeyRange.EndingHashKey), 10)
		if ok1 && ok2 {
			open = append(open, openShard{id: aws.ToString(sh.ShardId), start: start, end: end})
		}
	}
	slices.SortFunc(open, func(a, b openShard) int { return a.start.Cmp(b.start) })
	return open
}

// reshardStep is one change the reshard loop makes to the sparse stream;
// it reports false when the stream's shards do not allow it now.
type reshardStep struct {
	name string
	do   func(ctx context.Context, st *soakStream, open []openShard) (bool, error)
}

// reshardSteps is the reshard loop's cycle. The sparse stream's records
// all hash into the lower half of the key space, so shards in the upper
// half never get one: splitting and merging them is the case of issue 10
// (a log with no segment), and the lower half's the case with data.
func (s *soak) reshardSteps() []reshardStep {
	half := new(big.Int).Lsh(big.NewInt(1), 127)
	empty := func(o openShard) bool { return o.start.Cmp(half) >= 0 }
	withData := func(o openShard) bool { return o.end.Cmp(half) < 0 }
	return []reshardStep{
		{"split an empty shard", func(ctx context.Context, st *soakStream, open []openShard) (bool, error) {
			return s.splitWidest(ctx, st, open, empty)
		}},
		{"merge two empty shards", func(ctx context.Context, st *soakStream, open []openShard) (bool, error) {
			return s.mergeNarrowest(ctx, st, open, empty)
		}},
		{"UpdateShardCount up", func(ctx context.Context, st *soakStream, open []openShard) (bool, error) {
			// UNIFORM_SCALING allows at most double.
			return s.updateShardCount(ctx, st, len(open)+2)
		}},
		{"UpdateShardCount down", func(ctx context.Context, st *soakStream, open []openShard) (bool, error) {
			if len(open) <= 4 {
				return false, nil
			}
			// UNIFORM_SCALING allows at least half.
			return s.updateShardCount(ctx, st, max(4, (len(open)+1)/2))
		}},
		{"split a shard with data", func(ctx context.Context, st *soakStream, open []openShard) (bool, error) {
			return s.splitWidest(ctx, st, open, withData)
		}},
		{"merge two shards with data", func(ctx context.Context, st *soakStream, open []openShard) (bool, error) {
			return s.mergeNarrowest(ctx, st, open, withData)
		}},
		{"raise retention", func(ctx context.Context, st *soakStream, _ []openShard) (bool, error) {
			return true, s.setRetention(ctx, st, soakRetentionHoursUp)
		}},
		{"lower retention", func(ctx context.Context, st *soakStream, _ []openShard) (bool, error) {
			return true, s.setRetention(ctx, st, soakRetentionHours)
		}},
	}
}

// reshardLoop changes the sparse stream every --duration/20 (2 to 15 s),
// going round reshardSteps, until the life is over. Each change waits for
// the stream to be ACTIVE again after the last. A step the server refused
// for the moment (the stream still UPDATING after a restart, a shard just
// closed) is tried again next time rather than skipped, up to
// reshardRetries times, so that a short life still goes through every
// step (TestSoak counts them) and a step refused for good does not stop
// the cycle.
func (s *soak) reshardLoop(ctx context.Context, st *soakStream) {
	const reshardRetries = 3
	period := clamp(s.opts.Duration/20, 2*time.Second, 15*time.Second)
	steps := s.reshardSteps()
	retried, at := 0, -1 // retries of step at
	for i := 0; s.pause(ctx, period); i++ {
		if i != at {
			retried, at = 0, i
		}
		step := steps[i%len(steps)]
		retry := func() {
			if retried < reshardRetries {
				retried++
				i-- // this step again, next period
			}
		}
		if err := s.waitActive(ctx, st, s.opts.CreateTimeout); err != nil {
			if ctx.Err() == nil {
				s.errs.add("before %s of %s: %v", step.name, st.name, err)
			}
			retry()
			continue
		}
		shards, err := s.listShards(ctx, st.name)
		if err != nil {
			if ctx.Err() == nil {
				s.errs.add("ListShards of %s: %v", st.name, err)
			}
			retry()
			continue
		}
		if _, err := step.do(ctx, st, openShards(shards)); err != nil && ctx.Err() == nil {
			switch classify(ctx, err) {
			case errInUse, errInvalid, errThrottled:
				// A race with the stream's own state (still UPDATING, a
				// shard just closed): AWS's answers, not failures.
				s.c.refusedOps.Add(1)
				retry()
			case errTransport, errRefused:
				s.c.transport.Add(1)
				s.lost.add("%s of %s: %v", step.name, st.name, err)
				retry()
			default:
				s.errs.add("%s of %s: %v", step.name, st.name, err)
			}
		}
	}
}

// splitWidest splits the widest open shard that pick accepts at its
// middle.
func (s *soak) splitWidest(ctx context.Context, st *soakStream, open []openShard, pick func(openShard) bool) (bool, error) {
	var best *openShard
	for i := range open {
		o := &open[i]
		if pick(*o) && o.width().Cmp(big.NewInt(2)) >= 0 && (best == nil || o.width().Cmp(best.width()) > 0) {
			best = o
		}
	}
	if best == nil {
		return false, nil
	}
	err := s.do(ctx, false, func(ctx context.Context) error {
		_, err := s.kc.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String(st.name),
			ShardToSplit: aws.String(best.id), NewStartingHashKey: aws.String(best.mid().String())})
		return err
	})
	if err == nil {
		s.c.splits.Add(1)
	}
	return true, err
}

// mergeNarrowest merges the two adjacent open shards that pick accepts
// and that together span the least: most likely the halves of the last
// split.
func (s *soak) mergeNarrowest(ctx context.Context, st *soakStream, open []openShard, pick func(openShard) bool) (bool, error) {
	best := -1
	var bestWidth *big.Int
	for i := 1; i < len(open); i++ {
		a, b := open[i-1], open[i]
		if !pick(a) || !pick(b) || new(big.Int).Add(a.end, big.NewInt(1)).Cmp(b.start) != 0 {
			continue
		}
		w := new(big.Int).Add(a.width(), b.width())
		if best < 0 || w.Cmp(bestWidth) < 0 {
			best, bestWidth = i, w
		}
	}
	if best < 0 {
		return false, nil
	}
	err := s.do(ctx, false, func(ctx context.Context) error {
		_, err := s.kc.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String(st.name),
			ShardToMerge: aws.String(open[best-1].id), AdjacentShardToMerge: aws.String(open[best].id)})
		return err
	})
	if err == nil {
		s.c.merges.Add(1)
	}
	return true, err
}

func (s *soak) updateShardCount(ctx context.Context, st *soakStream, target int) (bool, error) {
	daily := false
	err := s.do(ctx, false, func(ctx context.Context) error {
		_, err := s.kc.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String(st.name),
			TargetShardCount: aws.Int32(int32(target)), ScalingType: types.ScalingTypeUniformScaling})
		// Ten calls per stream per rolling 24 hours is a quota, not a
		// rate: retrying would wait a day. (A soak of more than ten
		// rounds meets it, and once spent the whole life with this one
		// call retrying.)
		if daily = dailyScalingQuota(err); daily {
			return nil
		}
		return err
	})
	if daily {
		s.c.shardCountDaily.Add(1)
		return false, nil
	}
	if err == nil {
		s.c.shardCounts.Add(1)
	}
	return true, err
}

// setRetention raises or lowers the stream's retention to hours. The
// verifier counts with the least retention the stream ever has, so
// lowering it never makes an expired record look lost.
func (s *soak) setRetention(ctx context.Context, st *soakStream, hours int) error {
	var err error
	if hours > soakRetentionHours {
		err = s.do(ctx, false, func(ctx context.Context) error {
			_, err := s.kc.IncreaseStreamRetentionPeriod(ctx, &kinesis.IncreaseStreamRetentionPeriodInput{
				StreamName: aws.String(st.name), RetentionPeriodHours: aws.Int32(int32(hours))})
			return err
		})
		if err == nil {
			s.c.retentionUps.Add(1)
		}
	} else {
		err = s.do(ctx, false, func(ctx context.Context) error {
			_, err := s.kc.DecreaseStreamRetentionPeriod(ctx, &kinesis.DecreaseStreamRetentionPeriodInput{
				StreamName: aws.String(st.name), RetentionPeriodHours: aws.Int32(int32(hours))})
			return err
		})
		if err == nil {
			s.c.retentionDowns.Add(1)
		}
	}
	return err
}

// onDemandLoop makes the on-demand stream scale: the hot writer is on
// until the scaler has split a shard (or for half the duration, 5 s to 5
// min), then off until the scaler has merged back to the shards the stream
// started with (or as long), round and round until the life is over. It
// counts the splits and merges it sees.
func (s *soak) onDemandLoop(ctx context.Context, st *soakStream, hot *atomic.Bool, seen *onDemandSeen) {
	defer hot.Store(false)
	phase := clamp(s.opts.Duration/2, 5*time.Second, 5*time.Minute)
	base := -1
	for {
		hot.Store(true)
		s.c.hotPhases.Add(1)
		if !s.waitOpenShards(ctx, st, phase, &base, seen, func(n int) bool { return n > base }) {
			return
		}
		hot.Store(false)
		if !s.waitOpenShards(ctx, st, phase, &base, seen, func(n int) bool { return n <= base }) {
			return
		}
	}
}

// onDemandSeen counts the changes of an on-demand stream's open shards
// seen from one second to the next.
type onDemandSeen struct {
	splits, merges atomic.Int64
	last           int
}

// waitOpenShards watches the stream's open shard count every second until
// done accepts it or phase has passed, counting the changes in seen; *base
// is set to the first count seen. It returns false when the life is over.
func (s *soak) waitOpenShards(ctx context.Context, st *soakStream, phase time.Duration, base *int, seen *onDemandSeen, done func(int) bool) bool {
	deadline := time.Now().Add(phase)
	for time.Now().Before(deadline) {
		var out *kinesis.DescribeStreamSummaryOutput
		err := s.do(ctx, true, func(ctx context.Context) (err error) {
			out, err = s.kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(st.name)})
			return err
		})
		if err == nil {
			n := int(aws.ToInt32(out.StreamDescriptionSummary.OpenShardCount))
			if *base < 0 {
				*base, seen.last = n, n
			}
			if d := n - seen.last; d > 0 {
				seen.splits.Add(int64(d))
			} else if d < 0 {
				seen.merges.Add(int64(-d))
			}
			seen.last = n
			if done(n) {
				return true
			}
		} else if ctx.Err() == nil {
			s.errs.add("DescribeStreamSummary of %s: %v", st.name, err)
		}
		if !s.pause(ctx, time.Second) {
			return false
		}
	}
	return s.living(ctx)
}

// churnLoop creates a 2-shard stream with a writer, polling readers and a
// consumer, deletes it after --duration/5 (5 s to 1 min) while they are
// busy, and creates it again under the same name, until the life is over.
// Its records are checked for duplicates and order but not for loss:
// deleting a stream loses its records.
func (s *soak) churnLoop(ctx context.Context) {
	life := clamp(s.opts.Duration/5, 5*time.Second, time.Minute)
	name := s.streamName("churn")
	for gen := 1; s.living(ctx); gen++ {
		st, err := s.createStream(ctx, name, "churn", fmt.Sprintf("%s-c%d", s.runID, gen), 2, false)
		if err == nil {
			err = s.registerConsumer(ctx, st)
		}
		if err != nil {
			if ctx.Err() != nil {
				// The life ended during the set-up: the stream may exist
				// all the same, and must not outlive the soak.
				if st != nil && st.created {
					s.deleteStream(context.WithoutCancel(ctx), st)
				}
				return
			}
			s.errs.add("churn: %v", err)
			if st.arn != "" {
				s.deleteStream(ctx, st)
			}
			s.pause(ctx, time.Second)
			continue
		}
		actx, acancel := context.WithCancel(ctx)
		var actors sync.WaitGroup
		w := s.newWriter(st, "k", 8, 0.25*float64(s.opts.SoakRate), nil)
		actors.Go(func() { w.run(actx) })
		s.startReaders(actx, &actors, st, false)
		s.pause(ctx, life)
		// Deleted under its busy writer, readers and subscriptions; they
		// stop on the errors that follow, or when the stream is gone. At
		// the end of the life too (its context cancelled), so that no
		// generation outlives the soak.
		err = s.deleteStream(context.WithoutCancel(ctx), st)
		acancel()
		actors.Wait()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.errs.add("churn: %v", err)
		}
	}
}

// dailyScalingQuota reports whether err is UpdateShardCount's refusal for
// its quota of calls per rolling 24 hours.
func dailyScalingQuota(err error) bool {
	var le *types.LimitExceededException
	return errors.As(err, &le) && strings.Contains(le.ErrorMessage(), "24-hour")
}
