package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) tagResource(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.TagResourceInput)
	return nil, a.svc.TagResource(ctx, scope, stream.TagResourceInput{
		ResourceARN: str(in.ResourceARN),
		Tags:        in.Tags,
	})
}
