package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/kinesis"
)

// Response headers, spelled as AWS spells them. They are assigned to the
// header map directly because Header.Set would canonicalize the spelling
// to X-Amzn-Requestid (HTTP/2 lowercases them in any case).
const (
	headerRequestID         = "x-amzn-RequestId"
	headerExtendedRequestID = "x-amz-id-2"
)

// corsExposeHeaders lists the response headers a browser may read from a
// cross-origin response, as AWS lists them.
const corsExposeHeaders = "x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date"

// internalFailureMessage is AWS's description of InternalFailure.
const internalFailureMessage = "The request processing has failed because of an unknown error, exception or failure."

// ServeHTTP implements http.Handler. A Server can thus be mounted in
// another http.Server or an httptest.Server, though prior-knowledge HTTP/2
// needs Serve.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.metrics != nil {
		if mc, _ := r.Context().Value(connKey{}).(*meteredConn); mc != nil {
			mc.sawRequest(r)
		}
	}
	if s.serveHealth(w, r) {
		return
	}
	if r.URL.Path == ClusterStatusPath {
		s.serveClusterStatus(w, r)
		return
	}
	if r.URL.Path == MetricsPath && s.metricsHTTP != nil {
		s.metricsHTTP.ServeHTTP(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		s.serveAdmin(w, r)
		return
	}
	if settings, ok := isH2CUpgrade(r); ok && s.serveH2CUpgrade(w, r, settings) {
		return
	}
	s.handle(w, r)
}

// exchange is one request being answered.
type exchange struct {
	s      *Server
	w      http.ResponseWriter
	r      *http.Request
	id     string
	op     string // for logs
	start  time.Time
	status int // written status, for logs

	// For the metrics: the operation's series (nil without metrics), the
	// error label of the answer, the body bytes read and written, and,
	// for an event stream, the time it took to start it.
	om         *opMetrics
	errLabel   string
	reqBytes   int
	respBytes  int
	streamedIn time.Duration

	// panicked is set when the handler panicked (see callHandler).
	panicked bool
}

// handle answers one request: HTTP/1.1, HTTP/2, or stream 1 of an h2c
// upgrade.
//
// It follows the order in which AWS checks a request: CORS preflight; body
// size; then, for a POST with a JSON or CBOR content type, an empty body or
// an unknown operation (reported by the protocol layer) before the
// signature; for anything else, the signature before the method and
// target. One difference remains: AWS reports a body that does not decode
// before a bad signature, but decoding is the Handler's, which is only
// called for signed requests.
func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	x := &exchange{
		s:     s,
		w:     w,
		r:     r,
		id:    newRequestID(),
		op:    opForLog(r.Header.Get("X-Amz-Target")),
		start: time.Now(),
	}
	if s.metrics != nil {
		x.om = s.metrics.forTarget(r.Header.Get("X-Amz-Target"))
	}
	defer x.done()

	header := w.Header()
	header[headerRequestID] = []string{x.id}
	if origin := r.Header.Get("Origin"); origin != "" {
		if allow, ok := s.corsAllowed(origin); ok {
			header.Set("Access-Control-Allow-Origin", allow)
			if allow != "*" {
				// The answer depends on the Origin: caches must not
				// give one origin's answer to another.
				header.Add("Vary", "Origin")
			}
			if r.Method == http.MethodOptions {
				x.preflight()
				return
			}
			header.Set("Access-Control-Expose-Headers", corsExposeHeaders)
		}
	}
	header[headerExtendedRequestID] = []string{newExtendedRequestID()}

	held, ok := x.readBody()
	if !ok {
		return
	}
	// The body's share of the budget is given back once the handler is
	// done with it; the response is not counted.
	defer held.Release()
	body := held.data
	x.reqBytes = len(body)

	target := r.Header.Get("X-Amz-Target")
	sig, authErr := authenticate(r.Header, r.URL.RawQuery)
	var caller *kinesis.Caller
	if authErr == nil {
		caller, authErr = x.verify(body, sig)
	}
	if authErr != nil {
		x.authFailed(sig, authErr)
	}
	if r.Method != http.MethodPost {
		x.frontDoor(target, authErr)
		return
	}

	contentType := r.Header.Get("Content-Type")
	switch mediaType(contentType) {
	case kinesis.ContentTypeJSON, kinesis.ContentTypeCBOR:
		// An empty body or an unknown operation is reported before the
		// signature is looked at; the protocol layer reports both.
		if authErr != nil && len(body) > 0 && isKinesisTarget(target) {
			x.writeResponse(errorResponse(contentType, authErr.Type, authErr.Message, http.StatusBadRequest))
			return
		}
	case kinesis.ContentTypeLegacyJSON:
		// AWS answers a body in the legacy envelope, whatever the
		// signature and the target. Without a body, the call goes on
		// like any in an unknown content type, below.
		if len(body) > 0 {
			x.writeResponse(kinesis.LegacyJSONResponse(body))
			return
		}
	default:
		// With an empty body AWS answers in CBOR (the operation unknown,
		// or the empty body not serialized), which the handler does
		// through the protocol layer; with a body it does not recognize
		// the call at all.
		if len(body) > 0 {
			x.frontDoor(target, authErr)
			return
		}
	}

	// Only requests without a body get here unauthenticated, for the
	// protocol layer to report the empty body or the unknown operation
	// as AWS does before the signature; they go with no region, which
	// the handler refuses should the body ever decode.
	req := &kinesis.Request{
		Target:      target,
		ContentType: contentType,
		Body:        body,
		Account:     s.cfg.Account,
		RequestID:   x.id,
		// For the aws:SourceIp and aws:SecureTransport policy conditions.
		SourceIP:        remoteHost(x.r.RemoteAddr),
		SecureTransport: x.r.TLS != nil,
	}
	if authErr == nil {
		req.Region = sig.Region
	}
	if caller != nil {
		req.Account = caller.Account
		req.Caller = caller
	}
	resp := x.callHandler(req)
	x.writeResponse(resp)
	if !x.panicked {
		// The answer is written and the handler has returned: what the
		// request and its answer took from kinesis's pools goes back.
		// After a panic nobody can say what still refers to them, so the
		// garbage collector frees them instead.
		resp.Release()
		req.Release()
	}
}

