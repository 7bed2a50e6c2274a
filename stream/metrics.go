package stream

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Kinesis metrics under CloudWatch's names (docs/metrics.md has the table).
//
// Naming: kinesis_ and CloudWatch's name in snake_case ('.' as '_'), in
// CloudWatch's unit, with Prometheus's suffixes: counts and bytes are
// counters ending _total, latencies histograms in milliseconds, ages
// gauges in milliseconds. Labels: account, region and stream; the
// SubscribeToShard metrics add consumer (CloudWatch's ConsumerName), the
// shard-level ones (kinesis_shard_*) shard.
//
// Cost: the put and read paths run at hundreds of thousands of records a
// second, so nothing here is done per record. A stream's series are
// resolved once (WithLabelValues) into a streamMetrics kept by stream id,
// each shard's into a shardMetrics kept by shard index on it, and a request
// looks its stream up once and adds its counts once. With Options.Metrics
// nil, Service.metrics is nil and every hook is a nil check.
//
// Lifetime: a stream's series appear when the stream is created or first
// used after a start, and are deleted when DeleteStream is called; a
// consumer's when DeregisterStreamConsumer is; a shard-level metric's when
// DisableEnhancedMonitoring turns it off. A request that was under way
// when its stream was deleted may bring the stream's series back until
// the reaper forgets the stream (deleteLogs).
//
// Series are keyed by account, region and stream name, as a stream is
// (CloudWatch's metrics are regional): two streams of one name in two
// regions of one account are two sets of series.

// latencyBuckets are the latency histograms' bounds, in milliseconds.
var latencyBuckets = []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000}

var (
	streamLabels   = []string{"account", "region", "stream"}
	shardLabels    = []string{"account", "region", "stream", "shard"}
	consumerLabels = []string{"account", "region", "stream", "consumer"}
	lagLabels      = []string{"account", "region", "stream", "consumer", "shard"}
)

// metrics holds the collectors and the per-stream handles.
type metrics struct {
	incomingBytes, incomingRecords                                   *prometheus.CounterVec
	putRecordBytes, putRecordSuccess                                 *prometheus.CounterVec
	putRecordsBytes, putRecordsRecords, putRecordsSuccess            *prometheus.CounterVec
	putRecordsSuccessful, putRecordsFailed, putRecordsThrottled      *prometheus.CounterVec
	putRecordsTotal                                                  *prometheus.CounterVec
	getRecordsBytes, getRecordsRecords, getRecordsSuccess            *prometheus.CounterVec
	readExceeded, writeExceeded                                      *prometheus.CounterVec
	putRecordLatency, putRecordsLatency, getRecordsLatency           *prometheus.HistogramVec
	subscribeRateExceeded, subscribeSuccess                          *prometheus.CounterVec
	eventBytes, eventRecords, eventSuccess                           *prometheus.CounterVec
	shardIncomingBytes, shardIncomingRecords                         *prometheus.CounterVec
	shardOutgoingBytes, shardOutgoingRecords                         *prometheus.CounterVec
	shardReadExceeded, shardWriteExceeded                            *prometheus.CounterVec
	shardIteratorAge                                                 *prometheus.GaugeVec
	iteratorAgeDesc, millisBehindDesc, lagRecordsDesc, lagMillisDesc *prometheus.Desc

	subs  *subscriptions
	clock func() time.Time

	mu      sync.RWMutex
	streams map[string]*streamMetrics // by stream id
}

func counterVec(name, help string, labels []string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

func latencyVec(name, help string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: latencyBuckets}, streamLabels)
}

