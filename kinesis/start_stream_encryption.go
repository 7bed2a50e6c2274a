package kinesis

// StartStreamEncryptionInput is the input of StartStreamEncryption; no
// output.
type StartStreamEncryptionInput struct {
	StreamName     *string `json:"StreamName,omitempty"`
	EncryptionType *string `json:"EncryptionType,omitempty"`
	KeyID          *string `json:"KeyId,omitempty"`
	StreamARN      *string `json:"StreamARN,omitempty"`
	StreamID       *string `json:"StreamId,omitempty"`
}

// Validate checks the input against the service model.
func (in *StartStreamEncryptionInput) Validate() *Error {
	var v validator
	v.checkString("encryptionType", in.EncryptionType, true, &shapeEncryptionType)
	v.checkString("keyId", in.KeyID, true, &shapeKeyID)
	v.checkStream(in.StreamARN, in.StreamID, in.StreamName)
	return v.err()
}