// verify checks a well-formed signature when the server verifies
// signatures, and returns who signed; with verification off it returns
// nil and no error (the request acts as the configured account).
func (x *exchange) verify(body []byte, sig signature) (*kinesis.Caller, *authError) {
	creds := x.s.creds.Load()
	if creds == nil {
		return nil, nil
	}
	key, authErr := verify(x.r, body, sig, creds, x.s.cfg.Now())
	if authErr != nil {
		return nil, authErr
	}
	return key.caller(), nil
}

// authFailed counts and logs a request whose authentication failed. The
// log names the access key id, never a secret: the server holds the
// secrets, and the request carries only a signature.
func (x *exchange) authFailed(sig signature, authErr *authError) {
	if x.s.metrics != nil {
		x.s.metrics.authFailures.WithLabelValues(authErr.label()).Inc()
	}
	x.s.log.LogAttrs(x.r.Context(), slog.LevelDebug, "authentication failed",
		slog.String("request_id", x.id),
		slog.String("reason", authErr.label()),
		slog.String("access_key_id", sig.AccessKeyID),
		slog.String("error", authErr.Type))
}

// corsAllowed returns the Access-Control-Allow-Origin to answer a
// request from origin with, and false when origin may not call the API
// (Config.CORSOrigins).
func (s *Server) corsAllowed(origin string) (string, bool) {
	for _, o := range s.cfg.CORSOrigins {
		switch o {
		case "*":
			return "*", true
		case origin:
			return origin, true
		}
	}
	return "", false
}

// preflight answers a CORS preflight request, which AWS accepts without
// authentication.
func (x *exchange) preflight() {
	h := x.w.Header()
	if v := x.r.Header.Get("Access-Control-Request-Headers"); v != "" {
		h.Set("Access-Control-Allow-Headers", v)
	}
	if v := x.r.Header.Get("Access-Control-Request-Method"); v != "" {
		h.Set("Access-Control-Allow-Methods", v)
	}
	h.Set("Access-Control-Max-Age", "172800")
	x.writeEmpty(http.StatusOK)
}

// serviceUnavailableMessage is AWS's description of ServiceUnavailable.
const serviceUnavailableMessage = "The request has failed due to a temporary failure of the server."

// maxDrainBytes bounds what the server reads and throws away of an
// HTTP/2 request body it refused (see refuseUnread): twice the default
// size limit, so that a client overshooting the limit by as much again
// still gets a clean answer.
const maxDrainBytes = 2 * DefaultMaxBodyBytes

