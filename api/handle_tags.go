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

func (a *API) removeTagsFromStream(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.RemoveTagsFromStreamInput)
	return nil, a.svc.RemoveTagsFromStream(ctx, scope, stream.RemoveTagsFromStreamInput{
		Stream:  ref(in.StreamName, in.StreamARN),
		TagKeys: in.TagKeys,
	})
}

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

func (a *API) tagResource(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.TagResourceInput)
	return nil, a.svc.TagResource(ctx, scope, stream.TagResourceInput{
		ResourceARN: str(in.ResourceARN),
		Tags:        in.Tags,
	})
}

func (a *API) untagResource(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.UntagResourceInput)
	return nil, a.svc.UntagResource(ctx, scope, stream.UntagResourceInput{
		ResourceARN: str(in.ResourceARN),
		TagKeys:     in.TagKeys,
	})
}

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

// tagsOut converts tags; the list is never nil because AWS always sends
// it.
func tagsOut(in []stream.Tag) []kinesis.Tag {
	out := make([]kinesis.Tag, 0, len(in))
	for _, t := range in {
		v := t.Value
		out = append(out, kinesis.Tag{Key: t.Key, Value: &v})
	}
	return out
}
