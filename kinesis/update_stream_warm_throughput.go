package kinesis

// UpdateStreamWarmThroughputInput is the input of
// UpdateStreamWarmThroughput.
type UpdateStreamWarmThroughputInput struct {
	StreamARN           *string `json:"StreamARN,omitempty"`
	StreamName          *string `json:"StreamName,omitempty"`
	WarmThroughputMiBps *int32  `json:"WarmThroughputMiBps,omitempty"`
	StreamID            *string `json:"StreamId,omitempty"`
}

// UpdateStreamWarmThroughputOutput is the output of
// UpdateStreamWarmThroughput.
type UpdateStreamWarmThroughputOutput struct {
	StreamARN      *string               `json:"StreamARN,omitempty"`
	StreamName     *string               `json:"StreamName,omitempty"`
	WarmThroughput *WarmThroughputObject `json:"WarmThroughput,omitempty"`
}

// Validate checks the input against the service model.
func (in *UpdateStreamWarmThroughputInput) Validate() *Error {
	var v validator
	v.checkStream(in.StreamARN, in.StreamID, in.StreamName)
	v.checkInt("warmThroughputMiBps", in.WarmThroughputMiBps, true, shapeNatural)
	return v.err()
}