// drainPause ends the reading of a refused HTTP/2 body when the client
// sends nothing for that long. It is longer than a round trip on any
// network, so a client still sending is not cut off while it waits for
// flow-control credit, and short because other clients (Go's) stop
// sending once they have the answer and wait for the stream to end.
const drainPause = 500 * time.Millisecond

// readBody reads the whole request body within the size limit and the
// body budget. It answers the request itself and reports false if that
// fails.
func (x *exchange) readBody() (*heldBody, bool) {
	var h *heldBody
	var err error
	if ub, ok := x.r.Body.(*upgradeBody); ok {
		// Read when the server considered an h2c upgrade (see
		// serveH2CUpgrade): for stream 1 after the switch, or for the
		// HTTP/1.1 answer to a failure.
		h, err = ub.held, ub.err
	} else {
		wait := x.s.cfg.BodyBudgetWait
		if x.r.ProtoMajor == 2 {
			// An HTTP/2 stream waiting with its body unread holds part of
			// the connection's flow-control window, which all its streams
			// share: it could stall the very streams whose end would make
			// room. So it does not wait.
			wait = 0
		}
		h, err = readBody(x.r.Context(), x.s.budget, x.r.Body, x.r.ContentLength, x.s.cfg.MaxBodyBytes, wait)
	}
	if err == nil {
		x.liftReadDeadline()
		return h, true
	}
	contentType := x.r.Header.Get("Content-Type")
	switch {
	case errors.Is(err, errBodyTooLarge):
		// As AWS does: 413 with no body.
		x.refuseUnread(&kinesis.Response{Status: http.StatusRequestEntityTooLarge})
	case errors.Is(err, errNoBudget):
		// More body bytes are in flight than the server will hold. AWS
		// names this condition ServiceUnavailable, HTTP 503, in its
		// common errors, with the message used here. 503 rather than
		// a 400 throttling error such as LimitExceededException: it is
		// the server that is short, not the caller over a quota, and
		// in Kinesis LimitExceededException means a per-account or
		// per-stream rate that applications act upon. Every AWS SDK
		// retries a 503 with backoff, and nothing was done, so the
		// retry is safe.
		x.s.log.LogAttrs(x.r.Context(), slog.LevelDebug, "request body refused",
			slog.String("request_id", x.id), slog.Any("error", err))
		if x.s.metrics != nil {
			x.s.metrics.budgetRefused.Inc()
		}
		x.refuseUnread(errorResponse(contentType, kinesis.ErrServiceUnavailable, serviceUnavailableMessage, http.StatusServiceUnavailable))
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The client did not send its request within ReadTimeout.
		// RequestTimeoutException is an error code the AWS SDKs know to
		// retry.
		x.closeAfter()
		x.writeResponse(errorResponse(contentType, kinesis.ErrRequestTimeout,
			fmt.Sprintf("The request was not received within %v.", x.s.cfg.ReadTimeout), http.StatusRequestTimeout))
	default:
		// Most likely the client went away; if not, it sent a malformed
		// body, and the answer it gets hardly matters.
		x.s.log.LogAttrs(x.r.Context(), slog.LevelDebug, "reading request body",
			slog.String("request_id", x.id), slog.Any("error", err))
		x.closeAfter()
		x.writeEmpty(http.StatusBadRequest)
	}
	return nil, false
}

// liftReadDeadline removes the request's read deadline (ReadTimeout) once
// the body is read, so that it cannot end a long response
// (SubscribeToShard sessions last minutes): over HTTP/1.1, net/http reads
// the connection in the background to notice a client leaving, and a
// failed read cancels the request's context. net/http clears the deadline
// itself when it starts that read, at the end of the body, but does not
// document it; this makes it a guarantee, at the cost of one more call
// that finds the deadline already cleared. Over HTTP/2 the deadline only
// closes the stream's body, which is over already, and the call would
// cost a message to the connection's goroutine on every request.
func (x *exchange) liftReadDeadline() {
	if x.r.ProtoMajor == 1 {
		_ = http.NewResponseController(x.w).SetReadDeadline(time.Time{})
	}
}

