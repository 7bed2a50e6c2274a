package kinesis

// DecreaseStreamRetentionPeriodInput is the input of
// DecreaseStreamRetentionPeriod; no output.
type DecreaseStreamRetentionPeriodInput struct {
	StreamName           *string `json:"StreamName,omitempty"`
	RetentionPeriodHours *int32  `json:"RetentionPeriodHours,omitempty"`
	StreamARN            *string `json:"StreamARN,omitempty"`
	StreamID             *string `json:"StreamId,omitempty"`
}

// Validate checks the input against the service model.
func (in *DecreaseStreamRetentionPeriodInput) Validate() *Error {
	var v validator
	v.checkInt("retentionPeriodHours", in.RetentionPeriodHours, true, shapeRetention)
	v.checkStream(in.StreamARN, in.StreamID, in.StreamName)
	return v.err()
}
