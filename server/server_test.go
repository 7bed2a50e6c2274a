package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/tributary-io/tributary/kinesis"
)

const (
	testAuth  = "AWS4-HMAC-SHA256 Credential=AKID/20250101/eu-west-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
	testDate  = "20250101T000000Z"
	okBody    = `{"ok":true}`
	listTgt   = "Kinesis_20131202.ListStreams"
	jsonCT    = kinesis.ContentTypeJSON
	uuidV4Pat = `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`
)

// fakeHandler records the requests it gets and answers with respond, or
// with 200 okBody when respond is nil.
type fakeHandler struct {
	respond func(ctx context.Context, req *kinesis.Request) *kinesis.Response

	mu   sync.Mutex
	reqs []*kinesis.Request
}

func (h *fakeHandler) Handle(ctx context.Context, req *kinesis.Request) *kinesis.Response {
	// The server takes the body back once the answer is written (see
	// Handler): what is kept for the test is a copy.
	cp := *req
	cp.Body = bytes.Clone(req.Body)
	h.mu.Lock()
	h.reqs = append(h.reqs, &cp)
	h.mu.Unlock()
	if h.respond != nil {
		return h.respond(ctx, req)
	}
	return &kinesis.Response{Status: http.StatusOK, ContentType: jsonCT, Body: []byte(okBody)}
}

func (h *fakeHandler) requests() []*kinesis.Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*kinesis.Request(nil), h.reqs...)
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records decodes the JSON log lines written so far.
func (b *syncBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for line := range strings.Lines(b.buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// testServer is a Server serving on 127.0.0.1 for the duration of a test.
type testServer struct {
	*Server
	addr     string
	url      string
	serveErr chan error
	cancel   context.CancelFunc
}

func startServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{
		Server:   New(cfg),
		addr:     ln.Addr().String(),
		url:      "http://" + ln.Addr().String(),
		serveErr: make(chan error, 1),
		cancel:   cancel,
	}
	go func() { ts.serveErr <- ts.Serve(ctx, ln) }()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		if err := ts.Shutdown(sctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		cancel()
		if err := <-ts.serveErr; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ts
}

// response is what a test client got back.
type response struct {
	proto  string
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, client *http.Client, method, url string, header map[string]string, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	return response{proto: resp.Proto, status: resp.StatusCode, header: resp.Header, body: b}
}

func http1Client() *http.Client {
	return &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
}

// priorKnowledgeClient speaks HTTP/2 from the first byte, as the AWS SDK
// for JavaScript v3 does for http:// endpoints.
func priorKnowledgeClient() *http.Client {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: p}, Timeout: 10 * time.Second}
}

// xnetPriorKnowledgeClient does the same with golang.org/x/net/http2.
func xnetPriorKnowledgeClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}}
}

func signed(h map[string]string) map[string]string {
	out := map[string]string{"Authorization": testAuth, "X-Amz-Date": testDate}
	for k, v := range h {
		out[k] = v
	}
	return out
}

func xmlError(typ, msg string) string {
	return "<" + typ + ">\n  <Message>" + msg + "</Message>\n</" + typ + ">\n"
}

func jsonError(typ, msg string) string {
	return `{"__type":"` + typ + `","message":"` + msg + `"}`
}

