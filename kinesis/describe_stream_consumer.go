package kinesis

// ConsumerDescription is a consumer as DescribeStreamConsumer returns it.
type ConsumerDescription struct {
	ConsumerName              string    `json:"ConsumerName"`
	ConsumerARN               string    `json:"ConsumerARN"`
	ConsumerStatus            string    `json:"ConsumerStatus"`
	ConsumerCreationTimestamp Timestamp `json:"ConsumerCreationTimestamp"`
	StreamARN                 string    `json:"StreamARN"`
}

// DescribeStreamConsumerInput is the input of DescribeStreamConsumer.
type DescribeStreamConsumerInput struct {
	StreamARN    *string `json:"StreamARN,omitempty"`
	ConsumerName *string `json:"ConsumerName,omitempty"`
	ConsumerARN  *string `json:"ConsumerARN,omitempty"`
	StreamID     *string `json:"StreamId,omitempty"`
}

// DescribeStreamConsumerOutput is the output of DescribeStreamConsumer.
type DescribeStreamConsumerOutput struct {
	ConsumerDescription ConsumerDescription `json:"ConsumerDescription"`
}

// Validate checks the input against the service model.
func (in *DescribeStreamConsumerInput) Validate() *Error {
	var v validator
	v.checkString("consumerARN", in.ConsumerARN, false, &shapeConsumerARN)
	v.checkString("consumerName", in.ConsumerName, false, &shapeConsumerName)
	v.checkString("streamARN", in.StreamARN, false, &shapeStreamARN)
	v.checkString("streamId", in.StreamID, false, &shapeStreamID)
	return v.err()
}
