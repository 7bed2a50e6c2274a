package kinesis

// DeleteStreamInput is the input of DeleteStream; no output.
type DeleteStreamInput struct {
	StreamName              *string `json:"StreamName,omitempty"`
	EnforceConsumerDeletion *bool   `json:"EnforceConsumerDeletion,omitempty"`
	StreamARN               *string `json:"StreamARN,omitempty"`
	StreamID                *string `json:"StreamId,omitempty"`
}

// Validate checks the input against the service model.
func (in *DeleteStreamInput) Validate() *Error {
	var v validator
	v.checkStream(in.StreamARN, in.StreamID, in.StreamName)
	return v.err()
}
