package server

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tributary-io/tributary/kinesis"
)

// MetricsPath is where the server answers Prometheus scrapes, beside the
// Kinesis API and without a signature, when Config.Gatherer is set.
const MetricsPath = "/metrics"

// Label values of the request metrics.
const (
	// unknownOperation stands for every X-Amz-Target that is not a Kinesis
	// operation Tributary has the shapes of, so that a client sending
	// made-up targets cannot make new series without bound.
	unknownOperation = "unknown"
	// noError is the error label of a request answered without an error.
	// Not "": Prometheus treats an empty label as an absent one, which
	// reads poorly in queries (error!="none" is clearer than error!="").
	noError = "none"
	// otherError stands for an error type outside kinesis's table, which
	// only a bug could produce; it keeps the label bounded all the same.
	otherError = "other"
)

// durationBuckets span a request's life from 100µs (a DescribeLimits
// from memory) to 10 s (a large PutRecords on a slow disk, or a wait for
// the body budget), about three per decade.
var durationBuckets = []float64{
	0.0001, 0.00025, 0.0005,
	0.001, 0.0025, 0.005,
	0.01, 0.025, 0.05,
	0.1, 0.25, 0.5,
	1, 2.5, 5, 10,
}

// metrics are the HTTP front's Prometheus metrics (see docs/metrics.md).
// A Server without Config.Metrics has none (Server.metrics is nil) and
// pays nothing for them.
//
// On the request path nothing is looked up by label: each operation's
// series are resolved once, on its first request, and kept in its
// opMetrics, which the request finds in ops with one map lookup of its
// operation's name. Only error series are found by label value (an
// error type), in a sync.Map of the operation's, without allocating.
type metrics struct {
	// ops has an entry for every operation of kinesis.Operations() and
	// for unknownOperation; it is never modified after newMetrics.
	ops map[string]*opMetrics

	requests  *prometheus.CounterVec
	durations *prometheus.HistogramVec
	reqBytes  *prometheus.CounterVec
	respBytes *prometheus.CounterVec

	// connsOpen is indexed by the protocols below.
	connsOpen     [protoClosed]prometheus.Gauge
	budgetRefused prometheus.Counter
	// authFailures counts requests refused for their signature, by
	// authError.label (a bounded set: authReasons).
	authFailures *prometheus.CounterVec
}

// opMetrics are one operation's series.
type opMetrics struct {
	name string
	m    *metrics

	once      sync.Once // resolves the series below on first use
	ok        prometheus.Counter
	duration  prometheus.Observer
	reqBytes  prometheus.Counter
	respBytes prometheus.Counter
	errs      sync.Map // error type → prometheus.Counter
}

// Protocols of a connection, for tributary_http_connections_open. A
// connection is protoUnknown until its first request says which it
// speaks, and protoClosed once closed (not a label value).
const (
	protoUnknown int32 = iota
	protoHTTP1
	protoH2
	protoClosed
)

var protoLabels = [protoClosed]string{protoUnknown: "unknown", protoHTTP1: "http1", protoH2: "h2"}

// newMetrics makes the front's metrics and registers them with reg. It
// panics if they are registered already, as prometheus.MustRegister
// does: two servers on one registry is a mistake of the caller's.
func newMetrics(reg prometheus.Registerer, s *Server) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tributary_requests_total",
			Help: `Kinesis requests answered, by operation (the X-Amz-Target's, or "unknown") and the AWS error type answered ("none" for a success; "http_413" and the like for an error answered without a body).`,
		}, []string{"operation", "error"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tributary_request_duration_seconds",
			Help:    "Time from a Kinesis request's arrival to its answer written, by operation; for SubscribeToShard, to the event stream's start.",
			Buckets: durationBuckets,
		}, []string{"operation"}),
		reqBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tributary_request_body_bytes_total",
			Help: "Bytes of Kinesis request bodies read, by operation.",
		}, []string{"operation"}),
		respBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tributary_response_body_bytes_total",
			Help: "Bytes of Kinesis response bodies written, event streams included, by operation.",
		}, []string{"operation"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tributary_auth_failures_total",
			Help: "Requests whose authentication failed, by reason: missing, incomplete, invalid (malformed signature or scope), unknown_key, session_token, expired, not_yet_valid, mismatch (wrong signature: wrong secret, or a request changed on the way).",
		}, []string{"reason"}),
		budgetRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tributary_http_body_budget_refused_total",
			Help: "Requests answered 503 ServiceUnavailable because their body did not fit in the body budget (--body-budget).",
		}),
	}
	conns := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tributary_http_connections_open",
		Help: `Client connections open, by protocol: http1, h2 (prior knowledge, h2c Upgrade or TLS ALPN) or "unknown" until their first request.`,
	}, []string{"protocol"})
	for p, label := range protoLabels {
		m.connsOpen[p] = conns.WithLabelValues(label)
	}
	m.ops = make(map[string]*opMetrics)
	for _, op := range append(kinesis.Operations(), unknownOperation) {
		m.ops[op] = &opMetrics{name: op, m: m}
	}

	for _, r := range authReasons {
		m.authFailures.WithLabelValues(r)
	}
	reg.MustRegister(m.requests, m.durations, m.reqBytes, m.respBytes, m.budgetRefused, m.authFailures, conns,
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "tributary_http_connections_accepted_total",
			Help: "Client connections accepted since the start, over all listeners.",
		}, func() float64 { _, total := s.Connections(); return float64(total) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tributary_http_body_budget_bytes",
			Help: "The body budget: most bytes held at once for request bodies and their decoding (--body-budget).",
		}, func() float64 { return float64(s.budget.capacity) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tributary_http_body_budget_used_bytes",
			Help: "Bytes of the body budget held now by requests in flight (a body counts 4 times its size).",
		}, func() float64 { return float64(s.budget.inUse()) }),
	)
	return m
}

