package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tributary-io/tributary/api"
	"github.com/tributary-io/tributary/internal/bgtask"
	"github.com/tributary-io/tributary/keyring"
	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/server"
	"github.com/tributary-io/tributary/storage"
	"github.com/tributary-io/tributary/storage/discard"
	jsengine "github.com/tributary-io/tributary/storage/jetstream"
	"github.com/tributary-io/tributary/storage/local"
	"github.com/tributary-io/tributary/storage/mem"
	"github.com/tributary-io/tributary/stream"
)

// run serves Kinesis as cfg says until ctx is done, then shuts down
// gracefully: /health/ready turns 503 for cfg.ShutdownDelay while
// requests are still served, then new connections are refused and
// in-flight requests finish (for at most server.DefaultShutdownTimeout).
//
// The listener opens before the storage does, so that while the engine
// recovers (replays its journal, which can take a while after a crash)
// /health/live answers 200, /health/ready 503 "recovering storage" and
// Kinesis requests 503 ServiceUnavailable, which the AWS SDKs retry.
func run(ctx context.Context, cfg serveConfig, logger *slog.Logger) error {
	return runWith(ctx, cfg, logger, runHooks{})
}

// runHooks let tests hold run at its two waits, to observe the states in
// between without racing them. The zero value holds nothing.
type runHooks struct {
	// recovering, when not nil, is called once the listener is open and
	// before the storage is, and run waits for it to return.
	recovering func(ctx context.Context)
	// draining, when not nil, is waited for instead of cfg.ShutdownDelay.
	draining func()
}

