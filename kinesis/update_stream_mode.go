package kinesis

// UpdateStreamModeInput is the input of UpdateStreamMode; no output.
type UpdateStreamModeInput struct {
	StreamARN           *string            `json:"StreamARN,omitempty"`
	StreamModeDetails   *StreamModeDetails `json:"StreamModeDetails,omitempty"`
	WarmThroughputMiBps *int32             `json:"WarmThroughputMiBps,omitempty"`
	StreamID            *string            `json:"StreamId,omitempty"`
}

// Validate checks the input against the service model.
func (in *UpdateStreamModeInput) Validate() *Error {
	var v validator
	v.checkString("streamARN", in.StreamARN, true, &shapeStreamARN)
	v.checkString("streamId", in.StreamID, false, &shapeStreamID)
	if v.checkPresent("streamModeDetails", in.StreamModeDetails != nil, true) {
		v.checkString("streamModeDetails.streamMode", in.StreamModeDetails.StreamMode, true, &shapeStreamMode)
	}
	v.checkInt("warmThroughputMiBps", in.WarmThroughputMiBps, false, shapeNatural)
	return v.err()
}
