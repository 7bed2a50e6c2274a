package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tributary-io/tributary/api"
	"github.com/tributary-io/tributary/internal/bgtask"
	"github.com/tributary-io/tributary/server"
	"github.com/tributary-io/tributary/storage"
	"github.com/tributary-io/tributary/storage/discard"
	"github.com/tributary-io/tributary/storage/local"
	"github.com/tributary-io/tributary/storage/mem"
	"github.com/tributary-io/tributary/stream"
)

// run serves Kinesis as cfg says until ctx is done, then shuts down
// gracefully: new connections are refused and in-flight requests finish
// (for at most server.DefaultShutdownTimeout).
func run(ctx context.Context, cfg serveConfig, logger *slog.Logger) error {
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
	// Every part with metrics registers them here; GET /metrics serves it.
	reg := newRegistry()
	engine, err := openEngine(cfg, logger, reg)
	if err != nil {
		return err
	}
	svc, err := stream.New(ctx, engine, stream.Options{
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
	})
	if err != nil {
		engine.Close()
		return fmt.Errorf("start streams: %w", err)
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

	srv := server.New(server.Config{
		Handler: api.New(svc, api.Options{Logger: logger, Faults: inj}),
		Account: cfg.Account,
		Logger:  logger,
		Admin:   adminInjector(cfg, inj),
		TLS:     tlsConfig,
		// For the admin API's stats route, which only exists with --admin.
		BackgroundStats: bgStats,
		Metrics:         reg,
		Gatherer:        reg,

		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		BodyBudget:        cfg.BodyBudget,
	})
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		closeWiring()
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	addr := ln.Addr().String()
	var metricsLn net.Listener
	if cfg.MetricsListen != "" {
		if metricsLn, err = lc.Listen(ctx, "tcp", cfg.MetricsListen); err != nil {
			ln.Close()
			closeWiring()
			return fmt.Errorf("listen for metrics on %s: %w", cfg.MetricsListen, err)
		}
	}
	attrs := []any{slog.String("addr", addr), slog.String("storage", cfg.Storage)}
	if cfg.Storage == storageLocal {
		attrs = append(attrs, slog.String("data_dir", cfg.DataDir), slog.String("sync", cfg.Sync))
	}
	attrs = append(attrs, slog.String("account", cfg.Account), slog.String("limits", cfg.Limits), slog.Bool("tls", tlsConfig != nil))
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

	// The metrics port outlives the main one's graceful shutdown, so that
	// a scrape can watch it, and stops before the storage closes.
	metricsCtx, stopMetrics := context.WithCancel(context.WithoutCancel(ctx))
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
	serveErr := srv.Serve(ctx, ln)
	stopMetrics()
	<-metricsDone
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
func openEngine(cfg serveConfig, logger *slog.Logger, reg prometheus.Registerer) (storage.Engine, error) {
	switch cfg.Storage {
	case storageMemory:
		return mem.New(mem.Options{}), nil
	case storageDiscard:
		// Said at warn level so that it shows even with --log-level warn,
		// which benchmarks use: a server that loses every record must not
		// be mistaken for one that keeps them.
		logger.Warn("storage is discard: records are thrown away and reads return none; use it only for benchmarks")
		return discard.New(nil), nil
	}
	var every time.Duration // zero: fsync before acknowledging
	if cfg.Sync == syncInterval {
		every = cfg.SyncInterval
	}
	engine, err := local.Open(cfg.DataDir, local.Options{
		SyncInterval:       every,
		CheckpointInterval: cfg.CheckpointInterval,
		CleanInterval:      cfg.CleanInterval,
		SegmentBytes:       cfg.SegmentBytes,
		Logger:             logger,
		Metrics:            reg,
	})
	if err != nil {
		return nil, fmt.Errorf("open storage in %s: %w", cfg.DataDir, err)
	}
	return engine, nil
}

// streamDelay maps a --*-delay flag to stream.Options: the flag's zero
// means no delay, while stream takes zero to mean its 500ms default.
func streamDelay(d time.Duration) time.Duration {
	if d == 0 {
		return stream.NoDelay
	}
	return d
}
