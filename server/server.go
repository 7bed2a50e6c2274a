// Package server is Tributary's HTTP front end. It accepts Kinesis requests
// over HTTP/1.1 and unencrypted HTTP/2 (prior knowledge and the h2c
// Upgrade) on one port, answers what AWS answers before a request reaches
// the protocol layer (wrong method, missing or malformed SigV4
// authentication, oversized bodies), and hands everything else to a Handler
// as a kinesis.Request.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/http2"

	"github.com/tributary-io/tributary/faults"
	"github.com/tributary-io/tributary/internal/bgtask"
	"github.com/tributary-io/tributary/kinesis"
)

// Defaults for Config fields left zero.
const (
	DefaultAccount = "000000000000"

	// DefaultMaxBodyBytes admits every legal Kinesis request with room to
	// spare: the largest is a PutRecord or PutRecords carrying 10 MiB of
	// record data (after UpdateMaxRecordSize), which base64 in JSON
	// inflates to about 13.4 MiB.
	DefaultMaxBodyBytes = 32 << 20

	// DefaultShutdownTimeout bounds the graceful shutdown Serve performs
	// when its context is done.
	DefaultShutdownTimeout = 30 * time.Second

	// DefaultBodyBudget holds two bodies at the size limit at once (each
	// counted BodyCost times), or dozens of ordinary large puts (a few
	// MiB each), while keeping a flood of large bodies to a few hundred
	// MiB of memory.
	DefaultBodyBudget = 256 << 20

	// MinBodyBudget is the least budget: one body at the size limit.
	MinBodyBudget = BodyCost * DefaultMaxBodyBytes

	// DefaultBodyBudgetWait rides out a burst, during which bodies
	// already admitted arrive and are answered (a body at the size limit
	// takes well under a second on a local network), and is short enough
	// that a client meeting sustained overload soon hears of it and backs
	// off.
	DefaultBodyBudgetWait = 2 * time.Second

	// DefaultReadHeaderTimeout is generous for headers, a few KiB at most,
	// on any network.
	DefaultReadHeaderTimeout = 30 * time.Second

	// DefaultReadTimeout lets a body at the usual large size, a 5 MiB
	// PutRecords (6.7 MiB in base64), arrive at 1 Mbit/s, and one at the
	// 32 MiB size limit at 4.5 Mbit/s.
	DefaultReadTimeout = 60 * time.Second

	// DefaultIdleTimeout is longer than the idle timeouts of common
	// clients (Go's http.Transport: 90 s), so that clients close idle
	// connections first and never send a request on a connection the
	// server is closing.
	DefaultIdleTimeout = 2 * time.Minute
)

// Handler answers one Kinesis call. It is given everything the front end
// did not reject, including requests whose content type, body or target
// only the protocol layer can judge.
//
// Once Handle has returned and its answer is written (an event stream:
// once the stream has ended), the server gives req's Body and decoding
// buffers and the answer's Body back to kinesis's pools
// (kinesis.Request.Release, kinesis.Response.Release): nothing may keep
// them, or what was decoded from them, past that point.
type Handler interface {
	Handle(ctx context.Context, req *kinesis.Request) *kinesis.Response
}

