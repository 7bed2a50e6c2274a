package kinesis

import (
	"encoding/json"
	"fmt"
)

// Error is an AWS error as Kinesis returns it: the exception name that
// clients switch on (the "__type" of the body), the human message, and the
// HTTP status the service answers with.
type Error struct {
	Type    string
	Message string
	Status  int
}

// Error implements error in the form the AWS SDKs print.
func (e *Error) Error() string {
	if e.Message == "" {
		return e.Type
	}
	return e.Type + ": " + e.Message
}

// Exception names Kinesis answers with: the one list of them in Tributary.
const (
	// The service model's exceptions.
	ErrAccessDenied                  = "AccessDeniedException"
	ErrDryRunOperation               = "DryRunOperationException"
	ErrExpiredIterator               = "ExpiredIteratorException"
	ErrExpiredNextToken              = "ExpiredNextTokenException"
	ErrInternalFailureException      = "InternalFailureException"
	ErrInvalidArgument               = "InvalidArgumentException"
	ErrKMSAccessDenied               = "KMSAccessDeniedException"
	ErrKMSDisabled                   = "KMSDisabledException"
	ErrKMSInvalidState               = "KMSInvalidStateException"
	ErrKMSNotFound                   = "KMSNotFoundException"
	ErrKMSOptInRequired              = "KMSOptInRequired"
	ErrKMSThrottling                 = "KMSThrottlingException"
	ErrLimitExceeded                 = "LimitExceededException"
	ErrProvisionedThroughputExceeded = "ProvisionedThroughputExceededException"
	ErrResourceInUse                 = "ResourceInUseException"
	ErrResourceNotFound              = "ResourceNotFoundException"
	ErrValidation                    = "ValidationException"

	// Errors of the AWS front end that a served call can also end with.
	ErrInternalFailure    = "InternalFailure"
	ErrServiceUnavailable = "ServiceUnavailable"
	ErrThrottling         = "ThrottlingException"

	// Errors of the AWS front end before an operation runs: protocol and
	// authentication.
	ErrSerialization              = "SerializationException"
	ErrUnknownOperation           = "UnknownOperationException"
	ErrMissingAuthenticationToken = "MissingAuthenticationTokenException"
	ErrIncompleteSignature        = "IncompleteSignatureException"
	ErrInvalidSignature           = "InvalidSignatureException"
	ErrUnrecognizedClient         = "UnrecognizedClientException"
	ErrExpiredToken               = "ExpiredTokenException"
	ErrRequestTimeout             = "RequestTimeoutException"
)

// exception is what the table below knows of an exception.
type exception struct {
	// status is the HTTP status AWS answers it with. Kinesis speaks the
	// AWS JSON protocol, where every client fault, the authentication
	// ones included, is a 400 (captured from the live service by
	// kinesalite: a request without Authorization gets
	// MissingAuthenticationTokenException with 400, not the 403 of the
	// query-protocol "Common Errors" page); only server faults differ.
	status int
	// ofCall is whether a call that reached its operation can end with
	// it: the service model's exceptions and the front end's
	// InternalFailure, ServiceUnavailable and ThrottlingException, not
	// the protocol and authentication errors.
	ofCall bool
}

