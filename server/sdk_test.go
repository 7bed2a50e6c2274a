package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/sdkhttp"
)

// The real AWS SDK for Go signs requests the way the front end expects and
// reads back its request ids and errors.
func TestAWSSDKForGo(t *testing.T) {
	h := &fakeHandler{respond: func(_ context.Context, req *kinesis.Request) *kinesis.Response {
		return &kinesis.Response{Status: 200, ContentType: jsonCT, Body: []byte(`{"StreamNames":["orders"],"HasMoreStreams":false}`)}
	}}
	ts := startServer(t, Config{Handler: h})

	tests := []struct {
		name        string
		credentials aws.CredentialsProvider
		wantCode    string // API error code; "" for success
	}{
		{"signed", credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""), ""},
		{"anonymous", aws.AnonymousCredentials{}, "MissingAuthenticationTokenException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := awskinesis.New(awskinesis.Options{
				Region:           "eu-west-3",
				Credentials:      tt.credentials,
				BaseEndpoint:     aws.String(ts.url),
				RetryMaxAttempts: 1,
				HTTPClient:       sdkhttp.New(),
			})
			before := len(h.requests())
			out, err := client.ListStreams(context.Background(), &awskinesis.ListStreamsInput{})
			if tt.wantCode != "" {
				var apiErr smithy.APIError
				if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.wantCode {
					t.Fatalf("ListStreams error = %v, want %s", err, tt.wantCode)
				}
				if n := len(h.requests()) - before; n != 0 {
					t.Fatalf("handler called %d times for an unsigned call", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("ListStreams: %v", err)
			}
			if len(out.StreamNames) != 1 || out.StreamNames[0] != "orders" {
				t.Fatalf("StreamNames = %v", out.StreamNames)
			}
			reqs := h.requests()
			if len(reqs) != before+1 {
				t.Fatalf("handler got %d requests, want %d", len(reqs), before+1)
			}
			req := reqs[len(reqs)-1]
			if req.Region != "eu-west-3" || req.Target != listTgt || req.Account != DefaultAccount {
				t.Fatalf("handler got region %q target %q account %q", req.Region, req.Target, req.Account)
			}
			id, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
			if !ok || id != req.RequestID {
				t.Fatalf("SDK request id = %q, handler saw %q", id, req.RequestID)
			}
		})
	}
}

// A URL presigned by the SDK's SigV4 signer carries the region in its
// query string.
func TestPresignedURL(t *testing.T) {
	h := &fakeHandler{}
	ts := startServer(t, Config{Handler: h})

	body := "{}"
	req, err := http.NewRequest("POST", ts.url+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", jsonCT)
	req.Header.Set("X-Amz-Target", listTgt)
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}
	url, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "kinesis", "ap-south-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}

	got := do(t, http1Client(), "POST", url, map[string]string{"Content-Type": jsonCT, "X-Amz-Target": listTgt}, body)
	if got.status != 200 {
		t.Fatalf("status = %d, body %s", got.status, got.body)
	}
	reqs := h.requests()
	if len(reqs) != 1 || reqs[0].Region != "ap-south-1" {
		t.Fatalf("handler got %+v, want one request for ap-south-1", reqs)
	}
}