// forTarget returns the series of the operation an X-Amz-Target names.
func (m *metrics) forTarget(target string) *opMetrics {
	if op, ok := strings.CutPrefix(target, kinesis.TargetPrefix); ok {
		if o := m.ops[op]; o != nil {
			return o
		}
	}
	return m.ops[unknownOperation]
}

func (o *opMetrics) resolve() {
	o.once.Do(func() {
		o.ok = o.m.requests.WithLabelValues(o.name, noError)
		o.duration = o.m.durations.WithLabelValues(o.name)
		o.reqBytes = o.m.reqBytes.WithLabelValues(o.name)
		o.respBytes = o.m.respBytes.WithLabelValues(o.name)
	})
}

// observe counts one answered request. errType is noError or the error's
// label (see errorLabel).
func (o *opMetrics) observe(errType string, d time.Duration, in, out int) {
	o.resolve()
	o.duration.Observe(d.Seconds())
	o.reqBytes.Add(float64(in))
	o.respBytes.Add(float64(out))
	if errType == noError {
		o.ok.Inc()
		return
	}
	c, ok := o.errs.Load(errType)
	if !ok {
		c, _ = o.errs.LoadOrStore(errType, o.m.requests.WithLabelValues(o.name, errType))
	}
	c.(prometheus.Counter).Inc()
}

// errorLabel is the error label of an answer: noError for a success, the
// exception it carries, or for an error without one (413, or 400 for a
// body that could not be read) its status.
func errorLabel(resp *kinesis.Response, status int) string {
	switch {
	case resp.ErrorType != "":
		if !kinesis.IsException(resp.ErrorType) {
			return otherError
		}
		return resp.ErrorType
	case status < 400:
		return noError
	case status == http.StatusBadRequest:
		return "http_400"
	case status == http.StatusRequestEntityTooLarge:
		return "http_413"
	case status == http.StatusInternalServerError:
		return "http_500"
	}
	return "http_" + strconv.Itoa(status)
}

// MetricsHandler answers Prometheus scrapes with what g gathers, in the
// text format, for GET and HEAD (405 for other methods). A collector that
// fails is logged to log and left out; the rest is still served.
func MetricsHandler(g prometheus.Gatherer, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "use GET or HEAD", http.StatusMethodNotAllowed)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Connections by protocol. net/http tells a connection's states
// (ConnState) but not its protocol, and hands HTTP/2 connections to its
// HTTP/2 server without a word; a request tells its protocol. So every
// accepted connection is wrapped (meteredListener), counted as unknown,
// and moved to its protocol by its first request, which finds it in its
// context (ConnContext puts it there); an h2c Upgrade moves it from http1
// to h2; Close takes it out.

// meteredListener counts the connections it accepts.
type meteredListener struct {
	net.Listener
	m *metrics
}

func (l meteredListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.m.connsOpen[protoUnknown].Inc()
	return &meteredConn{Conn: c, m: l.m}, nil
}

// meteredConn is an accepted connection counted under its protocol.
type meteredConn struct {
	net.Conn
	m *metrics
	// proto is the protocol the connection is counted under. It only
	// moves forward (unknown → http1 → h2, any → closed), by
	// compare-and-swap, so that the requests of an HTTP/2 connection
	// racing one another and Close move the count exactly once.
	proto atomic.Int32
}

// move moves the connection from one protocol's count to another's, if
// it is counted under from.
func (c *meteredConn) move(from, to int32) {
	if c.proto.CompareAndSwap(from, to) {
		c.m.connsOpen[from].Dec()
		if to != protoClosed {
			c.m.connsOpen[to].Inc()
		}
	}
}

// sawRequest counts the connection under the protocol of its first
// request.
func (c *meteredConn) sawRequest(r *http.Request) {
	if c.proto.Load() != protoUnknown {
		return
	}
	p := protoHTTP1
	if r.ProtoMajor == 2 {
		p = protoH2
	}
	c.move(protoUnknown, p)
}

func (c *meteredConn) Close() error {
	for {
		p := c.proto.Load()
		if p == protoClosed {
			break
		}
		if c.proto.CompareAndSwap(p, protoClosed) {
			c.m.connsOpen[p].Dec()
			break
		}
	}
	return c.Conn.Close()
}

// CloseWrite passes the half-close net/http does before closing a
// connection after an error on to the TCP connection, which the wrapper
// would otherwise hide (the client could then get a reset instead of the
// answer).
func (c *meteredConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// connKey is the context key of a request's *meteredConn.
type connKey struct{}

// meteredConnOf returns the meteredConn under c, through TLS, or nil.
func meteredConnOf(c net.Conn) *meteredConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	mc, _ := c.(*meteredConn)
	return mc
}
