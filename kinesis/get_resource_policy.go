package kinesis

// GetResourcePolicyInput is the input of GetResourcePolicy.
type GetResourcePolicyInput struct {
	ResourceARN *string `json:"ResourceARN,omitempty"`
	StreamID    *string `json:"StreamId,omitempty"`
}

// GetResourcePolicyOutput is the output of GetResourcePolicy: the policy
// document as a JSON string.
type GetResourcePolicyOutput struct {
	Policy string `json:"Policy"`
}

// Validate checks the input against the service model.
func (in *GetResourcePolicyInput) Validate() *Error {
	var v validator
	v.checkString("resourceARN", in.ResourceARN, true, &shapeResourceARN)
	v.checkString("streamId", in.StreamID, false, &shapeStreamID)
	return v.err()
}