// refuseUnread answers a request whose body the server will not read.
//
// An HTTP/1.1 connection is closed after the answer, as AWS does for 413:
// the unread body is still on it. HTTP/2 would end the stream with
// RST_STREAM (NO_ERROR) right after the answer; RFC 9113 says a client
// must keep the response then, but some do not (curl 7.88 with nghttp2
// reports a stream error and no status). So the answer is sent at once,
// and what the client goes on sending of the body is read and thrown away
// (see drain), so that such a client finishes its request and reads the
// status. A body declared longer than maxDrainBytes is not drained: the
// stream would be reset anyway.
func (x *exchange) refuseUnread(resp *kinesis.Response) {
	if x.r.ProtoMajor == 1 {
		x.w.Header().Set("Connection", "close")
		x.writeResponse(resp)
		return
	}
	x.writeResponse(resp)
	if x.r.ContentLength > maxDrainBytes {
		return
	}
	if err := http.NewResponseController(x.w).Flush(); err != nil {
		return
	}
	x.drain()
}

// drain reads and throws away the rest of an HTTP/2 request body, until
// the client has sent it all, maxDrainBytes have come, ReadTimeout has
// passed since the request began, or the client pauses for drainPause.
// It costs bandwidth but no memory.
func (x *exchange) drain() {
	rc := http.NewResponseController(x.w)
	end := x.start.Add(x.s.cfg.ReadTimeout)
	buf := make([]byte, 32<<10)
	for total := int64(0); total < maxDrainBytes; {
		deadline := time.Now().Add(drainPause)
		if deadline.After(end) {
			deadline = end
		}
		if err := rc.SetReadDeadline(deadline); err != nil {
			return
		}
		n, err := x.r.Body.Read(buf)
		total += int64(n)
		if err != nil {
			return // the end of the body, or of the client's patience
		}
	}
}

// closeAfter asks net/http to close an HTTP/1 connection after the
// response; HTTP/2 forbids the header (and resets the stream instead).
func (x *exchange) closeAfter() {
	if x.r.ProtoMajor == 1 {
		x.w.Header().Set("Connection", "close")
	}
}

// frontDoor answers what AWS's front end answers when a request is not a
// well-formed Kinesis call (a method other than POST, or a POST body in an
// encoding it does not know): an XML error without a content type.
func (x *exchange) frontDoor(target string, authErr *authError) {
	if authErr != nil {
		x.writeXML(http.StatusForbidden, authErr.Type, authErr.Message)
		return
	}
	service, op, _ := strings.Cut(target, ".")
	switch {
	case service == "" || op == "":
		x.writeXML(http.StatusForbidden, kinesis.ErrAccessDenied,
			"Unable to determine service/operation name to be authorized")
	case service+"." != kinesis.TargetPrefix:
		x.writeXML(http.StatusForbidden, kinesis.ErrUnrecognizedClient,
			fmt.Sprintf("No authorization strategy was found for service: %s, operation: %s", service, op))
	case !kinesis.IsOperation(op):
		x.writeXML(http.StatusInternalServerError, kinesis.ErrInternalFailure, "")
	default:
		x.writeXML(http.StatusNotFound, kinesis.ErrUnknownOperation, "")
	}
}

