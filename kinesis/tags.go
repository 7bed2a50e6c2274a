package kinesis

// Shapes of the tagging operations: the stream-scoped ones and the newer
// resource-scoped ones (streams and consumers, by ARN).

// Tag is one tag as the list operations return it.
type Tag struct {
	Key   string  `json:"Key"`
	Value *string `json:"Value,omitempty"`
}

// AddTagsToStreamInput is the input of AddTagsToStream; no output.
type AddTagsToStreamInput struct {
	StreamName *string           `json:"StreamName,omitempty"`
	Tags       map[string]string `json:"Tags,omitempty"`
	StreamARN  *string           `json:"StreamARN,omitempty"`
	StreamID   *string           `json:"StreamId,omitempty"`
}

// RemoveTagsFromStreamInput is the input of RemoveTagsFromStream; no
// output.
type RemoveTagsFromStreamInput struct {
	StreamName *string  `json:"StreamName,omitempty"`
	TagKeys    []string `json:"TagKeys,omitempty"`
	StreamARN  *string  `json:"StreamARN,omitempty"`
	StreamID   *string  `json:"StreamId,omitempty"`
}

// ListTagsForStreamInput is the input of ListTagsForStream.
type ListTagsForStreamInput struct {
	StreamName           *string `json:"StreamName,omitempty"`
	ExclusiveStartTagKey *string `json:"ExclusiveStartTagKey,omitempty"`
	Limit                *int32  `json:"Limit,omitempty"`
	StreamARN            *string `json:"StreamARN,omitempty"`
	StreamID             *string `json:"StreamId,omitempty"`
}

// ListTagsForStreamOutput is the output of ListTagsForStream.
type ListTagsForStreamOutput struct {
	Tags        []Tag `json:"Tags"`
	HasMoreTags bool  `json:"HasMoreTags"`
}

// TagResourceInput is the input of TagResource; no output.
type TagResourceInput struct {
	Tags        map[string]string `json:"Tags,omitempty"`
	ResourceARN *string           `json:"ResourceARN,omitempty"`
	StreamID    *string           `json:"StreamId,omitempty"`
}

// UntagResourceInput is the input of UntagResource; no output.
type UntagResourceInput struct {
	TagKeys     []string `json:"TagKeys,omitempty"`
	ResourceARN *string  `json:"ResourceARN,omitempty"`
	StreamID    *string  `json:"StreamId,omitempty"`
}

// ListTagsForResourceInput is the input of ListTagsForResource.
type ListTagsForResourceInput struct {
	ResourceARN *string `json:"ResourceARN,omitempty"`
	StreamID    *string `json:"StreamId,omitempty"`
}

// ListTagsForResourceOutput is the output of ListTagsForResource.
type ListTagsForResourceOutput struct {
	Tags []Tag `json:"Tags"`
}