// runWith is run with hooks.
func runWith(ctx context.Context, cfg serveConfig, logger *slog.Logger, hooks runHooks) error {
	inj, err := newInjector(cfg, logger)
	if err != nil {
		return err
	}
	tlsConfig, err := serverTLS(cfg, logger)
	if err != nil {
		return err
	}
	limits, err := streamLimits(cfg)
	if err != nil {
		return err
	}
	var creds *server.Credentials
	if cfg.Auth == authSigV4 {
		if creds, err = server.LoadCredentials(cfg.Credentials); err != nil {
			return err
		}
	}
	adminToken, err := adminToken(cfg, logger)
	if err != nil {
		return err
	}

	// Every part with metrics registers them here; GET /metrics serves it,
	// from the start: the process's metrics are of use during recovery.
	reg := newRegistry()
	g := new(gate)
	srv := server.New(server.Config{
		Handler: g,
		Ready:   g.ready,
		Account: cfg.Account,
		Logger:  logger,
		Admin:   adminInjector(cfg, inj),
		TLS:     tlsConfig,

		Credentials: creds,
		CORSOrigins: corsOrigins(cfg.CORSOrigins),
		AdminToken:  adminToken,
		// For the admin API's stats route, which only exists with --admin.
		BackgroundStats: g.backgroundStats,
		Metrics:         reg,
		Gatherer:        reg,
		ClusterStatus:   clusterStatusFunc(cfg, g),
		ClusterChange:   clusterChangeFunc(cfg, g, adminToken),

		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		BodyBudget:        cfg.BodyBudget,
	})
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	addr := ln.Addr().String()
	var metricsLn net.Listener
	if cfg.MetricsListen != "" {
		if metricsLn, err = lc.Listen(ctx, "tcp", cfg.MetricsListen); err != nil {
			ln.Close()
			return fmt.Errorf("listen for metrics on %s: %w", cfg.MetricsListen, err)
		}
	}
	// Not "listening on", which scripts and tests wait for as the sign
	// that Kinesis requests are served.
	logger.Info("recovering storage; health checks are answered on "+addr, slog.String("addr", addr))

	if creds != nil {
		stopReloading := reloadCredentialsOnSIGHUP(srv, cfg.Credentials, logger)
		defer stopReloading()
	}

	// The server stops when serving is cancelled: after the drain once ctx
	// is done, or at once if the storage fails to open.
	serveCtx, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServing()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(serveCtx, ln) }()

	// The metrics port outlives the main one's graceful shutdown, so that
	// a scrape can watch it, and stops before the storage closes.
	metricsCtx, stopMetrics := context.WithCancel(context.WithoutCancel(ctx))
	defer stopMetrics()
	metricsDone := make(chan struct{})
	go func() {
		defer close(metricsDone)
		if metricsLn == nil {
			return
		}
		// Kinesis goes on being served without it.
		if err := serveMetricsOn(metricsCtx, metricsLn, reg, cfg, logger); err != nil {
			logger.Error("metrics server failed; /metrics is still served on "+addr, slog.Any("error", err))
		}
	}()
	stopMetricsServer := func() {
		stopMetrics()
		<-metricsDone
	}

	if hooks.recovering != nil {
		hooks.recovering(ctx)
	}
	engine, svc, err := openService(ctx, cfg, limits, logger, reg)
	if err != nil {
		stopServing()
		<-served
		stopMetricsServer()
		if ctx.Err() != nil {
			// Stopped while recovering: not a failure of the server.
			logger.Info("stopped before the storage was open", slog.Any("error", err))
			return nil
		}
		return err
	}
	// The service goes first: its background work writes to the engine.
	closeWiring := func() error {
		svc.Close()
		return engine.Close()
	}
	bgStats := backgroundStats(engine, svc)
	reg.MustRegister(newBackgroundCollector(bgStats))
	if lb, ok := engine.(logByter); ok {
		reg.MustRegister(newStreamStorageCollector(lb, svc, logger))
	}
	g.open(api.New(svc, api.Options{Logger: logger, Faults: inj}), bgStats)
	if r, ok := engine.(readier); ok {
		g.engineReady.Store(&r)
	}
	if js, ok := engine.(*jsengine.Engine); ok && cfg.Cluster != "" {
		g.cluster.Store(js)
	}

	attrs := []any{slog.String("addr", addr), slog.String("storage", cfg.Storage)}
	switch cfg.Storage {
	case storageLocal:
		attrs = append(attrs, slog.String("data_dir", cfg.DataDir), slog.String("sync", cfg.Sync))
	case storageJetStream:
		attrs = append(attrs, slog.String("data_dir", cfg.DataDir), slog.String("sync", syncAlways))
		if cfg.Cluster != "" {
			attrs = append(attrs, slog.String("cluster", cfg.Cluster), slog.String("node", cfg.Node), slog.Int("replicas", cfg.Replicas))
		}
	}
	attrs = append(attrs, slog.String("account", cfg.Account), slog.String("auth", cfg.Auth))
	if creds != nil {
		attrs = append(attrs, slog.Int("credentials", creds.Len()))
	}
	attrs = append(attrs, slog.String("limits", cfg.Limits), slog.Bool("tls", tlsConfig != nil))
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	metricsURLs := scheme + "://" + addr + server.MetricsPath
	if metricsLn != nil {
		metricsAddr := metricsLn.Addr().String()
		metricsURLs += " http://" + metricsAddr + server.MetricsPath
		attrs = append(attrs, slog.String("metrics_addr", metricsAddr))
	}
	attrs = append(attrs, slog.String("metrics", metricsURLs))
	logger.Info("listening on "+addr, attrs...)

	var serveErr error
	select {
	case serveErr = <-served: // accepting failed
	case <-ctx.Done():
		g.drain()
		if hooks.draining != nil {
			hooks.draining()
		} else if cfg.ShutdownDelay > 0 {
			logger.Info("shutting down: not ready, serving for the shutdown delay", slog.Duration("shutdown_delay", cfg.ShutdownDelay))
			t := time.NewTimer(cfg.ShutdownDelay)
			select {
			case <-t.C:
			case serveErr = <-served:
			}
			t.Stop()
		}
		stopServing()
		if serveErr == nil {
			serveErr = <-served
		}
	}
	stopMetricsServer()
	closeErr := closeWiring()
	if serveErr != nil {
		return fmt.Errorf("serve on %s: %w", addr, serveErr)
	}
	if closeErr != nil {
		return fmt.Errorf("closing storage: %w", closeErr)
	}
	logger.Info("stopped")
	return nil
}

