package kinesis

// DeleteResourcePolicyInput is the input of DeleteResourcePolicy; no
// output.
type DeleteResourcePolicyInput struct {
	ResourceARN *string `json:"ResourceARN,omitempty"`
	StreamID    *string `json:"StreamId,omitempty"`
}

// Validate checks the input against the service model.
func (in *DeleteResourcePolicyInput) Validate() *Error {
	var v validator
	v.checkString("resourceARN", in.ResourceARN, true, &shapeResourceARN)
	v.checkString("streamId", in.StreamID, false, &shapeStreamID)
	return v.err()
}
