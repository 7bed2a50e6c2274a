package kinesis

// PutRecordInput is the input of PutRecord. PartitionKey is optional in
// the current model, for streams whose RecordDistributionStrategy is AUTO;
// see partitionKeyRequired.
type PutRecordInput struct {
	StreamName                *string `json:"StreamName,omitempty"`
	Data                      []byte  `json:"Data,omitempty"`
	PartitionKey              *string `json:"PartitionKey,omitempty"`
	ExplicitHashKey           *string `json:"ExplicitHashKey,omitempty"`
	SequenceNumberForOrdering *string `json:"SequenceNumberForOrdering,omitempty"`
	StreamARN                 *string `json:"StreamARN,omitempty"`
	StreamID                  *string `json:"StreamId,omitempty"`
	DryRun                    *bool   `json:"DryRun,omitempty"`
}

// PutRecordOutput is the output of PutRecord.
type PutRecordOutput struct {
	ShardID        string  `json:"ShardId"`
	SequenceNumber string  `json:"SequenceNumber"`
	EncryptionType *string `json:"EncryptionType,omitempty"`
}

// Validate checks the input against the service model, Data up to the
// model's 10 MiB; a stream's own, possibly lower, maximum record size is
// package stream's to check, which knows the stream.
func (in *PutRecordInput) Validate() *Error {
	var v validator
	v.checkData("data", in.Data, true)
	v.checkString("explicitHashKey", in.ExplicitHashKey, false, &shapeHashKey)
	v.checkString("partitionKey", in.PartitionKey, partitionKeyRequired, &shapePartitionKey)
	v.checkString("sequenceNumberForOrdering", in.SequenceNumberForOrdering, false, &shapeSequenceNumber)
	v.checkStream(in.StreamARN, in.StreamID, in.StreamName)
	return v.err()
}
