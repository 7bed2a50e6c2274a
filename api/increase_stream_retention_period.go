package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) increaseRetention(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.IncreaseStreamRetentionPeriodInput)
	return nil, a.svc.IncreaseStreamRetentionPeriod(ctx, scope, stream.RetentionInput{
		Stream:               ref(in.StreamName, in.StreamARN),
		RetentionPeriodHours: num(in.RetentionPeriodHours),
	})
}
