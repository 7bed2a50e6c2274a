package stream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/tributary-io/tributary/storage"
)

// Resharding: SplitShard, MergeShards, UpdateShardCount and UpdateStreamMode.
//
// A split or a merge closes one or two parent shards and opens one or two
// children, in four steps that each leave the stream consistent:
//
//	(a) CAS the catalogue: record the intent as streamRecord.Pending (the
//	    parents, and the children with their next unused shard indexes and
//	    hash ranges). The stream is UPDATING while Pending is set, so no
//	    other change to its shards starts.
//	(b) Create the children's logs (an existing log is fine).
//	(c) Seal the parents' logs. Seal returns the last position, which
//	    becomes the parent's EndingSequenceNumber; sealing again returns it
//	    again.
//	(d) CAS the catalogue: parents Closed with EndPosition and Children,
//	    children appended to Shards with Parents, Pending cleared.
//
// Invariant: a record lands in exactly one shard. Until (c) writes go to
// the parent and are acknowledged before Seal returns, so they lie at or
// before its EndPosition. Between (c) and (d) a write to the parent fails
// with storage.ErrSealed; the writer re-reads the catalogue and waits (see
// sealedBackoff) until (d) makes the children routable. From (d) on writes
// go to the children, whose sequence numbers are greater than any of the
// parents' because their shard indexes are higher.
//
// Every step is idempotent, so a reshard interrupted by a crash or a failed
// engine call is finished by resumeReshards, at start and by the reaper.

// pendingReshard is a split or merge recorded in step (a) and not yet
// completed by step (d).
type pendingReshard struct {
	Parents []uint32 `json:"parents"`
	// Children carry their Index, Parents and hash range; Created is set
	// when they open in step (d).
	Children []shardRecord `json:"children"`
}

// logCount is the number of shard logs a stream may have: its shards and
// the children of a pending reshard, which step (b) may have created.
func (r *streamRecord) logCount() int {
	n := len(r.Shards)
	if r.Pending != nil {
		n += len(r.Pending.Children)
	}
	return n
}

// SplitShardInput is SplitShard's request.
type SplitShardInput struct {
	Stream             StreamRef
	ShardToSplit       string
	NewStartingHashKey string
}

// MergeShardsInput is MergeShards' request.
type MergeShardsInput struct {
	Stream               StreamRef
	ShardToMerge         string
	AdjacentShardToMerge string
}

// ScalingUniform is the only ScalingType of UpdateShardCount.
const ScalingUniform = "UNIFORM_SCALING"

// UpdateShardCountInput is UpdateShardCount's request.
type UpdateShardCountInput struct {
	Stream           StreamRef
	TargetShardCount int
	ScalingType      string
}

// UpdateShardCountOutput is UpdateShardCount's result: CurrentShardCount is
// the number of open shards before the update.
type UpdateShardCountOutput struct {
	StreamName        string
	StreamARN         string
	CurrentShardCount int
	TargetShardCount  int
}

// UpdateStreamModeInput is UpdateStreamMode's request.
type UpdateStreamModeInput struct {
	Stream StreamRef
	Mode   StreamMode
}

// AWS's limits on UpdateShardCount (API reference, UpdateShardCount): at
// most ten calls per rolling 24 hours per stream, at most double and at
// least half the open shard count, at most 10000 shards per stream.
const (
	maxScalingsPerDay = 10
	scalingWindow     = 24 * time.Hour
	maxStreamShards   = 10000
)

func errAlreadyClosed(id, name, account string) *Error {
	return newError(CodeInvalidArgument,
		"Shard %s in stream %s under account %s has already been merged or split, and thus is not eligible for merging or splitting.", id, name, account)
}

func errSplitKey(key string, sh *shardRecord, name, account string) *Error {
	return newError(CodeInvalidArgument,
		"NewStartingHashKey %s used in SplitShard() on shard %s in stream %s under account %s is not both greater than one plus the shard's StartingHashKey %s and less than the shard's EndingHashKey %s.",
		key, shardID(sh.Index), name, account, sh.StartHash, sh.EndHash)
}

func errNotAdjacent(a, b, name, account string) *Error {
	return newError(CodeInvalidArgument,
		"Shards %s and %s in stream %s under account %s are not an adjacent pair of shards eligible for merging", a, b, name, account)
}

