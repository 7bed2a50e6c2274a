package kinesis

// Shapes of the stream lifecycle and configuration operations. Member
// names and order follow the Kinesis service model (2013-12-02).
//
// Conventions for every shape in this package: in inputs, every member is
// a pointer, slice or map so that an absent member (or a JSON null) stays
// distinguishable from a zero value; in outputs, a required member is a
// plain value that is always written (nil slices as []), and an optional
// member is a pointer, or a slice tagged omitempty, left out when unset.

// Stream statuses.
const (
	StreamStatusCreating = "CREATING"
	StreamStatusDeleting = "DELETING"
	StreamStatusActive   = "ACTIVE"
	StreamStatusUpdating = "UPDATING"
)

// Capacity modes (StreamMode).
const (
	StreamModeProvisioned = "PROVISIONED"
	StreamModeOnDemand    = "ON_DEMAND"
)

// Encryption types.
const (
	EncryptionTypeNone = "NONE"
	EncryptionTypeKMS  = "KMS"
)

// Record distribution strategies.
const (
	RecordDistributionAuto             = "AUTO"
	RecordDistributionUserPartitionKey = "USER_PARTITION_KEY"
)

// Shard-level metric names (MetricsName).
const (
	MetricIncomingBytes                      = "IncomingBytes"
	MetricIncomingRecords                    = "IncomingRecords"
	MetricOutgoingBytes                      = "OutgoingBytes"
	MetricOutgoingRecords                    = "OutgoingRecords"
	MetricWriteProvisionedThroughputExceeded = "WriteProvisionedThroughputExceeded"
	MetricReadProvisionedThroughputExceeded  = "ReadProvisionedThroughputExceeded"
	MetricIteratorAgeMilliseconds            = "IteratorAgeMilliseconds"
	MetricAll                                = "ALL"
)

// StreamModeDetails is the capacity mode of a stream.
type StreamModeDetails struct {
	StreamMode *string `json:"StreamMode,omitempty"`
}

// EnhancedMetrics lists the shard-level metrics enabled on a stream.
type EnhancedMetrics struct {
	ShardLevelMetrics []string `json:"ShardLevelMetrics"`
}

// WarmThroughputObject is the warm throughput of an on-demand stream.
type WarmThroughputObject struct {
	TargetMiBps  *int32 `json:"TargetMiBps,omitempty"`
	CurrentMiBps *int32 `json:"CurrentMiBps,omitempty"`
}

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

// DeleteStreamInput is the input of DeleteStream; no output.
type DeleteStreamInput struct {
	StreamName              *string `json:"StreamName,omitempty"`
	EnforceConsumerDeletion *bool   `json:"EnforceConsumerDeletion,omitempty"`
	StreamARN               *string `json:"StreamARN,omitempty"`
	StreamID                *string `json:"StreamId,omitempty"`
}

// DescribeStreamInput is the input of DescribeStream.
type DescribeStreamInput struct {
	StreamName            *string `json:"StreamName,omitempty"`
	Limit                 *int32  `json:"Limit,omitempty"`
	ExclusiveStartShardID *string `json:"ExclusiveStartShardId,omitempty"`
	StreamARN             *string `json:"StreamARN,omitempty"`
	StreamID              *string `json:"StreamId,omitempty"`
}

// DescribeStreamOutput is the output of DescribeStream.
type DescribeStreamOutput struct {
	StreamDescription StreamDescription `json:"StreamDescription"`
}

// StreamDescription describes a stream and a page of its shards.
type StreamDescription struct {
	StreamName              string             `json:"StreamName"`
	StreamARN               string             `json:"StreamARN"`
	StreamStatus            string             `json:"StreamStatus"`
	StreamModeDetails       *StreamModeDetails `json:"StreamModeDetails,omitempty"`
	Shards                  []Shard            `json:"Shards"`
	HasMoreShards           bool               `json:"HasMoreShards"`
	RetentionPeriodHours    int32              `json:"RetentionPeriodHours"`
	StreamCreationTimestamp Timestamp          `json:"StreamCreationTimestamp"`
	EnhancedMonitoring      []EnhancedMetrics  `json:"EnhancedMonitoring"`
	EncryptionType          *string            `json:"EncryptionType,omitempty"`
	KeyID                   *string            `json:"KeyId,omitempty"`
}

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

// ListStreamsInput is the input of ListStreams.
type ListStreamsInput struct {
	Limit                    *int32  `json:"Limit,omitempty"`
	ExclusiveStartStreamName *string `json:"ExclusiveStartStreamName,omitempty"`
	NextToken                *string `json:"NextToken,omitempty"`
}

// ListStreamsOutput is the output of ListStreams.
type ListStreamsOutput struct {
	StreamNames     []string        `json:"StreamNames"`
	HasMoreStreams  bool            `json:"HasMoreStreams"`
	NextToken       *string         `json:"NextToken,omitempty"`
	StreamSummaries []StreamSummary `json:"StreamSummaries"`
}

// StreamSummary is one stream in ListStreams.
type StreamSummary struct {
	StreamName              string             `json:"StreamName"`
	StreamARN               string             `json:"StreamARN"`
	StreamStatus            string             `json:"StreamStatus"`
	StreamModeDetails       *StreamModeDetails `json:"StreamModeDetails,omitempty"`
	StreamCreationTimestamp *Timestamp         `json:"StreamCreationTimestamp,omitempty"`
}

