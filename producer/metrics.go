package producer

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the producer's Prometheus collectors, named as AWS's KPL
// names its CloudWatch metrics (prefixed kpl_), so that dashboards and
// alarms written for the KPL carry over. One Metrics may serve several
// producers: every series has a stream label, and the per-shard ones a
// shard label (the shard an answer named).
type Metrics struct {
	userRecordsReceived   *prometheus.CounterVec
	userRecordsPending    *prometheus.GaugeVec
	userRecordsPut        *prometheus.CounterVec
	kinesisRecordsPut     *prometheus.CounterVec
	kinesisRecordsDataPut *prometheus.CounterVec
	errorsByCode          *prometheus.CounterVec
	allErrors             *prometheus.CounterVec
	retriesPerRecord      *prometheus.HistogramVec
	bufferingTime         *prometheus.HistogramVec
	requestTime           *prometheus.HistogramVec
	// Not the KPL's: records stored in an aggregate that landed in a shard
	// not holding them all (a reshard the map had not seen) and sent again.
	misplacedRecords *prometheus.CounterVec
}

// NewMetrics makes the collectors and registers them with reg (none when
// reg is nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	// Seconds, Prometheus's base unit (the KPL reports milliseconds).
	secs := []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	m := &Metrics{
		userRecordsReceived: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kpl_user_records_received_total",
			Help: "UserRecordsReceived: records taken by Put and TryPut."}, []string{"stream"}),
		userRecordsPending: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kpl_user_records_pending",
			Help: "UserRecordsPending: records taken and not yet stored or failed."}, []string{"stream"}),
		userRecordsPut: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kpl_user_records_put_total",
			Help: "UserRecordsPut: records stored."}, []string{"stream", "shard"}),
		kinesisRecordsPut: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kpl_kinesis_records_put_total",
			Help: "KinesisRecordsPut: Kinesis records stored, an aggregate counting once."}, []string{"stream", "shard"}),
		kinesisRecordsDataPut: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kpl_kinesis_records_data_put_bytes_total",
			Help: "KinesisRecordsDataPut: bytes of the Kinesis records stored (data and partition key)."}, []string{"stream", "shard"}),
		errorsByCode: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kpl_errors_by_code_total",
			Help: "ErrorsByCode: refused entries and failed requests, by error code."}, []string{"stream", "code"}),
		allErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kpl_all_errors_total",
			Help: "AllErrors: refused entries and failed requests."}, []string{"stream"}),
		retriesPerRecord: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kpl_retries_per_record",
			Help: "RetriesPerRecord: attempts beyond the first, per record stored or failed.", Buckets: []float64{0, 1, 2, 3, 5, 10, 20, 50}}, []string{"stream"}),
		bufferingTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kpl_buffering_time_seconds",
			Help: "BufferingTime: from Put to the record's first request.", Buckets: secs}, []string{"stream"}),
		requestTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kpl_request_time_seconds",
			Help: "RequestTime: duration of PutRecords calls.", Buckets: secs}, []string{"stream"}),
		misplacedRecords: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "producer_resent_after_reshard_records_total",
			Help: "Records sent again because their aggregate landed in a shard not holding them all (KCL would drop it), after a reshard the shard map had not seen."}, []string{"stream"}),
	}
	if reg != nil {
		for _, c := range m.collectors() {
			reg.MustRegister(c)
		}
	}
	return m
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.userRecordsReceived, m.userRecordsPending, m.userRecordsPut, m.kinesisRecordsPut,
		m.kinesisRecordsDataPut, m.errorsByCode, m.allErrors, m.retriesPerRecord, m.bufferingTime, m.requestTime, m.misplacedRecords}
}

// streamMetrics are a producer's series of the per-record metrics,
// looked up once rather than by label for every record.
type streamMetrics struct {
	received       prometheus.Counter
	pending        prometheus.Gauge
	retries, wait  prometheus.Observer
	putByShard     map[string]prometheus.Counter
	userRecordsPut *prometheus.CounterVec
	stream         string
}

func (m *Metrics) forStream(stream string) *streamMetrics {
	return &streamMetrics{
		received:       m.userRecordsReceived.WithLabelValues(stream),
		pending:        m.userRecordsPending.WithLabelValues(stream),
		retries:        m.retriesPerRecord.WithLabelValues(stream),
		wait:           m.bufferingTime.WithLabelValues(stream),
		putByShard:     make(map[string]prometheus.Counter),
		userRecordsPut: m.userRecordsPut,
		stream:         stream,
	}
}

// recordsPut is UserRecordsPut's series for shard.
func (s *streamMetrics) recordsPut(shard string) prometheus.Counter {
	c, ok := s.putByShard[shard]
	if !ok {
		c = s.userRecordsPut.WithLabelValues(s.stream, shard)
		s.putByShard[shard] = c
	}
	return c
}
