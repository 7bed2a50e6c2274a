package server

// knownOperation reports whether op names an operation of the Kinesis API
// (as listed by the AWS SDKs), whether or not Tributary implements it.
//
// The front end needs the list because AWS answers differently for a known
// operation and an unknown one before the request reaches the protocol
// layer: an unknown operation is reported before authentication is checked,
// and a known one sent with the wrong method gets a different error.
func knownOperation(op string) bool {
	switch op {
	case
		"AddTagsToStream",
		"CreateChannel",
		"CreateStream",
		"DecreaseStreamRetentionPeriod",
		"DeleteChannel",
		"DeleteResourcePolicy",
		"DeleteStream",
		"DeregisterStreamConsumer",
		"DescribeAccountSettings",
		"DescribeChannel",
		"DescribeLimits",
		"DescribeStream",
		"DescribeStreamConsumer",
		"DescribeStreamSummary",
		"DisableEnhancedMonitoring",
		"EnableEnhancedMonitoring",
		"GetRecords",
		"GetResourcePolicy",
		"GetShardIterator",
		"IncreaseStreamRetentionPeriod",
		"ListChannels",
		"ListShards",
		"ListStreamConsumers",
		"ListStreams",
		"ListTagsForResource",
		"ListTagsForStream",
		"MergeShards",
		"PutRecord",
		"PutRecords",
		"PutResourcePolicy",
		"RegisterStreamConsumer",
		"RemoveTagsFromStream",
		"SplitShard",
		"StartStreamEncryption",
		"StopStreamEncryption",
		"SubscribeToShard",
		"TagResource",
		"UntagResource",
		"UpdateAccountSettings",
		"UpdateChannel",
		"UpdateMaxRecordSize",
		"UpdateShardCount",
		"UpdateStreamMode",
		"UpdateStreamRecordDistributionStrategy",
		"UpdateStreamWarmThroughput":
		return true
	}
	return false
}
