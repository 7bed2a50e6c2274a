package kinesis

import (
	"slices"
	"strings"
)

// Operation names, as they follow TargetPrefix in X-Amz-Target.
const (
	OpAddTagsToStream                        = "AddTagsToStream"
	OpCreateStream                           = "CreateStream"
	OpDecreaseStreamRetentionPeriod          = "DecreaseStreamRetentionPeriod"
	OpDeleteResourcePolicy                   = "DeleteResourcePolicy"
	OpDeleteStream                           = "DeleteStream"
	OpDeregisterStreamConsumer               = "DeregisterStreamConsumer"
	OpDescribeAccountSettings                = "DescribeAccountSettings"
	OpDescribeLimits                         = "DescribeLimits"
	OpDescribeStream                         = "DescribeStream"
	OpDescribeStreamConsumer                 = "DescribeStreamConsumer"
	OpDescribeStreamSummary                  = "DescribeStreamSummary"
	OpDisableEnhancedMonitoring              = "DisableEnhancedMonitoring"
	OpEnableEnhancedMonitoring               = "EnableEnhancedMonitoring"
	OpGetRecords                             = "GetRecords"
	OpGetResourcePolicy                      = "GetResourcePolicy"
	OpGetShardIterator                       = "GetShardIterator"
	OpIncreaseStreamRetentionPeriod          = "IncreaseStreamRetentionPeriod"
	OpListShards                             = "ListShards"
	OpListStreamConsumers                    = "ListStreamConsumers"
	OpListStreams                            = "ListStreams"
	OpListTagsForResource                    = "ListTagsForResource"
	OpListTagsForStream                      = "ListTagsForStream"
	OpMergeShards                            = "MergeShards"
	OpPutRecord                              = "PutRecord"
	OpPutRecords                             = "PutRecords"
	OpPutResourcePolicy                      = "PutResourcePolicy"
	OpRegisterStreamConsumer                 = "RegisterStreamConsumer"
	OpRemoveTagsFromStream                   = "RemoveTagsFromStream"
	OpSplitShard                             = "SplitShard"
	OpStartStreamEncryption                  = "StartStreamEncryption"
	OpStopStreamEncryption                   = "StopStreamEncryption"
	OpSubscribeToShard                       = "SubscribeToShard"
	OpTagResource                            = "TagResource"
	OpUntagResource                          = "UntagResource"
	OpUpdateAccountSettings                  = "UpdateAccountSettings"
	OpUpdateMaxRecordSize                    = "UpdateMaxRecordSize"
	OpUpdateShardCount                       = "UpdateShardCount"
	OpUpdateStreamMode                       = "UpdateStreamMode"
	OpUpdateStreamRecordDistributionStrategy = "UpdateStreamRecordDistributionStrategy"
	OpUpdateStreamWarmThroughput             = "UpdateStreamWarmThroughput"
)

// inputs makes an empty input shape per operation. It is the one list of
// operations this package knows; it is never modified.
var inputs = map[string]func() Input{
	OpAddTagsToStream:                        func() Input { return new(AddTagsToStreamInput) },
	OpCreateStream:                           func() Input { return new(CreateStreamInput) },
	OpDecreaseStreamRetentionPeriod:          func() Input { return new(DecreaseStreamRetentionPeriodInput) },
	OpDeleteResourcePolicy:                   func() Input { return new(DeleteResourcePolicyInput) },
	OpDeleteStream:                           func() Input { return new(DeleteStreamInput) },
	OpDeregisterStreamConsumer:               func() Input { return new(DeregisterStreamConsumerInput) },
	OpDescribeAccountSettings:                func() Input { return new(DescribeAccountSettingsInput) },
	OpDescribeLimits:                         func() Input { return new(DescribeLimitsInput) },
	OpDescribeStream:                         func() Input { return new(DescribeStreamInput) },
	OpDescribeStreamConsumer:                 func() Input { return new(DescribeStreamConsumerInput) },
	OpDescribeStreamSummary:                  func() Input { return new(DescribeStreamSummaryInput) },
	OpDisableEnhancedMonitoring:              func() Input { return new(DisableEnhancedMonitoringInput) },
	OpEnableEnhancedMonitoring:               func() Input { return new(EnableEnhancedMonitoringInput) },
	OpGetRecords:                             func() Input { return new(GetRecordsInput) },
	OpGetResourcePolicy:                      func() Input { return new(GetResourcePolicyInput) },
	OpGetShardIterator:                       func() Input { return new(GetShardIteratorInput) },
	OpIncreaseStreamRetentionPeriod:          func() Input { return new(IncreaseStreamRetentionPeriodInput) },
	OpListShards:                             func() Input { return new(ListShardsInput) },
	OpListStreamConsumers:                    func() Input { return new(ListStreamConsumersInput) },
	OpListStreams:                            func() Input { return new(ListStreamsInput) },
	OpListTagsForResource:                    func() Input { return new(ListTagsForResourceInput) },
	OpListTagsForStream:                      func() Input { return new(ListTagsForStreamInput) },
	OpMergeShards:                            func() Input { return new(MergeShardsInput) },
	OpPutRecord:                              func() Input { return new(PutRecordInput) },
	OpPutRecords:                             func() Input { return new(PutRecordsInput) },
	OpPutResourcePolicy:                      func() Input { return new(PutResourcePolicyInput) },
	OpRegisterStreamConsumer:                 func() Input { return new(RegisterStreamConsumerInput) },
	OpRemoveTagsFromStream:                   func() Input { return new(RemoveTagsFromStreamInput) },
	OpSplitShard:                             func() Input { return new(SplitShardInput) },
	OpStartStreamEncryption:                  func() Input { return new(StartStreamEncryptionInput) },
	OpStopStreamEncryption:                   func() Input { return new(StopStreamEncryptionInput) },
	OpSubscribeToShard:                       func() Input { return new(SubscribeToShardInput) },
	OpTagResource:                            func() Input { return new(TagResourceInput) },
	OpUntagResource:                          func() Input { return new(UntagResourceInput) },
	OpUpdateAccountSettings:                  func() Input { return new(UpdateAccountSettingsInput) },
	OpUpdateMaxRecordSize:                    func() Input { return new(UpdateMaxRecordSizeInput) },
	OpUpdateShardCount:                       func() Input { return new(UpdateShardCountInput) },
	OpUpdateStreamMode:                       func() Input { return new(UpdateStreamModeInput) },
	OpUpdateStreamRecordDistributionStrategy: func() Input { return new(UpdateStreamRecordDistributionStrategyInput) },
	OpUpdateStreamWarmThroughput:             func() Input { return new(UpdateStreamWarmThroughputInput) },
}

// OperationOf returns the operation an X-Amz-Target names, e.g.
// "PutRecord" for "Kinesis_20131202.PutRecord", and whether it is one this
// package knows. Matching is exact, as AWS's is.
func OperationOf(target string) (string, bool) {
	op, ok := strings.CutPrefix(target, TargetPrefix)
	if !ok {
		return "", false
	}
	_, known := inputs[op]
	return op, known
}

// NewInput returns an empty input shape for op, ready for DecodeRequest.
func NewInput(op string) (Input, bool) {
	mk, ok := inputs[op]
	if !ok {
		return nil, false
	}
	return mk(), true
}

// Operations lists the operations this package has shapes for, sorted.
func Operations() []string {
	ops := make([]string, 0, len(inputs))
	for op := range inputs {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	return ops
}
