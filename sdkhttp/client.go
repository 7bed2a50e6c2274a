// Package sdkhttp provides an HTTP client for the AWS SDK for Go v2
// (aws-sdk-go-v2) that stops the SDK from closing its own connection while
// it is still reading a successful response.
//
// # The race it removes
//
// With the SDK's default HTTP client, a call the server answered with 200
// can fail with "deserialization failed ... use of closed network
// connection". Nothing went wrong on the network: the client closed the
// connection itself. With smithy-go v1.28 and Go 1.26, over HTTP/1.1:
//
//  1. smithy-go's Request.Build gives net/http the serialized request (a
//     *bytes.Reader) wrapped in its "safe" ReadCloser
//     (transport/http/internal/io/safe.go). Because *bytes.Reader has a
//     WriteTo method, the wrapper has one too. Once the wrapper is closed,
//     its Read returns (0, io.EOF), the normal end of a reader, but its
//     WriteTo returns io.EOF as an error, where a WriteTo with nothing
//     left to write should return nil.
//  2. smithy-go's ClientHandler (transport/http/client.go) closes that
//     body as soon as the HTTP client's Do returns, that is as soon as the
//     response headers have arrived, while the response body is still to
//     be read.
//  3. net/http writes a request in the connection's own write goroutine.
//     For a body with a Content-Length, transferWriter.writeBody
//     (net/http/transfer.go) copies Content-Length bytes to the connection,
//     then reads on into io.Discard to catch a body longer than announced.
//     io.Copy makes that second copy through the body's WriteTo and
//     returns its error unchanged, io.EOF included. writeBody returns it
//     (not as an error reading the body, which would be reported to the
//     caller), and the write goroutine (persistConn.writeLoop in
//     transport.go), seeing a failed write, closes the connection.
//  4. net/http flushes the request headers to the connection before a body
//     it does not know to be in memory (smithy-go's wrapper is not one it
//     knows), and the body then goes straight to the connection rather
//     than through the transport's write buffer. So the whole request is
//     on the wire before the first copy returns, and the server can answer
//     before the second copy starts. If the write goroutine does not run
//     again until the response headers have been read and the body closed
//     (a GC pause, a busy CPU), the second copy meets the closed body and
//     the connection is closed under the caller reading the response. A
//     large response gives the close more time to land mid-read; a large
//     heap, longer pauses. A server in the same process is mostly stalled
//     with the client, so the race is seen far more against one in
//     another process.
//
// The server did its work, so the error misreports the outcome: a
// PutRecords that fails this way stored its records, and the SDK's standard
// retryer, which retries "use of closed network connection", stores them a
// second time.
//
// [Client] hands the wrapped client the same request with a body that has
// only Read and Close, so net/http's second copy goes through Read, ends on
// io.EOF as io.Copy expects, and the connection stays open. Nothing else
// about the request changes.
//
// HTTP/2 requests are not exposed to the race (the HTTP/2 transport reads
// request bodies with Read only) and go through a Client unchanged.
package sdkhttp

import (
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// Client is an aws.HTTPClient that sends each request through the client
// it wraps with the request body's WriteTo method hidden (see the package
// documentation for why). Use it as the HTTPClient of any aws-sdk-go-v2
// service client's options, over HTTP/1.1 or HTTP/2. It is safe for
// concurrent use if the wrapped client is.
type Client struct {
	next aws.HTTPClient
}

var _ aws.HTTPClient = (*Client)(nil)

// New returns a Client wrapping the SDK's default HTTP client,
// awshttp.NewBuildableClient().
//
// A service client configures its timeouts (DefaultsMode's connect and TLS
// timeouts, the service's read timeout) only on a *awshttp.BuildableClient
// it can see in its options, so it cannot configure one wrapped in a
// Client: set any you need on the BuildableClient and pass it to Wrap.
func New() *Client {
	return Wrap(awshttp.NewBuildableClient())
}

// Wrap returns a Client sending requests through next, which may be a
// *awshttp.BuildableClient, an *http.Client with any transport, or another
// aws.HTTPClient.
func Wrap(next aws.HTTPClient) *Client {
	return &Client{next: next}
}

// Ensure returns c wrapped as Wrap does, or c itself when it is a Client
// already or nil: for libraries that take a user's SDK client and wrap its
// HTTP client per call (an option function setting Options.HTTPClient),
// without wrapping it twice.
func Ensure(c aws.HTTPClient) aws.HTTPClient {
	if _, ok := c.(*Client); ok || c == nil {
		return c
	}
	return Wrap(c)
}

// Do sends req through the wrapped client. The caller's request is not
// modified: the wrapped client gets a shallow copy whose Body, and the
// bodies its GetBody returns, have only Read and Close. ContentLength is
// left as it is, so the request is framed as before, and GetBody stays nil
// when it was, so net/http retries no more and no fewer requests than it
// would have.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	if !hasBody(req.Body) {
		return c.next.Do(req)
	}
	out := *req
	out.Body = readCloser{req.Body}
	if getBody := req.GetBody; getBody != nil {
		out.GetBody = func() (io.ReadCloser, error) {
			body, err := getBody()
			if err != nil || !hasBody(body) {
				return body, err
			}
			return readCloser{body}, nil
		}
	}
	return c.next.Do(&out)
}

// hasBody reports whether body is one to wrap. http.NoBody must reach
// net/http as itself: it is how a request says "no body" with a
// ContentLength of 0, which net/http otherwise reads as "unknown length".
func hasBody(body io.ReadCloser) bool {
	return body != nil && body != http.NoBody
}

// readCloser has Read and Close and nothing else: io.Copy cannot find a
// WriteTo on it, and net/http cannot unwrap it as it unwraps io.NopCloser.
type readCloser struct {
	body io.ReadCloser
}

func (r readCloser) Read(p []byte) (int, error) { return r.body.Read(p) }

func (r readCloser) Close() error { return r.body.Close() }
