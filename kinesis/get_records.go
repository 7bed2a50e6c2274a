package kinesis

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

// Validate checks the input against the service model.
func (in *GetRecordsInput) Validate() *Error {
	var v validator
	v.checkInt("limit", in.Limit, false, shapeLimit10000)
	v.checkString("shardIterator", in.ShardIterator, true, &shapeShardIterator)
	v.checkString("streamARN", in.StreamARN, false, &shapeStreamARN)
	v.checkString("streamId", in.StreamID, false, &shapeStreamID)
	return v.err()
}
