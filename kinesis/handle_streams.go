package kinesis

import (
	"context"

	"github.com/tributary-io/tributary/stream"
)

func (a *API) createStream(ctx context.Context, scope stream.Scope, raw Input) (any, error) {
	in := raw.(*CreateStreamInput)
	if str(in.RecordDistributionStrategy) == RecordDistributionAuto {
		// Every Tributary stream routes records by partition key
		// (USER_PARTITION_KEY, AWS's default). AUTO would put them
		// elsewhere, so it is refused rather than ignored. AWS refuses it
		// for provisioned streams too; the messages are ours.
		if in.StreamModeDetails != nil && str(in.StreamModeDetails.StreamMode) == StreamModeOnDemand {
			return nil, InvalidArgument("Tributary does not support RecordDistributionStrategy AUTO yet; streams route records by partition key (USER_PARTITION_KEY).")
		}
		return nil, InvalidArgument("RecordDistributionStrategy AUTO is only supported for streams in ON_DEMAND capacity mode.")
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

func (a *API) deleteStream(ctx context.Context, scope stream.Scope, raw Input) (any, error) {
	in := raw.(*DeleteStreamInput)
	return nil, a.svc.DeleteStream(ctx, scope, stream.DeleteStreamInput{
		Stream:                  ref(in.StreamName, in.StreamARN),
		EnforceConsumerDeletion: flag(in.EnforceConsumerDeletion),
	})
}

func (a *API) describeStream(ctx context.Context, scope stream.Scope, raw Input) (any, error) {
	in := raw.(*DescribeStreamInput)
	d, err := a.svc.DescribeStream(ctx, scope, stream.DescribeStreamInput{
		Stream:                ref(in.StreamName, in.StreamARN),
		Limit:                 num(in.Limit),
		ExclusiveStartShardId: str(in.ExclusiveStartShardID),
	})
	if err != nil {
		return nil, err
	}
	return &DescribeStreamOutput{StreamDescription: StreamDescription{
		StreamName:              d.StreamName,
		StreamARN:               d.StreamARN,
		StreamStatus:            string(d.StreamStatus),
		StreamModeDetails:       modeDetails(d.StreamMode),
		Shards:                  shardsOut(d.Shards),
		HasMoreShards:           d.HasMoreShards,
		RetentionPeriodHours:    int32(d.RetentionPeriodHours),
		StreamCreationTimestamp: NewTimestamp(d.StreamCreationTimestamp),
		EnhancedMonitoring:      monitoring(d.ShardLevelMetrics),
		EncryptionType:          optStr(d.EncryptionType),
	}}, nil
}

func (a *API) describeStreamSummary(ctx context.Context, scope stream.Scope, raw Input) (any, error) {
	in := raw.(*DescribeStreamSummaryInput)
	d, err := a.svc.DescribeStreamSummary(ctx, scope, ref(in.StreamName, in.StreamARN))
	if err != nil {
		return nil, err
	}
	out := &DescribeStreamSummaryOutput{StreamDescriptionSummary: StreamDescriptionSummary{
		StreamName:              d.StreamName,
		StreamARN:               d.StreamARN,
		StreamStatus:            string(d.StreamStatus),
		StreamModeDetails:       modeDetails(d.StreamMode),
		RetentionPeriodHours:    int32(d.RetentionPeriodHours),
		StreamCreationTimestamp: NewTimestamp(d.StreamCreationTimestamp),
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

func (a *API) listStreams(ctx context.Context, scope stream.Scope, raw Input) (any, error) {
	in := raw.(*ListStreamsInput)
	l, err := a.svc.ListStreams(ctx, scope, stream.ListStreamsInput{
		Limit:                    num(in.Limit),
		ExclusiveStartStreamName: str(in.ExclusiveStartStreamName),
		NextToken:                str(in.NextToken),
	})
	if err != nil {
		return nil, err
	}
	// AWS sends both lists even when empty.
	out := &ListStreamsOutput{
		StreamNames:     make([]string, 0, len(l.StreamNames)),
		HasMoreStreams:  l.HasMoreStreams,
		NextToken:       optStr(l.NextToken),
		StreamSummaries: make([]StreamSummary, 0, len(l.StreamSummaries)),
	}
	out.StreamNames = append(out.StreamNames, l.StreamNames...)
	for _, s := range l.StreamSummaries {
		out.StreamSummaries = append(out.StreamSummaries, StreamSummary{
			StreamName:              s.StreamName,
			StreamARN:               s.StreamARN,
			StreamStatus:            string(s.StreamStatus),
			StreamModeDetails:       modeDetails(s.StreamMode),
			StreamCreationTimestamp: TimestampOf(s.StreamCreationTimestamp),
		})
	}
	return out, nil
}

func (a *API) increaseRetention(ctx context.Context, scope stream.Scope, raw Input) (any, error) {
	in := raw.(*IncreaseStreamRetentionPeriodInput)
	return nil, a.svc.IncreaseStreamRetentionPeriod(ctx, scope, stream.RetentionInput{
		Stream:               ref(in.StreamName, in.StreamARN),
		RetentionPeriodHours: num(in.RetentionPeriodHours),
	})
}

func (a *API) decreaseRetention(ctx context.Context, scope stream.Scope, raw Input) (any, error) {
	in := raw.(*DecreaseStreamRetentionPeriodInput)
	return nil, a.svc.DecreaseStreamRetentionPeriod(ctx, scope, stream.RetentionInput{
		Stream:               ref(in.StreamName, in.StreamARN),
		RetentionPeriodHours: num(in.RetentionPeriodHours),
	})
}

func modeDetails(m stream.StreamMode) *StreamModeDetails {
	if m == "" {
		return nil
	}
	return &StreamModeDetails{StreamMode: optStr(string(m))}
}

// monitoring is AWS's EnhancedMonitoring: one entry, whose metric list is
// present even when empty.
func monitoring(metrics []string) []EnhancedMetrics {
	return []EnhancedMetrics{{ShardLevelMetrics: append(make([]string, 0, len(metrics)), metrics...)}}
}

func (a *API) updateStreamMode(ctx context.Context, scope stream.Scope, raw Input) (any, error) {
	in := raw.(*UpdateStreamModeInput)
	return nil, a.svc.UpdateStreamMode(ctx, scope, stream.UpdateStreamModeInput{
		Stream: stream.StreamRef{ARN: str(in.StreamARN)},
		Mode:   stream.StreamMode(str(in.StreamModeDetails.StreamMode)),
	})
}
