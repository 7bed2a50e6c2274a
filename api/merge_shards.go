package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) mergeShards(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.MergeShardsInput)
	return nil, a.svc.MergeShards(ctx, scope, stream.MergeShardsInput{
		Stream:               ref(in.StreamName, in.StreamARN),
		ShardToMerge:         str(in.ShardToMerge),
		AdjacentShardToMerge: str(in.AdjacentShardToMerge),
	})
}
