package kinesis

// DescribeStreamSummaryInput is the input of DescribeStreamSummary.
type DescribeStreamSummaryInput struct {
	StreamName *string `json:"StreamName,omitempty"`
	StreamARN  *string `json:"StreamARN,omitempty"`
	StreamID   *string `json:"StreamId,omitempty"`
}

// DescribeStreamSummaryOutput is the output of DescribeStreamSummary.
type DescribeStreamSummaryOutput struct {
	StreamDescriptionSummary StreamDescriptionSummary `json:"StreamDescriptionSummary"`
}

// StreamDescriptionSummary describes a stream without its shards.
type StreamDescriptionSummary struct {
	StreamName                 string                `json:"StreamName"`
	StreamARN                  string                `json:"StreamARN"`
	StreamID                   *string               `json:"StreamId,omitempty"`
	StreamStatus               string                `json:"StreamStatus"`
	StreamModeDetails          *StreamModeDetails    `json:"StreamModeDetails,omitempty"`
	RetentionPeriodHours       int32                 `json:"RetentionPeriodHours"`
	StreamCreationTimestamp    Timestamp             `json:"StreamCreationTimestamp"`
	EnhancedMonitoring         []EnhancedMetrics     `json:"EnhancedMonitoring"`
	EncryptionType             *string               `json:"EncryptionType,omitempty"`
	KeyID                      *string               `json:"KeyId,omitempty"`
	OpenShardCount             int32                 `json:"OpenShardCount"`
	ConsumerCount              *int32                `json:"ConsumerCount,omitempty"`
	WarmThroughput             *WarmThroughputObject `json:"WarmThroughput,omitempty"`
	MaxRecordSizeInKiB         *int32                `json:"MaxRecordSizeInKiB,omitempty"`
	RecordDistributionStrategy *string               `json:"RecordDistributionStrategy,omitempty"`
}

// Validate checks the input against the service model.
func (in *DescribeStreamSummaryInput) Validate() *Error {
	var v validator
	v.checkStream(in.StreamARN, in.StreamID, in.StreamName)
	return v.err()
}
