package kinesis

// RegisterStreamConsumerInput is the input of RegisterStreamConsumer.
type RegisterStreamConsumerInput struct {
	StreamARN    *string           `json:"StreamARN,omitempty"`
	ConsumerName *string           `json:"ConsumerName,omitempty"`
	Tags         map[string]string `json:"Tags,omitempty"`
	StreamID     *string           `json:"StreamId,omitempty"`
}

// RegisterStreamConsumerOutput is the output of RegisterStreamConsumer.
type RegisterStreamConsumerOutput struct {
	Consumer Consumer `json:"Consumer"`
}

// Validate checks the input against the service model.
func (in *RegisterStreamConsumerInput) Validate() *Error {
	var v validator
	v.checkString("consumerName", in.ConsumerName, true, &shapeConsumerName)
	v.checkString("streamARN", in.StreamARN, true, &shapeStreamARN)
	v.checkString("streamId", in.StreamID, false, &shapeStreamID)
	v.checkTags("tags", in.Tags, false)
	return v.err()
}
