package server

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// slowClient is a way of holding a connection open: what the client sends
// before it goes silent, and the start of what the server must answer
// before it closes the connection ("" when it may close without a word).
type slowClient struct {
	name       string
	send       func(conn net.Conn) error
	wantAnswer string
}

// slowClients cover each phase of a request in which a client can stall,
// over HTTP/1.1, prior-knowledge HTTP/2 and the h2c Upgrade.
func slowClients() []slowClient {
	headers := func(extra string) string {
		return fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nX-Amz-Target: %s\r\nAuthorization: %s\r\nX-Amz-Date: %s\r\n%s\r\n",
			jsonCT, listTgt, testAuth, testDate, extra)
	}
	write := func(s string) func(net.Conn) error {
		return func(c net.Conn) error { _, err := io.WriteString(c, s); return err }
	}
	upgrade := "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: " +
		base64.RawURLEncoding.EncodeToString([]byte{0, 3, 0, 0, 0, 100}) + "\r\n"
	// h2 sends a client preface, SETTINGS and then, on streamID, the
	// headers of a request declaring 100 bytes of body and 10 of them.
	// streamID 0 sends no request; endHeaders false leaves the header
	// block unfinished.
	h2 := func(prefix string, streamID uint32, endHeaders bool) func(net.Conn) error {
		return func(c net.Conn) error {
			if _, err := io.WriteString(c, prefix+http2.ClientPreface); err != nil {
				return err
			}
			fr := http2.NewFramer(c, nil)
			if err := fr.WriteSettings(); err != nil || streamID == 0 {
				return err
			}
			var block bytes.Buffer
			enc := hpack.NewEncoder(&block)
			for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", "/"}, {":authority", "x"},
				{"content-type", jsonCT}, {"x-amz-target", listTgt}, {"authorization", testAuth}, {"x-amz-date", testDate},
				{"content-length", "100"}} {
				enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
			}
			if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: streamID, BlockFragment: block.Bytes(), EndHeaders: endHeaders}); err != nil || !endHeaders {
				return err
			}
			return fr.WriteData(streamID, false, []byte("0123456789"))
		}
	}
	return []slowClient{
		{"silent", write(""), ""},
		{"HTTP/1.1 partial headers", write("POST / HTTP/1.1\r\nHost: x\r\n"), ""},
		{"HTTP/1.1 partial body", write(headers("Content-Length: 100\r\n") + "0123456789"), "HTTP/1.1 408 Request Timeout\r\n"},
		{"HTTP/1.1 partial chunked body", write(headers("Transfer-Encoding: chunked\r\n") + "a\r\n0123456789\r\n"), "HTTP/1.1 408 Request Timeout\r\n"},
		{"HTTP/1.1 idle after a request", write(headers("Content-Length: 2\r\n") + "{}"), "HTTP/1.1 200 OK\r\n"},
		{"HTTP/2 partial preface", write("PRI * HTTP/2.0\r\n"), ""},
		{"HTTP/2 idle", h2("", 0, true), ""},
		{"HTTP/2 partial headers", h2("", 1, false), ""},
		{"HTTP/2 partial body", h2("", 1, true), ""},
		{"h2c upgrade with a partial body", write(headers(upgrade+"Content-Length: 100\r\n") + "0123456789"), "HTTP/1.1 408 Request Timeout\r\n"},
		{"h2c upgrade, then a partial body", h2(headers(upgrade+"Content-Length: 2\r\n")+"{}", 3, true), "HTTP/1.1 101 Switching Protocols\r\n"},
	}
}