func TestProtocolErrors(t *testing.T) {
	jsonCall := map[string]string{"Content-Type": jsonCT, "X-Amz-Target": listTgt}
	incompleteX := "Authorization header requires 'Credential' parameter. " +
		"Authorization header requires 'Signature' parameter. " +
		"Authorization header requires 'SignedHeaders' parameter. " +
		"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. " +
		"Authorization=X"

	tests := []struct {
		name        string
		method      string
		path        string
		header      map[string]string
		body        string
		wantStatus  int
		wantCT      string // "" means no Content-Type header
		wantBody    string
		wantHandled bool
	}{
		{
			name: "GET without auth", method: "GET",
			wantStatus: 403, wantBody: xmlError("MissingAuthenticationTokenException", "Missing Authentication Token"),
		},
		{
			name: "GET signed without target", method: "GET", header: signed(nil),
			wantStatus: 403, wantBody: xmlError("AccessDeniedException", "Unable to determine service/operation name to be authorized"),
		},
		{
			name: "GET with malformed auth", method: "GET", header: map[string]string{"Authorization": "X"},
			wantStatus: 403, wantBody: xmlError("IncompleteSignatureException", incompleteX),
		},
		{
			name: "PUT signed with Kinesis operation", method: "PUT", header: signed(map[string]string{"X-Amz-Target": listTgt}),
			wantStatus: 404, wantBody: "<UnknownOperationException/>\n",
		},
		{
			name: "DELETE signed with unknown Kinesis operation", method: "DELETE",
			header:     signed(map[string]string{"X-Amz-Target": "Kinesis_20131202.Whatever"}),
			wantStatus: 500, wantBody: "<InternalFailure/>\n",
		},
		{
			name: "GET signed with another service", method: "GET",
			header:     signed(map[string]string{"X-Amz-Target": "whatever.ListStreams"}),
			wantStatus: 403, wantBody: xmlError("UnrecognizedClientException", "No authorization strategy was found for service: whatever, operation: ListStreams"),
		},
		{
			name: "POST JSON without auth", method: "POST", header: jsonCall, body: "{}",
			wantStatus: 400, wantCT: jsonCT, wantBody: jsonError("MissingAuthenticationTokenException", "Missing Authentication Token"),
		},
		{
			name: "POST CBOR without auth", method: "POST", body: "\xa0",
			header: map[string]string{"Content-Type": kinesis.ContentTypeCBOR, "X-Amz-Target": listTgt},
			// A CBOR map {"__type": ..., "message": ...}, as AWS answers a
			// CBOR caller.
			wantStatus: 400, wantCT: kinesis.ContentTypeCBOR,
			wantBody: "\xa2f__typex#MissingAuthenticationTokenExceptiongmessagex\x1cMissing Authentication Token",
		},
		{
			name: "POST JSON with malformed auth", method: "POST", body: "{}",
			header:     map[string]string{"Content-Type": jsonCT, "X-Amz-Target": listTgt, "Authorization": "X"},
			wantStatus: 400, wantCT: jsonCT, wantBody: jsonError("IncompleteSignatureException", incompleteX),
		},
		{
			name: "POST JSON with content type parameters and auth missing SignedHeaders", method: "POST", body: "{}",
			header: map[string]string{"Content-Type": "  application/x-amz-json-1.1 ; charset=utf-8", "X-Amz-Target": listTgt,
				"Authorization": "AWS4- Signature=b Credential=a", "Date": "a"},
			wantStatus: 400, wantCT: jsonCT,
			wantBody: jsonError("IncompleteSignatureException", "Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4- Signature=b Credential=a"),
		},
		{
			name: "POST JSON with auth header and presigned query", method: "POST", path: "/?X-Amz-Algorithm", body: "{}",
			header:     signed(jsonCall),
			wantStatus: 400, wantCT: jsonCT,
			wantBody: jsonError("InvalidSignatureException", "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."),
		},
		{
			name: "POST JSON with incomplete presigned query", method: "POST", body: "{}",
			path:       "/?X-Amz-Algorithm=a&X-Amz-Credential=b&X-Amz-Signature=c&X-Amz-Date=d",
			header:     jsonCall,
			wantStatus: 400, wantCT: jsonCT,
			wantBody: jsonError("IncompleteSignatureException", "AWS query-string parameters must include 'X-Amz-SignedHeaders'. Re-examine the query-string parameters."),
		},
		{
			name: "POST JSON with unsupported algorithm", method: "POST", body: "{}",
			header: map[string]string{"Content-Type": jsonCT, "X-Amz-Target": listTgt, "X-Amz-Date": testDate,
				"Authorization": "AWS4-HMAC-SHA512 Credential=AKID/20250101/eu-west-1/kinesis/aws4_request, SignedHeaders=host, Signature=abc"},
			wantStatus: 400, wantCT: jsonCT,
			wantBody: jsonError("IncompleteSignatureException", "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). "),
		},
		{
			// AWS reports an unknown operation before the missing signature.
			name: "POST JSON unknown operation without auth is the handler's", method: "POST", body: "{}",
			header:     map[string]string{"Content-Type": jsonCT, "X-Amz-Target": "Kinesis_20131202.ListStream"},
			wantStatus: 200, wantCT: jsonCT, wantBody: okBody, wantHandled: true,
		},
		{
			name: "POST JSON without target or auth is the handler's", method: "POST", body: "{}",
			header:     map[string]string{"Content-Type": jsonCT},
			wantStatus: 200, wantCT: jsonCT, wantBody: okBody, wantHandled: true,
		},
		{
			// AWS reports SerializationException before the missing signature.
			name: "POST empty body without auth is the handler's", method: "POST", header: jsonCall,
			wantStatus: 200, wantCT: jsonCT, wantBody: okBody, wantHandled: true,
		},
		{
			name: "POST without content type, body or auth is the handler's", method: "POST",
			wantStatus: 200, wantCT: jsonCT, wantBody: okBody, wantHandled: true,
		},
		{
			// AWS answers in the legacy envelope without looking at the
			// signature (kinesalite's test/connection.js).
			name: "POST legacy application/json without auth", method: "POST", body: "{}",
			header:     map[string]string{"Content-Type": "application/json", "X-Amz-Target": listTgt},
			wantStatus: 404, wantCT: "application/json",
			wantBody: `{"Output":{"__type":"com.amazon.coral.service#UnknownOperationException"},"Version":"1.0"}`,
		},
		{
			name: "POST legacy application/json without body or auth is the handler's", method: "POST",
			header:     map[string]string{"Content-Type": "application/json", "X-Amz-Target": listTgt},
			wantStatus: 200, wantCT: jsonCT, wantBody: okBody, wantHandled: true,
		},
		{
			name: "POST unknown content type with body without auth", method: "POST", body: "{}",
			header:     map[string]string{"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": listTgt},
			wantStatus: 403, wantBody: xmlError("MissingAuthenticationTokenException", "Missing Authentication Token"),
		},
		{
			name: "POST signed body without content type or target", method: "POST", body: "{}", header: signed(nil),
			wantStatus: 403, wantBody: xmlError("AccessDeniedException", "Unable to determine service/operation name to be authorized"),
		},
		{
			// AWS ignores the path.
			name: "POST signed to another path", method: "POST", path: "/some/where", body: "{}", header: signed(jsonCall),
			wantStatus: 200, wantCT: jsonCT, wantBody: okBody, wantHandled: true,
		},
		{
			// CORS is off unless origins are configured (TestCORS): a
			// preflight is then an unsigned request like any other.
			name: "OPTIONS preflight without CORS origins", method: "OPTIONS",
			header: map[string]string{"Origin": "http://example.com", "Access-Control-Request-Method": "POST",
				"Access-Control-Request-Headers": "content-type, x-amz-target"},
			wantStatus: 403, wantBody: xmlError("MissingAuthenticationTokenException", "Missing Authentication Token"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &fakeHandler{}
			ts := startServer(t, Config{Handler: h})
			got := do(t, http1Client(), tt.method, ts.url+tt.path, tt.header, tt.body)

			if got.status != tt.wantStatus {
				t.Errorf("status = %d, want %d", got.status, tt.wantStatus)
			}
			if ct, ok := got.header["Content-Type"]; tt.wantCT == "" && ok {
				t.Errorf("Content-Type = %q, want none", ct)
			} else if tt.wantCT != "" && got.header.Get("Content-Type") != tt.wantCT {
				t.Errorf("Content-Type = %q, want %q", got.header.Get("Content-Type"), tt.wantCT)
			}
			if string(got.body) != tt.wantBody {
				t.Errorf("body = %q\nwant   %q", got.body, tt.wantBody)
			}
			if n := len(h.requests()); (n == 1) != tt.wantHandled {
				t.Errorf("handler called %d times, want handled=%v", n, tt.wantHandled)
			}
			if !regexp.MustCompile(uuidV4Pat).MatchString(got.header.Get(headerRequestID)) {
				t.Errorf("x-amzn-RequestId = %q, want a UUID", got.header.Get(headerRequestID))
			}
		})
	}
}

