package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go"
	awshttp "github.com/aws/smithy-go/transport/http"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/sdkhttp"
)

// The test keys: alice is a named user of account 111111111111 with an
// identity policy, bob the root of account 222222222222.
const (
	aliceKey    = "AKIAALICE000000001"
	aliceSecret = "alice-secret-Zm9vYmFy"
	aliceARN    = "arn:aws:iam::111111111111:user/alice"
	alicePolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kinesis:*","Resource":"*"}]}`
	bobKey      = "AKIABOB00000000002"
	bobSecret   = "bob-secret-YmFyYmF6"
)

func testCredentials(t *testing.T) *Credentials {
	t.Helper()
	c, err := NewCredentials([]Credential{
		{AccessKeyID: aliceKey, SecretAccessKey: aliceSecret, AccountID: "111111111111", Name: "alice", Policy: alicePolicy},
		{AccessKeyID: bobKey, SecretAccessKey: bobSecret, AccountID: "222222222222"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sdkClient is a Kinesis client of the real SDK against ts.
func sdkClient(ts *testServer, region string, creds aws.CredentialsProvider) *awskinesis.Client {
	return awskinesis.New(awskinesis.Options{
		Region:           region,
		Credentials:      creds,
		BaseEndpoint:     aws.String(ts.url),
		RetryMaxAttempts: 1,
		HTTPClient:       sdkhttp.New(),
	})
}

// wantAPIError checks an SDK error's code, message and HTTP status.
func wantAPIError(t *testing.T, err error, code, message string, status int) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error = %v, want %s", err, code)
	}
	if apiErr.ErrorCode() != code || apiErr.ErrorMessage() != message {
		t.Fatalf("error = %s %q\nwant    %s %q", apiErr.ErrorCode(), apiErr.ErrorMessage(), code, message)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != status {
		t.Fatalf("error %v: want HTTP status %d", err, status)
	}
}

// TestSigV4WithSDK: the real SDK with good and bad credentials against a
// verifying server; a verified request reaches the handler with its
// key's account and principal, a refused one never does.
func TestSigV4WithSDK(t *testing.T) {
	h := &fakeHandler{respond: func(_ context.Context, req *kinesis.Request) *kinesis.Response {
		return &kinesis.Response{Status: 200, ContentType: jsonCT, Body: []byte(`{"StreamNames":[],"HasMoreStreams":false}`)}
	}}
	reg := prometheus.NewRegistry()
	ts := startServer(t, Config{Handler: h, Credentials: testCredentials(t), Metrics: reg})

	const mismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	const badToken = "The security token included in the request is invalid."
	tests := []struct {
		name       string
		creds      aws.CredentialsProvider
		wantCode   string
		wantMsg    string
		wantStatus int
		reason     string
	}{
		{"wrong secret", credentials.NewStaticCredentialsProvider(aliceKey, "not-the-secret", ""),
			"InvalidSignatureException", mismatch, 400, reasonMismatch},
		{"unknown key", credentials.NewStaticCredentialsProvider("AKIAUNKNOWN0000000", aliceSecret, ""),
			"UnrecognizedClientException", badToken, 400, reasonUnknownKey},
		{"session token", credentials.NewStaticCredentialsProvider(aliceKey, aliceSecret, "FwoGZXIvYXdzEJr"),
			"UnrecognizedClientException", "The security token included in the request is invalid", 400, reasonSessionToken},
		{"anonymous", aws.AnonymousCredentials{},
			"MissingAuthenticationTokenException", "Missing Authentication Token", 400, reasonMissing},
		// The signature is checked before the token.
		{"session token and wrong secret", credentials.NewStaticCredentialsProvider(aliceKey, "not-the-secret", "FwoGZXIvYXdzEJr"),
			"InvalidSignatureException", mismatch, 400, reasonMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(h.requests())
			failures := sample(t, reg, "tributary_auth_failures_total", map[string]string{"reason": tt.reason})
			_, err := sdkClient(ts, "eu-west-1", tt.creds).ListStreams(context.Background(), &awskinesis.ListStreamsInput{})
			wantAPIError(t, err, tt.wantCode, tt.wantMsg, tt.wantStatus)
			if n := len(h.requests()) - before; n != 0 {
				t.Fatalf("handler called %d times for a refused request", n)
			}
			if got := sample(t, reg, "tributary_auth_failures_total", map[string]string{"reason": tt.reason}) - failures; got != 1 {
				t.Fatalf("auth failures %s went up by %v, want 1", tt.reason, got)
			}
		})
	}

	t.Run("good", func(t *testing.T) {
		for _, c := range []struct {
			key, secret, account, arn, policy string
		}{
			{aliceKey, aliceSecret, "111111111111", aliceARN, alicePolicy},
			{bobKey, bobSecret, "222222222222", "arn:aws:iam::222222222222:root", ""},
		} {
			_, err := sdkClient(ts, "eu-west-1", credentials.NewStaticCredentialsProvider(c.key, c.secret, "")).
				ListStreams(context.Background(), &awskinesis.ListStreamsInput{})
			if err != nil {
				t.Fatalf("%s: ListStreams: %v", c.key, err)
			}
			reqs := h.requests()
			req := reqs[len(reqs)-1]
			want := kinesis.Caller{AccessKeyID: c.key, Account: c.account, ARN: c.arn, Policy: []byte(c.policy)}
			if c.policy == "" {
				want.Policy = nil
			}
			if req.Account != c.account || req.Region != "eu-west-1" || req.Caller == nil ||
				req.Caller.AccessKeyID != want.AccessKeyID || req.Caller.Account != want.Account ||
				req.Caller.ARN != want.ARN || !bytes.Equal(req.Caller.Policy, want.Policy) {
				t.Fatalf("handler got account %q region %q caller %+v, want %+v", req.Account, req.Region, req.Caller, want)
			}
		}
	})

	// The signing key cached for alice's scope by the good calls does not
	// make a wrong secret pass in that scope.
	t.Run("wrong secret after good", func(t *testing.T) {
		_, err := sdkClient(ts, "eu-west-1", credentials.NewStaticCredentialsProvider(aliceKey, "not-the-secret", "")).
			ListStreams(context.Background(), &awskinesis.ListStreamsInput{})
		wantAPIError(t, err, "InvalidSignatureException", mismatch, 400)
	})
}

// signAt signs r (body body) with the SDK's signer for key at time at, in
// us-east-1.
func signAt(t *testing.T, r *http.Request, body, key, secret string, at time.Time) {
	t.Helper()
	sum := sha256.Sum256([]byte(body))
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret},
		r, hex.EncodeToString(sum[:]), "kinesis", "us-east-1", at)
	if err != nil {
		t.Fatal(err)
	}
}

