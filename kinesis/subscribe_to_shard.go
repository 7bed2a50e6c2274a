package kinesis

// StartingPosition is where a SubscribeToShard subscription starts.
type StartingPosition struct {
	Type           *string    `json:"Type,omitempty"`
	SequenceNumber *string    `json:"SequenceNumber,omitempty"`
	Timestamp      *Timestamp `json:"Timestamp,omitempty"`
}

// SubscribeToShardInput is the input of SubscribeToShard.
type SubscribeToShardInput struct {
	ConsumerARN      *string           `json:"ConsumerARN,omitempty"`
	ShardID          *string           `json:"ShardId,omitempty"`
	StartingPosition *StartingPosition `json:"StartingPosition,omitempty"`
	StreamID         *string           `json:"StreamId,omitempty"`
	DryRun           *bool             `json:"DryRun,omitempty"`
}

// SubscribeToShardEvent is the payload of one SubscribeToShardEvent
// message of the subscription's event stream.
type SubscribeToShardEvent struct {
	Records                    []Record     `json:"Records"`
	ContinuationSequenceNumber *string      `json:"ContinuationSequenceNumber,omitempty"`
	MillisBehindLatest         int64        `json:"MillisBehindLatest"`
	ChildShards                []ChildShard `json:"ChildShards,omitempty"`
}

// Validate checks the input against the service model.
func (in *SubscribeToShardInput) Validate() *Error {
	var v validator
	v.checkString("consumerARN", in.ConsumerARN, true, &shapeConsumerARN)
	v.checkString("shardId", in.ShardID, true, &shapeShardID)
	if v.checkPresent("startingPosition", in.StartingPosition != nil, true) {
		v.checkString("startingPosition.sequenceNumber", in.StartingPosition.SequenceNumber, false, &shapeSequenceNumber)
		v.checkString("startingPosition.type", in.StartingPosition.Type, true, &shapeShardIteratorType)
	}
	v.checkString("streamId", in.StreamID, false, &shapeStreamID)
	return v.err()
}