// exceptions is the one table of the exceptions above.
var exceptions = map[string]exception{
	ErrAccessDenied:                  {statusBadRequest, true},
	ErrDryRunOperation:               {statusBadRequest, true},
	ErrExpiredIterator:               {statusBadRequest, true},
	ErrExpiredNextToken:              {statusBadRequest, true},
	ErrInternalFailureException:      {statusInternalServerError, true},
	ErrInvalidArgument:               {statusBadRequest, true},
	ErrKMSAccessDenied:               {statusBadRequest, true},
	ErrKMSDisabled:                   {statusBadRequest, true},
	ErrKMSInvalidState:               {statusBadRequest, true},
	ErrKMSNotFound:                   {statusBadRequest, true},
	ErrKMSOptInRequired:              {statusBadRequest, true},
	ErrKMSThrottling:                 {statusBadRequest, true},
	ErrLimitExceeded:                 {statusBadRequest, true},
	ErrProvisionedThroughputExceeded: {statusBadRequest, true},
	ErrResourceInUse:                 {statusBadRequest, true},
	ErrResourceNotFound:              {statusBadRequest, true},
	ErrValidation:                    {statusBadRequest, true},

	ErrInternalFailure:    {statusInternalServerError, true},
	ErrServiceUnavailable: {statusServiceUnavailable, true},
	ErrThrottling:         {statusBadRequest, true},

	ErrSerialization:              {statusBadRequest, false},
	ErrUnknownOperation:           {statusBadRequest, false},
	ErrMissingAuthenticationToken: {statusBadRequest, false},
	ErrIncompleteSignature:        {statusBadRequest, false},
	ErrInvalidSignature:           {statusBadRequest, false},
	ErrUnrecognizedClient:         {statusBadRequest, false},
	ErrExpiredToken:               {statusBadRequest, false},
	ErrRequestTimeout:             {statusRequestTimeout, false},
}

// IsCallError reports whether errType is an exception that a call which
// reached its operation can end with (see exception.ofCall): what a fault
// rule may inject.
func IsCallError(errType string) bool { return exceptions[errType].ofCall }

// IsException reports whether errType is one of the exceptions above,
// the names Tributary answers with: a bounded set, which the front end
// relies on to label its metrics by error.
func IsException(errType string) bool {
	_, ok := exceptions[errType]
	return ok
}

// HTTP statuses, spelled out here because this package stays free of
// net/http (see docs/architecture.md).
const (
	statusOK                  = 200
	statusBadRequest          = 400
	statusNotFound            = 404
	statusRequestTimeout      = 408
	statusInternalServerError = 500
	statusServiceUnavailable  = 503
)

// StatusFor returns the HTTP status AWS uses for an exception name; a
// name not in the table is a client fault, 400.
func StatusFor(errType string) int {
	if e, ok := exceptions[errType]; ok {
		return e.status
	}
	return statusBadRequest
}

// NewError builds an error with the status AWS uses for errType.
func NewError(errType, message string) *Error {
	return &Error{Type: errType, Message: message, Status: StatusFor(errType)}
}

// Errorf builds an error whose message is formatted like fmt.Sprintf.
func Errorf(errType, format string, args ...any) *Error {
	return NewError(errType, fmt.Sprintf(format, args...))
}

// ResourceNotFound is the error for a stream, shard or consumer that does
// not exist.
func ResourceNotFound(message string) *Error { return NewError(ErrResourceNotFound, message) }

// ResourceInUse is the error for a resource in the wrong state.
func ResourceInUse(message string) *Error { return NewError(ErrResourceInUse, message) }

// InvalidArgument is the error for a request the service rejects on
// semantic grounds after validation passed.
func InvalidArgument(message string) *Error { return NewError(ErrInvalidArgument, message) }

// LimitExceeded is the error for account, stream or rate limits.
func LimitExceeded(message string) *Error { return NewError(ErrLimitExceeded, message) }

// ValidationError is a ValidationException with the given message.
func ValidationError(message string) *Error { return NewError(ErrValidation, message) }

// SerializationError is the error for a body that does not parse or whose
// members have the wrong types. message may be empty: AWS sends none for a
// body that is not JSON at all.
func SerializationError(message string) *Error { return NewError(ErrSerialization, message) }

// InternalFailure is the 500 AWS answers for an unexpected failure. AWS
// sends no message with it.
func InternalFailure() *Error { return NewError(ErrInternalFailure, "") }

// UnknownOperation is the error for an X-Amz-Target that names no Kinesis
// operation. AWS sends no message with it.
func UnknownOperation() *Error { return NewError(ErrUnknownOperation, "") }

// MissingAuthenticationToken is the error for a request with neither an
// Authorization header nor presigned query parameters.
func MissingAuthenticationToken() *Error {
	return NewError(ErrMissingAuthenticationToken, "Missing Authentication Token")
}