// newMetrics makes the collectors and registers them with reg; nil when
// reg is nil.
func newMetrics(reg prometheus.Registerer, subs *subscriptions, clock func() time.Time) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		incomingBytes:        counterVec("kinesis_incoming_bytes_total", "IncomingBytes: bytes (data and partition key) of the records PutRecord and PutRecords stored.", streamLabels),
		incomingRecords:      counterVec("kinesis_incoming_records_total", "IncomingRecords: records PutRecord and PutRecords stored.", streamLabels),
		putRecordBytes:       counterVec("kinesis_put_record_bytes_total", "PutRecord.Bytes: bytes of the records PutRecord stored.", streamLabels),
		putRecordSuccess:     counterVec("kinesis_put_record_success_total", "PutRecord.Success: PutRecord calls that succeeded.", streamLabels),
		putRecordsBytes:      counterVec("kinesis_put_records_bytes_total", "PutRecords.Bytes: bytes of the records PutRecords stored.", streamLabels),
		putRecordsRecords:    counterVec("kinesis_put_records_records_total", "PutRecords.Records (deprecated by CloudWatch): records PutRecords stored.", streamLabels),
		putRecordsSuccess:    counterVec("kinesis_put_records_success_total", "PutRecords.Success: PutRecords calls with at least one record stored.", streamLabels),
		putRecordsSuccessful: counterVec("kinesis_put_records_successful_records_total", "PutRecords.SuccessfulRecords: records PutRecords stored.", streamLabels),
		putRecordsFailed:     counterVec("kinesis_put_records_failed_records_total", "PutRecords.FailedRecords: records PutRecords rejected with InternalFailure.", streamLabels),
		putRecordsThrottled:  counterVec("kinesis_put_records_throttled_records_total", "PutRecords.ThrottledRecords: records PutRecords rejected by throttling.", streamLabels),
		putRecordsTotal:      counterVec("kinesis_put_records_total_records_total", "PutRecords.TotalRecords: records sent in PutRecords calls that reached the shards.", streamLabels),
		getRecordsBytes:      counterVec("kinesis_get_records_bytes_total", "GetRecords.Bytes: bytes (data and partition key) GetRecords returned.", streamLabels),
		getRecordsRecords:    counterVec("kinesis_get_records_records_total", "GetRecords.Records: records GetRecords returned.", streamLabels),
		getRecordsSuccess:    counterVec("kinesis_get_records_success_total", "GetRecords.Success: GetRecords calls that succeeded.", streamLabels),
		readExceeded:         counterVec("kinesis_read_provisioned_throughput_exceeded_total", "ReadProvisionedThroughputExceeded: GetRecords calls throttled.", streamLabels),
		writeExceeded:        counterVec("kinesis_write_provisioned_throughput_exceeded_total", "WriteProvisionedThroughputExceeded: records rejected by throttling (PutRecord and PutRecords).", streamLabels),
		putRecordLatency:     latencyVec("kinesis_put_record_latency_milliseconds", "PutRecord.Latency: time taken per PutRecord call, in milliseconds."),
		putRecordsLatency:    latencyVec("kinesis_put_records_latency_milliseconds", "PutRecords.Latency: time taken per PutRecords call, in milliseconds."),
		getRecordsLatency:    latencyVec("kinesis_get_records_latency_milliseconds", "GetRecords.Latency: time taken per GetRecords call, in milliseconds."),

		subscribeRateExceeded: counterVec("kinesis_subscribe_to_shard_rate_exceeded_total", "SubscribeToShard.RateExceeded: subscriptions refused because one is active for the consumer and shard, or beyond one call a second.", consumerLabels),
		subscribeSuccess:      counterVec("kinesis_subscribe_to_shard_success_total", "SubscribeToShard.Success: subscriptions established.", consumerLabels),
		eventBytes:            counterVec("kinesis_subscribe_to_shard_event_bytes_total", "SubscribeToShardEvent.Bytes: bytes (data and partition key) of the records sent in events.", consumerLabels),
		eventRecords:          counterVec("kinesis_subscribe_to_shard_event_records_total", "SubscribeToShardEvent.Records: records sent in events.", consumerLabels),
		eventSuccess:          counterVec("kinesis_subscribe_to_shard_event_success_total", "SubscribeToShardEvent.Success: events made.", consumerLabels),

		shardIncomingBytes:   counterVec("kinesis_shard_incoming_bytes_total", "Shard-level IncomingBytes (enhanced monitoring): bytes stored in the shard by PutRecord and PutRecords.", shardLabels),
		shardIncomingRecords: counterVec("kinesis_shard_incoming_records_total", "Shard-level IncomingRecords (enhanced monitoring): records stored in the shard.", shardLabels),
		shardOutgoingBytes:   counterVec("kinesis_shard_outgoing_bytes_total", "Shard-level OutgoingBytes (enhanced monitoring): bytes read from the shard by GetRecords and SubscribeToShard events.", shardLabels),
		shardOutgoingRecords: counterVec("kinesis_shard_outgoing_records_total", "Shard-level OutgoingRecords (enhanced monitoring): records read from the shard by GetRecords and SubscribeToShard events.", shardLabels),
		shardReadExceeded:    counterVec("kinesis_shard_read_provisioned_throughput_exceeded_total", "Shard-level ReadProvisionedThroughputExceeded (enhanced monitoring): GetRecords calls throttled on the shard.", shardLabels),
		shardWriteExceeded:   counterVec("kinesis_shard_write_provisioned_throughput_exceeded_total", "Shard-level WriteProvisionedThroughputExceeded (enhanced monitoring): records to the shard rejected by throttling.", shardLabels),
		shardIteratorAge: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kinesis_shard_iterator_age_milliseconds",
			Help: "Shard-level IteratorAgeMilliseconds (enhanced monitoring): age of the last record returned by the shard's latest GetRecords, in milliseconds (0 at the tip)."}, shardLabels),

		iteratorAgeDesc: prometheus.NewDesc("kinesis_get_records_iterator_age_milliseconds",
			"GetRecords.IteratorAgeMilliseconds: the largest, over the stream's shards, of the age of the last record returned by the shard's latest GetRecords, in milliseconds (0 at the tip).", streamLabels, nil),
		millisBehindDesc: prometheus.NewDesc("kinesis_subscribe_to_shard_event_millis_behind_latest",
			"SubscribeToShardEvent.MillisBehindLatest: the largest MillisBehindLatest among the latest events of the consumer's live subscriptions.", consumerLabels, nil),
		lagRecordsDesc: prometheus.NewDesc("tributary_consumer_lag_records",
			"Records appended to the shard that the consumer's live SubscribeToShard session has not delivered yet.", lagLabels, nil),
		lagMillisDesc: prometheus.NewDesc("tributary_consumer_lag_milliseconds",
			"Arrival time of the shard's newest record minus that of the last record the consumer's live session delivered, in milliseconds (0 when caught up).", lagLabels, nil),

		subs:    subs,
		clock:   clock,
		streams: make(map[string]*streamMetrics),
	}
	for _, c := range m.collectors() {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		m.incomingBytes, m.incomingRecords, m.putRecordBytes, m.putRecordSuccess,
		m.putRecordsBytes, m.putRecordsRecords, m.putRecordsSuccess, m.putRecordsSuccessful,
		m.putRecordsFailed, m.putRecordsThrottled, m.putRecordsTotal,
		m.getRecordsBytes, m.getRecordsRecords, m.getRecordsSuccess, m.readExceeded, m.writeExceeded,
		m.putRecordLatency, m.putRecordsLatency, m.getRecordsLatency,
		m.subscribeRateExceeded, m.subscribeSuccess, m.eventBytes, m.eventRecords, m.eventSuccess,
		m.shardIncomingBytes, m.shardIncomingRecords, m.shardOutgoingBytes, m.shardOutgoingRecords,
		m.shardReadExceeded, m.shardWriteExceeded, m.shardIteratorAge,
		scrapeCollector{m},
	}
}

