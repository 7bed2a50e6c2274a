package kinesis

import (
	"testing"

	"github.com/fxamacker/cbor/v2"
)

func TestStatusFor(t *testing.T) {
	tests := []struct {
		errType string
		want    int
	}{
		{ErrResourceNotFound, 400},
		{ErrResourceInUse, 400},
		{ErrInvalidArgument, 400},
		{ErrLimitExceeded, 400},
		{ErrExpiredIterator, 400},
		{ErrExpiredNextToken, 400},
		{ErrProvisionedThroughputExceeded, 400},
		{ErrValidation, 400},
		{ErrAccessDenied, 400},
		{ErrKMSNotFound, 400},
		{ErrSerialization, 400},
		{ErrUnknownOperation, 400},
		{ErrMissingAuthenticationToken, 400},
		{ErrIncompleteSignature, 400},
		{ErrInvalidSignature, 400},
		{ErrUnrecognizedClient, 400},
		{ErrThrottling, 400},
		{ErrInternalFailure, 500},
		{ErrInternalFailureException, 500},
		{ErrServiceUnavailable, 503},
		{"SomethingNew", 400},
	}
	for _, tc := range tests {
		if got := StatusFor(tc.errType); got != tc.want {
			t.Errorf("StatusFor(%s) = %d, want %d", tc.errType, got, tc.want)
		}
		if got := NewError(tc.errType, "m").Status; got != tc.want {
			t.Errorf("NewError(%s).Status = %d, want %d", tc.errType, got, tc.want)
		}
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{ResourceNotFound("Stream s not found."), "ResourceNotFoundException: Stream s not found."},
		{UnknownOperation(), "UnknownOperationException"},
		{Errorf(ErrInvalidArgument, "shard %d", 3), "InvalidArgumentException: shard 3"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

func TestErrorResponseJSON(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		err         *Error
		wantStatus  int
		wantBody    string
	}{
		{"with message", ContentTypeJSON, ResourceNotFound(`Stream "x" not found.`), 400,
			`{"__type":"ResourceNotFoundException","message":"Stream \"x\" not found."}`},
		{"without message", ContentTypeJSON, SerializationError(""), 400, `{"__type":"SerializationException"}`},
		{"server fault", ContentTypeJSON, InternalFailure(), 500, `{"__type":"InternalFailure"}`},
		{"unknown content type answers in JSON", "application/xml", UnknownOperation(), 400, `{"__type":"UnknownOperationException"}`},
		{"no content type answers in JSON", "", MissingAuthenticationToken(), 400,
			`{"__type":"MissingAuthenticationTokenException","message":"Missing Authentication Token"}`},
		{"status filled in when zero", ContentTypeJSON, &Error{Type: ErrServiceUnavailable}, 503, `{"__type":"ServiceUnavailable"}`},
		{"nil error is an internal failure", ContentTypeJSON, nil, 500, `{"__type":"InternalFailure"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := ErrorResponse(tc.contentType, tc.err)
			if resp.Status != tc.wantStatus || resp.ContentType != ContentTypeJSON || string(resp.Body) != tc.wantBody {
				t.Errorf("got %d %q %s, want %d %q %s", resp.Status, resp.ContentType, resp.Body, tc.wantStatus, ContentTypeJSON, tc.wantBody)
			}
		})
	}
}

func TestErrorResponseCBOR(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		want map[string]string
	}{
		{"with message", LimitExceeded("Rate exceeded for stream s."),
			map[string]string{"__type": "LimitExceededException", "message": "Rate exceeded for stream s."}},
		{"without message", SerializationError(""), map[string]string{"__type": "SerializationException"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := ErrorResponse(ContentTypeCBOR, tc.err)
			if resp.Status != 400 || resp.ContentType != ContentTypeCBOR {
				t.Fatalf("got %d %q", resp.Status, resp.ContentType)
			}
			var got map[string]string
			if err := cbor.Unmarshal(resp.Body, &got); err != nil {
				t.Fatalf("body %x: %v", resp.Body, err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
	// Byte for byte, the serialization error is what AWS sends.
	resp := ErrorResponse(ContentTypeCBOR, SerializationError(""))
	if want := "\xa1\x66__type\x76SerializationException"; string(resp.Body) != want {
		t.Errorf("got %x, want %x", resp.Body, want)
	}
}