// SplitShard splits an open shard in two at NewStartingHashKey: the first
// child keeps the hash keys below it, the second the rest.
func (s *Service) SplitShard(ctx context.Context, scope Scope, in SplitShardInput) error {
	name, err := resolve(scope, in.Stream)
	if err != nil {
		return err
	}
	if err := s.throttle.controlCall(scope, opSplitShard, name); err != nil {
		return err
	}
	return internal("split shard", s.reshard(ctx, scope, name, func(rec *streamRecord, st StreamStatus) (*pendingReshard, error) {
		sh, err := lookupShard(rec, in.ShardToSplit, scope.Account)
		if err != nil {
			return nil, err
		}
		if rec.Mode == ModeProvisioned {
			if err := s.checkShardLimit(ctx, scope, rec, 1); err != nil {
				return nil, err
			}
		}
		key, err := parseHashKey(in.NewStartingHashKey)
		if err != nil || !splitKeyFits(sh, key) {
			return nil, errSplitKey(in.NewStartingHashKey, sh, name, scope.Account)
		}
		if !sh.open() {
			return nil, errAlreadyClosed(shardID(sh.Index), name, scope.Account)
		}
		if st != StatusActive {
			return nil, errNotActive(name, scope.Account, st)
		}
		return splitPlan(rec, sh, key), nil
	}))
}

// MergeShards merges two open shards with adjacent hash key ranges into one.
// The child's ParentShardId is ShardToMerge and its AdjacentParentShardId
// AdjacentShardToMerge, whichever of the two has the lower hash keys.
func (s *Service) MergeShards(ctx context.Context, scope Scope, in MergeShardsInput) error {
	name, err := resolve(scope, in.Stream)
	if err != nil {
		return err
	}
	if err := s.throttle.controlCall(scope, opMergeShards, name); err != nil {
		return err
	}
	return internal("merge shards", s.reshard(ctx, scope, name, func(rec *streamRecord, st StreamStatus) (*pendingReshard, error) {
		a, err := lookupShard(rec, in.ShardToMerge, scope.Account)
		if err != nil {
			return nil, err
		}
		b, err := lookupShard(rec, in.AdjacentShardToMerge, scope.Account)
		if err != nil {
			return nil, err
		}
		for _, sh := range []*shardRecord{a, b} {
			if !sh.open() {
				return nil, errAlreadyClosed(shardID(sh.Index), name, scope.Account)
			}
		}
		if !adjacent(a, b) {
			return nil, errNotAdjacent(shardID(a.Index), shardID(b.Index), name, scope.Account)
		}
		if st != StatusActive {
			return nil, errNotActive(name, scope.Account, st)
		}
		return mergePlan(rec, a, b), nil
	}))
}

// adjacent reports whether two distinct shards' hash ranges touch.
func adjacent(a, b *shardRecord) bool {
	if a.Index == b.Index {
		return false
	}
	return a.EndHash.add1() == b.StartHash && !a.EndHash.add1().isZero() ||
		b.EndHash.add1() == a.StartHash && !b.EndHash.add1().isZero()
}

// splitKeyFits is AWS's rule for a split key, StartingHashKey+1 < key <
// EndingHashKey: each child gets two hash keys or more. The planner of
// UpdateShardCount keeps it too, so no path makes a one-key shard.
func splitKeyFits(sh *shardRecord, key uint128) bool {
	first := sh.StartHash.add1()
	return !first.isZero() && key.cmp(first) > 0 && key.cmp(sh.EndHash) < 0
}

// splitPlan is the pending record of splitting sh at key, where
// splitKeyFits(sh, key). Children take the next unused indexes.
func splitPlan(rec *streamRecord, sh *shardRecord, key uint128) *pendingReshard {
	next := uint32(len(rec.Shards))
	return &pendingReshard{
		Parents: []uint32{sh.Index},
		Children: []shardRecord{
			{Index: next, Parents: []uint32{sh.Index}, StartHash: sh.StartHash, EndHash: key.sub1()},
			{Index: next + 1, Parents: []uint32{sh.Index}, StartHash: key, EndHash: sh.EndHash},
		},
	}
}

// mergePlan is the pending record of merging adjacent shards a and b; the
// child's first parent is a.
func mergePlan(rec *streamRecord, a, b *shardRecord) *pendingReshard {
	lo, hi := a, b
	if b.StartHash.cmp(a.StartHash) < 0 {
		lo, hi = b, a
	}
	return &pendingReshard{
		Parents: []uint32{a.Index, b.Index},
		Children: []shardRecord{
			{Index: uint32(len(rec.Shards)), Parents: []uint32{a.Index, b.Index}, StartHash: lo.StartHash, EndHash: hi.EndHash},
		},
	}
}