// openService opens the storage engine, which recovers what it holds,
// and the stream service over it.
func openService(ctx context.Context, cfg serveConfig, limits stream.Limits, logger *slog.Logger, reg prometheus.Registerer) (storage.Engine, *stream.Service, error) {
	keys, err := openKeyring(ctx, cfg.Keyring, logger)
	if err != nil {
		return nil, nil, err
	}
	engine, err := openEngine(ctx, cfg, keys, logger, reg)
	if err != nil {
		return nil, nil, err
	}
	var svcKeys keyring.Provider
	if keys != nil {
		svcKeys = keys // not a typed nil: the service tests for nil
	}
	svc, err := stream.New(ctx, engine, stream.Options{
		Keys:        svcKeys,
		Limits:      limits,
		CreateDelay: streamDelay(cfg.CreateDelay),
		DeleteDelay: streamDelay(cfg.DeleteDelay),
		UpdateDelay: streamDelay(cfg.UpdateDelay),
		Logger:      logger,

		AutoscaleInterval:       cfg.OnDemandInterval,
		AutoscaleSplitThreshold: cfg.OnDemandSplitThreshold,
		AutoscaleMergeThreshold: cfg.OnDemandMergeThreshold,
		AutoscaleCooldown:       cfg.OnDemandCooldown,
		// A shard's capacity is what its write limits let through:
		// measured against AWS's 1 MiB/s and 1000 records/s, a shard
		// that --limits-file throttles lower would never look hot enough
		// to split. Zero (no such key) keeps AWS's values.
		ShardWriteBytesPerSec:   limits.ShardWriteBytesPerSec,
		ShardWriteRecordsPerSec: limits.ShardWriteRecordsPerSec,

		SubscriptionLifetime:  cfg.SubscriptionLifetime,
		SubscriptionHeartbeat: cfg.SubscriptionHeartbeat,
		IteratorLifetime:      cfg.IteratorLifetime,
		RetentionHour:         cfg.RetentionHour,
		ShardLimit:            cfg.ShardLimit,
		OnDemandStreamLimit:   cfg.OnDemandStreamLimit,
		ReapInterval:          cfg.ReapInterval,
		DedupWindow:           cmp.Or(cfg.DedupWindow, -1), // 0 is off on the command line
		Metrics:               reg,
	})
	if err != nil {
		engine.Close()
		return nil, nil, fmt.Errorf("start streams: %w", err)
	}
	return engine, svc, nil
}

// gate is the server's Kinesis handler and readiness. Until open is
// called it refuses Kinesis requests with 503 ServiceUnavailable and is
// not ready; from drain on it is not ready again but still serves, so that
// load balancers stop sending requests before the listener closes.
//
// Invariant: state is set once, by open, and never unset; a request sees
// either no service or the whole of it.
type gate struct {
	state    atomic.Pointer[gateState]
	draining atomic.Bool
	// engineReady, once set, is asked at every readiness check: a
	// cluster node's storage can become unusable after it opened (a
	// majority of the nodes unreachable).
	engineReady atomic.Pointer[readier]
	// cluster, once set, describes the cluster (--cluster only).
	cluster atomic.Pointer[jsengine.Engine]
}

// clusterStatus is server.Config.ClusterStatus.
func (g *gate) clusterStatus(ctx context.Context) (any, error) {
	e := g.cluster.Load()
	if e == nil {
		return nil, errors.New("recovering storage")
	}
	return e.Status(ctx)
}

// clusterStatusFunc is server.Config.ClusterStatus: nil, so 404, on a
// single node.
func clusterStatusFunc(cfg serveConfig, g *gate) func(context.Context) (any, error) {
	if cfg.Cluster == "" {
		return nil
	}
	return g.clusterStatus
}

// clusterChange is server.Config.ClusterChange: `tributary cluster
// drain` and `tributary cluster add`.
func (g *gate) clusterChange(ctx context.Context, op, node string, progress func(any)) error {
	e := g.cluster.Load()
	if e == nil {
		return errors.New("recovering storage")
	}
	step := func(m jsengine.Move) { progress(m) }
	var err error
	switch op {
	case "drain":
		err = e.Drain(ctx, node, step)
	case "add":
		err = e.Add(ctx, node, step)
	default:
		return fmt.Errorf("%w: unknown change %q", server.ErrChangeRefused, op)
	}
	if errors.Is(err, jsengine.ErrTooFewNodes) || errors.Is(err, jsengine.ErrUnknownNode) || errors.Is(err, jsengine.ErrSelf) {
		return fmt.Errorf("%w: %w", server.ErrChangeRefused, err)
	}
	return err
}

