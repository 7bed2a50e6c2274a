package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) enableEnhancedMonitoring(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.EnableEnhancedMonitoringInput)
	r, err := a.svc.EnableEnhancedMonitoring(ctx, scope, stream.EnhancedMonitoringInput{
		Stream:            ref(in.StreamName, in.StreamARN),
		ShardLevelMetrics: in.ShardLevelMetrics,
	})
	if err != nil {
		return nil, err
	}
	return monitoringOut(r), nil
}

// monitoringOut is the answer of EnableEnhancedMonitoring and
// DisableEnhancedMonitoring; both lists are always sent, as AWS does.
func monitoringOut(r *stream.EnhancedMonitoringOutput) *kinesis.EnhancedMonitoringOutput {
	return &kinesis.EnhancedMonitoringOutput{
		StreamName:               optStr(r.StreamName),
		StreamARN:                optStr(r.StreamARN),
		CurrentShardLevelMetrics: append(make([]string, 0, len(r.CurrentShardLevelMetrics)), r.CurrentShardLevelMetrics...),
		DesiredShardLevelMetrics: append(make([]string, 0, len(r.DesiredShardLevelMetrics)), r.DesiredShardLevelMetrics...),
	}
}