// ErrorResponse encodes err the way AWS would answer a request sent with
// contentType: a JSON object for AWS JSON 1.1 requests and a CBOR map
// otherwise, each with the members "__type" and the message, left out when
// empty (as AWS does for a body that does not parse, for
// UnknownOperationException and for InternalFailure).
//
// A request in neither encoding (no Content-Type, application/json,
// application/x-amz-json-1.0 or anything else) gets CBOR, as from AWS:
// kinesalite's test/connection.js, captured from the live service, has
// 400 and the CBOR map {"__type":"UnknownOperationException"} for such
// requests with an empty body, and {"__type":"SerializationException"}
// when X-Amz-Target names an operation. (The front end answers those with
// a body itself: see LegacyJSONResponse, and server's frontDoor.)
//
// The message member is "message", except in SerializationException,
// where it is "Message": AWS's Coral front end writes the exceptions of
// its own decoder that way (kinesalite's test/helpers.js, assertSerialization,
// captured from the live service: {"__type":"SerializationException",
// "Message":"class java.lang.Boolean can not be converted to an String"}),
// while every other error, ValidationException included, has "message".
// The AWS SDKs read either spelling (aws-sdk-go-v2 matches the member
// without regard to case; see TestSDKProtocolErrors). CBOR callers get the
// same member names: the spelling is the exception's, not the encoding's.
func ErrorResponse(contentType string, err *Error) *Response {
	if err == nil {
		err = InternalFailure()
	}
	status := err.Status
	if status == 0 {
		status = StatusFor(err.Type)
	}
	enc, ok := EncodingOf(contentType)
	if !ok {
		enc = EncodingCBOR
	}
	var e emitter
	if enc == EncodingCBOR {
		e = &cborEmitter{}
	} else {
		e = &jsonEmitter{}
	}
	n := 1
	if err.Message != "" {
		n = 2
	}
	e.beginObject(n)
	e.key("__type")
	e.str(err.Type)
	if err.Message != "" {
		e.key(messageMember(err.Type))
		e.str(err.Message)
	}
	e.endObject()
	return &Response{Status: status, ContentType: enc.ContentType(), Body: e.bytes(), ErrorType: err.Type}
}

// LegacyJSONResponse is AWS's answer to a POST with a body and
// Content-Type application/json, the media type of the JSON protocol
// that came before AWS JSON 1.1. AWS answers it without looking at the
// signature or the target, in the envelope of that protocol with
// Content-Type application/json (kinesalite's test/connection.js,
// captured from the live service):
//
//   - a JSON object: 404 {"Output":{"__type":"com.amazon.coral.service#UnknownOperationException"},"Version":"1.0"}
//   - anything else: 400 {"Output":{"__type":"com.amazon.coral.service#SerializationException"},"Version":"1.0"}
//
// kinesalite captured "{}" for the first and "hello" for the second;
// AWS's answers to "true" and "null" in its older connection tests are
// the second too, so any body that is not a JSON object gets it. (An
// empty body is answered like any request in neither encoding: see
// ErrorResponse.)
func LegacyJSONResponse(body []byte) *Response {
	errType, status := ErrSerialization, statusBadRequest
	if isJSONObject(body) {
		errType, status = ErrUnknownOperation, statusNotFound
	}
	return &Response{
		Status:      status,
		ContentType: ContentTypeLegacyJSON,
		Body:        []byte(`{"Output":{"__type":"` + coralServicePrefix + errType + `"},"Version":"1.0"}`),
		ErrorType:   errType,
	}
}

// coralServicePrefix qualifies the front end's exception names in the
// legacy envelope.
const coralServicePrefix = "com.amazon.coral.service#"

// isJSONObject reports whether body is one well-formed JSON value and an
// object. json.Valid checks it without building the value, so a large
// body costs no memory.
func isJSONObject(body []byte) bool {
	for _, c := range body {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '{':
			return json.Valid(body)
		}
		return false
	}
	return false
}

// messageMember names the member of an error body that carries the
// message: see ErrorResponse.
func messageMember(errType string) string {
	if errType == ErrSerialization {
		return "Message"
	}
	return "message"
}
