package sdkhttp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

var payload = []byte(`{"StreamName":"s","Records":[{"Data":"aGVsbG8=","PartitionKey":"k"}]}`)

// smithyRequest builds req the way the SDK does, so that its body is
// smithy-go's own wrapper, closed by the SDK once Do returns.
func smithyRequest(t *testing.T, ctx context.Context, endpoint string, body []byte) *http.Request {
	t.Helper()
	sr := smithyhttp.NewStackRequest().(*smithyhttp.Request)
	sr.Method = http.MethodPost
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	sr.URL = u
	sr, err = sr.SetStream(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return sr.Build(ctx)
}

// closeCounter is a body that counts its Close calls.
type closeCounter struct {
	io.Reader
	closes atomic.Int32
}

func (c *closeCounter) Close() error {
	c.closes.Add(1)
	return nil
}

// plainReader hides every method of its reader but Read.
type plainReader struct{ r io.Reader }

func (p plainReader) Read(b []byte) (int, error) { return p.r.Read(b) }

func TestDoPresentsPlainBody(t *testing.T) {
	tests := []struct {
		name string
		req  func(t *testing.T) *http.Request
	}{
		{"smithy-go body", func(t *testing.T) *http.Request {
			return smithyRequest(t, context.Background(), "http://example.com", payload)
		}},
		{"http.NewRequest body with GetBody", func(t *testing.T) *http.Request {
			r, err := http.NewRequest(http.MethodPost, "http://example.com", bytes.NewReader(payload))
			if err != nil {
				t.Fatal(err)
			}
			return r
		}},
		{"body without WriteTo", func(t *testing.T) *http.Request {
			r, err := http.NewRequest(http.MethodPost, "http://example.com", plainReader{bytes.NewReader(payload)})
			if err != nil {
				t.Fatal(err)
			}
			r.ContentLength = int64(len(payload))
			return r
		}},
		{"unknown length", func(t *testing.T) *http.Request {
			r, err := http.NewRequest(http.MethodPost, "http://example.com", plainReader{bytes.NewReader(payload)})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req(t)
			origBody, origLength, hadGetBody := req.Body, req.ContentLength, req.GetBody != nil
			var seen *http.Request
			c := Wrap(smithyhttp.ClientDoFunc(func(r *http.Request) (*http.Response, error) {
				seen = r
				return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
			}))
			if _, err := c.Do(req); err != nil {
				t.Fatal(err)
			}

			if req.Body != origBody || req.ContentLength != origLength {
				t.Error("the caller's request was modified")
			}
			if _, ok := seen.Body.(io.WriterTo); ok {
				t.Errorf("the wrapped client got a body with WriteTo (%T)", seen.Body)
			}
			if seen.ContentLength != origLength {
				t.Errorf("ContentLength %d, want %d", seen.ContentLength, origLength)
			}
			if got, err := io.ReadAll(seen.Body); err != nil || !bytes.Equal(got, payload) {
				t.Errorf("body read %q, %v; want %q", got, err, payload)
			}
			if (seen.GetBody != nil) != hadGetBody {
				t.Fatalf("GetBody set %v, want %v", seen.GetBody != nil, hadGetBody)
			}
			if seen.GetBody == nil {
				return
			}
			again, err := seen.GetBody()
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := again.(io.WriterTo); ok {
				t.Errorf("GetBody returned a body with WriteTo (%T)", again)
			}
			if got, err := io.ReadAll(again); err != nil || !bytes.Equal(got, payload) {
				t.Errorf("GetBody's body read %q, %v; want %q", got, err, payload)
			}
		})
	}
}

func TestDoLeavesEmptyBodiesAlone(t *testing.T) {
	tests := []struct {
		name string
		body io.ReadCloser
	}{
		{"nil", nil},
		{"http.NoBody", http.NoBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, "http://example.com", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Body = tt.body
			var seen *http.Request
			c := Wrap(smithyhttp.ClientDoFunc(func(r *http.Request) (*http.Response, error) {
				seen = r
				return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
			}))
			if _, err := c.Do(req); err != nil {
				t.Fatal(err)
			}
			if seen.Body != tt.body || seen.ContentLength != 0 {
				t.Errorf("body %T, ContentLength %d; want %T, 0", seen.Body, seen.ContentLength, tt.body)
			}
		})
	}
}

func TestDoClosesTheCallersBody(t *testing.T) {
	body := &closeCounter{Reader: bytes.NewReader(payload)}
	req, err := http.NewRequest(http.MethodPost, "http://example.com", body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(payload))
	wantErr := errors.New("refused")
	c := Wrap(smithyhttp.ClientDoFunc(func(r *http.Request) (*http.Response, error) {
		r.Body.Close()
		return nil, wantErr
	}))
	if _, err := c.Do(req); !errors.Is(err, wantErr) {
		t.Errorf("Do: %v, want %v", err, wantErr)
	}
	if n := body.closes.Load(); n != 1 {
		t.Errorf("caller's body closed %d times, want 1", n)
	}
}