// streamVecs are the collectors labelled by account and stream (and
// maybe more), for deleting a stream's series.
func (m *metrics) streamVecs() []interface {
	DeletePartialMatch(prometheus.Labels) int
} {
	return []interface {
		DeletePartialMatch(prometheus.Labels) int
	}{
		m.incomingBytes, m.incomingRecords, m.putRecordBytes, m.putRecordSuccess,
		m.putRecordsBytes, m.putRecordsRecords, m.putRecordsSuccess, m.putRecordsSuccessful,
		m.putRecordsFailed, m.putRecordsThrottled, m.putRecordsTotal,
		m.getRecordsBytes, m.getRecordsRecords, m.getRecordsSuccess, m.readExceeded, m.writeExceeded,
		m.putRecordLatency, m.putRecordsLatency, m.getRecordsLatency,
		m.subscribeRateExceeded, m.subscribeSuccess, m.eventBytes, m.eventRecords, m.eventSuccess,
		m.shardIncomingBytes, m.shardIncomingRecords, m.shardOutgoingBytes, m.shardOutgoingRecords,
		m.shardReadExceeded, m.shardWriteExceeded, m.shardIteratorAge,
	}
}

// streamMetrics is one stream's series, resolved once.
type streamMetrics struct {
	account, region, name string

	incomingBytes, incomingRecords                              prometheus.Counter
	putRecordBytes, putRecordSuccess                            prometheus.Counter
	putRecordsBytes, putRecordsRecords, putRecordsSuccess       prometheus.Counter
	putRecordsSuccessful, putRecordsFailed, putRecordsThrottled prometheus.Counter
	putRecordsTotal                                             prometheus.Counter
	getRecordsBytes, getRecordsRecords, getRecordsSuccess       prometheus.Counter
	readExceeded, writeExceeded                                 prometheus.Counter
	putRecordLatency, putRecordsLatency, getRecordsLatency      prometheus.Observer

	m *metrics
	// mu guards shards and the writes of set. Invariant: every
	// shardMetrics' series hold a handle for exactly the metrics in set.
	// set is read without mu, to skip the shard-level work of a stream
	// that has none.
	mu     sync.RWMutex
	shards []*shardMetrics // by shard index; nil until used
	set    atomic.Uint32   // a metricSet
}

