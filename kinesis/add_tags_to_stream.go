package kinesis

// AddTagsToStreamInput is the input of AddTagsToStream; no output.
type AddTagsToStreamInput struct {
	StreamName *string           `json:"StreamName,omitempty"`
	Tags       map[string]string `json:"Tags,omitempty"`
	StreamARN  *string           `json:"StreamARN,omitempty"`
	StreamID   *string           `json:"StreamId,omitempty"`
}

// Validate checks the input against the service model.
func (in *AddTagsToStreamInput) Validate() *Error {
	var v validator
	v.checkStream(in.StreamARN, in.StreamID, in.StreamName)
	v.checkTags("tags", in.Tags, true)
	return v.err()
}
