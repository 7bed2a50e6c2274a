package kinesis

// UpdateShardCountInput is the input of UpdateShardCount.
type UpdateShardCountInput struct {
	StreamName       *string `json:"StreamName,omitempty"`
	TargetShardCount *int32  `json:"TargetShardCount,omitempty"`
	ScalingType      *string `json:"ScalingType,omitempty"`
	StreamARN        *string `json:"StreamARN,omitempty"`
	StreamID         *string `json:"StreamId,omitempty"`
}

// UpdateShardCountOutput is the output of UpdateShardCount.
type UpdateShardCountOutput struct {
	StreamName        *string `json:"StreamName,omitempty"`
	CurrentShardCount *int32  `json:"CurrentShardCount,omitempty"`
	TargetShardCount  *int32  `json:"TargetShardCount,omitempty"`
	StreamARN         *string `json:"StreamARN,omitempty"`
}

// Validate checks the input against the service model.
func (in *UpdateShardCountInput) Validate() *Error {
	var v validator
	v.checkString("scalingType", in.ScalingType, true, &shapeScalingType)
	v.checkStream(in.StreamARN, in.StreamID, in.StreamName)
	v.checkInt("targetShardCount", in.TargetShardCount, true, shapePositive)
	return v.err()
}
