package kinesis

// ListTagsForResourceInput is the input of ListTagsForResource.
type ListTagsForResourceInput struct {
	ResourceARN *string `json:"ResourceARN,omitempty"`
	StreamID    *string `json:"StreamId,omitempty"`
}

// ListTagsForResourceOutput is the output of ListTagsForResource.
type ListTagsForResourceOutput struct {
	Tags []Tag `json:"Tags"`
}

// Validate checks the input against the service model.
func (in *ListTagsForResourceInput) Validate() *Error {
	var v validator
	v.checkString("resourceARN", in.ResourceARN, true, &shapeResourceARN)
	v.checkString("streamId", in.StreamID, false, &shapeStreamID)
	return v.err()
}