// newCall is a ListStreams request to ts.
func newCall(t *testing.T, ts *testServer, body string) *http.Request {
	t.Helper()
	r, err := http.NewRequest("POST", ts.url+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", jsonCT)
	r.Header.Set("X-Amz-Target", listTgt)
	return r
}

func send(t *testing.T, r *http.Request) response {
	t.Helper()
	resp, err := http1Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// TestSigV4Errors: the answers to requests signed at the wrong time, or
// changed after signing, each with AWS's type, status and message, on a
// server whose clock stands still.
func TestSigV4Errors(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	h := &fakeHandler{}
	ts := startServer(t, Config{Handler: h, Credentials: testCredentials(t), Now: func() time.Time { return now }})
	const body = "{}"
	presign := func(at time.Time, expires string) *http.Request {
		r := newCall(t, ts, body)
		if expires != "" {
			r.URL.RawQuery = "X-Amz-Expires=" + expires
		}
		sum := sha256.Sum256([]byte(body))
		u, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: aliceKey, SecretAccessKey: aliceSecret},
			r, hex.EncodeToString(sum[:]), "kinesis", "us-east-1", at)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := http.NewRequest("POST", u, strings.NewReader(body))
		p.Header.Set("Content-Type", jsonCT)
		p.Header.Set("X-Amz-Target", listTgt)
		return p
	}
	signed := func(at time.Time, change func(r *http.Request)) *http.Request {
		r := newCall(t, ts, body)
		signAt(t, r, body, aliceKey, aliceSecret, at)
		if change != nil {
			change(r)
		}
		return r
	}
	noDate := signed(now, func(r *http.Request) { r.Header.Del("X-Amz-Date") })
	const mismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	tests := []struct {
		name    string
		req     *http.Request
		wantErr string // "" for success
		wantMsg string
	}{
		{"on time", signed(now, nil), "", ""},
		{"4 minutes late", signed(now.Add(-4*time.Minute), nil), "", ""},
		{"4 minutes early", signed(now.Add(4*time.Minute), nil), "", ""},
		{"date in 2000", signed(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), nil), "InvalidSignatureException",
			"Signature expired: 20000101T000000Z is now earlier than 20261203T115500Z (20261203T120000Z - 5 min.)"},
		{"future date", signed(now.Add(10*time.Minute), nil), "InvalidSignatureException",
			"Signature not yet current: 20261203T121000Z is still later than 20261203T120500Z (20261203T120000Z + 5 min.)"},
		{"missing date header", noDate, "IncompleteSignatureException",
			"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=" + noDate.Header.Get("Authorization")},
		{"date not ISO 8601", signed(now, func(r *http.Request) { r.Header.Set("X-Amz-Date", "2026-12-03T12:00:00Z") }),
			"IncompleteSignatureException", "Date must be in ISO-8601 'basic format'. Got '2026-12-03T12:00:00Z'. See http://en.wikipedia.org/wiki/ISO_8601"},
		{"date of another day than the scope", signed(now, func(r *http.Request) { r.Header.Set("X-Amz-Date", "20261204T000000Z") }),
			"InvalidSignatureException", "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: " +
				"'20261203' != '20261204', from '20261204T000000Z'."},
		{"content hash not the body's", signed(now, func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", strings.Repeat("0", 64))
		}), "InvalidSignatureException", mismatch},
		{"signed with another key's secret", signed(now, func(r *http.Request) {
			signAt(t, r, body, aliceKey, bobSecret, now)
		}), "InvalidSignatureException", mismatch},
		{"signed for another service", signed(now, func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/kinesis/", "/dynamodb/", 1))
		}), "InvalidSignatureException", "Credential should be scoped to correct service: 'kinesis'. "},
		{"signed by the Date header", signed(now, func(r *http.Request) {
			r.Header.Del("X-Amz-Date")
			r.Header.Del("Authorization")
			r.Header.Set("Date", now.Format(http.TimeFormat))
			sig := signature{
				credential:    credential{AccessKeyID: aliceKey, Date: "20261203", Region: "us-east-1", Service: "kinesis", Terminator: "aws4_request"},
				SignedHeaders: []string{"date", "host"},
			}
			r.Host = strings.TrimPrefix(ts.url, "http://")
			v := computeSignature(r, sig, aliceSecret, now.Format(amzDateFormat), bodyHash([]byte(body)))
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+aliceKey+"/20261203/us-east-1/kinesis/aws4_request, SignedHeaders=date;host, Signature="+v)
		}), "", ""},
		{"presigned", presign(now, "300"), "", ""},
		{"presigned, 4 minutes left", presign(now.Add(-296*time.Second), "300"), "", ""},
		{"presigned and expired", presign(now.Add(-10*time.Minute), "300"), "InvalidSignatureException",
			"Signature expired: 20261203T115000Z is now earlier than 20261203T115500Z (20261203T120000Z - 300 sec.)"},
		{"presigned without X-Amz-Expires", presign(now, ""), "IncompleteSignatureException",
			"X-Amz-Expires must be an integer from 1 to 604800 (seconds), got ''."},
		{"presigned in the future", presign(now.Add(time.Hour), "300"), "InvalidSignatureException",
			"Signature not yet current: 20261203T130000Z is still later than 20261203T120500Z (20261203T120000Z + 5 min.)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(h.requests())
			got := send(t, tt.req)
			if tt.wantErr == "" {
				if got.status != 200 || len(h.requests()) != before+1 {
					t.Fatalf("status %d %s, want success", got.status, got.body)
				}
				return
			}
			if got.status != 400 || !strings.Contains(string(got.body), `"__type":"`+tt.wantErr+`"`) {
				t.Fatalf("got %d %s, want 400 %s", got.status, got.body, tt.wantErr)
			}
			if tt.wantMsg != "" && string(got.body) != jsonError(tt.wantErr, tt.wantMsg) {
				t.Fatalf("body %s\nwant %s", got.body, jsonError(tt.wantErr, tt.wantMsg))
			}
			if len(h.requests()) != before {
				t.Fatal("the handler was called")
			}
		})
	}
}