// checkShardLimit fails when adding shards to the scope's provisioned
// streams would exceed the account's shard limit. Callers hold createMu.
func (s *Service) checkShardLimit(ctx context.Context, scope Scope, rec *streamRecord, adding int) error {
	recs, err := s.list(ctx, scope)
	if err != nil {
		return err
	}
	u := usage(recs)
	if limit := s.shardLimitFor(scope); u.openShards+adding > limit {
		return errShardLimit(scope.Account, scope.Region, u.openShards, limit, adding)
	}
	return nil
}

// reshard runs one split or merge: plan sees the stream as it is and
// returns the reshard to record in step (a), or an error. Steps (b) to (d)
// then run to completion whatever happens to ctx, because a parent sealed
// and not yet closed in the catalogue holds up every writer to it.
//
// It is the hook for an automatic scaler: plan may return splitPlan or
// mergePlan for any open shards.
func (s *Service) reshard(ctx context.Context, scope Scope, name string, plan func(rec *streamRecord, st StreamStatus) (*pendingReshard, error)) error {
	// createMu makes the shard limit check and the new shards one step,
	// as in CreateStream.
	s.createMu.Lock()
	_, err := s.update(ctx, scope, name, func(rec *streamRecord, st StreamStatus) error {
		if rec.Pending != nil {
			return errNotActive(name, scope.Account, StatusUpdating)
		}
		p, err := plan(rec, st)
		if err != nil {
			return err
		}
		rec.Pending = p
		rec.UpdatingUntil = s.now().Add(s.updateDelay)
		return nil
	})
	s.createMu.Unlock()
	if err != nil {
		return err
	}
	return s.completeReshard(context.WithoutCancel(ctx), scope, name)
}

// completeReshard runs steps (b) to (d) of the stream's pending reshard, if
// any. It is idempotent: logs may exist already and parents may be sealed.
func (s *Service) completeReshard(ctx context.Context, scope Scope, name string) error {
	e, err := s.getRaw(ctx, scope, name)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	rec, p := e.rec, e.rec.Pending
	if p == nil {
		return nil
	}
	if st, ok := rec.status(s.now()); !ok || st == StatusDeleting {
		// The deletion removes the children's logs (see logCount).
		return nil
	}
	opts := storage.LogOptions{Retention: s.retention(rec), EncryptionKey: rec.EncryptionKey}
	for _, c := range p.Children {
		if _, err := s.engine.CreateLog(ctx, logName(rec.ID, c.Index), opts); err != nil && !errors.Is(err, storage.ErrExists) {
			return fmt.Errorf("create shard log: %w", err)
		}
	}
	ends := make(map[uint32]uint64, len(p.Parents))
	for _, i := range p.Parents {
		l, err := s.shardLog(ctx, rec, i)
		if err != nil {
			return err
		}
		if ends[i], err = l.Seal(ctx); err != nil {
			return fmt.Errorf("seal shard log: %w", err)
		}
	}
	_, err = s.update(ctx, scope, name, func(r *streamRecord, _ StreamStatus) error {
		if r.ID != rec.ID || r.Pending == nil || !slices.Equal(r.Pending.Parents, p.Parents) {
			return errNoChange // completed by someone else
		}
		now := s.now()
		children := make([]uint32, len(p.Children))
		for k, c := range p.Children {
			if int(c.Index) != len(r.Shards) {
				return fmt.Errorf("stream %s: pending child %d is not the next shard index %d: %w", name, c.Index, len(r.Shards), storage.ErrCorrupt)
			}
			c.Created = now
			r.Shards = append(r.Shards, c)
			children[k] = c.Index
		}
		for _, i := range p.Parents {
			sh := &r.Shards[i]
			sh.Closed, sh.EndPosition, sh.Children = now, ends[i], children
		}
		r.Pending = nil
		r.UpdatingUntil = now.Add(s.updateDelay)
		return nil
	})
	if errors.Is(err, errNoChange) {
		return nil
	}
	return err
}

// resumeReshards completes every pending reshard and continues every
// UpdateShardCount that a crash or a failure interrupted.
func (s *Service) resumeReshards(ctx context.Context) error {
	entries, err := s.meta.List(ctx, streamsPrefix)
	if err != nil {
		return fmt.Errorf("resume reshards: %w", err)
	}
	var errs []error
	for _, me := range entries {
		e, err := s.decoded.decode(me)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if e.rec.Pending == nil && e.rec.ScalingTo == 0 {
			continue
		}
		// A stream whose UpdateShardCount is running in this process is
		// left to it.
		mu := s.scaleLock(me.Key)
		if !mu.TryLock() {
			continue
		}
		scope := Scope{Account: e.rec.Account, Region: e.rec.Region}
		err = s.tasks.Run("reshard", func() error {
			defer mu.Unlock() // also after a panic, or the stream could never scale again
			if err := s.completeReshard(ctx, scope, e.rec.Name); err != nil {
				return err
			}
			if e.rec.ScalingTo != 0 {
				return s.scale(ctx, scope, e.rec.Name)
			}
			return nil
		}, "stream", e.rec.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("stream %s: %w", e.rec.Name, err))
		}
	}
	return errors.Join(errs...)
}

