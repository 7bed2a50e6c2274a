package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) removeTagsFromStream(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.RemoveTagsFromStreamInput)
	return nil, a.svc.RemoveTagsFromStream(ctx, scope, stream.RemoveTagsFromStreamInput{
		Stream:  ref(in.StreamName, in.StreamARN),
		TagKeys: in.TagKeys,
	})
}
