// Package kinesis is the Kinesis wire protocol, standalone: the shapes of
// every operation's input and output, their decoding from AWS JSON 1.1 and
// CBOR and their validation in AWS's words, the encoding of responses, of
// AWS-style errors and of SubscribeToShard's event stream, and the one
// table of operations and of exception names. It imports nothing of
// Tributary and knows nothing of net/http: package api serves the
// operations over package stream, and package server carries bytes to and
// from it.
package kinesis

import "context"

// Content types of the two wire encodings.
const (
	ContentTypeJSON = "application/x-amz-json-1.1"
	ContentTypeCBOR = "application/x-amz-cbor-1.1"
)

// ContentTypeLegacyJSON is the media type of the JSON protocol before
// AWS JSON 1.1, which AWS still recognises and answers in that protocol's
// envelope (see LegacyJSONResponse). It is not an encoding of Kinesis:
// EncodingOf does not know it.
const ContentTypeLegacyJSON = "application/json"

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
	// Region comes from the SigV4 credential scope (empty for a request
	// without a signature, which the handler refuses); Account is the
	// account of the key that signed (Caller.Account) when signatures
	// are verified, else the configured account id. Both are needed to
	// build ARNs.
	Region    string
	Account   string
	RequestID string
	// SourceIP is the client's address (no port), and SecureTransport
	// whether the request came over TLS: the aws:SourceIp and
	// aws:SecureTransport condition keys of policies.
	SourceIP        string
	SecureTransport bool
	// Caller is who signed the request, as the front end verified it;
	// nil when signatures are not verified (serve --auth off), where
	// every request acts as the configured account's root and is not
	// subject to policies.
	Caller *Caller

	// scratch is what decoding took from the pools; see Release.
	scratch scratch
}

// Caller is an authenticated principal: an access key of an account,
// and the identity policy attached to it.
type Caller struct {
	AccessKeyID string
	// Account is the 12-digit account the key belongs to; the front end
	// also sets Request.Account to it.
	Account string
	// ARN is the principal's ARN, as IAM policies name it:
	// arn:aws:iam::ACCOUNT:user/NAME for a named key, or
	// arn:aws:iam::ACCOUNT:root for the account's own.
	ARN string
	// Policy is the identity policy document attached to the key (IAM's
	// JSON policy grammar), or nil for none.
	Policy []byte
}

// Response is what the HTTP front writes back.
//
// A response with Stream set is an event stream (SubscribeToShard): the
// front writes Status and ContentType, then calls Stream, which calls send
// once per message, already framed; send writes the message and flushes it
// to the client, and fails once the client is gone. Body is then unused.
// Stream returns when the stream is over; the front then ends the response.
type Response struct {
	Status      int
	ContentType string
	Body        []byte
	Stream      func(ctx context.Context, send func(msg []byte) error)
	// ErrorType is the exception the body answers with (its "__type"),
	// empty for a success. It is not sent: it tells the front end what it
	// is answering (for its metrics) without decoding the body again.
	ErrorType string

	// pooled is true when Body came from the pools; see Release.
	pooled bool
}
