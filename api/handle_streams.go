package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) createStream(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.CreateStreamInput)
	if str(in.RecordDistributionStrategy) == kinesis.RecordDistributionAuto {
		// Every Tributary stream routes records by partition key
		// (USER_PARTITION_KEY, AWS's default). AUTO would put them
		// elsewhere, so it is refused rather than ignored. AWS refuses it
		// for provisioned streams too; the messages are ours.
		if in.StreamModeDetails != nil && str(in.StreamModeDetails.StreamMode) == kinesis.StreamModeOnDemand {
			return nil, kinesis.InvalidArgument("Tributary does not support RecordDistributionStrategy AUTO yet; streams route records by partition key (USER_PARTITION_KEY).")
		}
		return nil, kinesis.InvalidArgument("RecordDistributionStrategy AUTO is only supported for streams in ON_DEMAND capacity mode.")
	}
	sin := stream.CreateStreamInput{
		StreamName:         str(in.StreamName),
		MaxRecordSizeInKiB: num(in.MaxRecordSizeInKiB),
		Tags:               in.Tags,
	}
	if in.ShardCount != nil {
		n := int(*in.ShardCount)
		sin.ShardCount = &n
	}
	if in.StreamModeDetails != nil {
		sin.StreamMode = stream.StreamMode(str(in.StreamModeDetails.StreamMode))
	}
	return nil, a.svc.CreateStream(ctx, scope, sin)
}

func (a *API) deleteStream(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.DeleteStreamInput)
	return nil, a.svc.DeleteStream(ctx, scope, stream.DeleteStreamInput{
		Stream:                  ref(in.StreamName, in.StreamARN),
		EnforceConsumerDeletion: flag(in.EnforceConsumerDeletion),
	})
}

func (a *API) describeStream(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.DescribeStreamInput)
	d, err := a.svc.DescribeStream(ctx, scope, stream.DescribeStreamInput{
		Stream:                ref(in.StreamName, in.StreamARN),
		Limit:                 num(in.Limit),
		ExclusiveStartShardId: str(in.ExclusiveStartShardID),
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
	}}, nil
}

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
		OpenShardCount:          int32(d.OpenShardCount),
		ConsumerCount:           int32Ptr(int32(d.ConsumerCount)),
	}}
	if d.MaxRecordSizeInKiB > 0 {
		out.StreamDescriptionSummary.MaxRecordSizeInKiB = int32Ptr(int32(d.MaxRecordSizeInKiB))
	}
	return out, nil
}

func (a *API) listStreams(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.ListStreamsInput)
	l, err := a.svc.ListStreams(ctx, scope, stream.ListStreamsInput{
		Limit:                    num(in.Limit),
		ExclusiveStartStreamName: str(in.ExclusiveStartStreamName),
		NextToken:                str(in.NextToken),
	})
	if err != nil {
		return nil, err
	}
	// AWS sends both lists even when empty.
	out := &kinesis.ListStreamsOutput{
		StreamNames:     make([]string, 0, len(l.StreamNames)),
		HasMoreStreams:  l.HasMoreStreams,
		NextToken:       optStr(l.NextToken),
		StreamSummaries: make([]kinesis.StreamSummary, 0, len(l.StreamSummaries)),
	}
	out.StreamNames = append(out.StreamNames, l.StreamNames...)
	for _, s := range l.StreamSummaries {
		out.StreamSummaries = append(out.StreamSummaries, kinesis.StreamSummary{
			StreamName:              s.StreamName,
			StreamARN:               s.StreamARN,
			StreamStatus:            string(s.StreamStatus),
			StreamModeDetails:       modeDetails(s.StreamMode),
			StreamCreationTimestamp: kinesis.TimestampOf(s.StreamCreationTimestamp),
		})
	}
	return out, nil
}

func (a *API) increaseRetention(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.IncreaseStreamRetentionPeriodInput)
	return nil, a.svc.IncreaseStreamRetentionPeriod(ctx, scope, stream.RetentionInput{
		Stream:               ref(in.StreamName, in.StreamARN),
		RetentionPeriodHours: num(in.RetentionPeriodHours),
	})
}

func (a *API) decreaseRetention(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.DecreaseStreamRetentionPeriodInput)
	return nil, a.svc.DecreaseStreamRetentionPeriod(ctx, scope, stream.RetentionInput{
		Stream:               ref(in.StreamName, in.StreamARN),
		RetentionPeriodHours: num(in.RetentionPeriodHours),
	})
}

func modeDetails(m stream.StreamMode) *kinesis.StreamModeDetails {
	if m == "" {
		return nil
	}
	return &kinesis.StreamModeDetails{StreamMode: optStr(string(m))}
}

// monitoring is AWS's EnhancedMonitoring: one entry, whose metric list is
// present even when empty.
func monitoring(metrics []string) []kinesis.EnhancedMetrics {
	return []kinesis.EnhancedMetrics{{ShardLevelMetrics: append(make([]string, 0, len(metrics)), metrics...)}}
}

func (a *API) updateStreamMode(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.UpdateStreamModeInput)
	return nil, a.svc.UpdateStreamMode(ctx, scope, stream.UpdateStreamModeInput{
		Stream: stream.StreamRef{ARN: str(in.StreamARN)},
		Mode:   stream.StreamMode(str(in.StreamModeDetails.StreamMode)),
	})
}