// TestCORS: without CORSOrigins no answer carries CORS headers and a
// preflight is refused; with origins, only those get them, "*" any.
func TestCORS(t *testing.T) {
	preflight := map[string]string{"Access-Control-Request-Method": "POST",
		"Access-Control-Request-Headers": "content-type, x-amz-target"}
	tests := []struct {
		name      string
		origins   []string
		origin    string
		wantAllow string // "" for no CORS headers at all
	}{
		{"off by default", nil, "http://example.com", ""},
		{"exact origin", []string{"https://console.example.com", "http://example.com"}, "http://example.com", "http://example.com"},
		{"other origin", []string{"https://console.example.com"}, "http://example.com", ""},
		{"origin differing in port", []string{"http://example.com:8080"}, "http://example.com", ""},
		{"any origin", []string{"*"}, "http://example.com", "*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, Config{Handler: &fakeHandler{}, CORSOrigins: tt.origins})
			h := map[string]string{"Origin": tt.origin}
			for k, v := range preflight {
				h[k] = v
			}
			pre := do(t, http1Client(), "OPTIONS", ts.url, h, "")
			call := do(t, http1Client(), "POST", ts.url, signed(map[string]string{
				"Origin": tt.origin, "Content-Type": jsonCT, "X-Amz-Target": listTgt}), "{}")
			if call.status != 200 {
				t.Fatalf("cross-origin call: status %d %s", call.status, call.body)
			}
			if tt.wantAllow == "" {
				for _, r := range []response{pre, call} {
					for k := range r.header {
						if strings.HasPrefix(k, "Access-Control-") {
							t.Errorf("answer has %s: %v", k, r.header)
						}
					}
				}
				if pre.status != 403 {
					t.Errorf("preflight status %d, want 403 (not a preflight answer)", pre.status)
				}
				return
			}
			wantPre := map[string]string{
				"Access-Control-Allow-Origin":  tt.wantAllow,
				"Access-Control-Allow-Headers": "content-type, x-amz-target",
				"Access-Control-Allow-Methods": "POST",
				"Access-Control-Max-Age":       "172800",
				"Content-Length":               "0",
			}
			for k, v := range wantPre {
				if got := pre.header.Get(k); got != v {
					t.Errorf("preflight %s = %q, want %q", k, got, v)
				}
			}
			if pre.status != 200 {
				t.Errorf("preflight status %d", pre.status)
			}
			if _, ok := pre.header[http.CanonicalHeaderKey(headerExtendedRequestID)]; ok {
				t.Errorf("preflight has x-amz-id-2; AWS sends none")
			}
			if call.header.Get("Access-Control-Allow-Origin") != tt.wantAllow ||
				call.header.Get("Access-Control-Expose-Headers") != corsExposeHeaders {
				t.Errorf("cross-origin call: headers %v", call.header)
			}
			if wantVary := tt.wantAllow != "*"; wantVary != (call.header.Get("Vary") == "Origin") {
				t.Errorf("cross-origin call: Vary %q", call.header.Get("Vary"))
			}
		})
	}
}

