package bench

import (
	"context"
	"errors"
	"net"
	"net/http"
	"syscall"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// TestClassify: what the soak makes of each kind of failure. A
// ServiceUnavailable, which Tributary answers only for a request it did
// not serve (recovering after a restart, or out of body budget), is a
// refusal to send again, not a server error that may have stored records.
func TestClassify(t *testing.T) {
	answer := func(status int, code string) error {
		resp := &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      &smithy.GenericAPIError{Code: code},
		}}
		return &smithy.OperationError{ServiceID: "Kinesis", OperationName: "PutRecords", Err: resp}
	}
	noAnswer := func(status int) error {
		return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      errors.New("no body"),
		}}
	}
	for _, tt := range []struct {
		name string
		err  error
		want errKind
	}{
		{"throttled", answer(400, "ProvisionedThroughputExceededException"), errThrottled},
		{"recovering or out of budget", answer(503, "ServiceUnavailable"), errRefused},
		{"internal failure", answer(500, "InternalFailure"), errServer},
		{"5xx without an error code", noAnswer(502), errServer},
		{"not found", answer(400, "ResourceNotFoundException"), errNotFound},
		{"a refusal the soak does not expect", answer(400, "ValidationException"), errOther},
		{"connection refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, errRefused},
		{"connection reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, errTransport},
	} {
		if got := classify(context.Background(), tt.err); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
