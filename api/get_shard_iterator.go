package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) getShardIterator(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.GetShardIteratorInput)
	r, err := a.svc.GetShardIterator(ctx, scope, stream.GetShardIteratorInput{
		Stream:                 ref(in.StreamName, in.StreamARN),
		ShardID:                str(in.ShardID),
		ShardIteratorType:      stream.ShardIteratorType(str(in.ShardIteratorType)),
		StartingSequenceNumber: str(in.StartingSequenceNumber),
		Timestamp:              timePtr(in.Timestamp),
		DryRun:                 flag(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &kinesis.GetShardIteratorOutput{ShardIterator: optStr(r.ShardIterator)}, nil
}
