package server

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2cClient is a minimal HTTP/2 client on a connection upgraded with
// "Upgrade: h2c". No Go client implements the upgrade, so the test speaks
// the frames itself.
type h2cClient struct {
	conn net.Conn
	fr   *http2.Framer
}

// dialH2CUpgrade sends a signed ListStreams with body as an HTTP/1.1
// request asking to upgrade to h2c, checks the 101 answer, and sends the
// HTTP/2 connection preface. The response to the request comes on stream 1.
func dialH2CUpgrade(t *testing.T, addr, body string) *h2cClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))

	// HTTP2-Settings carries a SETTINGS payload: MAX_CONCURRENT_STREAMS=100.
	settings := base64.RawURLEncoding.EncodeToString([]byte{0, 3, 0, 0, 0, 100})
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: tributary\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"+
		"HTTP2-Settings: %s\r\nContent-Type: %s\r\nX-Amz-Target: %s\r\nAuthorization: %s\r\nX-Amz-Date: %s\r\n"+
		"Content-Length: %d\r\n\r\n%s", settings, jsonCT, listTgt, testAuth, testDate, len(body), body)

	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading upgrade response: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != "h2c" {
		t.Fatalf("upgrade answered %s %v", resp.Status, resp.Header)
	}
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, br)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return &h2cClient{conn: conn, fr: fr}
}

// request sends a signed ListStreams on a new stream.
func (c *h2cClient) request(t *testing.T, streamID uint32, body string) {
	t.Helper()
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	for _, f := range [][2]string{
		{":method", "POST"}, {":scheme", "http"}, {":path", "/"}, {":authority", "tributary"},
		{"content-type", jsonCT}, {"x-amz-target", listTgt}, {"authorization", testAuth},
		{"x-amz-date", testDate}, {"content-length", strconv.Itoa(len(body))},
	} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: streamID, BlockFragment: buf.Bytes(), EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.fr.WriteData(streamID, true, []byte(body)); err != nil {
		t.Fatal(err)
	}
}

type h2Response struct {
	status int
	header http.Header
	body   []byte
}

// readResponse reads frames until the response on streamID is complete,
// acknowledging the server's SETTINGS on the way and ignoring the rest
// (GOAWAY included: a draining server still finishes open streams).
func (c *h2cClient) readResponse(t *testing.T, streamID uint32) h2Response {
	t.Helper()
	r := h2Response{header: make(http.Header)}
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading frames for stream %d: %v", streamID, err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if err := c.fr.WriteSettingsAck(); err != nil {
					t.Fatal(err)
				}
			}
		case *http2.MetaHeadersFrame:
			if f.StreamID != streamID {
				continue
			}
			for _, hf := range f.Fields {
				if hf.Name == ":status" {
					r.status, _ = strconv.Atoi(hf.Value)
				} else {
					r.header.Add(hf.Name, hf.Value)
				}
			}
			if f.StreamEnded() {
				return r
			}
		case *http2.DataFrame:
			if f.StreamID != streamID {
				continue
			}
			r.body = append(r.body, f.Data()...)
			if f.StreamEnded() {
				return r
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == streamID {
				t.Fatalf("stream %d reset: %v", streamID, f.ErrCode)
			}
		}
	}
}

// dialH2PriorKnowledge opens a connection speaking HTTP/2 from the first
// byte (prior knowledge), with the preface and SETTINGS sent.
func dialH2PriorKnowledge(t *testing.T, addr string) *h2cClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return &h2cClient{conn: conn, fr: fr}
}

// startRequest sends the headers of a signed ListStreams declaring a body
// of length bytes, leaving the stream open for the body.
func (c *h2cClient) startRequest(t *testing.T, streamID uint32, length int) {
	t.Helper()
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	for _, f := range [][2]string{
		{":method", "POST"}, {":scheme", "http"}, {":path", "/"}, {":authority", "tributary"},
		{"content-type", jsonCT}, {"x-amz-target", listTgt}, {"authorization", testAuth},
		{"x-amz-date", testDate}, {"content-length", strconv.Itoa(length)},
	} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: streamID, BlockFragment: buf.Bytes(), EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
}

// sendBody sends n bytes of body on streamID in frames of the default
// maximum size, the last one ending the stream if end is set. The caller
// keeps within the flow-control windows (64 KiB at first).
func (c *h2cClient) sendBody(t *testing.T, streamID uint32, n int, end bool) {
	t.Helper()
	const maxFrame = 16384
	for n > 0 || end {
		k := min(n, maxFrame)
		n -= k
		last := end && n == 0
		if err := c.fr.WriteData(streamID, last, bytes.Repeat([]byte("a"), k)); err != nil {
			t.Fatalf("sending the body of stream %d: %v", streamID, err)
		}
		if last {
			return
		}
	}
}

// h2Exchange is what a client saw of one stream, frame by frame.
type h2Exchange struct {
	h2Response
	ended     bool          // the server ended the stream (END_STREAM)
	reset     bool          // the server reset the stream,
	resetCode http2.ErrCode // first with this code
}

// readUntil reads frames, recording what concerns streamID in x, until
// done says to stop; it acknowledges SETTINGS and PING on the way.
func (c *h2cClient) readUntil(t *testing.T, streamID uint32, x *h2Exchange, done func(http2.Frame) bool) {
	t.Helper()
	if x.header == nil {
		x.header = make(http.Header)
	}
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading frames for stream %d: %v", streamID, err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if err := c.fr.WriteSettingsAck(); err != nil {
					t.Fatal(err)
				}
			}
		case *http2.MetaHeadersFrame:
			if f.StreamID == streamID {
				for _, hf := range f.Fields {
					if hf.Name == ":status" {
						x.status, _ = strconv.Atoi(hf.Value)
					} else {
						x.header.Add(hf.Name, hf.Value)
					}
				}
				x.ended = x.ended || f.StreamEnded()
			}
		case *http2.DataFrame:
			if f.StreamID == streamID {
				x.body = append(x.body, f.Data()...)
				x.ended = x.ended || f.StreamEnded()
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == streamID && !x.reset {
				x.reset, x.resetCode = true, f.ErrCode
			}
		}
		if done(f) {
			return
		}
	}
}

// roundTripPing sends a PING and reads frames until its ACK, so that
// every frame the server sent before seeing the PING has been read.
func (c *h2cClient) roundTripPing(t *testing.T, streamID uint32, x *h2Exchange) {
	t.Helper()
	data := [8]byte{'t', 'r', 'i', 'b'}
	if err := c.fr.WritePing(false, data); err != nil {
		t.Fatal(err)
	}
	c.readUntil(t, streamID, x, func(f http2.Frame) bool {
		p, ok := f.(*http2.PingFrame)
		return ok && p.IsAck() && p.Data == data
	})
}
