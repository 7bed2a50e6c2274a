package kinesis

// Shapes of the shard listing and resharding operations, and the shard
// structures other outputs share.

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

// ShardFilter narrows ListShards.
type ShardFilter struct {
	Type      *string    `json:"Type,omitempty"`
	ShardID   *string    `json:"ShardId,omitempty"`
	Timestamp *Timestamp `json:"Timestamp,omitempty"`
}

// ListShardsInput is the input of ListShards.
type ListShardsInput struct {
	StreamName              *string      `json:"StreamName,omitempty"`
	NextToken               *string      `json:"NextToken,omitempty"`
	ExclusiveStartShardID   *string      `json:"ExclusiveStartShardId,omitempty"`
	MaxResults              *int32       `json:"MaxResults,omitempty"`
	StreamCreationTimestamp *Timestamp   `json:"StreamCreationTimestamp,omitempty"`
	ShardFilter             *ShardFilter `json:"ShardFilter,omitempty"`
	StreamARN               *string      `json:"StreamARN,omitempty"`
	StreamID                *string      `json:"StreamId,omitempty"`
}

// ListShardsOutput is the output of ListShards. AWS always sends Shards.
type ListShardsOutput struct {
	Shards    []Shard `json:"Shards"`
	NextToken *string `json:"NextToken,omitempty"`
}

// SplitShardInput is the input of SplitShard; no output.
type SplitShardInput struct {
	StreamName         *string `json:"StreamName,omitempty"`
	ShardToSplit       *string `json:"ShardToSplit,omitempty"`
	NewStartingHashKey *string `json:"NewStartingHashKey,omitempty"`
	StreamARN          *string `json:"StreamARN,omitempty"`
	StreamID           *string `json:"StreamId,omitempty"`
}

// MergeShardsInput is the input of MergeShards; no output.
type MergeShardsInput struct {
	StreamName           *string `json:"StreamName,omitempty"`
	ShardToMerge         *string `json:"ShardToMerge,omitempty"`
	AdjacentShardToMerge *string `json:"AdjacentShardToMerge,omitempty"`
	StreamARN            *string `json:"StreamARN,omitempty"`
	StreamID             *string `json:"StreamId,omitempty"`
}

// UpdateShardCountInput is the input of UpdateShardCount.
type UpdateShardCountInput struct {
	StreamName       *string `json:"StreamName,omitempty"`
	TargetShardCount *int32  `json:"TargetShardCount,omitempty"`
	ScalingType      *string `json:"ScalingType,omitempty"`
	StreamARN        *string `json:"StreamARN,omitempty"`
	StreamID         *string `json:"StreamId,omitempty"`
}

// UpdateShardCountOutput is the output of UpdateShardCount.
type UpdateShardCountOutput struct {
	StreamName        *string `json:"StreamName,omitempty"`
	CurrentShardCount *int32  `json:"CurrentShardCount,omitempty"`
	TargetShardCount  *int32  `json:"TargetShardCount,omitempty"`
	StreamARN         *string `json:"StreamARN,omitempty"`
}
