package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

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