// clusterChangeFunc is server.Config.ClusterChange: on with --cluster and
// an admin token (--admin-token, or --admin's own), whose bearer alone
// may move replicas; nil, so 404, otherwise.
func clusterChangeFunc(cfg serveConfig, g *gate, adminToken string) func(context.Context, string, string, func(any)) error {
	if cfg.Cluster == "" || adminToken == "" {
		return nil
	}
	return g.clusterChange
}

// readier is an engine that can tell whether it is usable now
// (storage/jetstream in a cluster).
type readier interface {
	Ready(ctx context.Context) error
}

// gateState is what gate serves once the storage is open.
type gateState struct {
	handler server.Handler
	stats   func() map[string]map[string]bgtask.Stats
}

// recoveringMessage is the message of the ServiceUnavailable answered
// while the storage recovers.
const recoveringMessage = "Tributary is recovering its storage and not serving yet; retry shortly."

func (g *gate) open(h server.Handler, stats func() map[string]map[string]bgtask.Stats) {
	g.state.Store(&gateState{handler: h, stats: stats})
}

func (g *gate) drain() { g.draining.Store(true) }

func (g *gate) Handle(ctx context.Context, req *kinesis.Request) *kinesis.Response {
	st := g.state.Load()
	if st == nil {
		return kinesis.ErrorResponse(req.ContentType, kinesis.NewError(kinesis.ErrServiceUnavailable, recoveringMessage))
	}
	return st.handler.Handle(ctx, req)
}

// ready is server.Config.Ready.
func (g *gate) ready(ctx context.Context) error {
	switch {
	case g.draining.Load():
		return errors.New("shutting down")
	case g.state.Load() == nil:
		return errors.New("recovering storage")
	}
	if r := g.engineReady.Load(); r != nil {
		if err := (*r).Ready(ctx); err != nil {
			return fmt.Errorf("storage: %w", err)
		}
	}
	return nil
}

// backgroundStats is server.Config.BackgroundStats: none before the
// storage is open.
func (g *gate) backgroundStats() map[string]map[string]bgtask.Stats {
	if st := g.state.Load(); st != nil {
		return st.stats()
	}
	return map[string]map[string]bgtask.Stats{}
}

// backgroundStats returns the counts of the background tasks of the
// service and, for an engine that has background tasks of its own (only
// storage/local's checkpoints and cleaning), of the engine.
func backgroundStats(engine storage.Engine, svc *stream.Service) func() map[string]map[string]bgtask.Stats {
	eng, _ := engine.(interface {
		BackgroundStats() map[string]bgtask.Stats
	})
	return func() map[string]map[string]bgtask.Stats {
		out := map[string]map[string]bgtask.Stats{"service": svc.BackgroundStats()}
		if eng != nil {
			out["engine"] = eng.BackgroundStats()
		}
		return out
	}
}

