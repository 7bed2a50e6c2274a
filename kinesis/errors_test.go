package kinesis

import (
	"encoding/json"
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
		{"status filled in when zero", ContentTypeJSON, &Error{Type: ErrServiceUnavailable}, 503, `{"__type":"ServiceUnavailable"}`},
		{"nil error is an internal failure", ContentTypeJSON, nil, 500, `{"__type":"InternalFailure"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := ErrorResponse(tc.contentType, tc.err)
			if resp.Status != tc.wantStatus || resp.ContentType != ContentTypeJSON || string(resp.Body) != tc.wantBody {
				t.Errorf("got %d %q %s, want %d %q %s", resp.Status, resp.ContentType, resp.Body, tc.wantStatus, ContentTypeJSON, tc.wantBody)
			}
			// ErrorType names what the body says, for the front end's
			// metrics.
			var body struct {
				Type string `json:"__type"`
			}
			if err := json.Unmarshal([]byte(tc.wantBody), &body); err != nil || resp.ErrorType != body.Type {
				t.Errorf("ErrorType %q, want %q (%v)", resp.ErrorType, body.Type, err)
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

// TestErrorResponseOtherContentTypes: a request in neither AWS JSON 1.1
// nor CBOR is answered in CBOR, as AWS answers it (kinesalite's
// test/connection.js: "should return CBOR UnknownOperationException if
// x-amz-json-1.0 Content-Type", "... if random Content-Type", "... if no
// target and application/json", "should return CBOR SerializationException
// if no Content-Type"). These replace two cases of TestErrorResponseJSON
// that pinned Tributary's earlier answer, JSON.
func TestErrorResponseOtherContentTypes(t *testing.T) {
	tests := []struct {
		contentType string
		err         *Error
		want        string
	}{
		{"", UnknownOperation(), "\xa1f__typex\x19UnknownOperationException"},
		{"", SerializationError(""), "\xa1f__typevSerializationException"},
		{"application/x-amz-json-1.0", UnknownOperation(), "\xa1f__typex\x19UnknownOperationException"},
		{"application/x-amz-json-1.1asdf", UnknownOperation(), "\xa1f__typex\x19UnknownOperationException"},
		{"application/json", SerializationError(""), "\xa1f__typevSerializationException"},
		{"application/xml", MissingAuthenticationToken(),
			"\xa2f__typex#MissingAuthenticationTokenExceptiongmessagex\x1cMissing Authentication Token"},
	}
	for _, tc := range tests {
		resp := ErrorResponse(tc.contentType, tc.err)
		if resp.Status != 400 || resp.ContentType != ContentTypeCBOR || string(resp.Body) != tc.want {
			t.Errorf("%q: got %d %q %q, want 400 %q %q", tc.contentType, resp.Status, resp.ContentType, resp.Body, ContentTypeCBOR, tc.want)
		}
	}
	// The two encodings of Kinesis keep their own, parameters and case
	// notwithstanding.
	if resp := ErrorResponse("Application/X-Amz-Json-1.1; charset=utf-8", UnknownOperation()); resp.ContentType != ContentTypeJSON ||
		string(resp.Body) != `{"__type":"UnknownOperationException"}` {
		t.Errorf("JSON 1.1 with parameters: got %q %s", resp.ContentType, resp.Body)
	}
}

// TestLegacyJSONResponse pins the envelope AWS answers a body sent as
// application/json with (kinesalite's test/connection.js,
// assertUnknownDeprecated and assertSerializationDeprecated).
func TestLegacyJSONResponse(t *testing.T) {
	const (
		unknown = `{"Output":{"__type":"com.amazon.coral.service#UnknownOperationException"},"Version":"1.0"}`
		serial  = `{"Output":{"__type":"com.amazon.coral.service#SerializationException"},"Version":"1.0"}`
	)
	tests := []struct {
		body       string
		wantStatus int
		wantBody   string
	}{
		{"{}", 404, unknown},
		{` {"StreamName":"s","Limit":[1,{}]} ` + "\n", 404, unknown},
		{"hello", 400, serial},
		{"true", 400, serial},
		{"null", 400, serial},
		{"[]", 400, serial},
		{`"{}"`, 400, serial},
		{"{", 400, serial},
		{"{}{}", 400, serial},
		{"\x00{}", 400, serial},
		{"\xa0", 400, serial}, // CBOR's empty map is not JSON
	}
	for _, tc := range tests {
		resp := LegacyJSONResponse([]byte(tc.body))
		if resp.Status != tc.wantStatus || resp.ContentType != "application/json" || string(resp.Body) != tc.wantBody {
			t.Errorf("%q: got %d %q %s, want %d application/json %s", tc.body, resp.Status, resp.ContentType, resp.Body, tc.wantStatus, tc.wantBody)
		}
		if want := map[int]string{404: ErrUnknownOperation, 400: ErrSerialization}[tc.wantStatus]; resp.ErrorType != want {
			t.Errorf("%q: ErrorType %q, want %q", tc.body, resp.ErrorType, want)
		}
	}
}