// Config configures a Server.
type Config struct {
	// Handler answers the requests the front end lets through. Required.
	Handler Handler
	// TLS, when not nil, makes Serve speak TLS, offering HTTP/2 and
	// HTTP/1.1 by ALPN, as AWS's endpoints do; nil serves HTTP/1.1 and
	// unencrypted HTTP/2 on the plain port. Certificates come from it.
	TLS *tls.Config
	// Account is the AWS account id passed on in every kinesis.Request
	// when signatures are not verified (Credentials nil). Default
	// DefaultAccount.
	Account string
	// Credentials, when not nil, turns on SigV4 verification (sigv4.go):
	// a request must be signed with one of its keys, and acts for that
	// key's account, which becomes kinesis.Request.Account, and as its
	// principal, kinesis.Request.Caller. Nil verifies nothing: requests
	// need a well-formed signature and act as Account's root, Caller nil.
	// SetCredentials replaces the set while serving.
	Credentials *Credentials
	// Now, when not nil, is the clock signatures are checked against
	// (for tests). Default time.Now.
	Now func() time.Time
	// CORSOrigins are the origins a browser page may call the Kinesis API
	// from: exact origins ("https://console.example.com") or "*" for any.
	// Empty: no CORS headers, and preflight requests are not answered as
	// such, so browsers refuse cross-origin calls.
	CORSOrigins []string
	// AdminToken is the bearer token the admin API requires
	// (Authorization: Bearer TOKEN). New panics if Admin is set and
	// AdminToken is empty.
	AdminToken string
	// Logger receives one debug line per request and warnings and errors.
	// Default: discard.
	Logger *slog.Logger
	// MaxBodyBytes caps request bodies; larger ones are answered 413 with
	// an empty body and the connection is closed, as AWS does.
	// Default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// BodyBudget bounds the memory of request bodies held at once, and of
	// their decoding, across all connections: a body takes BodyCost times
	// its size. That share is taken before the body is read: all of it
	// when the request declares a Content-Length, step by step as the
	// buffer grows otherwise, and given back when the request is done. A
	// request that does not fit is answered 503 ServiceUnavailable, over
	// HTTP/1.1 after waiting up to BodyBudgetWait for room, over HTTP/2
	// at once (see exchange.readBody). A client sending slowly holds its
	// share until ReadTimeout. Default DefaultBodyBudget; raised to
	// BodyCost times MaxBodyBytes if lower, so that every body the size
	// limit admits can fit.
	BodyBudget int64
	// BodyBudgetWait is how long an HTTP/1.1 request waits for room in
	// BodyBudget. Default DefaultBodyBudgetWait.
	BodyBudgetWait time.Duration
	// ReadHeaderTimeout bounds the time a client takes to send a request's
	// headers, or the HTTP/2 preface, from the moment the server starts
	// reading them. Default DefaultReadHeaderTimeout.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the time a client takes to send a whole request,
	// headers and body, from when the server starts reading it (for
	// HTTP/2, from the stream's HEADERS frame), waiting for BodyBudget
	// included; a late body is answered 408 RequestTimeoutException
	// (over HTTP/2 the stream is then reset if the client is still
	// sending). The limit ends once the body is read, so responses may
	// last longer: SubscribeToShard sessions last minutes.
	// Default DefaultReadTimeout.
	ReadTimeout time.Duration
	// IdleTimeout closes connections that have had no request in progress
	// for this long: HTTP/1.1 keep-alive connections between requests,
	// HTTP/2 connections without open streams. Default DefaultIdleTimeout.
	IdleTimeout time.Duration
	// ShutdownTimeout bounds the graceful shutdown Serve performs when its
	// context is done. Default DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// Admin, when not nil, turns on the admin API under /_tributary/ (see
	// admin.go), whose fault routes manage this injector, with
	// AdminToken. Requests under /_tributary/ never reach Handler and
	// need no signature; with Admin nil they are answered 404.
	Admin *faults.Injector
	// BackgroundStats, when not nil, gives the admin API's stats route
	// (GET /_tributary/stats) the counts of the background tasks, by
	// component ("engine", "service") and then by task, so that a test
	// or a soak can tell that none of them panicked.
	BackgroundStats func() map[string]map[string]bgtask.Stats
	// Ready, when not nil, is asked by GET /health/ready whether the
	// server can serve Kinesis requests (health.go); an error answers 503
	// with its text.
	Ready func(ctx context.Context) error
	// Metrics, when not nil, receives the front's metrics (metrics.go):
	// requests by operation and error, their latency and body bytes,
	// connections by protocol, the body budget. New panics if they are
	// registered there already. Nil: no metrics, at no cost.
	Metrics prometheus.Registerer
	// Gatherer, when not nil, is served at MetricsPath (GET /metrics) in
	// Prometheus's text format, without a signature, like the health
	// routes. It is usually the registry Metrics registers with.
	Gatherer prometheus.Gatherer
	// ClusterStatus, when not nil, answers GET ClusterStatusPath with its
	// value as JSON (cluster.go); an error answers 503 with its text.
	ClusterStatus func(ctx context.Context) (any, error)
	// ClusterChange, when not nil, serves the admin routes that change
	// the cluster (cluster.go): op is "drain" or "add", node the node
	// named in the request, and progress is called with each step, sent
	// to the client as a line of JSON. An error wrapping
	// ErrChangeRefused is a refusal. It needs AdminToken, and works
	// without Admin: New panics if AdminToken is empty.
	ClusterChange func(ctx context.Context, op, node string, progress func(step any)) error
}

