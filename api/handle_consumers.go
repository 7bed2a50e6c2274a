package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func consumerOut(c *stream.Consumer) kinesis.Consumer {
	return kinesis.Consumer{
		ConsumerName:              c.ConsumerName,
		ConsumerARN:               c.ConsumerARN,
		ConsumerStatus:            string(c.ConsumerStatus),
		ConsumerCreationTimestamp: kinesis.NewTimestamp(c.ConsumerCreationTimestamp),
	}
}

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

func (a *API) deregisterStreamConsumer(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.DeregisterStreamConsumerInput)
	return nil, a.svc.DeregisterStreamConsumer(ctx, scope, stream.ConsumerRef{
		ConsumerARN:  str(in.ConsumerARN),
		StreamARN:    str(in.StreamARN),
		ConsumerName: str(in.ConsumerName),
	})
}

func (a *API) listStreamConsumers(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.ListStreamConsumersInput)
	l, err := a.svc.ListStreamConsumers(ctx, scope, stream.ListStreamConsumersInput{
		StreamARN:               str(in.StreamARN),
		NextToken:               str(in.NextToken),
		MaxResults:              num(in.MaxResults),
		StreamCreationTimestamp: timePtr(in.StreamCreationTimestamp),
	})
	if err != nil {
		return nil, err
	}
	out := &kinesis.ListStreamConsumersOutput{Consumers: make([]kinesis.Consumer, 0, len(l.Consumers)), NextToken: optStr(l.NextToken)}
	for i := range l.Consumers {
		out.Consumers = append(out.Consumers, consumerOut(&l.Consumers[i]))
	}
	return out, nil
}
