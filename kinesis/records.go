package kinesis

// Shapes of the data-plane operations: writing records, getting shard
// iterators and reading records.

// Shard iterator types.
const (
	ShardIteratorAtSequenceNumber    = "AT_SEQUENCE_NUMBER"
	ShardIteratorAfterSequenceNumber = "AFTER_SEQUENCE_NUMBER"
	ShardIteratorTrimHorizon         = "TRIM_HORIZON"
	ShardIteratorLatest              = "LATEST"
	ShardIteratorAtTimestamp         = "AT_TIMESTAMP"
)

// PutRecordInput is the input of PutRecord. PartitionKey is optional in
// the current model, for streams whose RecordDistributionStrategy is AUTO;
// see partitionKeyRequired.
type PutRecordInput struct {
	StreamName                *string `json:"StreamName,omitempty"`
	Data                      []byte  `json:"Data,omitempty"`
	PartitionKey              *string `json:"PartitionKey,omitempty"`
	ExplicitHashKey           *string `json:"ExplicitHashKey,omitempty"`
	SequenceNumberForOrdering *string `json:"SequenceNumberForOrdering,omitempty"`
	StreamARN                 *string `json:"StreamARN,omitempty"`
	StreamID                  *string `json:"StreamId,omitempty"`
	DryRun                    *bool   `json:"DryRun,omitempty"`
}

// PutRecordOutput is the output of PutRecord.
type PutRecordOutput struct {
	ShardID        string  `json:"ShardId"`
	SequenceNumber string  `json:"SequenceNumber"`
	EncryptionType *string `json:"EncryptionType,omitempty"`
}

// PutRecordsInput is the input of PutRecords.
type PutRecordsInput struct {
	Records    []PutRecordsRequestEntry `json:"Records,omitempty"`
	StreamName *string                  `json:"StreamName,omitempty"`
	StreamARN  *string                  `json:"StreamARN,omitempty"`
	StreamID   *string                  `json:"StreamId,omitempty"`
	DryRun     *bool                    `json:"DryRun,omitempty"`
}

// PutRecordsRequestEntry is one record of a PutRecords request. A nil
// Data means the member was absent; an empty record is a non-nil empty
// slice.
type PutRecordsRequestEntry struct {
	Data            []byte  `json:"Data,omitempty"`
	ExplicitHashKey *string `json:"ExplicitHashKey,omitempty"`
	PartitionKey    *string `json:"PartitionKey,omitempty"`
}

// PutRecordsOutput is the output of PutRecords.
type PutRecordsOutput struct {
	FailedRecordCount *int32                  `json:"FailedRecordCount,omitempty"`
	Records           []PutRecordsResultEntry `json:"Records"`
	EncryptionType    *string                 `json:"EncryptionType,omitempty"`
}

// PutRecordsResultEntry is the result for one record: SequenceNumber and
// ShardId on success, ErrorCode and ErrorMessage on failure.
type PutRecordsResultEntry struct {
	SequenceNumber *string `json:"SequenceNumber,omitempty"`
	ShardID        *string `json:"ShardId,omitempty"`
	ErrorCode      *string `json:"ErrorCode,omitempty"`
	ErrorMessage   *string `json:"ErrorMessage,omitempty"`
}

// GetShardIteratorInput is the input of GetShardIterator.
type GetShardIteratorInput struct {
	StreamName             *string    `json:"StreamName,omitempty"`
	ShardID                *string    `json:"ShardId,omitempty"`
	ShardIteratorType      *string    `json:"ShardIteratorType,omitempty"`
	StartingSequenceNumber *string    `json:"StartingSequenceNumber,omitempty"`
	Timestamp              *Timestamp `json:"Timestamp,omitempty"`
	StreamARN              *string    `json:"StreamARN,omitempty"`
	StreamID               *string    `json:"StreamId,omitempty"`
	DryRun                 *bool      `json:"DryRun,omitempty"`
}

// GetShardIteratorOutput is the output of GetShardIterator.
type GetShardIteratorOutput struct {
	ShardIterator *string `json:"ShardIterator,omitempty"`
}

// GetRecordsInput is the input of GetRecords.
type GetRecordsInput struct {
	ShardIterator *string `json:"ShardIterator,omitempty"`
	Limit         *int32  `json:"Limit,omitempty"`
	StreamARN     *string `json:"StreamARN,omitempty"`
	StreamID      *string `json:"StreamId,omitempty"`
	DryRun        *bool   `json:"DryRun,omitempty"`
}

// GetRecordsOutput is the output of GetRecords. A nil NextShardIterator
// tells the consumer the shard is closed and fully read.
type GetRecordsOutput struct {
	Records            []Record     `json:"Records"`
	NextShardIterator  *string      `json:"NextShardIterator,omitempty"`
	MillisBehindLatest *int64       `json:"MillisBehindLatest,omitempty"`
	ChildShards        []ChildShard `json:"ChildShards,omitempty"`
}

// Record is a data record as GetRecords and SubscribeToShard return it.
type Record struct {
	SequenceNumber              string     `json:"SequenceNumber"`
	ApproximateArrivalTimestamp *Timestamp `json:"ApproximateArrivalTimestamp,omitempty"`
	Data                        []byte     `json:"Data"`
	PartitionKey                string     `json:"PartitionKey"`
	EncryptionType              *string    `json:"EncryptionType,omitempty"`
}
