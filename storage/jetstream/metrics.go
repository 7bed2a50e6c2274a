package jetstream

import "github.com/prometheus/client_golang/prometheus"

// engineMetrics are the engine's Prometheus metrics (docs/metrics.md).
// The records a message carries is what group commit (groupcommit.go)
// buys: JetStream's cost is mostly per message and per Raft round, not
// per byte, so the histogram is the first thing to read when ingest is
// slower than expected. They exist whether or not Options.Metrics asks
// for them, so the write path has no branch for them.
type engineMetrics struct {
	groupRecords prometheus.Histogram
	groupAppends prometheus.Histogram
	// lingers counts the lingers by how they ended (groupcommit.go).
	lingers   map[lingerEnd]prometheus.Counter
	lingerVec *prometheus.CounterVec
}

func newEngineMetrics() *engineMetrics {
	lingers := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tributary_storage_group_commit_lingers_total",
		Help: "Waits of a shard's next JetStream message for the writers of its last (--storage jetstream only), by how they ended: filled (the writers came), timed_out, stalled (every waiting shard waited for writers blocked on another), gave_up (the request ended).",
	}, []string{"end"})
	return &engineMetrics{
		lingerVec: lingers,
		lingers: map[lingerEnd]prometheus.Counter{
			lingerFilled:   lingers.WithLabelValues("filled"),
			lingerTimedOut: lingers.WithLabelValues("timed_out"),
			lingerStalled:  lingers.WithLabelValues("stalled"),
			lingerGaveUp:   lingers.WithLabelValues("gave_up"),
		},
		// The same name as storage/local's: records written at once,
		// there by one journal write and fsync, here by one replicated
		// message.
		groupRecords: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tributary_storage_group_commit_records",
			Help:    "Records per group commit: with --storage jetstream, the records of the appends one JetStream message carried.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 16),
		}),
		groupAppends: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tributary_storage_group_commit_appends",
			Help: "Appends per group commit (--storage jetstream only): how many concurrent appends to one shard one JetStream message carried.",
			// 1 to 512.
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		}),
	}
}

func (m *engineMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.groupRecords, m.groupAppends, m.lingerVec}
}
