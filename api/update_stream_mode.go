package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) updateStreamMode(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.UpdateStreamModeInput)
	return nil, a.svc.UpdateStreamMode(ctx, scope, stream.UpdateStreamModeInput{
		Stream: stream.StreamRef{ARN: str(in.StreamARN)},
		Mode:   stream.StreamMode(str(in.StreamModeDetails.StreamMode)),
	})
}
