package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) listTagsForStream(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.ListTagsForStreamInput)
	l, err := a.svc.ListTagsForStream(ctx, scope, stream.ListTagsForStreamInput{
		Stream:               ref(in.StreamName, in.StreamARN),
		ExclusiveStartTagKey: str(in.ExclusiveStartTagKey),
		Limit:                num(in.Limit),
	})
	if err != nil {
		return nil, err
	}
	return &kinesis.ListTagsForStreamOutput{Tags: tagsOut(l.Tags), HasMoreTags: l.HasMoreTags}, nil
}
