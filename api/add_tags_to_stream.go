package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) addTagsToStream(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.AddTagsToStreamInput)
	return nil, a.svc.AddTagsToStream(ctx, scope, stream.AddTagsToStreamInput{
		Stream: ref(in.StreamName, in.StreamARN),
		Tags:   in.Tags,
	})
}
