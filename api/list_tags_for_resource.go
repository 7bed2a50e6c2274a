package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) listTagsForResource(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.ListTagsForResourceInput)
	l, err := a.svc.ListTagsForResource(ctx, scope, stream.ListTagsForResourceInput{
		ResourceARN: str(in.ResourceARN),
	})
	if err != nil {
		return nil, err
	}
	return &kinesis.ListTagsForResourceOutput{Tags: tagsOut(l.Tags)}, nil
}
