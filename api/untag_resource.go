package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) untagResource(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.UntagResourceInput)
	return nil, a.svc.UntagResource(ctx, scope, stream.UntagResourceInput{
		ResourceARN: str(in.ResourceARN),
		TagKeys:     in.TagKeys,
	})
}
