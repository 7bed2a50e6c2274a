package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) decreaseRetention(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.DecreaseStreamRetentionPeriodInput)
	return nil, a.svc.DecreaseStreamRetentionPeriod(ctx, scope, stream.RetentionInput{
		Stream:               ref(in.StreamName, in.StreamARN),
		RetentionPeriodHours: num(in.RetentionPeriodHours),
	})
}
