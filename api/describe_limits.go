package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) describeLimits(ctx context.Context, scope stream.Scope, _ kinesis.Input) (any, error) {
	l, err := a.svc.DescribeLimits(ctx, scope)
	if err != nil {
		return nil, err
	}
	return &kinesis.DescribeLimitsOutput{
		ShardLimit:               int32(l.ShardLimit),
		OpenShardCount:           int32(l.OpenShardCount),
		OnDemandStreamCount:      int32(l.OnDemandStreamCount),
		OnDemandStreamCountLimit: int32(l.OnDemandStreamCountLimit),
	}, nil
}