// TestDoOverHTTP sends a body through real transports and checks what the
// server received.
func TestDoOverHTTP(t *testing.T) {
	type received struct {
		proto         int
		contentLength int64
		chunked       bool
		body          []byte
	}
	tests := []struct {
		name      string
		http2     bool
		wantProto int
	}{
		{"HTTP/1.1", false, 1},
		{"HTTP/2", true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan received, 1)
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got <- received{r.ProtoMajor, r.ContentLength, len(r.TransferEncoding) > 0, b}
			}))
			srv.EnableHTTP2 = tt.http2
			srv.StartTLS()
			defer srv.Close()

			ctx := context.Background()
			resp, err := Wrap(srv.Client()).Do(smithyRequest(t, ctx, srv.URL, payload))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			r := <-got
			if r.proto != tt.wantProto || r.contentLength != int64(len(payload)) || r.chunked || !bytes.Equal(r.body, payload) {
				t.Errorf("server received HTTP/%d, Content-Length %d, chunked %v, body %q; want HTTP/%d, %d, false, %q",
					r.proto, r.contentLength, r.chunked, r.body, tt.wantProto, len(payload), payload)
			}
		})
	}
}

// TestDoRetriesWithGetBody has net/http resend a request after the server
// hung up on a kept-alive connection, which it does only through GetBody.
func TestDoRetriesWithGetBody(t *testing.T) {
	var calls atomic.Int32
	bodies := make(chan []byte, 3)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies <- b
		if calls.Add(1) == 2 {
			// The second request's connection goes away unanswered,
			// as an idle connection the server timed out would.
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		}
	}))
	defer srv.Close()

	var getBodies atomic.Int32
	c := Wrap(srv.Client())
	for i := range 2 {
		req, err := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		// net/http resends a POST only when it says it may.
		req.Header.Set("Idempotency-Key", strconv.Itoa(i))
		getBody := req.GetBody
		req.GetBody = func() (io.ReadCloser, error) {
			getBodies.Add(1)
			return getBody()
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("server saw %d requests, want 3 (two and a resend)", n)
	}
	if n := getBodies.Load(); n != 1 {
		t.Errorf("GetBody called %d times, want 1", n)
	}
	close(bodies)
	for b := range bodies {
		if !bytes.Equal(b, payload) {
			t.Errorf("server received %q, want %q", b, payload)
		}
	}
}

// stallConn holds the write goroutine of net/http's transport right after
// it has written the end of a request body, until release is closed: the
// server has the whole request and answers, while the transport has not
// yet looked at the body again. That is the interleaving a GC pause or a
// busy CPU produces by chance.
type stallConn struct {
	net.Conn
	end     []byte // the body's last bytes
	release <-chan struct{}
	once    sync.Once
	closed  chan struct{}
}

func (c *stallConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if bytes.HasSuffix(p, c.end) {
		<-c.release
	}
	return n, err
}

func (c *stallConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// TestClosedBodyKeepsConnection replays the race the package documentation
// describes, deterministically: the request is written, the server answers
// with a large body, the SDK closes the request body once Do returns (as
// smithy-go's ClientHandler does), and only then does the transport's write
// goroutine continue. Through net/http alone the connection is closed
// under the response being read; through a Client it is not.
//
// The first case checks that the test reproduces the race at all. If it
// fails after a Go or smithy-go upgrade, the race may be gone: reread the
// package documentation against the new sources before deleting anything.
func TestClosedBodyKeepsConnection(t *testing.T) {
	response := bytes.Repeat([]byte("r"), 1<<20)
	tests := []struct {
		name       string
		wrap       func(*http.Client) aws.HTTPClient
		wantClosed bool
	}{
		{"net/http alone", func(c *http.Client) aws.HTTPClient { return c }, true},
		{"sdkhttp.Client", func(c *http.Client) aws.HTTPClient { return Wrap(c) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Length", strconv.Itoa(len(response)))
				w.Write(response)
			}))
			defer srv.Close()

			release := make(chan struct{})
			var conn *stallConn
			tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				conn = &stallConn{Conn: c, end: payload[len(payload)-8:], release: release, closed: make(chan struct{})}
				return conn, nil
			}}
			defer tr.CloseIdleConnections()

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			wrote := make(chan error, 1)
			ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
				WroteRequest: func(info httptrace.WroteRequestInfo) { wrote <- info.Err },
			})
			req := smithyRequest(t, ctx, srv.URL, payload)
			if _, ok := req.Body.(io.WriterTo); !ok {
				t.Fatalf("smithy-go's request body (%T) has no WriteTo: the race this package works around may be gone", req.Body)
			}

			resp, err := tt.wrap(&http.Client{Transport: tr}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			req.Body.Close()
			close(release)

			var writeErr error
			select {
			case writeErr = <-wrote:
			case <-ctx.Done():
				t.Fatal("the transport never finished writing the request")
			}
			if writeErr != nil {
				// The write goroutine closes the connection right after
				// reporting the error; wait for it so that the read below
				// surely comes after.
				select {
				case <-conn.closed:
				case <-ctx.Done():
					t.Fatalf("write error %v, and the connection stayed open", writeErr)
				}
			}
			got, err := io.ReadAll(resp.Body)
			closed := errors.Is(err, net.ErrClosed)
			if closed != tt.wantClosed || (!closed && (err != nil || len(got) != len(response))) {
				t.Errorf("write error %v; read %d of %d response bytes, error %v; want the connection closed under the read: %v",
					writeErr, len(got), len(response), err, tt.wantClosed)
			}
		})
	}
}

func TestEnsure(t *testing.T) {
	base := &http.Client{}
	w := Ensure(base)
	if c, ok := w.(*Client); !ok || c.next != base {
		t.Fatalf("Ensure(*http.Client) = %#v, want it wrapped", w)
	}
	if again := Ensure(w); again != w {
		t.Errorf("Ensure of a Client wrapped it again: %#v", again)
	}
	if Ensure(nil) != nil {
		t.Errorf("Ensure(nil) is not nil")
	}
}
