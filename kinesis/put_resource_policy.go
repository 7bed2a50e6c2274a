package kinesis

// PutResourcePolicyInput is the input of PutResourcePolicy; no output.
type PutResourcePolicyInput struct {
	ResourceARN *string `json:"ResourceARN,omitempty"`
	Policy      *string `json:"Policy,omitempty"`
	StreamID    *string `json:"StreamId,omitempty"`
}

// Validate checks the input against the service model.
func (in *PutResourcePolicyInput) Validate() *Error {
	var v validator
	v.checkString("policy", in.Policy, true, &shapeUnconstrained)
	v.checkString("resourceARN", in.ResourceARN, true, &shapeResourceARN)
	v.checkString("streamId", in.StreamID, false, &shapeStreamID)
	return v.err()
}
