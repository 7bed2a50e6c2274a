package api

import (
	"context"
	"fmt"
	"testing"

	"github.com/tributary-io/tributary/kinesis"
)

// TestRegionlessRequestRefused: a request without a region (unsigned) is
// refused before anything is created, and the stream does not exist
// afterwards in any region.
func TestRegionlessRequestRefused(t *testing.T) {
	a, _ := newTestAPI(t)
	resp := a.Handle(context.Background(), &kinesis.Request{
		Target: kinesis.TargetPrefix + kinesis.OpCreateStream, ContentType: kinesis.ContentTypeJSON,
		Body: []byte(`{"StreamName":"s","ShardCount":1}`), Account: "000000000000",
	})
	wantResponse(t, resp, 400, `{"__type":"MissingAuthenticationTokenException","message":"Missing Authentication Token"}`)
	wantResponse(t, call(a, kinesis.ContentTypeJSON, kinesis.OpListStreams, `{}`), 200,
		`{"StreamNames":[],"HasMoreStreams":false,"StreamSummaries":[]}`)
}

// TestOtherAccountsARNRefused: without a Caller (--auth off), every
// member that names a resource by ARN is refused with AWS's
// AccessDeniedException when the ARN is another account's, naming the
// account's root and the action. (With a Caller the policies decide:
// authorize_test.go.)
func TestOtherAccountsARNRefused(t *testing.T) {
	a, _ := newTestAPI(t)
	const (
		other       = "arn:aws:kinesis:us-east-1:111111111111:stream/s"
		otherCons   = other + "/consumer/c:1700000000"
		deniedShape = `{"__type":"AccessDeniedException","message":"User: %s is not authorized to perform: kinesis:%s on resource: %s because no resource-based policy allows the kinesis:%s action"}`
	)
	tests := []struct {
		op, body, resource string
		caller             *kinesis.Caller
		wantPrincipal      string
	}{
		{kinesis.OpDescribeStreamSummary, `{"StreamARN":"` + other + `"}`, other, nil, "arn:aws:iam::000000000000:root"},
		{kinesis.OpPutRecord, `{"StreamARN":"` + other + `","PartitionKey":"k","Data":"AA=="}`, other, nil, "arn:aws:iam::000000000000:root"},
		{kinesis.OpDescribeStreamConsumer, `{"ConsumerARN":"` + otherCons + `"}`, otherCons, nil, "arn:aws:iam::000000000000:root"},
		{kinesis.OpListTagsForResource, `{"ResourceARN":"` + other + `"}`, other, nil, "arn:aws:iam::000000000000:root"},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			resp := a.Handle(context.Background(), &kinesis.Request{
				Target: kinesis.TargetPrefix + tt.op, ContentType: kinesis.ContentTypeJSON, Body: []byte(tt.body),
				Region: "us-east-1", Account: "000000000000", Caller: tt.caller,
			})
			wantResponse(t, resp, 400, fmt.Sprintf(deniedShape, tt.wantPrincipal, tt.op, tt.resource, tt.op))
		})
	}
	// The caller's own account's ARN is served (here: not found).
	resp := call(a, kinesis.ContentTypeJSON, kinesis.OpDescribeStreamSummary, `{"StreamARN":"`+testARN+`"}`)
	if resp.ErrorType != kinesis.ErrResourceNotFound {
		t.Fatalf("own account's ARN: %d %s, want ResourceNotFoundException", resp.Status, resp.Body)
	}
}
