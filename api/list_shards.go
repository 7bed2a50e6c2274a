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
		ExclusiveStartShardID:   str(in.ExclusiveStartShardID),
		MaxResults:              num(in.MaxResults),
		StreamCreationTimestamp: timePtr(in.StreamCreationTimestamp),
	}
	if f := in.ShardFilter; f != nil {
		sin.ShardFilter = &stream.ShardFilter{
			Type:      stream.ShardFilterType(str(f.Type)),
			ShardID:   str(f.ShardID),
			Timestamp: timePtr(f.Timestamp),
		}
	}
	l, err := a.svc.ListShards(ctx, scope, sin)
	if err != nil {
		return nil, err
	}
	return &kinesis.ListShardsOutput{Shards: shardsOut(l.Shards), NextToken: optStr(l.NextToken)}, nil
}
