package kinesis

import "fmt"

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

// Exception names Kinesis returns. The first group comes from the service
// model; the second are protocol-level errors the AWS front end produces
// before an operation runs.
const (
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

	ErrInternalFailure            = "InternalFailure"
	ErrServiceUnavailable         = "ServiceUnavailable"
	ErrSerialization              = "SerializationException"
	ErrUnknownOperation           = "UnknownOperationException"
	ErrMissingAuthenticationToken = "MissingAuthenticationTokenException"
	ErrIncompleteSignature        = "IncompleteSignatureException"
	ErrInvalidSignature           = "InvalidSignatureException"
	ErrUnrecognizedClient         = "UnrecognizedClientException"
	ErrExpiredToken               = "ExpiredTokenException"
	ErrThrottling                 = "ThrottlingException"
)

// statusByType holds the statuses that differ from 400. Kinesis speaks the
// AWS JSON protocol, where every client fault, the authentication ones
// included, is a 400 (captured from the live service by kinesalite: a
// request without Authorization gets MissingAuthenticationTokenException
// with 400, not the 403 of the query-protocol "Common Errors" page); only
// server faults differ.
var statusByType = map[string]int{
	ErrInternalFailure:          statusInternalServerError,
	ErrInternalFailureException: statusInternalServerError,
	ErrServiceUnavailable:       statusServiceUnavailable,
}

// HTTP statuses, spelled out here because this package stays free of
// net/http (see docs/architecture.md).
const (
	statusOK                  = 200
	statusBadRequest          = 400
	statusInternalServerError = 500
	statusServiceUnavailable  = 503
)

// StatusFor returns the HTTP status AWS uses for an exception name; any
// name not known to be a server fault is a client fault, 400.
func StatusFor(errType string) int {
	if s, ok := statusByType[errType]; ok {
		return s
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
// contentType: a CBOR map for CBOR requests and a JSON object otherwise,
// each with the members "__type" and "message" ("message" is left out when
// empty, as AWS does for SerializationException and
// UnknownOperationException). The AWS SDKs read the code from "__type"
// (aws-sdk-go-v2 after the X-Amzn-ErrorType header, stripping any
// "namespace#" prefix and ":..." suffix) and the message from "message"
// or "Message" alike; AWS itself capitalises "Message" in the
// SerializationException it sends for mistyped members, a difference no
// client observes.
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
		enc = EncodingJSON
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
		e.key("message")
		e.str(err.Message)
	}
	e.endObject()
	return &Response{Status: status, ContentType: enc.ContentType(), Body: e.bytes()}
}
