package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) describeStreamSummary(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.DescribeStreamSummaryInput)
	d, err := a.svc.DescribeStreamSummary(ctx, scope, ref(in.StreamName, in.StreamARN))
	if err != nil {
		return nil, err
	}
	out := &kinesis.DescribeStreamSummaryOutput{StreamDescriptionSummary: kinesis.StreamDescriptionSummary{
		StreamName:              d.StreamName,
		StreamARN:               d.StreamARN,
		StreamStatus:            string(d.StreamStatus),
		StreamModeDetails:       modeDetails(d.StreamMode),
		RetentionPeriodHours:    int32(d.RetentionPeriodHours),
		StreamCreationTimestamp: kinesis.NewTimestamp(d.StreamCreationTimestamp),
		EnhancedMonitoring:      monitoring(d.ShardLevelMetrics),
		EncryptionType:          optStr(d.EncryptionType),
		KeyID:                   optStr(d.KeyID),
		OpenShardCount:          int32(d.OpenShardCount),
		ConsumerCount:           int32Ptr(int32(d.ConsumerCount)),
	}}
	if d.MaxRecordSizeInKiB > 0 {
		out.StreamDescriptionSummary.MaxRecordSizeInKiB = int32Ptr(int32(d.MaxRecordSizeInKiB))
	}
	return out, nil
}
