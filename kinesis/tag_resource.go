package kinesis

// TagResourceInput is the input of TagResource; no output.
type TagResourceInput struct {
	Tags        map[string]string `json:"Tags,omitempty"`
	ResourceARN *string           `json:"ResourceARN,omitempty"`
	StreamID    *string           `json:"StreamId,omitempty"`
}

// Validate checks the input against the service model.
func (in *TagResourceInput) Validate() *Error {
	var v validator
	v.checkString("resourceARN", in.ResourceARN, true, &shapeResourceARN)
	v.checkString("streamId", in.StreamID, false, &shapeStreamID)
	v.checkTags("tags", in.Tags, true)
	return v.err()
}