// UpdateShardCount makes the stream's open shards TargetShardCount shards
// of equal hash ranges, by splits and merges (each closing its parents as
// SplitShard and MergeShards do). It returns once they are done; the
// stream is UPDATING until then and for UpdateDelay after.
func (s *Service) UpdateShardCount(ctx context.Context, scope Scope, in UpdateShardCountInput) (*UpdateShardCountOutput, error) {
	name, err := resolve(scope, in.Stream)
	if err != nil {
		return nil, err
	}
	if in.ScalingType != ScalingUniform {
		return nil, newError(CodeInvalidArgument, "ScalingType %s is not supported.", in.ScalingType)
	}
	target := in.TargetShardCount
	var current int
	s.createMu.Lock()
	rec, err := s.update(ctx, scope, name, func(rec *streamRecord, st StreamStatus) error {
		if st != StatusActive {
			return errNotActive(name, scope.Account, st)
		}
		if rec.Mode == ModeOnDemand {
			return newError(CodeValidation, "UpdateShardCount is not supported for stream %s under account %s with ON_DEMAND capacity mode.", name, scope.Account)
		}
		current = rec.openShards()
		switch {
		case target > maxStreamShards:
			return newError(CodeLimitExceeded,
				"Target shard count or number of open shards cannot be greater than %d. Current open shard count: %d, Target shard count: %d", maxStreamShards, current, target)
		case target > 2*current:
			return newError(CodeLimitExceeded,
				"UpdateShardCount cannot scale up over double your current open shard count. Current open shard count: %d, Target shard count: %d", current, target)
		case 2*target < current:
			return newError(CodeLimitExceeded,
				"UpdateShardCount cannot scale down below half your current open shard count. Current open shard count: %d, Target shard count: %d", current, target)
		}
		if target > current {
			if err := s.checkShardLimit(ctx, scope, rec, target-current); err != nil {
				return err
			}
		}
		now := s.now()
		recent := rec.Scalings[:0]
		for _, t := range rec.Scalings {
			if now.Sub(t) < scalingWindow {
				recent = append(recent, t)
			}
		}
		if len(recent) >= maxScalingsPerDay {
			return newError(CodeLimitExceeded,
				"Rate exceeded for stream %s under account %s: UpdateShardCount can be called at most %d times per rolling 24-hour period.", name, scope.Account, maxScalingsPerDay)
		}
		rec.Scalings = append(recent, now)
		rec.ScalingTo = target
		rec.UpdatingUntil = now.Add(s.updateDelay)
		return nil
	})
	s.createMu.Unlock()
	if err != nil {
		return nil, internal("update shard count", err)
	}
	mu := s.scaleLock(streamKey(scope, name))
	mu.Lock()
	err = s.scale(context.WithoutCancel(ctx), scope, name)
	mu.Unlock()
	if err != nil {
		return nil, internal("update shard count", err)
	}
	return &UpdateShardCountOutput{StreamName: name, StreamARN: rec.arn(), CurrentShardCount: current, TargetShardCount: target}, nil
}

// scale runs the splits and merges that bring the stream's open shards to
// rec.ScalingTo uniform shards, then clears ScalingTo. Each step is chosen
// from the catalogue as it is, so scale resumes correctly after a crash.
func (s *Service) scale(ctx context.Context, scope Scope, name string) error {
	for {
		err := s.reshard(ctx, scope, name, func(rec *streamRecord, st StreamStatus) (*pendingReshard, error) {
			if rec.ScalingTo == 0 || st == StatusDeleting {
				return nil, errNoChange
			}
			if p := nextScalingStep(rec, rec.ScalingTo); p != nil {
				return p, nil
			}
			return nil, errScaled
		})
		switch {
		case err == nil:
			continue
		case errors.Is(err, errNoChange):
			return nil
		case !errors.Is(err, errScaled):
			return err
		}
		_, err = s.update(ctx, scope, name, func(rec *streamRecord, _ StreamStatus) error {
			rec.ScalingTo = 0
			rec.UpdatingUntil = s.now().Add(s.updateDelay)
			return nil
		})
		return err
	}
}

