package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

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
