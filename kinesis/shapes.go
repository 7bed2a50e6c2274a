package kinesis

// Shapes more than one operation shares, and the enumerations of the
// service model. Each operation's own shapes and their validation are in
// the file named after it (put_records.go for PutRecords).
//
// Member names and order follow the Kinesis service model (2013-12-02).
// Conventions for every shape in this package: in inputs, every member is
// a pointer, slice or map so that an absent member (or a JSON null) stays
// distinguishable from a zero value; in outputs, a required member is a
// plain value that is always written (nil slices as []), and an optional
// member is a pointer, or a slice tagged omitempty, left out when unset.

// Statuses of the minimum throughput billing commitment.
const (
	CommitmentEnabled                        = "ENABLED"
	CommitmentDisabled                       = "DISABLED"
	CommitmentEnabledUntilEarliestAllowedEnd = "ENABLED_UNTIL_EARLIEST_ALLOWED_END"
)

// MinimumThroughputBillingCommitmentInput is the commitment setting of
// UpdateAccountSettings.
type MinimumThroughputBillingCommitmentInput struct {
	Status *string `json:"Status,omitempty"`
}

// MinimumThroughputBillingCommitmentOutput is the commitment as the
// account settings operations report it.
type MinimumThroughputBillingCommitmentOutput struct {
	Status               string     `json:"Status"`
	StartedAt            *Timestamp `json:"StartedAt,omitempty"`
	EndedAt              *Timestamp `json:"EndedAt,omitempty"`
	EarliestAllowedEndAt *Timestamp `json:"EarliestAllowedEndAt,omitempty"`
}

// Consumer statuses.
const (
	ConsumerStatusCreating = "CREATING"
	ConsumerStatusDeleting = "DELETING"
	ConsumerStatusActive   = "ACTIVE"
)

// Consumer is a registered consumer as RegisterStreamConsumer and
// ListStreamConsumers return it.
type Consumer struct {
	ConsumerName              string    `json:"ConsumerName"`
	ConsumerARN               string    `json:"ConsumerARN"`
	ConsumerStatus            string    `json:"ConsumerStatus"`
	ConsumerCreationTimestamp Timestamp `json:"ConsumerCreationTimestamp"`
}

// Shard iterator types.
const (
	ShardIteratorAtSequenceNumber    = "AT_SEQUENCE_NUMBER"
	ShardIteratorAfterSequenceNumber = "AFTER_SEQUENCE_NUMBER"
	ShardIteratorTrimHorizon         = "TRIM_HORIZON"
	ShardIteratorLatest              = "LATEST"
	ShardIteratorAtTimestamp         = "AT_TIMESTAMP"
)

// Record is a data record as GetRecords and SubscribeToShard return it.
type Record struct {
	SequenceNumber              string     `json:"SequenceNumber"`
	ApproximateArrivalTimestamp *Timestamp `json:"ApproximateArrivalTimestamp,omitempty"`
	Data                        []byte     `json:"Data"`
	PartitionKey                string     `json:"PartitionKey"`
	EncryptionType              *string    `json:"EncryptionType,omitempty"`
}

// Shard filter types of ListShards.
const (
	ShardFilterAfterShardID    = "AFTER_SHARD_ID"
	ShardFilterAtTrimHorizon   = "AT_TRIM_HORIZON"
	ShardFilterFromTrimHorizon = "FROM_TRIM_HORIZON"
	ShardFilterAtLatest        = "AT_LATEST"
	ShardFilterAtTimestamp     = "AT_TIMESTAMP"
	ShardFilterFromTimestamp   = "FROM_TIMESTAMP"
	ScalingTypeUniformScaling  = "UNIFORM_SCALING"
)

// HashKeyRange is a shard's range of hash keys, as decimal integers.
type HashKeyRange struct {
	StartingHashKey string `json:"StartingHashKey"`
	EndingHashKey   string `json:"EndingHashKey"`
}

// SequenceNumberRange is a shard's range of sequence numbers; an open
// shard has no EndingSequenceNumber.
type SequenceNumberRange struct {
	StartingSequenceNumber string  `json:"StartingSequenceNumber"`
	EndingSequenceNumber   *string `json:"EndingSequenceNumber,omitempty"`
}

// Shard describes one shard.
type Shard struct {
	ShardID               string              `json:"ShardId"`
	ParentShardID         *string             `json:"ParentShardId,omitempty"`
	AdjacentParentShardID *string             `json:"AdjacentParentShardId,omitempty"`
	HashKeyRange          HashKeyRange        `json:"HashKeyRange"`
	SequenceNumberRange   SequenceNumberRange `json:"SequenceNumberRange"`
}

// ChildShard is a child of a closed shard, as GetRecords and
// SubscribeToShard report it at the end of the parent.
type ChildShard struct {
	ShardID      string       `json:"ShardId"`
	ParentShards []string     `json:"ParentShards"`
	HashKeyRange HashKeyRange `json:"HashKeyRange"`
}

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

// EnhancedMonitoringOutput is the output of EnableEnhancedMonitoring and
// DisableEnhancedMonitoring. AWS always sends both metric lists.
type EnhancedMonitoringOutput struct {
	StreamName               *string  `json:"StreamName,omitempty"`
	CurrentShardLevelMetrics []string `json:"CurrentShardLevelMetrics"`
	DesiredShardLevelMetrics []string `json:"DesiredShardLevelMetrics"`
	StreamARN                *string  `json:"StreamARN,omitempty"`
}

// Tag is one tag as the list operations return it.
type Tag struct {
	Key   string  `json:"Key"`
	Value *string `json:"Value,omitempty"`
}
