// Package kinesis is Tributary's wire protocol: it decodes Kinesis requests
// (AWS JSON 1.1 and CBOR), validates them in AWS's words, calls the domain
// layer (package stream), and encodes responses and AWS-style errors. It
// knows nothing of net/http; package server carries bytes to and from it.
package kinesis

// Content types of the two wire encodings.
const (
	ContentTypeJSON = "application/x-amz-json-1.1"
	ContentTypeCBOR = "application/x-amz-cbor-1.1"
)

// TargetPrefix starts the X-Amz-Target header of every Kinesis operation.
const TargetPrefix = "Kinesis_20131202."

// Request is one unary call as the HTTP front received it.
type Request struct {
	// Target is the X-Amz-Target header as sent, e.g.
	// "Kinesis_20131202.PutRecord"; empty when absent.
	Target string
	// ContentType is the Content-Type header as sent.
	ContentType string
	Body        []byte
	// Region comes from the SigV4 credential scope; Account is the
	// configured account id. Both are needed to build ARNs.
	Region    string
	Account   string
	RequestID string
}

// Response is what the HTTP front writes back.
type Response struct {
	Status      int
	ContentType string
	Body        []byte
}
