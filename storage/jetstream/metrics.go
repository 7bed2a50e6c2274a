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
}

func newEngineMetrics() *engineMetrics {
	return &engineMetrics{
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
	return []prometheus.Collector{m.groupRecords, m.groupAppends}
}
