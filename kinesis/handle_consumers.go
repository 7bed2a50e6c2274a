package kinesis

import (
	"context"

	"github.com/tributary-io/tributary/stream"
)

func consumerOut(c *stream.Consumer) Consumer {
	return Consumer{
		ConsumerName:              c.ConsumerName,
		ConsumerARN:               c.ConsumerARN,
		ConsumerStatus:            string(c.ConsumerStatus),
		ConsumerCreationTimestamp: NewTimestamp(c.ConsumerCreationTimestamp),
	}
}

func (a *API) registerStreamConsumer(ctx context.Context, scope stream.Scope, raw Input) (any, error) {
	in := raw.(*RegisterStreamConsumerInput)
	c, err := a.svc.RegisterStreamConsumer(ctx, scope, stream.RegisterStreamConsumerInput{
		StreamARN:    str(in.StreamARN),
		ConsumerName: str(in.ConsumerName),
		Tags:         in.Tags,
	})
	if err != nil {
		return nil, err
	}
	return &RegisterStreamConsumerOutput{Consumer: consumerOut(c)}, nil
}

func (a *API) describeStreamConsumer(ctx context.Context, scope stream.Scope, raw Input) (any, error) {
	in := raw.(*DescribeStreamConsumerInput)
	c, err := a.svc.DescribeStreamConsumer(ctx, scope, stream.ConsumerRef{
		ConsumerARN:  str(in.ConsumerARN),
		StreamARN:    str(in.StreamARN),
		ConsumerName: str(in.ConsumerName),
	})
	if err != nil {
		return nil, err
	}
	return &DescribeStreamConsumerOutput{ConsumerDescription: ConsumerDescription{
		ConsumerName:              c.ConsumerName,
		ConsumerARN:               c.ConsumerARN,
		ConsumerStatus:            string(c.ConsumerStatus),
		ConsumerCreationTimestamp: NewTimestamp(c.ConsumerCreationTimestamp),
		StreamARN:                 c.StreamARN,
	}}, nil
}

func (a *API) deregisterStreamConsumer(ctx context.Context, scope stream.Scope, raw Input) (any, error) {
	in := raw.(*DeregisterStreamConsumerInput)
	return nil, a.svc.DeregisterStreamConsumer(ctx, scope, stream.ConsumerRef{
		ConsumerARN:  str(in.ConsumerARN),
		StreamARN:    str(in.StreamARN),
		ConsumerName: str(in.ConsumerName),
	})
}

func (a *API) listStreamConsumers(ctx context.Context, scope stream.Scope, raw Input) (any, error) {
	in := raw.(*ListStreamConsumersInput)
	l, err := a.svc.ListStreamConsumers(ctx, scope, stream.ListStreamConsumersInput{
		StreamARN:               str(in.StreamARN),
		NextToken:               str(in.NextToken),
		MaxResults:              num(in.MaxResults),
		StreamCreationTimestamp: timePtr(in.StreamCreationTimestamp),
	})
	if err != nil {
		return nil, err
	}
	out := &ListStreamConsumersOutput{Consumers: make([]Consumer, 0, len(l.Consumers)), NextToken: optStr(l.NextToken)}
	for i := range l.Consumers {
		out.Consumers = append(out.Consumers, consumerOut(&l.Consumers[i]))
	}
	return out, nil
}
