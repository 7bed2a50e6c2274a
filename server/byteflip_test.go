package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/api"
	"github.com/tributary-io/tributary/storage/mem"
	"github.com/tributary-io/tributary/stream"
)

// startVerifyingKinesis starts the front end over the real handlers and
// an in-memory engine, verifying signatures against testCredentials with
// the clock now (time.Now when nil).
func startVerifyingKinesis(t *testing.T, now func() time.Time) *testServer {
	t.Helper()
	engine := mem.New(mem.Options{})
	svc, err := stream.New(context.Background(), engine, stream.Options{
		CreateDelay: stream.NoDelay, DeleteDelay: stream.NoDelay, UpdateDelay: stream.NoDelay,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		svc.Close()
		engine.Close()
	})
	return startServer(t, Config{Handler: api.New(svc, api.Options{}), Credentials: testCredentials(t), Now: now})
}

// rawCall is a request in parts, so that a test can change any one of
// them after signing.
type rawCall struct {
	method, path, host string
	header             [][2]string // in order; Content-Length comes from body
	body               string
}

func (c rawCall) clone() rawCall {
	c.header = append([][2]string(nil), c.header...)
	return c
}

func (c rawCall) send(t *testing.T, addr string) response {
	t.Helper()
	r, err := http.NewRequest(c.method, "http://"+addr+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	r.Host = c.host
	for _, kv := range c.header {
		r.Header.Set(kv[0], kv[1])
	}
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

// flip changes one byte to another of its kind, so that the request stays
// well-formed HTTP: a digit to the next digit, a letter to the next
// letter of its case, anything else to 'x'.
func flip(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return '0' + (c-'0'+1)%10
	case 'a' <= c && c <= 'z':
		return 'a' + (c-'a'+1)%26
	case 'A' <= c && c <= 'Z':
		return 'A' + (c-'A'+1)%26
	}
	return 'x'
}

func flipAt(s string, i int) string { return s[:i] + string(flip(s[i])) + s[i+1:] }

// TestSignedBytesFlipped signs a CreateStream with the SDK's signer, then
// sends it again and again with one byte of what is signed changed: each
// byte of the method, the path, every signed header's value (the host,
// the content type, the target, the date), the body, and of the
// Authorization header's credential (key id, scope date, region,
// service, terminator) and signature. Each must be refused with an
// authentication error (or, for a target that no longer names an
// operation, UnknownOperationException, which AWS reports first) and
// create nothing; the request as signed then succeeds.
func TestSignedBytesFlipped(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	ts := startVerifyingKinesis(t, func() time.Time { return now })

	const body = `{"StreamName":"flip","ShardCount":1}`
	r, err := http.NewRequest("POST", ts.url+"/kinesis", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", jsonCT)
	r.Header.Set("X-Amz-Target", "Kinesis_20131202.CreateStream")
	signAt(t, r, body, aliceKey, aliceSecret, now)
	orig := rawCall{method: "POST", path: "/kinesis", host: ts.addr, body: body, header: [][2]string{
		{"Content-Type", r.Header.Get("Content-Type")},
		{"X-Amz-Target", r.Header.Get("X-Amz-Target")},
		{"X-Amz-Date", r.Header.Get("X-Amz-Date")},
		{"Authorization", r.Header.Get("Authorization")},
	}}
	authz := orig.header[3][1]
	if !strings.Contains(authz, "SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-target,") {
		t.Fatalf("the signer signed other headers than the test flips: %s", authz)
	}

	const (
		invalid    = "InvalidSignatureException"
		incomplete = "IncompleteSignatureException"
		unknownKey = "UnrecognizedClientException"
		unknownOp  = "UnknownOperationException"
	)
	type flipped struct {
		what  string
		call  rawCall
		allow []string // error types that are right for it
	}
	var cases []flipped
	add := func(what string, n int, change func(c *rawCall, i int), allow ...string) {
		for i := range n {
			c := orig.clone()
			change(&c, i)
			cases = append(cases, flipped{fmt.Sprintf("%s byte %d", what, i), c, allow})
		}
	}
	add("method", len(orig.method), func(c *rawCall, i int) { c.method = flipAt(c.method, i) }, invalid)
	// The path's leading slash is not a byte that can change.
	add("path", len(orig.path)-1, func(c *rawCall, i int) { c.path = flipAt(c.path, i+1) }, invalid)
	add("host", len(orig.host), func(c *rawCall, i int) { c.host = flipAt(c.host, i) }, invalid)
	add("body", len(orig.body), func(c *rawCall, i int) { c.body = flipAt(c.body, i) }, invalid)
	for h := range 3 {
		name := orig.header[h][0]
		allow := []string{invalid}
		switch name {
		case "X-Amz-Target":
			allow = []string{invalid, unknownOp}
		case "X-Amz-Date":
			// A changed date may no longer parse, or fall on another day
			// than the scope's, or outside the clock skew.
			allow = []string{invalid, incomplete}
		}
		add(name, len(orig.header[h][1]), func(c *rawCall, i int) { c.header[h][1] = flipAt(c.header[h][1], i) }, allow...)
	}
	// The Authorization header: its credential and its signature.
	credStart := strings.Index(authz, "Credential=") + len("Credential=")
	credEnd := credStart + strings.Index(authz[credStart:], ",")
	keyEnd := credStart + len(aliceKey)
	setAuthz := func(c *rawCall, v string) { c.header[3][1] = v }
	add("key id", keyEnd-credStart, func(c *rawCall, i int) { setAuthz(c, flipAt(authz, credStart+i)) }, unknownKey)
	add("credential scope", credEnd-keyEnd, func(c *rawCall, i int) { setAuthz(c, flipAt(authz, keyEnd+i)) }, invalid, incomplete)
	sigStart := strings.Index(authz, "Signature=") + len("Signature=")
	add("signature", len(authz)-sigStart, func(c *rawCall, i int) { setAuthz(c, flipAt(authz, sigStart+i)) }, invalid)

	for _, fc := range cases {
		got := fc.call.send(t, ts.addr)
		ok := false
		for _, typ := range fc.allow {
			// JSON answers carry "__type":"X", the front door's XML <X>.
			ok = ok || strings.Contains(string(got.body), `"__type":"`+typ+`"`) || strings.HasPrefix(string(got.body), "<"+typ+">")
		}
		if got.status == 200 || !ok {
			t.Errorf("%s flipped: %d %s, want one of %v", fc.what, got.status, got.body, fc.allow)
		}
	}
	if len(cases) < 150 {
		t.Fatalf("only %d flips", len(cases))
	}

	list := func() string {
		lr := newCall(t, ts, "{}")
		signAt(t, lr, "{}", aliceKey, aliceSecret, now)
		return string(send(t, lr).body)
	}
	if got := list(); !strings.Contains(got, `"StreamNames":[]`) {
		t.Fatalf("a flipped request created a stream: %s", got)
	}
	if got := orig.send(t, ts.addr); got.status != 200 {
		t.Fatalf("the request as signed: %d %s", got.status, got.body)
	}
	if got := list(); !strings.Contains(got, `"StreamNames":["flip"]`) {
		t.Fatalf("after the request as signed: %s", got)
	}
}
