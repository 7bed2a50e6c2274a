package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) describeStream(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.DescribeStreamInput)
	d, err := a.svc.DescribeStream(ctx, scope, stream.DescribeStreamInput{
		Stream:                ref(in.StreamName, in.StreamARN),
		Limit:                 num(in.Limit),
		ExclusiveStartShardID: str(in.ExclusiveStartShardID),
	})
	if err != nil {
		return nil, err
	}
	return &kinesis.DescribeStreamOutput{StreamDescription: kinesis.StreamDescription{
		StreamName:              d.StreamName,
		StreamARN:               d.StreamARN,
		StreamStatus:            string(d.StreamStatus),
		StreamModeDetails:       modeDetails(d.StreamMode),
		Shards:                  shardsOut(d.Shards),
		HasMoreShards:           d.HasMoreShards,
		RetentionPeriodHours:    int32(d.RetentionPeriodHours),
		StreamCreationTimestamp: kinesis.NewTimestamp(d.StreamCreationTimestamp),
		EnhancedMonitoring:      monitoring(d.ShardLevelMetrics),
		EncryptionType:          optStr(d.EncryptionType),
		KeyID:                   optStr(d.KeyID),
	}}, nil
}
