package kinesis

// UpdateMaxRecordSizeInput is the input of UpdateMaxRecordSize; no
// output. Raising the limit lets a stream take records of up to 10 MiB.
type UpdateMaxRecordSizeInput struct {
	StreamARN          *string `json:"StreamARN,omitempty"`
	StreamID           *string `json:"StreamId,omitempty"`
	MaxRecordSizeInKiB *int32  `json:"MaxRecordSizeInKiB,omitempty"`
}

// Validate checks the input against the service model.
func (in *UpdateMaxRecordSizeInput) Validate() *Error {
	var v validator
	v.checkInt("maxRecordSizeInKiB", in.MaxRecordSizeInKiB, true, shapeMaxRecordSize)
	v.checkString("streamARN", in.StreamARN, false, &shapeStreamARN)
	v.checkString("streamId", in.StreamID, false, &shapeStreamID)
	return v.err()
}
