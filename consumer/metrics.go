package consumer

import "github.com/prometheus/client_golang/prometheus"

// Metrics are a Worker's Prometheus collectors, named as AWS's KCL names
// its CloudWatch metrics (prefixed kcl_, in Prometheus's units), so that
// dashboards and alarms written for the KCL carry over. One Metrics may
// serve several workers: every series has a worker label, and the
// per-shard ones a shard label.
type Metrics struct {
	millisBehindLatest *prometheus.GaugeVec
	recordsProcessed   *prometheus.CounterVec
	bytesProcessed     *prometheus.CounterVec
	processTime        *prometheus.HistogramVec
	currentLeases      *prometheus.GaugeVec
	takenLeases        *prometheus.CounterVec
	lostLeases         *prometheus.CounterVec
	handedOver         *prometheus.CounterVec
	expiredIterators   *prometheus.CounterVec
	copiesDropped      *prometheus.CounterVec
}

// NewMetrics makes the collectors and registers them with reg (none when
// reg is nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		millisBehindLatest: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kcl_millis_behind_latest",
			Help: "MillisBehindLatest: how far the last batch read was behind the shard's newest record, in milliseconds."}, []string{"worker", "shard"}),
		recordsProcessed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kcl_records_processed_total",
			Help: "RecordsProcessed: user records the processor took."}, []string{"worker", "shard"}),
		bytesProcessed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kcl_data_bytes_processed_total",
			Help: "DataBytesProcessed: bytes of the user records the processor took."}, []string{"worker", "shard"}),
		processTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kcl_process_task_time_seconds",
			Help:    "ProcessTask.Time: duration of ProcessRecords calls.",
			Buckets: []float64{.0005, .001, .005, .01, .05, .1, .5, 1, 5, 30}}, []string{"worker", "shard"}),
		currentLeases: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kcl_current_leases",
			Help: "CurrentLeases: leases the worker holds."}, []string{"worker"}),
		takenLeases: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kcl_taken_leases_total",
			Help: "TakenLeases: leases the worker took (unowned, expired, or by handoff)."}, []string{"worker"}),
		lostLeases: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kcl_lost_leases_total",
			Help: "LostLeases: leases another worker took without a handoff."}, []string{"worker"}),
		handedOver: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kcl_handed_over_leases_total",
			Help: "Leases the worker handed over gracefully to another (KCL 3.x's graceful handoff)."}, []string{"worker"}),
		expiredIterators: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kcl_expired_iterator_total",
			Help: "ExpiredIterator: shard iterators that expired and were renewed."}, []string{"worker", "shard"}),
		copiesDropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "consumer_copies_dropped_total",
			Help: "Not the KCL's: records dropped as copies of records already delivered, by the IDs of Tributary's producer."}, []string{"worker", "shard"}),
	}
	if reg != nil {
		for _, c := range m.collectors() {
			reg.MustRegister(c)
		}
	}
	return m
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.millisBehindLatest, m.recordsProcessed, m.bytesProcessed, m.processTime,
		m.currentLeases, m.takenLeases, m.lostLeases, m.handedOver, m.expiredIterators, m.copiesDropped}
}

// CurrentLeases is the gauge of the leases worker holds.
func (m *Metrics) CurrentLeases(worker string) prometheus.Gauge {
	return m.currentLeases.WithLabelValues(worker)
}
