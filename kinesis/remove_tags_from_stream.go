package kinesis

// RemoveTagsFromStreamInput is the input of RemoveTagsFromStream; no
// output.
type RemoveTagsFromStreamInput struct {
	StreamName *string  `json:"StreamName,omitempty"`
	TagKeys    []string `json:"TagKeys,omitempty"`
	StreamARN  *string  `json:"StreamARN,omitempty"`
	StreamID   *string  `json:"StreamId,omitempty"`
}

// Validate checks the input against the service model.
func (in *RemoveTagsFromStreamInput) Validate() *Error {
	var v validator
	v.checkStream(in.StreamARN, in.StreamID, in.StreamName)
	v.checkStringList("tagKeys", in.TagKeys, true, minTagKeys, maxTagKeys, &shapeTagKey)
	return v.err()
}
