package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) deregisterStreamConsumer(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.DeregisterStreamConsumerInput)
	return nil, a.svc.DeregisterStreamConsumer(ctx, scope, stream.ConsumerRef{
		ConsumerARN:  str(in.ConsumerARN),
		StreamARN:    str(in.StreamARN),
		ConsumerName: str(in.ConsumerName),
	})
}
