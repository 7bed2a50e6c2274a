package kinesis

// DeregisterStreamConsumerInput is the input of DeregisterStreamConsumer;
// no output.
type DeregisterStreamConsumerInput struct {
	StreamARN    *string `json:"StreamARN,omitempty"`
	ConsumerName *string `json:"ConsumerName,omitempty"`
	ConsumerARN  *string `json:"ConsumerARN,omitempty"`
	StreamID     *string `json:"StreamId,omitempty"`
}

// Validate checks the input against the service model.
func (in *DeregisterStreamConsumerInput) Validate() *Error {
	var v validator
	v.checkString("consumerARN", in.ConsumerARN, false, &shapeConsumerARN)
	v.checkString("consumerName", in.ConsumerName, false, &shapeConsumerName)
	v.checkString("streamARN", in.StreamARN, false, &shapeStreamARN)
	v.checkString("streamId", in.StreamID, false, &shapeStreamID)
	return v.err()
}
