package kinesis

// MergeShardsInput is the input of MergeShards; no output.
type MergeShardsInput struct {
	StreamName           *string `json:"StreamName,omitempty"`
	ShardToMerge         *string `json:"ShardToMerge,omitempty"`
	AdjacentShardToMerge *string `json:"AdjacentShardToMerge,omitempty"`
	StreamARN            *string `json:"StreamARN,omitempty"`
	StreamID             *string `json:"StreamId,omitempty"`
}

// Validate checks the input against the service model.
func (in *MergeShardsInput) Validate() *Error {
	var v validator
	v.checkString("adjacentShardToMerge", in.AdjacentShardToMerge, true, &shapeShardID)
	v.checkString("shardToMerge", in.ShardToMerge, true, &shapeShardID)
	v.checkStream(in.StreamARN, in.StreamID, in.StreamName)
	return v.err()
}
