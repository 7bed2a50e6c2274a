package kinesis

// StopStreamEncryptionInput is the input of StopStreamEncryption; no
// output.
type StopStreamEncryptionInput struct {
	StreamName     *string `json:"StreamName,omitempty"`
	EncryptionType *string `json:"EncryptionType,omitempty"`
	KeyID          *string `json:"KeyId,omitempty"`
	StreamARN      *string `json:"StreamARN,omitempty"`
	StreamID       *string `json:"StreamId,omitempty"`
}

// Validate checks the input against the service model.
func (in *StopStreamEncryptionInput) Validate() *Error {
	var v validator
	v.checkString("encryptionType", in.EncryptionType, true, &shapeEncryptionType)
	v.checkString("keyId", in.KeyID, true, &shapeKeyID)
	v.checkStream(in.StreamARN, in.StreamID, in.StreamName)
	return v.err()
}
