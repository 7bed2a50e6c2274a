package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) getResourcePolicy(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.GetResourcePolicyInput)
	doc, err := a.svc.GetResourcePolicy(ctx, scope, str(in.ResourceARN))
	if err != nil {
		return nil, err
	}
	if doc == "" {
		// A stream or consumer without a policy answers with an empty
		// document rather than an error.
		doc = "{}"
	}
	return &kinesis.GetResourcePolicyOutput{Policy: doc}, nil
}