func TestRequestPassedToHandler(t *testing.T) {
	const presignedQuery = "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20250101%2Fap-south-1%2Fkinesis%2Faws4_request" +
		"&X-Amz-Date=20250101T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=abc"
	tests := []struct {
		name       string
		path       string
		header     map[string]string
		wantRegion string
	}{
		{"authorization header", "/", signed(nil), "eu-west-1"},
		{"presigned query", "/" + presignedQuery, nil, "ap-south-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &fakeHandler{}
			ts := startServer(t, Config{Handler: h, Account: "123456789012"})
			hdr := map[string]string{"Content-Type": jsonCT, "X-Amz-Target": "Kinesis_20131202.PutRecord"}
			for k, v := range tt.header {
				hdr[k] = v
			}
			body := `{"StreamName":"s","Data":"aGk=","PartitionKey":"p"}`
			got := do(t, http1Client(), "POST", ts.url+tt.path, hdr, body)
			if got.status != 200 {
				t.Fatalf("status = %d, body %q", got.status, got.body)
			}
			reqs := h.requests()
			if len(reqs) != 1 {
				t.Fatalf("handler got %d requests, want 1", len(reqs))
			}
			want := kinesis.Request{
				Target:      "Kinesis_20131202.PutRecord",
				ContentType: jsonCT,
				Body:        []byte(body),
				Region:      tt.wantRegion,
				Account:     "123456789012",
				RequestID:   got.header.Get(headerRequestID),
			}
			r := reqs[0]
			if r.Target != want.Target || r.ContentType != want.ContentType || string(r.Body) != string(want.Body) ||
				r.Region != want.Region || r.Account != want.Account || r.RequestID != want.RequestID {
				t.Errorf("handler got %+v\nwant %+v", *r, want)
			}
		})
	}
}

