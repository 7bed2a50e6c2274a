package local

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// engineMetrics are the engine's Prometheus metrics (docs/metrics.md).
// They exist whether or not Options.Metrics asks for them, so the write
// path has no branch for them; they cost an observation per group
// committed, next to a write and an fsync.
//
// The engine knows logs by name, not streams: what a log's bytes mean
// (a shard of a stream in an account) is for the layer above to say, and
// LogBytes gives it the figures to say it with.
type engineMetrics struct {
	groupRecords prometheus.Histogram
	groupBytes   prometheus.Histogram
	fsyncs       *prometheus.CounterVec
	fsyncTime    *prometheus.HistogramVec

	// Resolved once: the files the engine fsyncs.
	journalSyncs, segmentSyncs prometheus.Counter
	journalTime, segmentTime   prometheus.Observer

	reg        prometheus.Registerer // nil: not registered
	registered []prometheus.Collector
}

// Values of the file label of the fsync metrics.
const (
	syncJournal = "journal" // the committer's fsync of each group, or the interval's
	syncSegment = "segment" // a checkpoint's fsync of a segment written since the last
)

func newEngineMetrics() *engineMetrics {
	m := &engineMetrics{
		groupRecords: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tributary_storage_group_commit_records",
			Help: "Records per group commit: the appends the journal wrote (and, with --sync always, fsynced) at once.",
			// 1 to 32768: one small put alone up to many concurrent
			// PutRecords of 500.
			Buckets: prometheus.ExponentialBuckets(1, 2, 16),
		}),
		groupBytes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tributary_storage_group_commit_bytes",
			Help: "Bytes per group commit, journal headers included.",
			// 256 B to 256 MiB.
			Buckets: prometheus.ExponentialBuckets(256, 4, 11),
		}),
		fsyncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tributary_storage_fsyncs_total",
			Help: "fsyncs of the storage's files, by file: journal (each group commit with --sync always, each interval with --sync interval, each checkpoint's roll) or segment (at checkpoints). Failed ones included.",
		}, []string{"file"}),
		fsyncTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tributary_storage_fsync_duration_seconds",
			Help: "Time an fsync of the storage's files took, by file (see tributary_storage_fsyncs_total).",
			// 50µs (a battery-backed cache) to 1.6 s (a disk in trouble).
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 16),
		}, []string{"file"}),
	}
	m.journalSyncs, m.journalTime = m.fsyncs.WithLabelValues(syncJournal), m.fsyncTime.WithLabelValues(syncJournal)
	m.segmentSyncs, m.segmentTime = m.fsyncs.WithLabelValues(syncSegment), m.fsyncTime.WithLabelValues(syncSegment)
	return m
}

// syncJournalFile fsyncs f, counting it as a journal fsync.
func (m *engineMetrics) syncJournalFile(f *os.File) error {
	start := time.Now()
	err := f.Sync()
	m.journalTime.Observe(time.Since(start).Seconds())
	m.journalSyncs.Inc()
	return err
}

// syncSegmentFile fsyncs f, counting it as a segment fsync.
func (m *engineMetrics) syncSegmentFile(f *os.File) error {
	start := time.Now()
	err := f.Sync()
	m.segmentTime.Observe(time.Since(start).Seconds())
	m.segmentSyncs.Inc()
	return err
}

// committed counts a group the journal wrote.
func (m *engineMetrics) committed(group []*journalEntry, bytes int) {
	var records uint64
	for _, e := range group {
		// An entry holds the records after the log's tail at its append.
		records += e.lastPos - e.undo.tail
	}
	m.groupRecords.Observe(float64(records))
	m.groupBytes.Observe(float64(bytes))
}

// register registers the metrics, and gauges read from e at scrape time,
// with reg; nothing when reg is nil.
func (m *engineMetrics) register(reg prometheus.Registerer, e *Engine) error {
	if reg == nil {
		return nil
	}
	cs := []prometheus.Collector{m.groupRecords, m.groupBytes, m.fsyncs, m.fsyncTime,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tributary_storage_bytes",
			Help: "Bytes of all logs' segment files: the records kept, with their frames. Not the journal (tributary_storage_journal_bytes), nor the small index files.",
		}, func() float64 { return float64(sum(e.LogBytes())) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tributary_storage_journal_bytes",
			Help: "Bytes of the journal files, which a checkpoint removes once the segments hold what they cover.",
		}, func() float64 { return float64(e.journalBytes()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tributary_storage_segments",
			Help: "Segment files of all logs.",
		}, func() float64 { return float64(e.segmentCount()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tributary_storage_logs",
			Help: "Logs (one per shard of a stream, closed shards included until their stream is deleted).",
		}, func() float64 { return float64(len(e.allLogs())) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tributary_storage_open_files",
			Help: "Segment files the engine holds open (at most its cache's size, 512, but for files in use); process_open_fds counts every descriptor of the process.",
		}, func() float64 { return float64(e.OpenFiles()) }),
	}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return fmt.Errorf("registering the storage metrics: %w", err)
		}
	}
	m.reg, m.registered = reg, cs
	return nil
}

// unregister takes the metrics back out of the registry, so that an
// engine opened after this one can register its own.
func (m *engineMetrics) unregister() {
	for _, c := range m.registered {
		m.reg.Unregister(c)
	}
	m.registered = nil
}

func sum(bytes map[string]int64) int64 {
	var n int64
	for _, b := range bytes {
		n += b
	}
	return n
}

// LogBytes returns the bytes of each log's segment files, by log name:
// what its records take on disk with their frames, the index files and
// the journal left out. It is read at scrape time by whoever knows what
// the logs are (cmd/tributary, through package stream, reports them per
// stream).
func (e *Engine) LogBytes() map[string]int64 {
	logs := e.allLogs()
	out := make(map[string]int64, len(logs))
	for _, l := range logs {
		l.mu.RLock()
		var n int64
		for _, s := range l.segs {
			n += s.ix.size
		}
		name, deleted := l.name, l.deleted
		l.mu.RUnlock()
		if !deleted {
			out[name] = n
		}
	}
	return out
}

func (e *Engine) segmentCount() int {
	n := 0
	for _, l := range e.allLogs() {
		l.mu.RLock()
		n += len(l.segs)
		l.mu.RUnlock()
	}
	return n
}

// journalBytes sums the sizes of the journal files on disk: the one being
// written and those a checkpoint has yet to remove.
func (e *Engine) journalBytes() int64 {
	dir := filepath.Join(e.dir, "wal")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var n int64
	for _, ent := range ents {
		if info, err := ent.Info(); err == nil && filepath.Ext(ent.Name()) == ".wal" {
			n += info.Size()
		}
	}
	return n
}
