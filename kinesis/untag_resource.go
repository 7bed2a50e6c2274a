package kinesis

// UntagResourceInput is the input of UntagResource; no output.
type UntagResourceInput struct {
	TagKeys     []string `json:"TagKeys,omitempty"`
	ResourceARN *string  `json:"ResourceARN,omitempty"`
	StreamID    *string  `json:"StreamId,omitempty"`
}

// Validate checks the input against the service model.
func (in *UntagResourceInput) Validate() *Error {
	var v validator
	v.checkString("resourceARN", in.ResourceARN, true, &shapeResourceARN)
	v.checkString("streamId", in.StreamID, false, &shapeStreamID)
	v.checkStringList("tagKeys", in.TagKeys, true, minTagKeys, maxTagKeys, &shapeTagKey)
	return v.err()
}
