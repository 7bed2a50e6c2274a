package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) deleteResourcePolicy(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.DeleteResourcePolicyInput)
	return nil, a.svc.DeleteResourcePolicy(ctx, scope, str(in.ResourceARN))
}
