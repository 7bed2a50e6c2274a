package producer

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/tributary-io/tributary/kpl"
)

// ShardLister is the part of *kinesis.Client a shard map is read with.
type ShardLister interface {
	ListShards(ctx context.Context, in *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
}

// Shard is an open shard and its inclusive range of hash keys.
type Shard struct {
	ID         string
	Start, End kpl.HashKey
}

// ShardMap is a snapshot of a stream's open shards. The producer uses it
// to predict where a record will land, so that it can aggregate the
// records of one shard together and address the aggregate with an
// explicit hash key inside that shard. A prediction can be wrong after a
// reshard the map has not seen; Kinesis routes every record by its hash
// key all the same, so a wrong prediction costs only a refresh, never a
// record (see Lookup).
type ShardMap struct {
	shards []Shard // sorted by Start; they tile [0, 2^128) exactly
}

// listPageSize is how many shards one ListShards call asks for; tests
// make it small to exercise paging.
var listPageSize int32 = 1000

// ErrIncompleteMap is returned when the open shards listed do not tile the
// hash key space, as while a reshard is between its steps; the caller
// tries again a moment later.
var ErrIncompleteMap = errors.New("the open shards do not cover the hash key space")

// FetchShardMap lists the open shards of the stream named by streamARN
// (an ARN, as AWS recommends) or, when it is not an ARN, by name. It
// asks only for open shards (ShardFilter AT_LATEST), page by page.
func FetchShardMap(ctx context.Context, c ShardLister, stream string) (*ShardMap, error) {
	shards, err := listShards(ctx, c, stream, &types.ShardFilter{Type: types.ShardFilterTypeAtLatest})
	if err != nil {
		return nil, err
	}
	return newShardMap(shards)
}

// listAllShards lists every shard of the stream, closed ones too.
func listAllShards(ctx context.Context, c ShardLister, stream string) ([]Shard, error) {
	return listShards(ctx, c, stream, nil)
}

// listShards lists the stream's shards that filter selects (all when nil),
// page by page; with the AT_LATEST filter, only open ones.
func listShards(ctx context.Context, c ShardLister, stream string, filter *types.ShardFilter) ([]Shard, error) {
	in := &kinesis.ListShardsInput{MaxResults: aws.Int32(listPageSize), ShardFilter: filter}
	if isARN(stream) {
		in.StreamARN = aws.String(stream)
	} else {
		in.StreamName = aws.String(stream)
	}
	var shards []Shard
	for {
		out, err := c.ListShards(ctx, in, safeBodies)
		if err != nil {
			return nil, fmt.Errorf("list shards of %s: %w", stream, err)
		}
		for _, s := range out.Shards {
			if filter != nil && s.SequenceNumberRange != nil && s.SequenceNumberRange.EndingSequenceNumber != nil {
				continue // closed: AT_LATEST should not list it, but be sure
			}
			sh, err := shardOf(s)
			if err != nil {
				return nil, err
			}
			shards = append(shards, sh)
		}
		if out.NextToken == nil {
			break
		}
		// A continued listing names neither the stream nor the filter:
		// the token carries them, and AWS refuses both together.
		in = &kinesis.ListShardsInput{NextToken: out.NextToken, MaxResults: aws.Int32(listPageSize)}
	}
	return shards, nil
}

func shardOf(s types.Shard) (Shard, error) {
	if s.ShardId == nil || s.HashKeyRange == nil {
		return Shard{}, fmt.Errorf("ListShards returned a shard without an id or a hash key range")
	}
	start, err := kpl.ParseHashKey(aws.ToString(s.HashKeyRange.StartingHashKey))
	if err != nil {
		return Shard{}, fmt.Errorf("shard %s: starting hash key: %w", *s.ShardId, err)
	}
	end, err := kpl.ParseHashKey(aws.ToString(s.HashKeyRange.EndingHashKey))
	if err != nil {
		return Shard{}, fmt.Errorf("shard %s: ending hash key: %w", *s.ShardId, err)
	}
	return Shard{ID: *s.ShardId, Start: start, End: end}, nil
}

// newShardMap sorts shards and checks that they tile the hash key space:
// the first starts at 0, each starts one past the end of the one before,
// the last ends at 2^128-1.
func newShardMap(shards []Shard) (*ShardMap, error) {
	slices.SortFunc(shards, func(a, b Shard) int { return a.Start.Cmp(b.Start) })
	next := kpl.HashKey{}
	for i, s := range shards {
		if s.Start != next || s.End.Cmp(s.Start) < 0 {
			return nil, fmt.Errorf("%w: shard %s starts at %s, want %s", ErrIncompleteMap, s.ID, s.Start, next)
		}
		if i == len(shards)-1 {
			if s.End != (kpl.MaxHashKey) {
				return nil, fmt.Errorf("%w: the last shard, %s, ends at %s", ErrIncompleteMap, s.ID, s.End)
			}
			return &ShardMap{shards: shards}, nil
		}
		next = s.End.Next()
	}
	return nil, fmt.Errorf("%w: no open shard", ErrIncompleteMap)
}

// Lookup returns the open shard whose range holds k.
func (m *ShardMap) Lookup(k kpl.HashKey) Shard {
	i, _ := slices.BinarySearchFunc(m.shards, k, func(s Shard, k kpl.HashKey) int {
		switch {
		case s.End.Cmp(k) < 0:
			return -1
		case s.Start.Cmp(k) > 0:
			return 1
		}
		return 0
	})
	return m.shards[i]
}

// Shards returns the open shards in hash key order.
func (m *ShardMap) Shards() []Shard { return slices.Clone(m.shards) }

func isARN(s string) bool { return len(s) > 4 && s[:4] == "arn:" }