// TestSigV4UnsignedPayload: a client may leave the body out of the
// signature with x-amz-content-sha256: UNSIGNED-PAYLOAD, as SigV4 allows.
func TestSigV4UnsignedPayload(t *testing.T) {
	ts := startServer(t, Config{Handler: &fakeHandler{}, Credentials: testCredentials(t)})
	r := newCall(t, ts, "{}")
	r.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: aliceKey, SecretAccessKey: aliceSecret},
		r, unsignedPayload, "kinesis", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := send(t, r); got.status != 200 {
		t.Fatalf("status %d %s", got.status, got.body)
	}
}

// TestSigV4SignedHeaders: the server signs exactly the headers the
// client listed, whatever they are, with values trimmed and inner runs
// of spaces made one, multiple values joined, and a query string
// canonicalised; x-amz-date must be among them.
func TestSigV4SignedHeaders(t *testing.T) {
	ts := startServer(t, Config{Handler: &fakeHandler{}, Credentials: testCredentials(t)})
	r := newCall(t, ts, "{}")
	r.URL.RawQuery = "b=2&a=%7E x&a=1&c"
	r.Header.Set("X-Custom", "  spaced    out  value ")
	r.Header.Add("X-Multi", "one")
	r.Header.Add("X-Multi", "two")
	signAt(t, r, "{}", aliceKey, aliceSecret, time.Now())
	if !strings.Contains(r.Header.Get("Authorization"), "x-custom;x-multi") {
		t.Fatalf("the SDK did not sign the custom headers: %s", r.Header.Get("Authorization"))
	}
	if got := send(t, r); got.status != 200 {
		t.Fatalf("status %d %s", got.status, got.body)
	}

	// Signed by hand without x-amz-date in SignedHeaders.
	at := time.Now().UTC()
	r = newCall(t, ts, "{}")
	r.Header.Set("X-Amz-Date", at.Format(amzDateFormat))
	sig := signature{
		credential:    credential{AccessKeyID: aliceKey, Date: at.Format("20060102"), Region: "us-east-1", Service: "kinesis", Terminator: "aws4_request"},
		SignedHeaders: []string{"host"},
	}
	r.Host = strings.TrimPrefix(ts.url, "http://")
	s := computeSignature(r, sig, aliceSecret, at.Format(amzDateFormat), bodyHash([]byte("{}")))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+aliceKey+"/"+sig.Date+"/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature="+s)
	got := send(t, r)
	if want := jsonError("InvalidSignatureException", "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization."); string(got.body) != want {
		t.Fatalf("got %d %s, want %s", got.status, got.body, want)
	}
}