// TestSlowClientsAreClosed holds connections open in every way a slow
// client can, and checks that the server closes each of them once the
// timeout that applies has passed, and that its connection gauge returns
// to where it was.
func TestSlowClientsAreClosed(t *testing.T) {
	const (
		timeout = 500 * time.Millisecond
		perKind = 18 // 198 connections in all
		// The longest a connection may take to be closed: a stalled
		// HTTP/2 stream is reset after the read timeout, its connection
		// is then idle for the idle timeout, and the server waits a
		// second after GOAWAY before it closes it.
		patience = 10 * time.Second
	)
	ts := startServer(t, Config{Handler: &fakeHandler{}, ReadHeaderTimeout: timeout, ReadTimeout: timeout, IdleTimeout: timeout})
	if open, total := ts.Connections(); open != 0 || total != 0 {
		t.Fatalf("Connections() = %d, %d before any; want 0, 0", open, total)
	}

	type result struct {
		kind    string
		elapsed time.Duration
		answer  []byte
		err     error // the read error, when the connection was not closed
	}
	kinds := slowClients()
	results := make(chan result, perKind*len(kinds))
	var wg sync.WaitGroup
	var opened sync.WaitGroup
	for _, k := range kinds {
		for range perKind {
			wg.Add(1)
			opened.Add(1)
			go func() {
				defer wg.Done()
				conn, err := net.Dial("tcp", ts.addr)
				opened.Done()
				if err != nil {
					results <- result{kind: k.name, err: err}
					return
				}
				defer conn.Close()
				start := time.Now()
				if err := k.send(conn); err != nil {
					results <- result{kind: k.name, err: fmt.Errorf("sending: %w", err)}
					return
				}
				// Read whatever comes until the server closes.
				conn.SetReadDeadline(start.Add(patience))
				answer, err := io.ReadAll(conn)
				if errors.Is(err, net.ErrClosed) || isReset(err) {
					err = nil
				}
				results <- result{kind: k.name, elapsed: time.Since(start), answer: answer, err: err}
			}()
		}
	}
	opened.Wait()
	if open, _ := ts.Connections(); open == 0 {
		t.Errorf("Connections() reports none open while %d are", perKind*len(kinds))
	}
	wg.Wait()
	close(results)

	want := make(map[string]string)
	for _, k := range kinds {
		want[k.name] = k.wantAnswer
	}
	slowest := make(map[string]time.Duration)
	for r := range results {
		slowest[r.kind] = max(slowest[r.kind], r.elapsed)
		switch {
		case r.err != nil:
			t.Errorf("%s: connection not closed by the server: %v", r.kind, r.err)
		case r.elapsed < timeout*8/10:
			t.Errorf("%s: closed after %v, before the %v timeout", r.kind, r.elapsed, timeout)
		case !strings.HasPrefix(string(r.answer), want[r.kind]):
			t.Errorf("%s: answered %q, want it to start with %q", r.kind, r.answer, want[r.kind])
		}
	}

	for _, k := range kinds {
		t.Logf("%s: closed within %v", k.name, slowest[k.name].Round(time.Millisecond))
	}

	// The server may count a connection closed a moment after the client
	// sees it closed.
	waitUntil(t, func() bool { open, _ := ts.Connections(); return open == 0 })
	if _, total := ts.Connections(); total != int64(perKind*len(kinds)) {
		t.Errorf("Connections() total = %d, want %d", total, perKind*len(kinds))
	}
}

// isReset reports whether err is the connection reset a server may cause
// by closing with unread data.
func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset by peer")
}

// TestSlowBodyAnswer checks the answer to a body that does not arrive in
// time: 408 with AWS's error in the caller's encoding, connection closed.
func TestSlowBodyAnswer(t *testing.T) {
	ts := startServer(t, Config{Handler: &fakeHandler{}, ReadTimeout: 200 * time.Millisecond})
	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nX-Amz-Target: %s\r\nAuthorization: %s\r\nX-Amz-Date: %s\r\nContent-Length: 100\r\n\r\n{",
		jsonCT, listTgt, testAuth, testDate)
	raw, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	head, body, _ := strings.Cut(string(raw), "\r\n\r\n")
	wantBody := jsonError("RequestTimeoutException", "The request was not received within 200ms.")
	if !strings.HasPrefix(head, "HTTP/1.1 408 Request Timeout\r\n") || !strings.Contains(head, "\r\nConnection: close") || body != wantBody {
		t.Fatalf("answer:\n%s\nwant 408, Connection: close and %s", raw, wantBody)
	}
}
