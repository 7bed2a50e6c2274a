package kinesis

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

// Validate checks the input against the service model.
func (in *ListShardsInput) Validate() *Error {
	var v validator
	v.checkString("exclusiveStartShardId", in.ExclusiveStartShardID, false, &shapeShardID)
	v.checkInt("maxResults", in.MaxResults, false, shapeLimit10000)
	v.checkString("nextToken", in.NextToken, false, &shapeNextToken)
	if v.checkPresent("shardFilter", in.ShardFilter != nil, false) {
		v.checkString("shardFilter.shardId", in.ShardFilter.ShardID, false, &shapeShardID)
		v.checkString("shardFilter.type", in.ShardFilter.Type, true, &shapeShardFilterType)
	}
	v.checkStream(in.StreamARN, in.StreamID, in.StreamName)
	return v.err()
}