// Server is the HTTP front end. Create it with New.
type Server struct {
	cfg    Config
	log    *slog.Logger
	hs     *http.Server
	budget *budget // request body bytes held in memory
	conns  connGauge

	metrics     *metrics     // nil without Config.Metrics
	metricsHTTP http.Handler // nil without Config.Gatherer

	// creds are the keys signatures are verified against; nil when
	// Config.Credentials is (no verification). Swapped whole by
	// SetCredentials, never modified in place.
	creds atomic.Pointer[Credentials]

	// Connections upgraded with "Upgrade: h2c" are hijacked from hs, which
	// therefore neither waits for them nor tells them to go away on
	// Shutdown. They are served by h2, and h2hub exists only so that its
	// Shutdown makes h2 send GOAWAY on all of them.
	h2    *http2.Server
	h2hub *http.Server

	mu           sync.Mutex
	shuttingDown bool                  // no new upgrades
	forceClosed  bool                  // upgraded conns are closed as they appear
	upgraded     map[net.Conn]struct{} // live upgraded conns
	upgrades     sync.WaitGroup        // upgrades begun and not yet ended

	finishOnce sync.Once
	finished   chan struct{} // closed when a Shutdown has completed

	// streams is cancelled when Shutdown begins, ending the event streams
	// (SubscribeToShard sessions last minutes; a graceful shutdown should
	// not wait for them, and their clients resubscribe anyway).
	streams     context.Context
	stopStreams context.CancelFunc
}

// New returns a Server for cfg. It panics if cfg.Handler is nil.
func New(cfg Config) *Server {
	if cfg.Handler == nil {
		panic("server: Config.Handler is nil")
	}
	if cfg.Account == "" {
		cfg.Account = DefaultAccount
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.BodyBudget <= 0 {
		cfg.BodyBudget = DefaultBodyBudget
	}
	cfg.BodyBudget = max(cfg.BodyBudget, BodyCost*cfg.MaxBodyBytes)
	if cfg.BodyBudgetWait <= 0 {
		cfg.BodyBudgetWait = DefaultBodyBudgetWait
	}
	if cfg.ReadHeaderTimeout <= 0 {
		cfg.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}

	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ClusterChange != nil && cfg.AdminToken == "" {
		panic("server: Config.ClusterChange is set without an AdminToken")
	}
	if cfg.Admin != nil {
		if cfg.AdminToken == "" {
			panic("server: Config.Admin is set without an AdminToken")
		}
		// Warn level so that it shows with --log-level warn: whoever has
		// the token can now make the server fail on purpose.
		cfg.Logger.Warn("admin API is on at " + adminPrefix + ": fault injection is possible with the admin token")
	}

	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		budget:   newBudget(cfg.BodyBudget),
		upgraded: make(map[net.Conn]struct{}),
		finished: make(chan struct{}),
	}
	s.streams, s.stopStreams = context.WithCancel(context.Background())
	if cfg.Credentials != nil {
		s.creds.Store(cfg.Credentials)
	}
	if cfg.Metrics != nil {
		s.metrics = newMetrics(cfg.Metrics, s)
	}
	if cfg.Gatherer != nil {
		s.metricsHTTP = MetricsHandler(cfg.Gatherer, cfg.Logger)
	}

	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	// Prior-knowledge HTTP/2 on a plain port, which the AWS SDK for
	// JavaScript v3 uses for http:// endpoints. net/http does not implement
	// the h2c Upgrade; ServeHTTP does.
	protocols.SetUnencryptedHTTP2(true)
	var tlsConfig *tls.Config
	if cfg.TLS != nil {
		protocols.SetHTTP2(true)
		tlsConfig = cfg.TLS.Clone()
		tlsConfig.NextProtos = []string{"h2", "http/1.1"}
	}
	s.hs = &http.Server{
		TLSConfig: tlsConfig,
		Handler:   s,
		Protocols: protocols,
		// Also bounds the TLS handshake and the prior-knowledge HTTP/2
		// preface.
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		// A deadline on each HTTP/1.1 request and HTTP/2 stream (on
		// upgraded connections too: h2 takes it from hs), which the
		// handler lifts once the body is read (see liftReadDeadline).
		ReadTimeout: cfg.ReadTimeout,
		IdleTimeout: cfg.IdleTimeout,
		ConnState:   s.conns.track,
		ErrorLog:    slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	if s.metrics != nil {
		// Puts a connection counted by protocol in the context of its
		// requests (see meteredListener), through TLS too, and through
		// HTTP/2, whose requests' contexts derive from the connection's.
		s.hs.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
			if mc := meteredConnOf(c); mc != nil {
				return context.WithValue(ctx, connKey{}, mc)
			}
			return ctx
		}
	}

	s.h2 = &http2.Server{IdleTimeout: cfg.IdleTimeout}
	s.h2hub = &http.Server{}
	if err := http2.ConfigureServer(s.h2hub, s.h2); err != nil {
		// Only a TLS configuration can make it fail, and h2hub has none.
		panic(fmt.Sprintf("server: configuring HTTP/2: %v", err))
	}
	return s
}

