package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) listShards(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.ListShardsInput)
	sin := stream.ListShardsInput{
		Stream:                  ref(in.StreamName, in.StreamARN),
		NextToken:               str(in.NextToken),
		ExclusiveStartShardId:   str(in.ExclusiveStartShardID),
		MaxResults:              num(in.MaxResults),
		StreamCreationTimestamp: timePtr(in.StreamCreationTimestamp),
	}
	if f := in.ShardFilter; f != nil {
		sin.ShardFilter = &stream.ShardFilter{
			Type:      stream.ShardFilterType(str(f.Type)),
			ShardId:   str(f.ShardID),
			Timestamp: timePtr(f.Timestamp),
		}
	}
	l, err := a.svc.ListShards(ctx, scope, sin)
	if err != nil {
		return nil, err
	}
	return &kinesis.ListShardsOutput{Shards: shardsOut(l.Shards), NextToken: optStr(l.NextToken)}, nil
}

// shardsOut converts shards; the list is never nil because AWS always
// sends it.
func shardsOut(in []stream.Shard) []kinesis.Shard {
	out := make([]kinesis.Shard, 0, len(in))
	for _, s := range in {
		out = append(out, kinesis.Shard{
			ShardID:               s.ShardId,
			ParentShardID:         optStr(s.ParentShardId),
			AdjacentParentShardID: optStr(s.AdjacentParentShardId),
			HashKeyRange:          kinesis.HashKeyRange(s.HashKeyRange),
			SequenceNumberRange: kinesis.SequenceNumberRange{
				StartingSequenceNumber: s.SequenceNumberRange.StartingSequenceNumber,
				EndingSequenceNumber:   optStr(s.SequenceNumberRange.EndingSequenceNumber),
			},
		})
	}
	return out
}

func childShardsOut(in []stream.ChildShard) []kinesis.ChildShard {
	if len(in) == 0 {
		return nil
	}
	out := make([]kinesis.ChildShard, 0, len(in))
	for _, c := range in {
		out = append(out, kinesis.ChildShard{
			ShardID:      c.ShardId,
			ParentShards: append([]string(nil), c.ParentShards...),
			HashKeyRange: kinesis.HashKeyRange(c.HashKeyRange),
		})
	}
	return out
}

func (a *API) splitShard(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.SplitShardInput)
	return nil, a.svc.SplitShard(ctx, scope, stream.SplitShardInput{
		Stream:             ref(in.StreamName, in.StreamARN),
		ShardToSplit:       str(in.ShardToSplit),
		NewStartingHashKey: str(in.NewStartingHashKey),
	})
}

func (a *API) mergeShards(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.MergeShardsInput)
	return nil, a.svc.MergeShards(ctx, scope, stream.MergeShardsInput{
		Stream:               ref(in.StreamName, in.StreamARN),
		ShardToMerge:         str(in.ShardToMerge),
		AdjacentShardToMerge: str(in.AdjacentShardToMerge),
	})
}

func (a *API) updateShardCount(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.UpdateShardCountInput)
	out, err := a.svc.UpdateShardCount(ctx, scope, stream.UpdateShardCountInput{
		Stream:           ref(in.StreamName, in.StreamARN),
		TargetShardCount: num(in.TargetShardCount),
		ScalingType:      str(in.ScalingType),
	})
	if err != nil {
		return nil, err
	}
	return &kinesis.UpdateShardCountOutput{
		StreamName:        optStr(out.StreamName),
		StreamARN:         optStr(out.StreamARN),
		CurrentShardCount: int32Ptr(int32(out.CurrentShardCount)),
		TargetShardCount:  int32Ptr(int32(out.TargetShardCount)),
	}, nil
}
