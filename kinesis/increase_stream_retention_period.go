package kinesis

// IncreaseStreamRetentionPeriodInput is the input of
// IncreaseStreamRetentionPeriod; no output.
type IncreaseStreamRetentionPeriodInput struct {
	StreamName           *string `json:"StreamName,omitempty"`
	RetentionPeriodHours *int32  `json:"RetentionPeriodHours,omitempty"`
	StreamARN            *string `json:"StreamARN,omitempty"`
	StreamID             *string `json:"StreamId,omitempty"`
}

// Validate checks the input against the service model.
func (in *IncreaseStreamRetentionPeriodInput) Validate() *Error {
	var v validator
	v.checkInt("retentionPeriodHours", in.RetentionPeriodHours, true, shapeRetention)
	v.checkStream(in.StreamARN, in.StreamID, in.StreamName)
	return v.err()
}
