package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) deleteStream(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.DeleteStreamInput)
	return nil, a.svc.DeleteStream(ctx, scope, stream.DeleteStreamInput{
		Stream:                  ref(in.StreamName, in.StreamARN),
		EnforceConsumerDeletion: flag(in.EnforceConsumerDeletion),
	})
}