// callHandler calls the Handler, turning a panic or a nil response into
// InternalFailure.
func (x *exchange) callHandler(req *kinesis.Request) (resp *kinesis.Response) {
	ctx := x.r.Context()
	defer func() {
		if v := recover(); v != nil {
			x.s.log.LogAttrs(ctx, slog.LevelError, "handler panicked",
				slog.String("request_id", x.id), slog.String("op", x.op),
				slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
			resp = errorResponse(req.ContentType, kinesis.ErrInternalFailure, internalFailureMessage, http.StatusInternalServerError)
			x.panicked = true
		}
	}()
	resp = x.s.cfg.Handler.Handle(ctx, req)
	if resp == nil {
		x.s.log.LogAttrs(ctx, slog.LevelError, "handler returned no response",
			slog.String("request_id", x.id), slog.String("op", x.op))
		resp = errorResponse(req.ContentType, kinesis.ErrInternalFailure, internalFailureMessage, http.StatusInternalServerError)
	}
	return resp
}

func (x *exchange) writeResponse(resp *kinesis.Response) {
	if resp == nil {
		// Only a broken kinesis.ErrorResponse gets here.
		resp = &kinesis.Response{Status: http.StatusInternalServerError}
	}
	if resp.Stream != nil {
		x.writeStream(resp)
		return
	}
	h := x.w.Header()
	if resp.ContentType != "" {
		h.Set("Content-Type", resp.ContentType)
	} else {
		h["Content-Type"] = nil // no sniffing
	}
	h.Set("Content-Length", strconv.Itoa(len(resp.Body)))
	x.status = resp.Status
	if x.status == 0 {
		x.status = http.StatusOK
	}
	if x.om != nil {
		x.errLabel = errorLabel(resp, x.status)
		x.respBytes = len(resp.Body)
	}
	x.w.WriteHeader(x.status)
	// An error means the client is gone; there is no one left to tell.
	_, _ = x.w.Write(resp.Body)
}

// writeXML writes an error the way AWS's front end does, in XML without a
// Content-Type; an empty message gives the short form <Type/>.
func (x *exchange) writeXML(status int, typ, message string) {
	body := "<" + typ + "/>\n"
	if message != "" {
		body = "<" + typ + ">\n  <Message>" + escapeXML(message) + "</Message>\n</" + typ + ">\n"
	}
	x.writeResponse(&kinesis.Response{Status: status, Body: []byte(body), ErrorType: typ})
}

func (x *exchange) writeEmpty(status int) {
	x.writeResponse(&kinesis.Response{Status: status})
}

// done counts the exchange in the metrics and logs it.
func (x *exchange) done() {
	elapsed := time.Since(x.start)
	if x.om != nil {
		d := elapsed
		if x.streamedIn > 0 {
			// An event stream lasts minutes; its latency is how long it
			// took to start.
			d = x.streamedIn
		}
		if x.errLabel == "" {
			// Nothing was written: the client went away first.
			x.errLabel = noError
		}
		x.om.observe(x.errLabel, d, x.reqBytes, x.respBytes)
	}
	level := slog.LevelDebug
	if x.status >= 500 {
		level = slog.LevelError
	}
	x.s.log.LogAttrs(x.r.Context(), level, "request",
		slog.String("request_id", x.id),
		slog.String("op", x.op),
		slog.Int("status", x.status),
		slog.Duration("duration", elapsed),
		slog.String("method", x.r.Method),
		slog.String("proto", x.r.Proto),
		slog.String("remote", x.r.RemoteAddr))
}

// opForLog names the operation of a target for logs: the operation alone
// for Kinesis targets, the whole header otherwise.
func opForLog(target string) string {
	if op, ok := strings.CutPrefix(target, kinesis.TargetPrefix); ok {
		return op
	}
	return target
}

// isKinesisTarget reports whether target names a Kinesis operation.
func isKinesisTarget(target string) bool {
	op, ok := strings.CutPrefix(target, kinesis.TargetPrefix)
	return ok && kinesis.IsOperation(op)
}

// mediaType returns the media type of a Content-Type header, lowercased
// and without parameters.
func mediaType(contentType string) string {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// escapeXML escapes the characters that would break the XML structure and
// nothing else, so messages quoting 'parameters' keep AWS's wording.
func escapeXML(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// errorResponse encodes one of the front end's own errors in the encoding
// of the request (authentication failures, InternalFailure after a panic).
func errorResponse(contentType, typ, message string, status int) *kinesis.Response {
	return kinesis.ErrorResponse(contentType, &kinesis.Error{Type: typ, Message: message, Status: status})
}

// writeStream writes an event stream: the headers at once, then each
// message as the Handler sends it, flushed so that it reaches the client
// without waiting for more. Without a Content-Length, HTTP/1.1 sends the
// body chunked; HTTP/2 sends a DATA frame per flush. The stream ends when
// the Handler's Stream returns, when the client goes away (the request's
// context is done) or when the server shuts down.
func (x *exchange) writeStream(resp *kinesis.Response) {
	h := x.w.Header()
	h.Set("Content-Type", resp.ContentType)
	h.Del("Content-Length")
	x.status = resp.Status
	if x.status == 0 {
		x.status = http.StatusOK
	}
	rc := http.NewResponseController(x.w)
	x.w.WriteHeader(x.status)
	if x.om != nil {
		x.errLabel = errorLabel(resp, x.status)
	}
	if err := rc.Flush(); err != nil {
		return
	}
	x.streamedIn = time.Since(x.start)
	ctx, cancel := context.WithCancel(x.r.Context())
	defer cancel()
	stop := context.AfterFunc(x.s.streams, cancel)
	defer stop()
	resp.Stream(ctx, func(msg []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := x.w.Write(msg); err != nil {
			cancel()
			return err
		}
		// Stream calls send from one goroutine at a time, and returns
		// before done reads this.
		x.respBytes += len(msg)
		if err := rc.Flush(); err != nil {
			cancel()
			return err
		}
		return nil
	})
}

// remoteHost is the address part of a RemoteAddr ("host:port").
func remoteHost(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}
