package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) registerStreamConsumer(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.RegisterStreamConsumerInput)
	c, err := a.svc.RegisterStreamConsumer(ctx, scope, stream.RegisterStreamConsumerInput{
		StreamARN:    str(in.StreamARN),
		ConsumerName: str(in.ConsumerName),
		Tags:         in.Tags,
	})
	if err != nil {
		return nil, err
	}
	return &kinesis.RegisterStreamConsumerOutput{Consumer: consumerOut(c)}, nil
}
