package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) splitShard(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.SplitShardInput)
	return nil, a.svc.SplitShard(ctx, scope, stream.SplitShardInput{
		Stream:             ref(in.StreamName, in.StreamARN),
		ShardToSplit:       str(in.ShardToSplit),
		NewStartingHashKey: str(in.NewStartingHashKey),
	})
}
