package kinesis

// UpdateStreamRecordDistributionStrategyInput is the input of
// UpdateStreamRecordDistributionStrategy; no output.
type UpdateStreamRecordDistributionStrategyInput struct {
	StreamARN                  *string `json:"StreamARN,omitempty"`
	StreamID                   *string `json:"StreamId,omitempty"`
	RecordDistributionStrategy *string `json:"RecordDistributionStrategy,omitempty"`
}

// Validate checks the input against the service model.
func (in *UpdateStreamRecordDistributionStrategyInput) Validate() *Error {
	var v validator
	v.checkString("recordDistributionStrategy", in.RecordDistributionStrategy, true, &shapeDistribution)
	v.checkString("streamARN", in.StreamARN, true, &shapeStreamARN)
	v.checkString("streamId", in.StreamID, false, &shapeStreamID)
	return v.err()
}