// shardMetrics is one shard's state for metrics: the counts behind the
// consumer lag, the latest iterator age, and the shard-level series that
// enhanced monitoring turned on.
type shardMetrics struct {
	id string // shardId-...
	// appended counts the records this process appended to the shard and
	// lastArrival is the newest one's arrival time (Unix ms); see
	// Subscription.lagRecords for how the lag uses them.
	appended    atomic.Int64
	lastArrival atomic.Int64
	// age is the iterator age of the shard's latest GetRecords, in ms;
	// hasAge is false until the first one.
	age    atomic.Int64
	hasAge atomic.Bool
	series atomic.Pointer[shardSeries]
}

// shardSeries holds the shard-level series; a field is nil when its metric
// is not enabled. It is replaced, never changed, when the set changes.
type shardSeries struct {
	incomingBytes, incomingRecords prometheus.Counter
	outgoingBytes, outgoingRecords prometheus.Counter
	readExceeded, writeExceeded    prometheus.Counter
	iteratorAge                    prometheus.Gauge
}

// stream returns rec's handles, resolving them on first use. Nil when
// metrics are off.
func (m *metrics) stream(rec *streamRecord) *streamMetrics {
	if m == nil {
		return nil
	}
	m.mu.RLock()
	sm := m.streams[rec.ID]
	m.mu.RUnlock()
	if sm != nil {
		return sm
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if sm := m.streams[rec.ID]; sm != nil {
		return sm
	}
	v := []string{rec.Account, rec.Region, rec.Name}
	sm = &streamMetrics{
		account: rec.Account, region: rec.Region, name: rec.Name, m: m,
		incomingBytes:        m.incomingBytes.WithLabelValues(v...),
		incomingRecords:      m.incomingRecords.WithLabelValues(v...),
		putRecordBytes:       m.putRecordBytes.WithLabelValues(v...),
		putRecordSuccess:     m.putRecordSuccess.WithLabelValues(v...),
		putRecordsBytes:      m.putRecordsBytes.WithLabelValues(v...),
		putRecordsRecords:    m.putRecordsRecords.WithLabelValues(v...),
		putRecordsSuccess:    m.putRecordsSuccess.WithLabelValues(v...),
		putRecordsSuccessful: m.putRecordsSuccessful.WithLabelValues(v...),
		putRecordsFailed:     m.putRecordsFailed.WithLabelValues(v...),
		putRecordsThrottled:  m.putRecordsThrottled.WithLabelValues(v...),
		putRecordsTotal:      m.putRecordsTotal.WithLabelValues(v...),
		getRecordsBytes:      m.getRecordsBytes.WithLabelValues(v...),
		getRecordsRecords:    m.getRecordsRecords.WithLabelValues(v...),
		getRecordsSuccess:    m.getRecordsSuccess.WithLabelValues(v...),
		readExceeded:         m.readExceeded.WithLabelValues(v...),
		writeExceeded:        m.writeExceeded.WithLabelValues(v...),
		putRecordLatency:     m.putRecordLatency.WithLabelValues(v...),
		putRecordsLatency:    m.putRecordsLatency.WithLabelValues(v...),
		getRecordsLatency:    m.getRecordsLatency.WithLabelValues(v...),
	}
	sm.set.Store(uint32(metricSetOf(rec.ShardLevelMetrics)))
	m.streams[rec.ID] = sm
	return sm
}

// shard returns the handles of shard index, making them on first use.
func (sm *streamMetrics) shard(index uint32) *shardMetrics {
	sm.mu.RLock()
	if int(index) < len(sm.shards) && sm.shards[index] != nil {
		sh := sm.shards[index]
		sm.mu.RUnlock()
		return sh
	}
	sm.mu.RUnlock()
	sm.mu.Lock()
	defer sm.mu.Unlock()
	if int(index) >= len(sm.shards) {
		sm.shards = append(sm.shards, make([]*shardMetrics, int(index)+1-len(sm.shards))...)
	}
	if sm.shards[index] == nil {
		sh := &shardMetrics{id: shardID(index)}
		sh.series.Store(sm.seriesFor(sh.id, metricSet(sm.set.Load())))
		sm.shards[index] = sh
	}
	return sm.shards[index]
}

// shardLevelMetric is one of the shard-level metrics enhanced
// monitoring turns on: its name, its collector, and how a shard's series
// of it is resolved into shardSeries.
type shardLevelMetric struct {
	name    string
	vec     interface{ DeletePartialMatch(prometheus.Labels) int }
	resolve func(ser *shardSeries, labels []string)
}

// shardLevel lists the shard-level metrics, the one place that pairs each
// name with its collector and its field.
func (m *metrics) shardLevel() []shardLevelMetric {
	return []shardLevelMetric{
		{MetricIncomingBytes, m.shardIncomingBytes, func(s *shardSeries, v []string) { s.incomingBytes = m.shardIncomingBytes.WithLabelValues(v...) }},
		{MetricIncomingRecords, m.shardIncomingRecords, func(s *shardSeries, v []string) { s.incomingRecords = m.shardIncomingRecords.WithLabelValues(v...) }},
		{MetricOutgoingBytes, m.shardOutgoingBytes, func(s *shardSeries, v []string) { s.outgoingBytes = m.shardOutgoingBytes.WithLabelValues(v...) }},
		{MetricOutgoingRecords, m.shardOutgoingRecords, func(s *shardSeries, v []string) { s.outgoingRecords = m.shardOutgoingRecords.WithLabelValues(v...) }},
		{MetricReadProvisionedThroughputExceeded, m.shardReadExceeded, func(s *shardSeries, v []string) { s.readExceeded = m.shardReadExceeded.WithLabelValues(v...) }},
		{MetricWriteProvisionedThroughputExceeded, m.shardWriteExceeded, func(s *shardSeries, v []string) { s.writeExceeded = m.shardWriteExceeded.WithLabelValues(v...) }},
		{MetricIteratorAgeMilliseconds, m.shardIteratorAge, func(s *shardSeries, v []string) { s.iteratorAge = m.shardIteratorAge.WithLabelValues(v...) }},
	}
}

// seriesFor resolves a shard's series for the metrics in set.
func (sm *streamMetrics) seriesFor(shard string, set metricSet) *shardSeries {
	v := []string{sm.account, sm.region, sm.name, shard}
	var ser shardSeries
	for _, x := range sm.m.shardLevel() {
		if set.has(x.name) {
			x.resolve(&ser, v)
		}
	}
	return &ser
}

// shardVec returns the collector of a shard-level metric.
func (m *metrics) shardVec(name string) interface {
	DeletePartialMatch(prometheus.Labels) int
} {
	for _, x := range m.shardLevel() {
		if x.name == name {
			return x.vec
		}
	}
	return nil
}

// setShardLevel applies a new enhanced monitoring set to rec's series:
// the metrics turned on get a series for every open shard of the stream
// at once (at zero; a closed shard gets its own when it is next read),
// those turned off lose theirs.
func (m *metrics) setShardLevel(rec *streamRecord, set metricSet) {
	if m == nil {
		return
	}
	sm := m.stream(rec)
	for i := range rec.Shards {
		if rec.Shards[i].open() {
			sm.shard(uint32(i))
		}
	}
	sm.mu.Lock()
	defer sm.mu.Unlock()
	off := metricSet(sm.set.Load()) &^ set
	sm.set.Store(uint32(set))
	for _, sh := range sm.shards {
		if sh != nil {
			sh.series.Store(sm.seriesFor(sh.id, set))
		}
	}
	for _, name := range off.names() {
		m.shardVec(name).DeletePartialMatch(prometheus.Labels{"account": sm.account, "region": sm.region, "stream": sm.name})
	}
}

// forget deletes the series of a stream (by its id) and its handles.
func (m *metrics) forget(id string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	sm := m.streams[id]
	delete(m.streams, id)
	m.mu.Unlock()
	if sm == nil {
		return
	}
	labels := prometheus.Labels{"account": sm.account, "region": sm.region, "stream": sm.name}
	for _, v := range m.streamVecs() {
		v.DeletePartialMatch(labels)
	}
}

// forgetConsumer deletes the series of a consumer.
func (m *metrics) forgetConsumer(account, region, stream, consumer string) {
	if m == nil {
		return
	}
	labels := prometheus.Labels{"account": account, "region": region, "stream": stream, "consumer": consumer}
	for _, v := range []*prometheus.CounterVec{m.subscribeRateExceeded, m.subscribeSuccess, m.eventBytes, m.eventRecords, m.eventSuccess} {
		v.DeletePartialMatch(labels)
	}
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// shardPut is one shard's part of a put: records stored and their bytes,
// and records refused by throttling.
type shardPut struct {
	index          uint32
	records, bytes int
	throttled      int
}

// addShardPut adds n records of the given bytes (stored) or throttled to
// index's entry of puts.
func addShardPut(puts []shardPut, index uint32, records, bytes, throttled int) []shardPut {
	for i := range puts {
		if puts[i].index == index {
			puts[i].records += records
			puts[i].bytes += bytes
			puts[i].throttled += throttled
			return puts
		}
	}
	return append(puts, shardPut{index: index, records: records, bytes: bytes, throttled: throttled})
}

// put counts a PutRecord or PutRecords call's shard parts: IncomingBytes,
// IncomingRecords, WriteProvisionedThroughputExceeded and their
// shard-level series. It returns the records and bytes stored.
func (sm *streamMetrics) put(puts []shardPut) (records, bytes, throttled int) {
	for _, p := range puts {
		records += p.records
		bytes += p.bytes
		throttled += p.throttled
		if sm.set.Load() == 0 {
			continue
		}
		ser := sm.shard(p.index).series.Load()
		if ser.incomingBytes != nil {
			ser.incomingBytes.Add(float64(p.bytes))
		}
		if ser.incomingRecords != nil {
			ser.incomingRecords.Add(float64(p.records))
		}
		if ser.writeExceeded != nil && p.throttled > 0 {
			ser.writeExceeded.Add(float64(p.throttled))
		}
	}
	sm.incomingBytes.Add(float64(bytes))
	sm.incomingRecords.Add(float64(records))
	if throttled > 0 {
		sm.writeExceeded.Add(float64(throttled))
	}
	return records, bytes, throttled
}

// putRecord counts a PutRecord call that reached the shards.
func (sm *streamMetrics) putRecord(index uint32, bytes int, stored bool) {
	p := shardPut{index: index}
	if stored {
		p.records, p.bytes = 1, bytes
	} else {
		p.throttled = 1
	}
	sm.put([]shardPut{p})
	if stored {
		sm.putRecordBytes.Add(float64(bytes))
		sm.putRecordSuccess.Inc()
	}
}

// putRecords counts a PutRecords call that reached the shards: total
// entries, and failed ones (InternalFailure).
func (sm *streamMetrics) putRecords(puts []shardPut, total, failed int) {
	records, bytes, throttled := sm.put(puts)
	sm.putRecordsBytes.Add(float64(bytes))
	sm.putRecordsRecords.Add(float64(records))
	sm.putRecordsSuccessful.Add(float64(records))
	sm.putRecordsFailed.Add(float64(failed))
	sm.putRecordsThrottled.Add(float64(throttled))
	sm.putRecordsTotal.Add(float64(total))
	if records > 0 {
		sm.putRecordsSuccess.Inc()
	}
}

// getRecords counts a GetRecords call that read: records and bytes
// returned, and the iterator age (now minus the last record's arrival, 0
// for an empty page).
func (sm *streamMetrics) getRecords(index uint32, records, bytes int, age int64) {
	sm.getRecordsBytes.Add(float64(bytes))
	sm.getRecordsRecords.Add(float64(records))
	sm.getRecordsSuccess.Inc()
	sh := sm.shard(index)
	sh.age.Store(age)
	sh.hasAge.Store(true)
	sm.outgoing(sh, records, bytes)
	if ser := sh.series.Load(); ser.iteratorAge != nil {
		ser.iteratorAge.Set(float64(age))
	}
}

// outgoing counts records read from a shard, by GetRecords or an event.
func (sm *streamMetrics) outgoing(sh *shardMetrics, records, bytes int) {
	ser := sh.series.Load()
	if ser.outgoingBytes != nil {
		ser.outgoingBytes.Add(float64(bytes))
	}
	if ser.outgoingRecords != nil {
		ser.outgoingRecords.Add(float64(records))
	}
}

// readThrottled counts a GetRecords call refused by throttling.
func (sm *streamMetrics) readThrottled(index uint32) {
	sm.readExceeded.Inc()
	if ser := sm.shard(index).series.Load(); ser.readExceeded != nil {
		ser.readExceeded.Inc()
	}
}

// appended records a batch stored in a shard, for the consumer lag.
func (sh *shardMetrics) appendedBatch(records int, arrival int64) {
	sh.appended.Add(int64(records))
	for {
		last := sh.lastArrival.Load()
		if arrival <= last || sh.lastArrival.CompareAndSwap(last, arrival) {
			return
		}
	}
}

// consumerMetrics are a subscription's series, resolved when it starts.
type consumerMetrics struct {
	stream                          *streamMetrics
	shard                           *shardMetrics
	eventBytes, eventRecords, event prometheus.Counter
}

// subscribed counts an established subscription and resolves its series.
func (m *metrics) subscribed(rec *streamRecord, index uint32, consumer string) *consumerMetrics {
	if m == nil {
		return nil
	}
	sm := m.stream(rec)
	v := []string{rec.Account, rec.Region, rec.Name, consumer}
	m.subscribeSuccess.WithLabelValues(v...).Inc()
	return &consumerMetrics{
		stream:       sm,
		shard:        sm.shard(index),
		eventBytes:   m.eventBytes.WithLabelValues(v...),
		eventRecords: m.eventRecords.WithLabelValues(v...),
		event:        m.eventSuccess.WithLabelValues(v...),
	}
}

// subscribeRefused counts a SubscribeToShard refused for an active
// subscription or the call rate.
func (m *metrics) subscribeRefused(rec *streamRecord, consumer string) {
	if m == nil {
		return
	}
	m.stream(rec) // the stream's series exist once it is used
	m.subscribeRateExceeded.WithLabelValues(rec.Account, rec.Region, rec.Name, consumer).Inc()
}

// scrapeCollector computes, when scraped, the gauges that are a function
// of several shards or sessions: GetRecords.IteratorAgeMilliseconds (the
// largest of the shards' latest), SubscribeToShardEvent.MillisBehindLatest
// (the largest of the consumer's live sessions' latest) and the consumer
// lag (per live session).
type scrapeCollector struct{ m *metrics }

func (c scrapeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.m.iteratorAgeDesc
	ch <- c.m.millisBehindDesc
	ch <- c.m.lagRecordsDesc
	ch <- c.m.lagMillisDesc
}

// Collect emits one value per label set: two sessions the collector
// meets at once for one consumer and shard (one ending as the next
// starts) would otherwise make the registry refuse the whole scrape for a
// duplicate series; the largest value is kept.
func (c scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.m
	type streamKey struct{ account, region, stream string }
	ages := make(map[streamKey]int64)
	m.mu.RLock()
	for _, sm := range m.streams {
		sm.mu.RLock()
		for _, sh := range sm.shards {
			if sh != nil && sh.hasAge.Load() {
				k := streamKey{sm.account, sm.region, sm.name}
				ages[k] = max(ages[k], sh.age.Load())
			}
		}
		sm.mu.RUnlock()
	}
	m.mu.RUnlock()
	for k, age := range ages {
		ch <- prometheus.MustNewConstMetric(m.iteratorAgeDesc, prometheus.GaugeValue, float64(age), k.account, k.region, k.stream)
	}

	// The sessions are copied out so that SubscribeToShard does not wait
	// for the scrape.
	m.subs.mu.Lock()
	subs := make([]*Subscription, 0, len(m.subs.active))
	for _, sub := range m.subs.active {
		subs = append(subs, sub)
	}
	m.subs.mu.Unlock()
	type consumerKey struct{ account, region, stream, consumer string }
	type lagKey struct {
		consumerKey
		shard string
	}
	behind := make(map[consumerKey]int64)
	lags := make(map[lagKey]consumerLag)
	for _, sub := range subs {
		lag, ok := sub.lag()
		if !ok {
			continue
		}
		k := consumerKey{sub.scope.Account, sub.scope.Region, sub.stream, sub.consumer}
		behind[k] = max(behind[k], lag.millisBehind)
		lk := lagKey{k, shardID(sub.index)}
		prev := lags[lk]
		lags[lk] = consumerLag{records: max(prev.records, lag.records), millis: max(prev.millis, lag.millis)}
	}
	for k, lag := range lags {
		ch <- prometheus.MustNewConstMetric(m.lagRecordsDesc, prometheus.GaugeValue, float64(lag.records), k.account, k.region, k.stream, k.consumer, k.shard)
		ch <- prometheus.MustNewConstMetric(m.lagMillisDesc, prometheus.GaugeValue, float64(lag.millis), k.account, k.region, k.stream, k.consumer, k.shard)
	}
	for k, v := range behind {
		ch <- prometheus.MustNewConstMetric(m.millisBehindDesc, prometheus.GaugeValue, float64(v), k.account, k.region, k.stream, k.consumer)
	}
}