func TestRequestIDs(t *testing.T) {
	h := &fakeHandler{}
	ts := startServer(t, Config{Handler: h})
	uuidRE := regexp.MustCompile(uuidV4Pat)
	seen := make(map[string]bool)
	client := http1Client()
	for i := range 20 {
		// Alternate successful calls and front-end errors: both carry ids.
		hdr := signed(map[string]string{"Content-Type": jsonCT, "X-Amz-Target": listTgt})
		method := "POST"
		if i%2 == 1 {
			method = "GET"
		}
		got := do(t, client, method, ts.url, hdr, "{}")
		id := got.header.Get(headerRequestID)
		if !uuidRE.MatchString(id) {
			t.Fatalf("x-amzn-RequestId = %q, want a version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("request id %s repeated", id)
		}
		seen[id] = true
		id2, err := base64.StdEncoding.DecodeString(got.header.Get(headerExtendedRequestID))
		if err != nil || len(id2) != 72 {
			t.Fatalf("x-amz-id-2 = %q (%d bytes, %v), want base64 of 72 bytes", got.header.Get(headerExtendedRequestID), len(id2), err)
		}
	}
	for _, r := range h.requests() {
		if !seen[r.RequestID] {
			t.Errorf("handler saw request id %s that no response carried", r.RequestID)
		}
	}

	// On the wire the header is spelled as AWS spells it.
	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	raw, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte("\r\nx-amzn-RequestId: ")) || !bytes.Contains(raw, []byte("\r\nx-amz-id-2: ")) {
		t.Errorf("raw response lacks x-amzn-RequestId or x-amz-id-2:\n%s", raw)
	}
}

func TestProtocols(t *testing.T) {
	tests := []struct {
		name      string
		client    *http.Client
		wantProto string
	}{
		{"HTTP/1.1", http1Client(), "HTTP/1.1"},
		{"h2c prior knowledge, net/http", priorKnowledgeClient(), "HTTP/2.0"},
		{"h2c prior knowledge, x/net/http2", xnetPriorKnowledgeClient(), "HTTP/2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &fakeHandler{}
			ts := startServer(t, Config{Handler: h})
			// An HTTP/2 server lingers a second on connections it drains
			// itself; closing them from this side lets the test end sooner.
			defer tt.client.CloseIdleConnections()
			// Two calls on one client, then a front-end error.
			for range 2 {
				got := do(t, tt.client, "POST", ts.url, signed(map[string]string{"Content-Type": jsonCT, "X-Amz-Target": listTgt}), "{}")
				if got.proto != tt.wantProto || got.status != 200 || string(got.body) != okBody {
					t.Fatalf("got %s %d %q, want %s 200 %q", got.proto, got.status, got.body, tt.wantProto, okBody)
				}
				if got.header.Get(headerRequestID) == "" {
					t.Fatalf("no request id")
				}
			}
			got := do(t, tt.client, "GET", ts.url, nil, "")
			if got.proto != tt.wantProto || got.status != 403 ||
				string(got.body) != xmlError("MissingAuthenticationTokenException", "Missing Authentication Token") {
				t.Fatalf("GET: got %s %d %q", got.proto, got.status, got.body)
			}
			if n := len(h.requests()); n != 2 {
				t.Fatalf("handler got %d requests, want 2", n)
			}
		})
	}
}

