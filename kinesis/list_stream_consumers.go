package kinesis

// ListStreamConsumersInput is the input of ListStreamConsumers.
type ListStreamConsumersInput struct {
	StreamARN               *string    `json:"StreamARN,omitempty"`
	NextToken               *string    `json:"NextToken,omitempty"`
	MaxResults              *int32     `json:"MaxResults,omitempty"`
	StreamCreationTimestamp *Timestamp `json:"StreamCreationTimestamp,omitempty"`
	StreamID                *string    `json:"StreamId,omitempty"`
}

// ListStreamConsumersOutput is the output of ListStreamConsumers.
type ListStreamConsumersOutput struct {
	Consumers []Consumer `json:"Consumers"`
	NextToken *string    `json:"NextToken,omitempty"`
}

// Validate checks the input against the service model.
func (in *ListStreamConsumersInput) Validate() *Error {
	var v validator
	v.checkInt("maxResults", in.MaxResults, false, shapeLimit10000)
	v.checkString("nextToken", in.NextToken, false, &shapeNextToken)
	v.checkString("streamARN", in.StreamARN, true, &shapeStreamARN)
	v.checkString("streamId", in.StreamID, false, &shapeStreamID)
	return v.err()
}