// scaleLock returns the mutex that keeps one scale per stream running in
// this process; two would each find the other's pending reshard.
func (s *Service) scaleLock(key string) *sync.Mutex {
	s.scaleMu.Lock()
	defer s.scaleMu.Unlock()
	mu, ok := s.scaling[key]
	if !ok {
		mu = new(sync.Mutex)
		s.scaling[key] = mu
	}
	return mu
}

// errScaled ends scale: the open shards are the target's.
var errScaled = errors.New("scaled")

// nextScalingStep returns the next split or merge towards target shards
// of equal ranges (shard i of n starting at splitPoint(i, n), as
// CreateStream divides the hash space), or nil when the open shards are
// those. First every open shard that straddles a target boundary is split
// at it (or, where that would leave a child of one hash key, merged with
// its neighbour on that side first); then every open shard lies within
// one target range, and neighbours within the same range are merged,
// lowest first. AWS documents only the end state, the target's equal
// ranges; the steps are ours.
func nextScalingStep(rec *streamRecord, target int) *pendingReshard {
	var open []*shardRecord
	for i := range rec.Shards {
		if rec.Shards[i].open() {
			open = append(open, &rec.Shards[i])
		}
	}
	slices.SortFunc(open, func(a, b *shardRecord) int { return a.StartHash.cmp(b.StartHash) })
	// rangeOf[k] is the target range open[k] starts in.
	rangeOf := make([]int, len(open))
	b := 1 // next boundary: splitPoint(b, target)
	for k, sh := range open {
		for b < target && splitPoint(uint64(b), uint64(target)).cmp(sh.StartHash) <= 0 {
			b++
		}
		rangeOf[k] = b - 1
		if b < target {
			key := splitPoint(uint64(b), uint64(target))
			switch {
			case key.cmp(sh.EndHash) > 0:
				// No boundary inside sh.
			case splitKeyFits(sh, key):
				return splitPlan(rec, sh, key)
			case key.cmp(sh.EndHash) == 0:
				// Splitting here would leave a child of the one key
				// EndHash, which SplitShard itself refuses to make
				// (and which a 4 → 2 → 3 sequence once produced). Merge
				// with the next shard first: the boundary is then well
				// inside. A next shard exists because no boundary is the
				// last hash key, and it has two keys or more because
				// this planner never leaves fewer.
				return mergePlan(rec, sh, open[k+1])
			default:
				// key is StartHash+1: the first child would be the one
				// key StartHash. Merge with the shard before (which
				// exists: boundary 0 is never a split point).
				return mergePlan(rec, open[k-1], sh)
			}
		}
	}
	for k := 1; k < len(open); k++ {
		if rangeOf[k] == rangeOf[k-1] {
			return mergePlan(rec, open[k-1], open[k])
		}
	}
	return nil
}

// UpdateStreamMode switches a stream between PROVISIONED and ON_DEMAND. Its
// shards stay as they are; the account's limits apply to the stream in its
// new mode. Asking for the mode the stream has changes nothing.
func (s *Service) UpdateStreamMode(ctx context.Context, scope Scope, in UpdateStreamModeInput) error {
	if in.Mode != ModeProvisioned && in.Mode != ModeOnDemand {
		return newError(CodeInvalidArgument, "StreamMode %s is not supported.", in.Mode)
	}
	name, err := resolve(scope, in.Stream)
	if err != nil {
		return err
	}
	s.createMu.Lock()
	defer s.createMu.Unlock()
	_, err = s.update(ctx, scope, name, func(rec *streamRecord, st StreamStatus) error {
		if st != StatusActive {
			return errNotActive(name, scope.Account, st)
		}
		if rec.Mode == in.Mode {
			return errNoChange
		}
		recs, err := s.list(ctx, scope)
		if err != nil {
			return err
		}
		u := usage(recs)
		if in.Mode == ModeOnDemand && u.onDemandStreams >= s.onDemandLimit {
			return newError(CodeLimitExceeded,
				"This request would exceed the limit of %d on-demand streams for the account %s in %s.", s.onDemandLimit, scope.Account, scope.Region)
		}
		if in.Mode == ModeProvisioned {
			if limit, n := s.shardLimitFor(scope), rec.openShards(); u.openShards+n > limit {
				return errShardLimit(scope.Account, scope.Region, u.openShards, limit, n)
			}
		}
		rec.Mode = in.Mode
		rec.UpdatingUntil = s.now().Add(s.updateDelay)
		return nil
	})
	if errors.Is(err, errNoChange) {
		return nil
	}
	return internal("update stream mode", err)
}