// Serve accepts connections on ln and serves them until the server is shut
// down, by Shutdown or because ctx is done, and returns nil once the
// shutdown has completed. When ctx is done Serve shuts down gracefully,
// giving in-flight requests up to Config.ShutdownTimeout to finish.
// Request contexts are not derived from ctx, so its end does not cut
// in-flight requests short.
//
// Serve returns early with an error if accepting fails. It may be called
// on several listeners at once.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
		defer cancel()
		if err := s.Shutdown(sctx); err != nil {
			s.log.LogAttrs(sctx, slog.LevelWarn, "shutdown did not complete in time; connections closed",
				slog.Duration("timeout", s.cfg.ShutdownTimeout), slog.Any("error", err))
		}
	})
	defer stop()

	if s.metrics != nil {
		ln = meteredListener{Listener: ln, m: s.metrics}
	}
	var err error
	if s.hs.TLSConfig != nil {
		err = s.hs.ServeTLS(ln, "", "")
	} else {
		err = s.hs.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		// hs.Serve returns as soon as shutdown starts; wait for it to end.
		<-s.finished
		return nil
	}
	return err
}

// ListenAndServe listens on the TCP address addr and calls Serve.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("server: listen on %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Shutdown stops the server gracefully: it closes the listeners, so new
// connections are refused, lets in-flight requests finish, and closes
// connections as they become idle; HTTP/2 clients are sent GOAWAY. It
// returns nil once all connections are closed. If ctx is done first it
// closes the remaining connections and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopStreams()
	s.mu.Lock()
	s.shuttingDown = true
	s.mu.Unlock()

	upgradesDone := make(chan struct{})
	go func() {
		s.upgrades.Wait()
		close(upgradesDone)
	}()
	stopAnnouncing := make(chan struct{})
	go s.announceShutdownToUpgraded(stopAnnouncing, upgradesDone)

	err := s.hs.Shutdown(ctx)
	select {
	case <-upgradesDone:
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
	}
	close(stopAnnouncing)
	if err != nil {
		s.hs.Close()
		s.closeUpgraded()
	}
	s.finishOnce.Do(func() { close(s.finished) })
	if err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	return nil
}

// announceShutdownToUpgraded makes h2 send GOAWAY on every upgraded
// connection, and repeats it until they are all gone because a connection
// upgraded just before Shutdown may register with h2 only after the first
// announcement. h2 sends GOAWAY at most once per connection.
func (s *Server) announceShutdownToUpgraded(stop, done <-chan struct{}) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		// h2hub has no listeners or connections of its own, so this only
		// runs the hook http2.ConfigureServer installed, and returns.
		_ = s.h2hub.Shutdown(context.Background())
		select {
		case <-stop:
			return
		case <-done:
			return
		case <-t.C:
		}
	}
}

// closeUpgraded closes every upgraded connection, now and as they appear.
func (s *Server) closeUpgraded() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forceClosed = true
	for c := range s.upgraded {
		c.Close()
	}
}

// SetCredentials replaces the keys signatures are verified against, for
// the requests that arrive from now on; requests being verified finish
// with the old set, and no connection is dropped. It is how a reloaded
// credentials file takes effect. It panics if the server was made
// without Config.Credentials (verification cannot be turned on or off
// while serving) or if c is nil.
func (s *Server) SetCredentials(c *Credentials) {
	if c == nil || s.creds.Load() == nil {
		panic("server: SetCredentials on a server without Config.Credentials, or with nil")
	}
	s.creds.Store(c)
}

// Connections returns the number of connections open now and accepted
// since the server was created, over all listeners, HTTP/2 connections
// upgraded from HTTP/1.1 included.
func (s *Server) Connections() (open, total int64) {
	return s.conns.open.Load(), s.conns.total.Load()
}

// connGauge counts connections. net/http reports each connection's
// states to track; a connection it hands over (hijacked, for an h2c
// upgrade) stays open in the count until its new owner calls closed.
type connGauge struct {
	open, total atomic.Int64
}

func (g *connGauge) track(_ net.Conn, state http.ConnState) {
	switch state {
	case http.StateNew:
		g.open.Add(1)
		g.total.Add(1)
	case http.StateClosed:
		g.open.Add(-1)
	}
}

func (g *connGauge) closed() { g.open.Add(-1) }