func TestH2CUpgrade(t *testing.T) {
	h := &fakeHandler{respond: func(_ context.Context, req *kinesis.Request) *kinesis.Response {
		// Echo the body, to see it survive the upgrade.
		return &kinesis.Response{Status: 200, ContentType: jsonCT, Body: req.Body}
	}}
	ts := startServer(t, Config{Handler: h})

	c := dialH2CUpgrade(t, ts.addr, `{"first":1}`)
	first := c.readResponse(t, 1)
	if first.status != 200 || string(first.body) != `{"first":1}` || first.header.Get(headerRequestID) == "" {
		t.Fatalf("stream 1: %d %q %v", first.status, first.body, first.header)
	}
	// The upgraded connection goes on serving HTTP/2 streams.
	c.request(t, 3, `{"second":2}`)
	second := c.readResponse(t, 3)
	if second.status != 200 || string(second.body) != `{"second":2}` {
		t.Fatalf("stream 3: %d %q", second.status, second.body)
	}
	reqs := h.requests()
	if len(reqs) != 2 || reqs[0].Region != "eu-west-1" || reqs[0].Target != listTgt {
		t.Fatalf("handler got %d requests: %+v", len(reqs), reqs)
	}
}

func TestBodyLimit(t *testing.T) {
	const limit = 1000
	const big = 1<<20 + 7 // several growth steps when its length is unknown
	tests := []struct {
		name       string
		client     *http.Client
		limit      int64
		size       int
		chunked    bool
		wantStatus int
	}{
		{"at the limit", http1Client(), limit, limit, false, 200},
		{"over the limit with Content-Length", http1Client(), limit, limit + 1, false, 413},
		{"over the limit chunked", http1Client(), limit, limit + 1, true, 413},
		{"at the limit chunked", http1Client(), limit, limit, true, 200},
		{"over the limit over HTTP/2", priorKnowledgeClient(), limit, limit + 1, false, 413},
		{"large body at the limit", http1Client(), big, big, false, 200},
		{"large body over the limit", http1Client(), big - 1, big, false, 413},
		{"large body over HTTP/2", priorKnowledgeClient(), 0, big, false, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &fakeHandler{}
			ts := startServer(t, Config{Handler: h, MaxBodyBytes: tt.limit})
			defer tt.client.CloseIdleConnections()
			var body io.Reader = strings.NewReader(strings.Repeat("a", tt.size))
			if tt.chunked {
				body = io.MultiReader(body) // hides the length
			}
			req, err := http.NewRequest("POST", ts.url, body)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range signed(map[string]string{"Content-Type": jsonCT, "X-Amz-Target": listTgt}) {
				req.Header.Set(k, v)
			}
			resp, err := tt.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			handled := len(h.requests()) == 1
			if tt.wantStatus == 413 {
				if len(got) != 0 || handled {
					t.Errorf("413 with body %q, handled %v; want empty and unhandled", got, handled)
				}
				if resp.ProtoMajor == 1 && !resp.Close {
					t.Errorf("HTTP/1 connection kept open after 413")
				}
			} else if !handled || len(h.requests()[0].Body) != tt.size {
				t.Errorf("handler did not get the %d-byte body", tt.size)
			}
		})
	}
}

