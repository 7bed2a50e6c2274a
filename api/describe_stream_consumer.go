package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) describeStreamConsumer(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.DescribeStreamConsumerInput)
	c, err := a.svc.DescribeStreamConsumer(ctx, scope, stream.ConsumerRef{
		ConsumerARN:  str(in.ConsumerARN),
		StreamARN:    str(in.StreamARN),
		ConsumerName: str(in.ConsumerName),
	})
	if err != nil {
		return nil, err
	}
	return &kinesis.DescribeStreamConsumerOutput{ConsumerDescription: kinesis.ConsumerDescription{
		ConsumerName:              c.ConsumerName,
		ConsumerARN:               c.ConsumerARN,
		ConsumerStatus:            string(c.ConsumerStatus),
		ConsumerCreationTimestamp: kinesis.NewTimestamp(c.ConsumerCreationTimestamp),
		StreamARN:                 c.StreamARN,
	}}, nil
}
