package kinesis

// SplitShardInput is the input of SplitShard; no output.
type SplitShardInput struct {
	StreamName         *string `json:"StreamName,omitempty"`
	ShardToSplit       *string `json:"ShardToSplit,omitempty"`
	NewStartingHashKey *string `json:"NewStartingHashKey,omitempty"`
	StreamARN          *string `json:"StreamARN,omitempty"`
	StreamID           *string `json:"StreamId,omitempty"`
}

// Validate checks the input against the service model.
func (in *SplitShardInput) Validate() *Error {
	var v validator
	v.checkString("newStartingHashKey", in.NewStartingHashKey, true, &shapeHashKey)
	v.checkString("shardToSplit", in.ShardToSplit, true, &shapeShardID)
	v.checkStream(in.StreamARN, in.StreamID, in.StreamName)
	return v.err()
}
