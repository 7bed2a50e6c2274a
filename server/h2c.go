package server

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
)

// isH2CUpgrade reports whether r asks to switch to HTTP/2 with
// "Upgrade: h2c" (RFC 7540, section 3.2), and returns the decoded
// HTTP2-Settings it must carry.
func isH2CUpgrade(r *http.Request) (settings []byte, ok bool) {
	if r.ProtoMajor != 1 ||
		!httpguts.HeaderValuesContainsToken(r.Header["Upgrade"], "h2c") ||
		!httpguts.HeaderValuesContainsToken(r.Header["Connection"], "HTTP2-Settings") {
		return nil, false
	}
	values := r.Header["Http2-Settings"]
	if len(values) != 1 {
		return nil, false
	}
	// The header is base64url without padding; tolerate padding anyway.
	settings, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(values[0], "="))
	if err != nil {
		return nil, false
	}
	return settings, true
}

// serveH2CUpgrade switches the connection of r to HTTP/2 and serves it,
// r itself becoming stream 1. It returns false when the request should
// instead be answered over HTTP/1.1 (a server may always ignore an Upgrade
// header); r.Body is then what handle expects, either untouched or an
// upgradeBody with what became of it.
func (s *Server) serveH2CUpgrade(w http.ResponseWriter, r *http.Request, settings []byte) bool {
	// The whole body has to be read before switching protocols. Bodies of
	// unknown or excessive length are left to the HTTP/1.1 path, which
	// applies the size limit.
	if r.ContentLength < 0 || r.ContentLength > s.cfg.MaxBodyBytes {
		return false
	}
	if !s.beginUpgrade() {
		return false // shutting down: answer over HTTP/1.1 and close
	}
	defer s.upgrades.Done()

	// Waiting for room in the budget is left to the HTTP/1.1 path: if the
	// body does not fit now, it is read there, untouched so far, and the
	// connection is not upgraded.
	held, err := readBody(r.Context(), s.budget, r.Body, r.ContentLength, s.cfg.MaxBodyBytes, 0)
	if errors.Is(err, errNoBudget) {
		return false
	}
	if err != nil {
		// Part of the body may be gone: the HTTP/1.1 path answers the
		// error as if it had met it (408 after a timeout, 400 else).
		r.Body = &upgradeBody{Reader: bytes.NewReader(nil), err: err}
		return false
	}
	r.Body = newUpgradeBody(held)

	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (a wrapping ResponseWriter): serve over HTTP/1.1,
		// which gives the budget back once done.
		return false
	}
	defer conn.Close()
	// Whoever is first gives the budget back: stream 1's handler when
	// it is done with the body, or this function once the connection
	// is over if the handler never ran (a client that never sent the
	// preface). If the connection ends while the handler still runs,
	// the bytes are given back a little early.
	defer held.Release()
	// The connection left net/http's count when it was hijacked.
	defer s.conns.closed()
	if mc := meteredConnOf(conn); mc != nil {
		mc.move(protoHTTP1, protoH2)
	}
	if !s.trackUpgraded(conn) {
		return true // forced shutdown already under way
	}
	defer s.untrackUpgraded(conn)

	if _, err := rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"); err != nil {
		return true
	}
	if err := rw.Flush(); err != nil {
		return true
	}

	// Stream 1 is the request as HTTP/2 sees it: without the hop-by-hop
	// headers of the upgrade.
	for _, h := range []string{"Upgrade", "Connection", "Http2-Settings"} {
		r.Header.Del(h)
	}
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0

	// ServeConnOpts is marked deprecated in favour of net/http's own
	// unencrypted HTTP/2, but net/http implements only prior knowledge and
	// this is the one API that serves an upgraded connection.
	//lint:ignore SA1019 no replacement exists for the h2c Upgrade
	s.h2.ServeConn(bufferedConn{conn, rw.Reader}, &http2.ServeConnOpts{
		Context:    r.Context(),
		BaseConfig: s.hs,
		// ServeHTTP, like every other request, routes the admin API too.
		// It does not upgrade again: these requests are HTTP/2.
		Handler:        s,
		UpgradeRequest: r,
		Settings:       settings,
	})
	return true
}

// beginUpgrade reserves an upgrade unless the server is shutting down.
// Shutdown waits for every reserved upgrade to end.
func (s *Server) beginUpgrade() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shuttingDown {
		return false
	}
	s.upgrades.Add(1)
	return true
}

// trackUpgraded records a hijacked connection so that a forced shutdown
// can close it; it reports false if the forced shutdown already happened.
func (s *Server) trackUpgraded(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.forceClosed {
		return false
	}
	s.upgraded[c] = struct{}{}
	return true
}

func (s *Server) untrackUpgraded(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.upgraded, c)
}

// upgradeBody is the body of an h2c upgrade request, read before the
// decision to switch: held in the budget until stream 1 is answered, or
// the error met reading it, for the HTTP/1.1 path to answer.
type upgradeBody struct {
	*bytes.Reader
	held *heldBody
	err  error
}

func newUpgradeBody(held *heldBody) *upgradeBody {
	return &upgradeBody{Reader: bytes.NewReader(held.data), held: held}
}

func (*upgradeBody) Close() error { return nil }

// bufferedConn reads through the bufio.Reader that net/http used before
// the hijack, which may already hold the start of the HTTP/2 preface.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