func TestPanicRecovery(t *testing.T) {
	var logs syncBuffer
	h := &fakeHandler{respond: func(context.Context, *kinesis.Request) *kinesis.Response {
		panic("boom")
	}}
	ts := startServer(t, Config{Handler: h, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})

	got := do(t, http1Client(), "POST", ts.url, signed(map[string]string{"Content-Type": jsonCT, "X-Amz-Target": listTgt}), "{}")
	if want := jsonError("InternalFailure", internalFailureMessage); got.status != 500 || string(got.body) != want {
		t.Fatalf("got %d %q, want 500 %q", got.status, got.body, want)
	}
	// The server survives: the next call is answered too.
	if got := do(t, http1Client(), "GET", ts.url, nil, ""); got.status != 403 {
		t.Fatalf("after panic: status %d", got.status)
	}

	var found bool
	for _, rec := range logs.records(t) {
		if rec["msg"] != "handler panicked" {
			continue
		}
		found = true
		stack, _ := rec["stack"].(string)
		if rec["level"] != "ERROR" || rec["panic"] != "boom" || rec["op"] != "ListStreams" ||
			rec["request_id"] != got.header.Get(headerRequestID) {
			t.Errorf("panic log record = %v", rec)
		}
		if !strings.Contains(stack, "server.TestPanicRecovery") {
			t.Errorf("stack does not show the panicking handler:\n%s", stack)
		}
	}
	if !found {
		t.Errorf("no panic logged")
	}
}

func TestRequestLog(t *testing.T) {
	var logs syncBuffer
	h := &fakeHandler{}
	ts := startServer(t, Config{Handler: h, Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})

	ok := do(t, http1Client(), "POST", ts.url, signed(map[string]string{"Content-Type": jsonCT, "X-Amz-Target": listTgt}), "{}")
	failed := do(t, http1Client(), "DELETE", ts.url, signed(map[string]string{"X-Amz-Target": "Kinesis_20131202.Nope"}), "")

	type line struct {
		level, op string
		status    float64
	}
	want := map[string]line{
		ok.header.Get(headerRequestID):     {"DEBUG", "ListStreams", 200},
		failed.header.Get(headerRequestID): {"ERROR", "Nope", 500},
	}
	got := make(map[string]line)
	for _, rec := range logs.records(t) {
		if rec["msg"] != "request" {
			continue
		}
		id, _ := rec["request_id"].(string)
		if _, dup := got[id]; dup {
			t.Errorf("request %s logged twice", id)
		}
		if _, ok := rec["duration"].(float64); !ok {
			t.Errorf("record without duration: %v", rec)
		}
		level, _ := rec["level"].(string)
		op, _ := rec["op"].(string)
		status, _ := rec["status"].(float64)
		got[id] = line{level, op, status}
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("log for %s = %+v, want %+v", id, got[id], w)
		}
	}
}

