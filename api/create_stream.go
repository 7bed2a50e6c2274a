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