// IncreaseStreamRetentionPeriodInput is the input of
// IncreaseStreamRetentionPeriod; no output.
type IncreaseStreamRetentionPeriodInput struct {
	StreamName           *string `json:"StreamName,omitempty"`
	RetentionPeriodHours *int32  `json:"RetentionPeriodHours,omitempty"`
	StreamARN            *string `json:"StreamARN,omitempty"`
	StreamID             *string `json:"StreamId,omitempty"`
}

// DecreaseStreamRetentionPeriodInput is the input of
// DecreaseStreamRetentionPeriod; no output.
type DecreaseStreamRetentionPeriodInput struct {
	StreamName           *string `json:"StreamName,omitempty"`
	RetentionPeriodHours *int32  `json:"RetentionPeriodHours,omitempty"`
	StreamARN            *string `json:"StreamARN,omitempty"`
	StreamID             *string `json:"StreamId,omitempty"`
}

// UpdateStreamModeInput is the input of UpdateStreamMode; no output.
type UpdateStreamModeInput struct {
	StreamARN           *string            `json:"StreamARN,omitempty"`
	StreamModeDetails   *StreamModeDetails `json:"StreamModeDetails,omitempty"`
	WarmThroughputMiBps *int32             `json:"WarmThroughputMiBps,omitempty"`
	StreamID            *string            `json:"StreamId,omitempty"`
}

// UpdateMaxRecordSizeInput is the input of UpdateMaxRecordSize; no
// output. Raising the limit lets a stream take records of up to 10 MiB.
type UpdateMaxRecordSizeInput struct {
	StreamARN          *string `json:"StreamARN,omitempty"`
	StreamID           *string `json:"StreamId,omitempty"`
	MaxRecordSizeInKiB *int32  `json:"MaxRecordSizeInKiB,omitempty"`
}

// UpdateStreamWarmThroughputInput is the input of
// UpdateStreamWarmThroughput.
type UpdateStreamWarmThroughputInput struct {
	StreamARN           *string `json:"StreamARN,omitempty"`
	StreamName          *string `json:"StreamName,omitempty"`
	WarmThroughputMiBps *int32  `json:"WarmThroughputMiBps,omitempty"`
	StreamID            *string `json:"StreamId,omitempty"`
}

// UpdateStreamWarmThroughputOutput is the output of
// UpdateStreamWarmThroughput.
type UpdateStreamWarmThroughputOutput struct {
	StreamARN      *string               `json:"StreamARN,omitempty"`
	StreamName     *string               `json:"StreamName,omitempty"`
	WarmThroughput *WarmThroughputObject `json:"WarmThroughput,omitempty"`
}

// UpdateStreamRecordDistributionStrategyInput is the input of
// UpdateStreamRecordDistributionStrategy; no output.
type UpdateStreamRecordDistributionStrategyInput struct {
	StreamARN                  *string `json:"StreamARN,omitempty"`
	StreamID                   *string `json:"StreamId,omitempty"`
	RecordDistributionStrategy *string `json:"RecordDistributionStrategy,omitempty"`
}

// StartStreamEncryptionInput is the input of StartStreamEncryption; no
// output.
type StartStreamEncryptionInput struct {
	StreamName     *string `json:"StreamName,omitempty"`
	EncryptionType *string `json:"EncryptionType,omitempty"`
	KeyID          *string `json:"KeyId,omitempty"`
	StreamARN      *string `json:"StreamARN,omitempty"`
	StreamID       *string `json:"StreamId,omitempty"`
}

// StopStreamEncryptionInput is the input of StopStreamEncryption; no
// output.
type StopStreamEncryptionInput struct {
	StreamName     *string `json:"StreamName,omitempty"`
	EncryptionType *string `json:"EncryptionType,omitempty"`
	KeyID          *string `json:"KeyId,omitempty"`
	StreamARN      *string `json:"StreamARN,omitempty"`
	StreamID       *string `json:"StreamId,omitempty"`
}

// EnableEnhancedMonitoringInput is the input of EnableEnhancedMonitoring.
type EnableEnhancedMonitoringInput struct {
	StreamName        *string  `json:"StreamName,omitempty"`
	ShardLevelMetrics []string `json:"ShardLevelMetrics,omitempty"`
	StreamARN         *string  `json:"StreamARN,omitempty"`
	StreamID          *string  `json:"StreamId,omitempty"`
}

// DisableEnhancedMonitoringInput is the input of DisableEnhancedMonitoring.
type DisableEnhancedMonitoringInput struct {
	StreamName        *string  `json:"StreamName,omitempty"`
	ShardLevelMetrics []string `json:"ShardLevelMetrics,omitempty"`
	StreamARN         *string  `json:"StreamARN,omitempty"`
	StreamID          *string  `json:"StreamId,omitempty"`
}

// EnhancedMonitoringOutput is the output of EnableEnhancedMonitoring and
// DisableEnhancedMonitoring. AWS always sends both metric lists.
type EnhancedMonitoringOutput struct {
	StreamName               *string  `json:"StreamName,omitempty"`
	CurrentShardLevelMetrics []string `json:"CurrentShardLevelMetrics"`
	DesiredShardLevelMetrics []string `json:"DesiredShardLevelMetrics"`
	StreamARN                *string  `json:"StreamARN,omitempty"`
}
