package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tributary-io/tributary/internal/bgtask"
	"github.com/tributary-io/tributary/server"
	"github.com/tributary-io/tributary/stream"
)

// The metrics of "tributary serve" (docs/metrics.md) live in one registry
// made by run, which hands its Registerer to every part that has metrics
// of its own (the engine, the HTTP front) and registers here the ones
// that are about how the parts fit together: the background tasks of
// the engine and of the service, and the bytes of each stream, which
// only the engine (bytes per log) and the service (which stream a log
// belongs to) know together. Both are read from the parts at scrape time
// rather than counted a second time.

// newRegistry returns the registry of a server, holding the process's
// and the Go runtime's metrics already (open files, memory, goroutines).
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
	)
	return reg
}

// backgroundCollector reports the runs of the background tasks, from the
// counts package bgtask keeps (the same the admin API's stats route
// reports), by component ("engine", "service") and task.
type backgroundCollector struct {
	stats                        func() map[string]map[string]bgtask.Stats
	runs, failures, panics, last *prometheus.Desc
}

func newBackgroundCollector(stats func() map[string]map[string]bgtask.Stats) *backgroundCollector {
	labels := []string{"component", "task"}
	return &backgroundCollector{
		stats: stats,
		runs: prometheus.NewDesc("tributary_background_task_runs_total",
			"Runs of a background task (checkpoints, cleaning, the journal's group commits, reaping, resharding, scaling).", labels, nil),
		failures: prometheus.NewDesc("tributary_background_task_failures_total",
			"Runs of a background task that failed, panics included; a failed task is retried at its next run.", labels, nil),
		panics: prometheus.NewDesc("tributary_background_task_panics_total",
			"Runs of a background task that panicked: a bug, contained, logged with its stack at error level.", labels, nil),
		last: prometheus.NewDesc("tributary_background_task_last_duration_seconds",
			"How long the last run of a background task took.", labels, nil),
	}
}

func (c *backgroundCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.runs
	ch <- c.failures
	ch <- c.panics
	ch <- c.last
}

func (c *backgroundCollector) Collect(ch chan<- prometheus.Metric) {
	for component, tasks := range c.stats() {
		for task, s := range tasks {
			ch <- prometheus.MustNewConstMetric(c.runs, prometheus.CounterValue, float64(s.Runs), component, task)
			ch <- prometheus.MustNewConstMetric(c.failures, prometheus.CounterValue, float64(s.Failures), component, task)
			ch <- prometheus.MustNewConstMetric(c.panics, prometheus.CounterValue, float64(s.Panics), component, task)
			ch <- prometheus.MustNewConstMetric(c.last, prometheus.GaugeValue, s.LastSeconds, component, task)
		}
	}
}

// logByter is an engine that reports the bytes of each of its logs
// (storage/local exactly, storage/jetstream as an estimate). The other
// engines keep nothing on disk.
type logByter interface {
	LogBytes() map[string]int64
}

// streamStorageCollector reports the bytes each stream takes on disk:
// the engine's bytes per log, which the service maps to streams, both
// asked at scrape time. The engine knows nothing of streams and the
// service nothing of files, so neither could report this alone, and
// asking both when Prometheus asks keeps a single account of the bytes
// (the files') instead of a running total that could drift from them.
type streamStorageCollector struct {
	engine logByter
	svc    *stream.Service
	log    *slog.Logger
	bytes  *prometheus.Desc
}

// storageScrapeTimeout bounds the reading of the catalogue at a scrape.
const storageScrapeTimeout = 5 * time.Second

func newStreamStorageCollector(engine logByter, svc *stream.Service, log *slog.Logger) *streamStorageCollector {
	return &streamStorageCollector{
		engine: engine, svc: svc, log: log,
		bytes: prometheus.NewDesc("tributary_stream_storage_bytes",
			"Bytes of a stream's shard logs on disk (segment files, closed shards included), by account, region and stream; the journal and the indexes are not counted.",
			[]string{"account", "region", "stream"}, nil),
	}
}

func (c *streamStorageCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.bytes }

func (c *streamStorageCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), storageScrapeTimeout)
	defer cancel()
	streams, err := c.svc.StorageBytes(ctx, c.engine.LogBytes())
	if err != nil {
		// The scrape goes on without these series rather than fail whole.
		c.log.Warn("metrics: reading the streams' storage bytes", slog.Any("error", err))
		ch <- prometheus.NewInvalidMetric(c.bytes, err)
		return
	}
	for _, s := range streams {
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(s.Bytes), s.Scope.Account, s.Scope.Region, s.Stream)
	}
}

// serveMetricsOn serves GET /metrics from g on ln, in plain HTTP, until
// ctx is done; every other path is 404. It returns once the server has
// stopped, or if serving fails.
func serveMetricsOn(ctx context.Context, ln net.Listener, g prometheus.Gatherer, cfg serveConfig, logger *slog.Logger) error {
	mux := http.NewServeMux()
	mux.Handle(server.MetricsPath, server.MetricsHandler(g, logger))
	hs := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	stopped := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(stopped)
		// A scrape takes milliseconds; one still running when the
		// server stops is not worth waiting long for.
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := hs.Shutdown(sctx); err != nil {
			hs.Close()
		}
	})
	err := hs.Serve(ln)
	if !errors.Is(err, http.ErrServerClosed) {
		if stop() {
			hs.Close()
		} else {
			<-stopped
		}
		return fmt.Errorf("serving metrics on %s: %w", ln.Addr(), err)
	}
	<-stopped // Serve returns as soon as Shutdown begins
	return nil
}
