package server

import (
	"net/http"
	"testing"

	"github.com/tributary-io/tributary/kinesis"
)

func TestAuthenticate(t *testing.T) {
	const (
		goodCred = "AKID/20250101/us-east-1/kinesis/aws4_request"
		goodAuth = "AWS4-HMAC-SHA256 Credential=" + goodCred + ", SignedHeaders=host;x-amz-date, Signature=abc"
	)
	withDate := map[string]string{"X-Amz-Date": "20250101T000000Z"}
	presignedQuery := "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20250101%2Fap-south-1%2Fkinesis%2Faws4_request" +
		"&X-Amz-Date=20250101T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=abc"

	tests := []struct {
		name       string
		authz      string
		headers    map[string]string
		query      string
		wantRegion string
		wantType   string
		wantMsg    string
	}{
		{
			name:       "header",
			authz:      goodAuth,
			headers:    withDate,
			wantRegion: "us-east-1",
		},
		{
			name:       "header with Date instead of X-Amz-Date",
			authz:      goodAuth,
			headers:    map[string]string{"Date": "Wed, 01 Jan 2025 00:00:00 GMT"},
			wantRegion: "us-east-1",
		},
		{
			name:       "header separated by commas only",
			authz:      "AWS4-HMAC-SHA256 Credential=AKID/20250101/eu-west-1/kinesis/aws4_request,SignedHeaders=host,Signature=abc",
			headers:    withDate,
			wantRegion: "eu-west-1",
		},
		{
			name:       "header separated by spaces only, trailing slash in credential",
			authz:      "AWS4-HMAC-SHA256 Credential=AKID/20250101/eu-west-1/kinesis/aws4_request/ SignedHeaders=Host Signature=abc",
			headers:    withDate,
			wantRegion: "eu-west-1",
		},
		{
			// What the AWS SDK for JavaScript v3 sends over HTTP/2.
			name: "header signing :authority instead of host",
			authz: "AWS4-HMAC-SHA256 Credential=" + goodCred + ", SignedHeaders=:authority;content-length;content-type;" +
				"x-amz-content-sha256;x-amz-date;x-amz-target, Signature=abc",
			headers:    withDate,
			wantRegion: "us-east-1",
		},
		{
			name:       "presigned",
			query:      presignedQuery,
			wantRegion: "ap-south-1",
		},
		{
			name:     "missing",
			wantType: kinesis.ErrMissingAuthenticationToken,
			wantMsg:  "Missing Authentication Token",
		},
		{
			name:     "query without X-Amz-Algorithm is not presigned",
			query:    "X-Amz-Credential=a&X-Amz-Signature=b&X-Amz-SignedHeaders=c&X-Amz-Date=d",
			wantType: kinesis.ErrMissingAuthenticationToken,
			wantMsg:  "Missing Authentication Token",
		},
		{
			name:     "header and query",
			authz:    goodAuth,
			headers:  withDate,
			query:    "X-Amz-Algorithm",
			wantType: kinesis.ErrInvalidSignature,
			wantMsg:  "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
		},
		{
			name:     "header without parameters or date",
			authz:    "X",
			wantType: kinesis.ErrIncompleteSignature,
			wantMsg: "Authorization header requires 'Credential' parameter. " +
				"Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter. " +
				"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. " +
				"Authorization=X",
		},
		{
			name:     "header missing SignedHeaders",
			authz:    "AWS4- Signature=b Credential=a",
			headers:  map[string]string{"Date": "a"},
			wantType: kinesis.ErrIncompleteSignature,
			wantMsg:  "Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4- Signature=b Credential=a",
		},
		{
			name:     "header missing date only",
			authz:    goodAuth,
			wantType: kinesis.ErrIncompleteSignature,
			wantMsg:  "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=" + goodAuth,
		},
		{
			name:     "header with a space inside the credential",
			authz:    "AWS4-HMAC-SHA256 Credential=AKID /20250101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=abc",
			headers:  withDate,
			wantType: kinesis.ErrIncompleteSignature,
			wantMsg: "'/20250101/us-east-1/kinesis/aws4_request' not a valid key=value pair (missing equal-sign) in Authorization header: " +
				"'AWS4-HMAC-SHA256 Credential=AKID /20250101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=abc'.",
		},
		{
			name:     "SigV2-style header",
			authz:    "AWS AKID:c2lnbmF0dXJl",
			headers:  withDate,
			wantType: kinesis.ErrIncompleteSignature,
			wantMsg:  "'AKID:c2lnbmF0dXJl' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS AKID:c2lnbmF0dXJl'.",
		},
		{
			name:     "unsupported algorithm",
			authz:    "AWS4-HMAC-SHA512 Credential=" + goodCred + ", SignedHeaders=host, Signature=abc",
			headers:  withDate,
			wantType: kinesis.ErrIncompleteSignature,
			wantMsg:  "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). ",
		},
		{
			name:     "host not signed",
			authz:    "AWS4-HMAC-SHA256 Credential=" + goodCred + ", SignedHeaders=x-amz-date, Signature=abc",
			headers:  withDate,
			wantType: kinesis.ErrInvalidSignature,
			wantMsg:  "'Host' must be a 'SignedHeader' in the AWS Authorization.",
		},
		{
			name:     "credential with four elements",
			authz:    "AWS4-HMAC-SHA256 Credential=a/b/c/d, SignedHeaders=host, Signature=abc",
			headers:  withDate,
			wantType: kinesis.ErrIncompleteSignature,
			wantMsg:  "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'a/b/c/d'",
		},
		{
			name:     "credential scoped to another service, empty region and bad terminator",
			authz:    "AWS4-HMAC-SHA256 Credential=AKID/20250101//dynamodb/aws5_request, SignedHeaders=host, Signature=abc",
			headers:  withDate,
			wantType: kinesis.ErrInvalidSignature,
			wantMsg: "Credential should be scoped to a valid region, not ''. " +
				"Credential should be scoped to correct service: 'kinesis'. " +
				"Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. ",
		},
		{
			name:     "empty X-Amz-Algorithm query",
			query:    "X-Amz-Algorithm",
			wantType: kinesis.ErrIncompleteSignature,
			wantMsg: "AWS query-string parameters must include 'X-Amz-Algorithm'. " +
				"AWS query-string parameters must include 'X-Amz-Credential'. " +
				"AWS query-string parameters must include 'X-Amz-Signature'. " +
				"AWS query-string parameters must include 'X-Amz-SignedHeaders'. " +
				"AWS query-string parameters must include 'X-Amz-Date'. " +
				"Re-examine the query-string parameters.",
		},
		{
			name:     "query missing X-Amz-SignedHeaders",
			query:    "X-Amz-Algorithm=a&X-Amz-Credential=b&X-Amz-Signature=c&X-Amz-Date=d",
			wantType: kinesis.ErrIncompleteSignature,
			wantMsg:  "AWS query-string parameters must include 'X-Amz-SignedHeaders'. Re-examine the query-string parameters.",
		},
		{
			name:     "query with unsupported algorithm",
			query:    "X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256&X-Amz-Credential=b&X-Amz-Signature=c&X-Amz-SignedHeaders=host&X-Amz-Date=d",
			wantType: kinesis.ErrIncompleteSignature,
			wantMsg:  "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256' (only AWS4-HMAC-SHA256 for now). ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := make(http.Header)
			if tt.authz != "" {
				h.Set("Authorization", tt.authz)
			}
			for k, v := range tt.headers {
				h.Set(k, v)
			}
			cred, authErr := authenticate(h, tt.query)
			if tt.wantType != "" {
				if authErr == nil {
					t.Fatalf("authenticate succeeded with %+v, want %s", cred, tt.wantType)
				}
				if authErr.Type != tt.wantType || authErr.Message != tt.wantMsg {
					t.Fatalf("authenticate error = %s %q\nwant %s %q", authErr.Type, authErr.Message, tt.wantType, tt.wantMsg)
				}
				return
			}
			if authErr != nil {
				t.Fatalf("authenticate: %s %q", authErr.Type, authErr.Message)
			}
			if cred.Region != tt.wantRegion || cred.AccessKeyID != "AKID" || cred.Service != "kinesis" || cred.Date != "20250101" {
				t.Fatalf("credential = %+v, want AKID/20250101/%s/kinesis", cred, tt.wantRegion)
			}
		})
	}
}
