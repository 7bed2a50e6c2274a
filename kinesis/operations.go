package kinesis

import (
	"slices"
	"strings"
)

// Operation names, as they follow TargetPrefix in X-Amz-Target: every
// operation of the Kinesis API as the AWS SDKs list it.
const (
	OpAddTagsToStream                        = "AddTagsToStream"
	OpCreateChannel                          = "CreateChannel"
	OpCreateStream                           = "CreateStream"
	OpDecreaseStreamRetentionPeriod          = "DecreaseStreamRetentionPeriod"
	OpDeleteChannel                          = "DeleteChannel"
	OpDeleteResourcePolicy                   = "DeleteResourcePolicy"
	OpDeleteStream                           = "DeleteStream"
	OpDeregisterStreamConsumer               = "DeregisterStreamConsumer"
	OpDescribeAccountSettings                = "DescribeAccountSettings"
	OpDescribeChannel                        = "DescribeChannel"
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
	OpListChannels                           = "ListChannels"
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
	OpUpdateChannel                          = "UpdateChannel"
	OpUpdateMaxRecordSize                    = "UpdateMaxRecordSize"
	OpUpdateShardCount                       = "UpdateShardCount"
	OpUpdateStreamMode                       = "UpdateStreamMode"
	OpUpdateStreamRecordDistributionStrategy = "UpdateStreamRecordDistributionStrategy"
	OpUpdateStreamWarmThroughput             = "UpdateStreamWarmThroughput"
)

// operations is the one table of the Kinesis API's operations: each name
// with the constructor of its input shape, nil for the few operations
// Tributary knows by name only (the channel operations, whose shapes it
// does not have). Every other table of operations in Tributary (the
// handlers in package api, the rules of package faults, the front end's
// routing in package server) is checked against this one or built from
// it. It is never modified.
var operations = map[string]func() Input{
	OpAddTagsToStream:                        func() Input { return new(AddTagsToStreamInput) },
	OpCreateChannel:                          nil,
	OpCreateStream:                           func() Input { return new(CreateStreamInput) },
	OpDecreaseStreamRetentionPeriod:          func() Input { return new(DecreaseStreamRetentionPeriodInput) },
	OpDeleteChannel:                          nil,
	OpDeleteResourcePolicy:                   func() Input { return new(DeleteResourcePolicyInput) },
	OpDeleteStream:                           func() Input { return new(DeleteStreamInput) },
	OpDeregisterStreamConsumer:               func() Input { return new(DeregisterStreamConsumerInput) },
	OpDescribeAccountSettings:                func() Input { return new(DescribeAccountSettingsInput) },
	OpDescribeChannel:                        nil,
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
	OpListChannels:                           nil,
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
	OpUpdateChannel:                          nil,
	OpUpdateMaxRecordSize:                    func() Input { return new(UpdateMaxRecordSizeInput) },
	OpUpdateShardCount:                       func() Input { return new(UpdateShardCountInput) },
	OpUpdateStreamMode:                       func() Input { return new(UpdateStreamModeInput) },
	OpUpdateStreamRecordDistributionStrategy: func() Input { return new(UpdateStreamRecordDistributionStrategyInput) },
	OpUpdateStreamWarmThroughput:             func() Input { return new(UpdateStreamWarmThroughputInput) },
}

// OperationOf returns the operation an X-Amz-Target names, e.g.
// "PutRecord" for "Kinesis_20131202.PutRecord", and whether this package
// has its shapes. Matching is exact, as AWS's is.
func OperationOf(target string) (string, bool) {
	op, ok := strings.CutPrefix(target, TargetPrefix)
	if !ok {
		return "", false
	}
	return op, operations[op] != nil
}

// NewInput returns an empty input shape for op, ready for DecodeRequest.
func NewInput(op string) (Input, bool) {
	mk := operations[op]
	if mk == nil {
		return nil, false
	}
	return mk(), true
}

// Operations lists the operations this package has shapes for, sorted.
func Operations() []string {
	ops := make([]string, 0, len(operations))
	for op, mk := range operations {
		if mk != nil {
			ops = append(ops, op)
		}
	}
	slices.Sort(ops)
	return ops
}

// HasShapes reports whether op names an operation this package has the
// shapes of: one that can be decoded, validated and served.
func HasShapes(op string) bool { return operations[op] != nil }

// IsOperation reports whether op names an operation of the Kinesis API,
// whether or not this package has its shapes. The front end needs to
// know: AWS answers an unknown operation and a known one differently
// before the request reaches the protocol (see package server).
func IsOperation(op string) bool {
	_, ok := operations[op]
	return ok
}
