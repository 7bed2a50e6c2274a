package stream

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// shardID formats a shard index the way AWS names shards.
func shardID(index uint32) string { return fmt.Sprintf("shardId-%012d", index) }

// maxShardIndex is the largest shard index AWS accepts in a shard id.
const maxShardIndex = 2147483647

// parseShardID reads the shard index out of a shard id the way AWS does:
// the text after the first '-' (or the whole id when there is none, or
// nothing follows it up to the next '-') must be decimal digits naming an
// index up to 2^31-1. So "shardId-000000000001", "shardId-1",
// "shardId-0000000000", "anything-1" and "1" all work.
func parseShardID(id string) (uint32, bool) {
	digits := id
	if parts := strings.Split(id, "-"); len(parts) > 1 && parts[1] != "" {
		digits = parts[1]
	}
	if digits == "" {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	digits = strings.TrimLeft(digits, "0")
	if len(digits) > 10 {
		return 0, false
	}
	n := uint64(0)
	if digits != "" {
		var err error
		if n, err = strconv.ParseUint(digits, 10, 64); err != nil {
			return 0, false
		}
	}
	if n > maxShardIndex {
		return 0, false
	}
	return uint32(n), true
}

// lookupShard finds the shard a request names, with AWS's errors for ids
// that name no shard index and for indexes the stream does not have.
func lookupShard(rec *streamRecord, id string, account string) (*shardRecord, error) {
	index, ok := parseShardID(id)
	if !ok {
		return nil, errBadShardID(id, rec.Name, account)
	}
	if int(index) >= len(rec.Shards) {
		return nil, errShardNotFound(shardID(index), rec.Name, account)
	}
	return &rec.Shards[index], nil
}

// describeShard turns a shard record into the API's Shard.
func describeShard(rec *streamRecord, sh *shardRecord) Shard {
	seq := rec.shardSeq(sh.Index)
	out := Shard{
		ShardID: shardID(sh.Index),
		HashKeyRange: HashKeyRange{
			StartingHashKey: sh.StartHash.String(),
			EndingHashKey:   sh.EndHash.String(),
		},
		SequenceNumberRange: SequenceNumberRange{
			// Positions are never zero, so position 0 sorts before every
			// record the shard will hold; it is dated at the epoch.
			StartingSequenceNumber: seq.number(0, seq.epoch*1000),
		},
	}
	if len(sh.Parents) > 0 {
		out.ParentShardID = shardID(sh.Parents[0])
	}
	if len(sh.Parents) > 1 {
		out.AdjacentParentShardID = shardID(sh.Parents[1])
	}
	if !sh.open() {
		// The last position, dated when the shard closed: not below the
		// number of any record the shard holds.
		out.SequenceNumberRange.EndingSequenceNumber = seq.number(sh.EndPosition, sh.Closed.UnixMilli())
	}
	return out
}

// childShards lists the children of a shard, as GetRecords reports them at
// the end of a closed shard.
func childShards(rec *streamRecord, sh *shardRecord) []ChildShard {
	var out []ChildShard
	for _, c := range sh.Children {
		if int(c) >= len(rec.Shards) {
			continue
		}
		child := &rec.Shards[c]
		parents := make([]string, len(child.Parents))
		for i, p := range child.Parents {
			parents[i] = shardID(p)
		}
		out = append(out, ChildShard{
			ShardID:      shardID(c),
			ParentShards: parents,
			HashKeyRange: HashKeyRange{StartingHashKey: child.StartHash.String(), EndingHashKey: child.EndHash.String()},
		})
	}
	return out
}

// afterShardID reports whether shard index comes after the exclusive start
// id: by index when the id names one, otherwise by AWS's order of ids,
// which for zero-padded ids is the string order.
func afterShardID(index uint32, start string) bool {
	if start == "" {
		return true
	}
	if n, ok := parseShardID(start); ok {
		return index > n
	}
	return shardID(index) > start
}

const (
	defaultListShards = 1000
	maxListShards     = 1000
)

// ListShards lists a stream's shards, filtered and paginated.
//
// A page's NextToken is opaque (signed, bound to the scope, to the stream
// creation and to the filter) and valid for 300 seconds, as AWS's are.
func (s *Service) ListShards(ctx context.Context, scope Scope, in ListShardsInput) (*ListShardsOutput, error) {
	var (
		name   string
		filter *ShardFilter
		after  = in.ExclusiveStartShardID
		tag    uint32
		useTag bool
	)
	if in.NextToken != "" {
		switch {
		case in.Stream.Name != "" || in.Stream.ARN != "":
			return nil, newError(CodeInvalidArgument, "NextToken and StreamName cannot be provided together.")
		case in.ExclusiveStartShardID != "":
			return nil, newError(CodeInvalidArgument, "NextToken and ExclusiveStartShardId cannot be provided together.")
		case in.StreamCreationTimestamp != nil:
			return nil, newError(CodeInvalidArgument, "NextToken and StreamCreationTimestamp cannot be provided together.")
		}
		tok, err := s.openToken(scope, in.NextToken, tokenListShards)
		if err != nil {
			return nil, err
		}
		name, tag, useTag, after = tok.Stream, tok.Tag, true, shardID(tok.Index)
		filter = tok.Filter
	} else {
		if in.Stream.Name == "" && in.Stream.ARN == "" {
			return nil, newError(CodeInvalidArgument, "Either NextToken or StreamName should be provided.")
		}
		n, err := resolve(scope, in.Stream)
		if err != nil {
			return nil, err
		}
		name, filter = n, in.ShardFilter
	}
	if err := s.throttle.controlCall(scope, opListShards, name); err != nil {
		return nil, err
	}
	if filter != nil {
		switch filter.Type {
		case FilterAfterShardID:
			if filter.ShardID == "" {
				return nil, newError(CodeInvalidArgument, "ShardId must be specified when ShardFilter type is AFTER_SHARD_ID.")
			}
		case FilterAtTimestamp, FilterFromTimestamp:
			if filter.Timestamp == nil {
				return nil, newError(CodeInvalidArgument, "Timestamp must be specified when ShardFilter type is %s.", filter.Type)
			}
		}
	}

	e, st, err := s.get(ctx, scope, name)
	if err != nil {
		return nil, err
	}
	rec := e.rec
	if useTag && rec.Tag != tag {
		// The stream was deleted and re-created since the token was issued.
		return nil, newError(CodeExpiredNextToken, "The NextToken has expired because the stream %s was re-created.", name)
	}
	if in.StreamCreationTimestamp != nil && !in.StreamCreationTimestamp.Truncate(time.Millisecond).Equal(rec.Created) {
		return nil, errStreamNotFound(name, scope.Account)
	}
	if st == StatusCreating {
		// AWS shows a stream's shards once it is ACTIVE.
		return &ListShardsOutput{Shards: []Shard{}}, nil
	}

	limit := in.MaxResults
	if limit <= 0 {
		limit = defaultListShards
	}
	limit = min(limit, maxListShards)

	now := s.now()
	out := &ListShardsOutput{Shards: []Shard{}}
	var last uint32
	for i := range rec.Shards {
		sh := &rec.Shards[i]
		if !afterShardID(sh.Index, after) || !shardMatches(rec, sh, filter, now, s.retention(rec)) {
			continue
		}
		if len(out.Shards) == limit {
			tok, err := s.sealToken(scope, token{Kind: tokenListShards, Stream: name, Tag: rec.Tag, Index: last, Filter: filter})
			if err != nil {
				return nil, err
			}
			out.NextToken = tok
			break
		}
		out.Shards = append(out.Shards, describeShard(rec, sh))
		last = sh.Index
	}
	return out, nil
}

// shardMatches applies a ListShards filter.
func shardMatches(rec *streamRecord, sh *shardRecord, f *ShardFilter, now time.Time, retention time.Duration) bool {
	trimHorizon := now.Add(-retention)
	// withinRetention: an open shard, or one closed so recently that
	// records it holds may still be readable.
	withinRetention := sh.open() || !sh.Closed.Before(trimHorizon)
	// openAt: the shard started at or before t and ended at or after it
	// (AWS's AT_TIMESTAMP).
	openAt := func(t time.Time) bool {
		if t.Before(rec.Created) {
			t = rec.Created
		}
		return !sh.Created.After(t) && (sh.open() || !sh.Closed.Before(t))
	}
	if f == nil {
		return withinRetention
	}
	switch f.Type {
	case FilterAfterShardID:
		return afterShardID(sh.Index, f.ShardID) && withinRetention
	case FilterAtTrimHorizon:
		return openAt(trimHorizon)
	case FilterAtLatest:
		return sh.open()
	case FilterAtTimestamp:
		return openAt(*f.Timestamp)
	case FilterFromTimestamp:
		// A timestamp before the trim horizon is corrected to it.
		t := *f.Timestamp
		if t.Before(trimHorizon) {
			t = trimHorizon
		}
		return sh.open() || !sh.Closed.Before(t)
	}
	// FROM_TRIM_HORIZON, the default.
	return withinRetention
}

// HashKeyRange is an inclusive range of 128-bit hash keys, in decimal.
type HashKeyRange struct {
	StartingHashKey string
	EndingHashKey   string
}

// SequenceNumberRange bounds the sequence numbers of a shard. Ending is
// empty while the shard is open.
type SequenceNumberRange struct {
	StartingSequenceNumber string
	EndingSequenceNumber   string
}

// Shard describes one shard. ParentShardId and AdjacentParentShardId are
// empty for shards created with the stream.
type Shard struct {
	ShardID               string
	ParentShardID         string
	AdjacentParentShardID string
	HashKeyRange          HashKeyRange
	SequenceNumberRange   SequenceNumberRange
}

// ChildShard is a shard created by splitting or merging the shard being
// read; GetRecords returns them once a closed shard has been read to its end.
type ChildShard struct {
	ShardID      string
	ParentShards []string
	HashKeyRange HashKeyRange
}

// ShardFilterType selects the shards ListShards returns.
type ShardFilterType string

const (
	FilterAfterShardID    ShardFilterType = "AFTER_SHARD_ID"
	FilterAtTrimHorizon   ShardFilterType = "AT_TRIM_HORIZON"
	FilterFromTrimHorizon ShardFilterType = "FROM_TRIM_HORIZON"
	FilterAtLatest        ShardFilterType = "AT_LATEST"
	FilterAtTimestamp     ShardFilterType = "AT_TIMESTAMP"
	FilterFromTimestamp   ShardFilterType = "FROM_TIMESTAMP"
)

// ShardFilter is ListShards' filter. ShardId is for AFTER_SHARD_ID,
// Timestamp (nil when absent) for AT_TIMESTAMP and FROM_TIMESTAMP.
type ShardFilter struct {
	Type      ShardFilterType
	ShardID   string
	Timestamp *time.Time
}

// ListShardsInput is ListShards' request. Either Stream or NextToken is
// given, not both. MaxResults is 1000 when zero and at most 1000 shards are
// returned. StreamCreationTimestamp (nil when absent) must match the
// stream's creation time to the second when given.
type ListShardsInput struct {
	Stream                  StreamRef
	NextToken               string
	ExclusiveStartShardID   string
	MaxResults              int
	StreamCreationTimestamp *time.Time
	ShardFilter             *ShardFilter
}

// ListShardsOutput is ListShards' result. NextToken is empty on the last
// page; it is opaque, bound to the scope and valid for 300 seconds.
type ListShardsOutput struct {
	Shards    []Shard
	NextToken string
}
