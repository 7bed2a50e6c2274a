package kinesis

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

// Validate checks the input against the service model.
func (in *GetShardIteratorInput) Validate() *Error {
	var v validator
	v.checkString("shardId", in.ShardID, true, &shapeShardID)
	v.checkString("shardIteratorType", in.ShardIteratorType, true, &shapeShardIteratorType)
	v.checkString("startingSequenceNumber", in.StartingSequenceNumber, false, &shapeSequenceNumber)
	v.checkStream(in.StreamARN, in.StreamID, in.StreamName)
	return v.err()
}