// openEngine opens the storage engine cfg.Storage names.
//
// keys, when not nil, wraps the data keys of encrypted logs; the local and
// jetstream engines encrypt (memory is not at rest, discard keeps nothing).
func openEngine(ctx context.Context, cfg serveConfig, keys *keyring.File, logger *slog.Logger, reg prometheus.Registerer) (storage.Engine, error) {
	if err := checkDataDirEngine(cfg.DataDir, cfg.Storage); err != nil {
		return nil, err
	}
	switch cfg.Storage {
	case storageMemory:
		return mem.New(mem.Options{}), nil
	case storageDiscard:
		// Said at warn level so that it shows even with --log-level warn,
		// which benchmarks use: a server that loses every record must not
		// be mistaken for one that keeps them.
		logger.Warn("storage is discard: records are thrown away and reads return none; use it only for benchmarks")
		return discard.New(nil), nil
	case storageJetStream:
		// It fsyncs every write whatever --sync says.
		if cfg.Sync == syncInterval {
			logger.Warn("--sync interval applies to --storage local only; jetstream fsyncs every write")
		}
		opts := jsengine.Options{Dir: cfg.DataDir, Logger: logger, Metrics: reg, Placements: cfg.Placements, GroupWait: engineWait(cfg.JetStreamGroupWait), Keys: engineKeys(keys)}
		if cfg.Cluster != "" {
			opts.ServerName = cfg.Node
			opts.Cluster = &jsengine.Cluster{Name: cfg.Cluster, Listen: cfg.ClusterListen, Peers: peerList(cfg.Peers), Replicas: cfg.Replicas, ElectionTimeout: cfg.ElectionTimeout}
			// Open waits for a majority of the nodes: the reason not to
			// be ready yet, said once.
			logger.Info("joining the cluster; ready once a majority of its nodes are up", slog.String("cluster", cfg.Cluster),
				slog.String("node", cfg.Node), slog.String("cluster_listen", cfg.ClusterListen), slog.String("peers", cfg.Peers))
		}
		engine, err := jsengine.Open(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("open storage in %s: %w", cfg.DataDir, err)
		}
		return engine, nil
	}
	var every time.Duration // zero: fsync before acknowledging
	if cfg.Sync == syncInterval {
		every = cfg.SyncInterval
	}
	engine, err := local.Open(cfg.DataDir, local.Options{
		SyncInterval:       every,
		GroupWait:          engineWait(cfg.GroupCommitWait),
		CheckpointInterval: cfg.CheckpointInterval,
		CleanInterval:      cfg.CleanInterval,
		SegmentBytes:       cfg.SegmentBytes,
		Logger:             logger,
		Metrics:            reg,
		Keys:               engineKeys(keys),
	})
	if err != nil {
		return nil, fmt.Errorf("open storage in %s: %w", cfg.DataDir, err)
	}
	return engine, nil
}

// engineWait maps a group wait flag, where 0 means never wait, to the
// engines' options, where 0 means their default and a negative never.
func engineWait(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// checkDataDirEngine refuses to open a data directory that holds another
// engine's data: the engine asked for would start empty beside it, and
// the streams would seem lost.
func checkDataDirEngine(dir, want string) error {
	// For each engine that keeps data in --data-dir, a file or directory
	// only it creates there.
	marks := []struct{ storage, mark string }{
		{storageLocal, "meta.log"},
		{storageJetStream, "jetstream"},
	}
	for _, m := range marks {
		if m.storage == want {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, m.mark)); err == nil {
			return fmt.Errorf("open storage in %s: it holds the data of --storage %s, not %s", dir, m.storage, want)
		}
	}
	return nil
}

// streamDelay maps a --*-delay flag to stream.Options: the flag's zero
// means no delay, while stream takes zero to mean its 500ms default.
func streamDelay(d time.Duration) time.Duration {
	if d == 0 {
		return stream.NoDelay
	}
	return d
}

// reloadCredentialsOnSIGHUP reads the credentials file again on every
// SIGHUP and gives the keys to srv, which verifies the requests that
// arrive from then on against them; connections and requests in flight
// are not disturbed. A file that does not load leaves the keys in force,
// and the error is logged. It returns a function that stops listening
// for SIGHUP.
func reloadCredentialsOnSIGHUP(srv *server.Server, path string, logger *slog.Logger) func() {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-hup:
			}
			creds, err := server.LoadCredentials(path)
			if err != nil {
				logger.Error("credentials not reloaded; the keys loaded before stay in force", slog.Any("error", err))
				continue
			}
			srv.SetCredentials(creds)
			logger.Info("credentials reloaded", slog.String("file", path), slog.Int("credentials", creds.Len()))
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
	}
}

// adminToken is the admin API's token: --admin-token, or with --admin
// and none given, a random one, logged once so that the operator who
// started the server can use it. Generating one rather than refusing to
// start keeps "serve --admin" a one-word way to get fault injection in a
// test setup, while the API is never open without a token; whoever can
// read the server's log can use it, so production setups pass
// --admin-token (or, better, no --admin at all).
func adminToken(cfg serveConfig, logger *slog.Logger) (string, error) {
	if !cfg.Admin || cfg.AdminToken != "" {
		return cfg.AdminToken, nil
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("making an admin token: %w", err)
	}
	token := hex.EncodeToString(b)
	logger.Info("admin API token generated: pass it to tributary faults with --admin-token or TRIBUTARY_ADMIN_TOKEN, or set your own with serve --admin-token",
		slog.String("admin_token", token))
	return token, nil
}
