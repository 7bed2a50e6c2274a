package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) disableEnhancedMonitoring(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.DisableEnhancedMonitoringInput)
	r, err := a.svc.DisableEnhancedMonitoring(ctx, scope, stream.EnhancedMonitoringInput{
		Stream:            ref(in.StreamName, in.StreamARN),
		ShardLevelMetrics: in.ShardLevelMetrics,
	})
	if err != nil {
		return nil, err
	}
	return monitoringOut(r), nil
}
