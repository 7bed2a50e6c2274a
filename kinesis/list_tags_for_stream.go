package kinesis

// ListTagsForStreamInput is the input of ListTagsForStream.
type ListTagsForStreamInput struct {
	StreamName           *string `json:"StreamName,omitempty"`
	ExclusiveStartTagKey *string `json:"ExclusiveStartTagKey,omitempty"`
	Limit                *int32  `json:"Limit,omitempty"`
	StreamARN            *string `json:"StreamARN,omitempty"`
	StreamID             *string `json:"StreamId,omitempty"`
}

// ListTagsForStreamOutput is the output of ListTagsForStream.
type ListTagsForStreamOutput struct {
	Tags        []Tag `json:"Tags"`
	HasMoreTags bool  `json:"HasMoreTags"`
}

// Validate checks the input against the service model.
func (in *ListTagsForStreamInput) Validate() *Error {
	var v validator
	v.checkString("exclusiveStartTagKey", in.ExclusiveStartTagKey, false, &shapeTagKey)
	v.checkInt("limit", in.Limit, false, shapeTagLimit)
	v.checkStream(in.StreamARN, in.StreamID, in.StreamName)
	return v.err()
}