// BenchmarkVerify is the cost of parsing and verifying one signed
// request (canonical request, the body's SHA-256, one HMAC; the signing
// key comes from the cache after the first): go test -run X -bench Verify ./server/
func BenchmarkVerify(b *testing.B) {
	creds, err := NewCredentials([]Credential{{AccessKeyID: aliceKey, SecretAccessKey: aliceSecret, AccountID: "111111111111"}})
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{64, 64 << 10} {
		b.Run(fmt.Sprintf("body=%d", size), func(b *testing.B) {
			body := strings.Repeat("x", size)
			r, err := http.NewRequest("POST", "http://127.0.0.1:4567/", strings.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			r.Header.Set("Content-Type", jsonCT)
			r.Header.Set("X-Amz-Target", "Kinesis_20131202.PutRecords")
			now := time.Now()
			sum := sha256.Sum256([]byte(body))
			if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: aliceKey, SecretAccessKey: aliceSecret},
				r, hex.EncodeToString(sum[:]), "kinesis", "us-east-1", now); err != nil {
				b.Fatal(err)
			}
			raw := []byte(body)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				sig, authErr := authenticate(r.Header, r.URL.RawQuery)
				if authErr == nil {
					_, authErr = verify(r, raw, sig, creds, now)
				}
				if authErr != nil {
					b.Fatal(authErr.Message)
				}
			}
		})
	}
}
