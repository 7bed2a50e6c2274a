package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) updateMaxRecordSize(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.UpdateMaxRecordSizeInput)
	return nil, a.svc.UpdateMaxRecordSize(ctx, scope, stream.UpdateMaxRecordSizeInput{
		Stream:             stream.StreamRef{ARN: str(in.StreamARN)},
		MaxRecordSizeInKiB: num(in.MaxRecordSizeInKiB),
	})
}
