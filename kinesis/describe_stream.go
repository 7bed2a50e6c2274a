package kinesis

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

// Validate checks the input against the service model.
func (in *DescribeStreamInput) Validate() *Error {
	var v validator
	v.checkString("exclusiveStartShardId", in.ExclusiveStartShardID, false, &shapeShardID)
	v.checkInt("limit", in.Limit, false, shapeLimit10000)
	v.checkStream(in.StreamARN, in.StreamID, in.StreamName)
	return v.err()
}