func TestGracefulShutdown(t *testing.T) {
	type result struct {
		status int
		body   string
		err    error
	}
	clients := []struct {
		name string
		call func(t *testing.T, addr string) result
	}{
		{"HTTP/1.1", func(t *testing.T, addr string) result {
			return clientCall(http1Client(), addr)
		}},
		{"h2c prior knowledge", func(t *testing.T, addr string) result {
			return clientCall(priorKnowledgeClient(), addr)
		}},
		{"h2c upgrade", func(t *testing.T, addr string) result {
			c := dialH2CUpgrade(t, addr, "{}")
			r := c.readResponse(t, 1)
			return result{status: r.status, body: string(r.body)}
		}},
	}
	triggers := []struct {
		name string
		stop func(ts *testServer) <-chan error
	}{
		{"Shutdown", func(ts *testServer) <-chan error {
			done := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				done <- ts.Shutdown(ctx)
			}()
			return done
		}},
		{"context canceled", func(ts *testServer) <-chan error {
			ts.cancel()
			return ts.serveErr
		}},
	}
	for _, c := range clients {
		for _, trig := range triggers {
			t.Run(c.name+"/"+trig.name, func(t *testing.T) {
				entered := make(chan struct{})
				release := make(chan struct{})
				h := &fakeHandler{respond: func(context.Context, *kinesis.Request) *kinesis.Response {
					close(entered)
					<-release
					return &kinesis.Response{Status: 200, ContentType: jsonCT, Body: []byte(okBody)}
				}}
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				ts := &testServer{Server: New(Config{Handler: h}), addr: ln.Addr().String(), serveErr: make(chan error, 1), cancel: cancel}
				go func() { ts.serveErr <- ts.Serve(ctx, ln) }()

				results := make(chan result, 1)
				go func() { results <- c.call(t, ts.addr) }()
				select {
				case <-entered:
				case r := <-results:
					t.Fatalf("request finished before reaching the handler: %+v", r)
				case <-time.After(5 * time.Second):
					t.Fatal("request never reached the handler")
				}

				stopped := trig.stop(ts)
				waitRefused(t, ts.addr)
				select {
				case err := <-stopped:
					t.Fatalf("shutdown finished (%v) while a request was in flight", err)
				case <-time.After(50 * time.Millisecond):
				}

				close(release)
				r := <-results
				if r.err != nil || r.status != 200 || r.body != okBody {
					t.Fatalf("in-flight request got %+v, want 200 %s", r, okBody)
				}
				select {
				case err := <-stopped:
					if err != nil {
						t.Fatalf("shutdown: %v", err)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("shutdown did not finish after the request did")
				}
				if trig.name == "Shutdown" {
					if err := <-ts.serveErr; err != nil {
						t.Fatalf("Serve: %v", err)
					}
				}
			})
		}
	}
}

func clientCall(client *http.Client, addr string) (r struct {
	status int
	body   string
	err    error
}) {
	req, _ := http.NewRequest("POST", "http://"+addr, strings.NewReader("{}"))
	for k, v := range signed(map[string]string{"Content-Type": jsonCT, "X-Amz-Target": listTgt}) {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		r.err = err
		return r
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	r.status, r.body, r.err = resp.StatusCode, string(b), err
	return r
}

// waitRefused waits until addr no longer accepts connections.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s still accepts connections", addr)
}

func TestShutdownForcesClosedAfterDeadline(t *testing.T) {
	entered := make(chan struct{})
	h := &fakeHandler{respond: func(ctx context.Context, _ *kinesis.Request) *kinesis.Response {
		close(entered)
		<-ctx.Done() // until the connection is closed under it
		return &kinesis.Response{Status: 200}
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Handler: h})
	serveErr := make(chan error, 1)
	go func() { serveErr <- s.Serve(context.Background(), ln) }()

	callErr := make(chan error, 1)
	go func() { callErr <- clientCall(http1Client(), ln.Addr().String()).err }()
	<-entered

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want deadline exceeded", err)
	}
	if err := <-callErr; err == nil {
		t.Fatalf("stuck request got an answer; want its connection closed")
	}
	if err := <-serveErr; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

func TestClientDisconnectMidBody(t *testing.T) {
	h := &fakeHandler{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Handler: h})
	serveErr := make(chan error, 1)
	go func() { serveErr <- s.Serve(context.Background(), ln) }()

	for _, h2c := range []bool{false, true} {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		upgrade := ""
		if h2c {
			upgrade = "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABk\r\n"
		}
		fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nX-Amz-Target: %s\r\nAuthorization: %s\r\nX-Amz-Date: %s\r\n%sContent-Length: 100\r\n\r\n0123456789",
			jsonCT, listTgt, testAuth, testDate, upgrade)
		time.Sleep(20 * time.Millisecond)
		conn.Close()
	}

	// Nothing is left waiting for the missing bytes: shutdown is immediate.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-serveErr; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if n := len(h.requests()); n != 0 {
		t.Fatalf("handler called %d times for truncated requests", n)
	}
}

func TestNewPanicsWithoutHandler(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New without a Handler did not panic")
		}
	}()
	New(Config{})
}
