package kinesis

// ListStreamsInput is the input of ListStreams.
type ListStreamsInput struct {
	Limit                    *int32  `json:"Limit,omitempty"`
	ExclusiveStartStreamName *string `json:"ExclusiveStartStreamName,omitempty"`
	NextToken                *string `json:"NextToken,omitempty"`
}

// ListStreamsOutput is the output of ListStreams.
type ListStreamsOutput struct {
	StreamNames     []string        `json:"StreamNames"`
	HasMoreStreams  bool            `json:"HasMoreStreams"`
	NextToken       *string         `json:"NextToken,omitempty"`
	StreamSummaries []StreamSummary `json:"StreamSummaries"`
}

// StreamSummary is one stream in ListStreams.
type StreamSummary struct {
	StreamName              string             `json:"StreamName"`
	StreamARN               string             `json:"StreamARN"`
	StreamStatus            string             `json:"StreamStatus"`
	StreamModeDetails       *StreamModeDetails `json:"StreamModeDetails,omitempty"`
	StreamCreationTimestamp *Timestamp         `json:"StreamCreationTimestamp,omitempty"`
}

// Validate checks the input against the service model.
func (in *ListStreamsInput) Validate() *Error {
	var v validator
	v.checkString("exclusiveStartStreamName", in.ExclusiveStartStreamName, false, &shapeStreamName)
	v.checkInt("limit", in.Limit, false, shapeLimit10000)
	v.checkString("nextToken", in.NextToken, false, &shapeNextToken)
	return v.err()
}
