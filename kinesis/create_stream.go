package kinesis

// CreateStreamInput is the input of CreateStream; the operation has no
// output.
type CreateStreamInput struct {
	StreamName                 *string            `json:"StreamName,omitempty"`
	ShardCount                 *int32             `json:"ShardCount,omitempty"`
	StreamModeDetails          *StreamModeDetails `json:"StreamModeDetails,omitempty"`
	Tags                       map[string]string  `json:"Tags,omitempty"`
	WarmThroughputMiBps        *int32             `json:"WarmThroughputMiBps,omitempty"`
	MaxRecordSizeInKiB         *int32             `json:"MaxRecordSizeInKiB,omitempty"`
	RecordDistributionStrategy *string            `json:"RecordDistributionStrategy,omitempty"`
}

// Validate checks the input against the service model.
func (in *CreateStreamInput) Validate() *Error {
	var v validator
	v.checkInt("maxRecordSizeInKiB", in.MaxRecordSizeInKiB, false, shapeMaxRecordSize)
	v.checkString("recordDistributionStrategy", in.RecordDistributionStrategy, false, &shapeDistribution)
	v.checkInt("shardCount", in.ShardCount, false, shapePositive)
	if v.checkPresent("streamModeDetails", in.StreamModeDetails != nil, false) {
		v.checkString("streamModeDetails.streamMode", in.StreamModeDetails.StreamMode, true, &shapeStreamMode)
	}
	v.checkString("streamName", in.StreamName, true, &shapeStreamName)
	v.checkTags("tags", in.Tags, false)
	v.checkInt("warmThroughputMiBps", in.WarmThroughputMiBps, false, shapeNatural)
	return v.err()
}
