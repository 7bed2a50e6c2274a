package producer

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/tributary-io/tributary/kpl"
)

// Client is the part of *kinesis.Client the producer uses.
type Client interface {
	ShardLister
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
}

// Config configures a Producer. Stream and Client are required; every
// other field has a default.
type Config struct {
	// Stream is the stream's ARN (as AWS recommends) or name.
	Stream string
	Client Client
	// MaxBufferedRecords and MaxBufferedBytes bound what Put holds before
	// it blocks: records put and not yet answered. Defaults 100,000 and
	// 64 MiB.
	MaxBufferedRecords int
	MaxBufferedBytes   int64
	// Linger is how long a record may wait for others to share its
	// request. Default 100 ms, KPL's RecordMaxBufferedTime.
	Linger time.Duration
	// RecordTTL is how long a record is retried before it fails with its
	// last error. Default 30 s, KPL's RecordTtl.
	RecordTTL time.Duration
	// RateLimit is each shard's write rate, as a fraction of AWS's limits
	// (1,000 records and 1 MiB a second). Default 1.5, KPL's RateLimit.
	RateLimit float64
	// MaxInFlight bounds the PutRecords requests under way at once.
	// Default 16.
	MaxInFlight int
	// RequestTimeout bounds one PutRecords call. Default 30 s.
	RequestTimeout time.Duration
	// RetryDelay is the base of the jittered exponential backoff before a
	// refused record is sent again. Default 100 ms.
	RetryDelay time.Duration
	// AggregationMaxSize is the largest KPL aggregated record the producer
	// makes, as Kinesis counts a record's size (data and partition key).
	// Default 51,200 bytes, KPL's AggregationMaxSize. Records larger than
	// it are sent alone, up to the stream's maximum record size.
	AggregationMaxSize int
	// DisableAggregation sends every record alone. Records sent alone
	// carry no IDs, so it turns exactly-once writes off too.
	DisableAggregation bool
	// DisableIDs leaves out the tag that marks each aggregated record
	// with the producer's ID and its sequence (kpl.ID), which Tributary
	// uses to store an aggregate sent again only once and consumers to
	// drop copies. It saves some 30 bytes per record. Without IDs, a
	// PutRecords whose answer is lost is sent again and may store its
	// records twice (in order: the copy lands before anything later).
	DisableIDs bool
	// Metrics receives the producer's metrics; nil means collectors of
	// its own that nothing registers (see NewMetrics).
	Metrics *Metrics
}

func (c *Config) setDefaults() {
	if c.MaxBufferedRecords <= 0 {
		c.MaxBufferedRecords = 100_000
	}
	if c.MaxBufferedBytes <= 0 {
		c.MaxBufferedBytes = 64 << 20
	}
	if c.Linger <= 0 {
		c.Linger = 100 * time.Millisecond
	}
	if c.RecordTTL <= 0 {
		c.RecordTTL = 30 * time.Second
	}
	if c.RateLimit <= 0 {
		c.RateLimit = 1.5
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 16
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 30 * time.Second
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = 100 * time.Millisecond
	}
	if c.AggregationMaxSize <= 0 {
		c.AggregationMaxSize = 51200
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics(nil)
	}
}

// Record is what Put takes: Kinesis's record.
type Record struct {
	PartitionKey    string
	ExplicitHashKey string // optional
	Data            []byte
}

// Result is the outcome of one Put: where the record was stored, or the
// error it failed with.
type Result struct {
	ShardID        string
	SequenceNumber string
	// Aggregated is whether the record was stored in a KPL aggregated
	// record, at SubSequenceNumber within it (0 for the first), as KCL
	// numbers the records of an aggregate.
	Aggregated        bool
	SubSequenceNumber int
	// Attempts is how many PutRecords requests carried the record.
	Attempts int
	// Err is nil when the record was stored; otherwise the last error,
	// after RecordTTL or a non-retryable error.
	Err error
}

// Future is a Put's outcome to come.
type Future struct {
	done chan struct{}
	res  Result
}

// Done is closed once the outcome is known.
func (f *Future) Done() <-chan struct{} { return f.done }

// Wait returns the outcome, or ctx's error if ctx ends first.
func (f *Future) Wait(ctx context.Context) (Result, error) {
	select {
	case <-f.done:
		return f.res, nil
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// ErrClosed is returned by Put after Close.
var ErrClosed = errors.New("producer: closed")

// Producer writes records to one stream. Per partition key, records are
// stored in the order Put was called, whatever fails and is retried: see
// the invariants in dispatch.go. All methods are safe for concurrent use.
type Producer struct {
	cfg  Config
	id   string // see ID
	puts chan *pending
	// room bounds what is buffered: a slot per record, bytes by a
	// condition on bufBytes.
	room     chan struct{}
	mu       sync.Mutex
	cond     *sync.Cond
	bufBytes int64
	closed   bool
	flushes  chan *flushWait
	abort    chan error    // Close's ctx ended: fail what is left with it
	stop     chan struct{} // closed by Close: the dispatcher drains and exits
	done     chan struct{} // closed when the dispatcher has exited
}

// ID is the producer's identity in the records' IDs (kpl.ID): random,
// and new for every producer, since its sequence starts again at 1.
func (p *Producer) ID() string { return p.id }

// pending is a record on its way, with what the producer keeps of it.
type pending struct {
	rec      Record
	hash     kpl.HashKey
	size     int64 // data and partition key, as Kinesis counts a record
	seq      uint64
	idTag    kpl.Tag // the record's ID (zero with DisableIDs)
	put      time.Time
	attempts int
	lastErr  error
	fut      *Future
}

// New starts a producer for cfg.Stream, reading its shard map first.
func New(ctx context.Context, cfg Config) (*Producer, error) {
	if cfg.Stream == "" || cfg.Client == nil {
		return nil, errors.New("producer: Config.Stream and Config.Client are required")
	}
	cfg.setDefaults()
	m, err := fetchMap(ctx, cfg.Client, cfg.Stream)
	if err != nil {
		return nil, err
	}
	var id [8]byte
	cryptorand.Read(id[:])
	p := &Producer{
		cfg:     cfg,
		id:      base64.RawURLEncoding.EncodeToString(id[:]),
		puts:    make(chan *pending),
		room:    make(chan struct{}, cfg.MaxBufferedRecords),
		flushes: make(chan *flushWait),
		abort:   make(chan error),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	p.cond = sync.NewCond(&p.mu)
	d := newDispatcher(p, m)
	go d.run()
	return p, nil
}

// fetchMap reads the shard map, trying again for a few seconds while a
// reshard leaves it incomplete.
func fetchMap(ctx context.Context, c ShardLister, stream string) (*ShardMap, error) {
	var err error
	for i := range 20 {
		var m *ShardMap
		if m, err = FetchShardMap(ctx, c, stream); err == nil {
			return m, nil
		}
		if !errors.Is(err, ErrIncompleteMap) {
			return nil, err
		}
		t := time.NewTimer(time.Duration(50*(i+1)) * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
	return nil, err
}

// Put queues rec and returns its Future. It blocks while MaxBufferedRecords
// or MaxBufferedBytes are reached, until there is room or ctx ends.
func (p *Producer) Put(ctx context.Context, rec Record) (*Future, error) {
	pd, err := p.prepare(rec)
	if err != nil {
		return nil, err
	}
	select {
	case p.room <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.stop:
		return nil, ErrClosed
	}
	if err := p.reserveBytes(ctx, pd.size); err != nil {
		<-p.room
		return nil, err
	}
	select {
	case p.puts <- pd:
		return pd.fut, nil
	case <-p.stop:
		p.release(pd)
		return nil, ErrClosed
	}
}

func (p *Producer) prepare(rec Record) (*pending, error) {
	if rec.PartitionKey == "" {
		return nil, errors.New("producer: a record needs a partition key")
	}
	// Kinesis refuses a whole PutRecords for one bad entry, so what can
	// be checked here is (the record's size against the stream's maximum
	// cannot: see dispatcher.handle).
	if n := utf8.RuneCountInString(rec.PartitionKey); n > maxPartitionKeyLen {
		return nil, fmt.Errorf("producer: partition key of %d characters; Kinesis takes at most %d", n, maxPartitionKeyLen)
	}
	if len(rec.Data) > maxRecordBytes {
		return nil, fmt.Errorf("producer: %d bytes of data; Kinesis stores at most %d in a record", len(rec.Data), maxRecordBytes)
	}
	h := kpl.HashKeyOf(rec.PartitionKey)
	if rec.ExplicitHashKey != "" {
		var err error
		if h, err = kpl.ParseHashKey(rec.ExplicitHashKey); err != nil {
			return nil, fmt.Errorf("producer: explicit hash key: %w", err)
		}
	}
	return &pending{rec: rec, hash: h, size: int64(len(rec.Data) + len(rec.PartitionKey)), fut: &Future{done: make(chan struct{})}}, nil
}

func (p *Producer) reserveBytes(ctx context.Context, n int64) error {
	// Most calls find room at once: no need to watch ctx then.
	p.mu.Lock()
	if p.roomFor(n) {
		p.bufBytes += n
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for !p.roomFor(n) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if p.closed {
			return ErrClosed
		}
		p.cond.Wait()
	}
	p.bufBytes += n
	return nil
}

// roomFor reports whether n more bytes fit in the buffer. A record larger
// than the whole budget goes alone into an empty one. Called with p.mu.
func (p *Producer) roomFor(n int64) bool {
	return p.bufBytes == 0 || p.bufBytes+n <= p.cfg.MaxBufferedBytes
}

// release gives back the room pd held.
func (p *Producer) release(pd *pending) {
	p.mu.Lock()
	p.bufBytes -= pd.size
	p.cond.Broadcast()
	p.mu.Unlock()
	<-p.room
}

const (
	maxPartitionKeyLen = 256      // characters
	maxRecordBytes     = 10 << 20 // the largest maximum record size a stream can have
)

// ErrBufferFull is returned by TryPut when the buffer is at its limits.
var ErrBufferFull = errors.New("producer: buffer full")

// TryPut is Put without waiting: when MaxBufferedRecords or
// MaxBufferedBytes are reached it returns ErrBufferFull at once.
func (p *Producer) TryPut(rec Record) (*Future, error) {
	pd, err := p.prepare(rec)
	if err != nil {
		return nil, err
	}
	select {
	case p.room <- struct{}{}:
	case <-p.stop:
		return nil, ErrClosed
	default:
		return nil, ErrBufferFull
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.room
		return nil, ErrClosed
	}
	if !p.roomFor(pd.size) {
		p.mu.Unlock()
		<-p.room
		return nil, ErrBufferFull
	}
	p.bufBytes += pd.size
	p.mu.Unlock()
	select {
	case p.puts <- pd:
		return pd.fut, nil
	case <-p.stop:
		p.release(pd)
		return nil, ErrClosed
	}
}

// Flush sends every record put before it without waiting for Linger, and
// returns when each has its outcome, or when ctx ends.
func (p *Producer) Flush(ctx context.Context) error {
	f := &flushWait{done: make(chan struct{})}
	select {
	case p.flushes <- f:
	case <-p.done:
		return nil // closed and drained: nothing is left
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-f.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops taking records, sends what is buffered and waits for every
// outcome, or until ctx ends. Then the records not yet sent fail with
// ctx's error at once, and those in a request under way get the request's
// outcome when it comes (stored, or failed without another attempt).
func (p *Producer) Close(ctx context.Context) error {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.stop)
		p.cond.Broadcast()
	}
	p.mu.Unlock()
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		select {
		case p.abort <- ctx.Err():
		case <-p.done:
		}
		return ctx.Err()
	}
}

// backoff is a capped exponential backoff with full jitter: up to
// base·2^(attempt-1), at most 32 times base.
func backoff(base time.Duration, attempt int) time.Duration {
	d := base << min(max(attempt-1, 0), 5)
	return time.Duration(rand.Int64N(int64(d))+1) + base/10
}

// uncertain reports whether a failed request may have stored its entries
// all the same: no answer came (a timeout, a broken connection), the
// answer was cut short (a 200 whose body could not be read), or the
// service failed (HTTP 5xx). Only a refusal (HTTP 4xx, or an entry's
// ErrorCode) is known to have stored nothing.
func uncertain(err error) bool {
	var entry *entryError
	if errors.As(err, &entry) {
		return false
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		code := status.HTTPStatusCode()
		return code < 400 || code >= 500
	}
	return true
}

// invalid reports whether a request was refused as invalid, which
// Kinesis answers for the whole request when one entry is (too large for
// the stream, say).
func invalid(err error) bool {
	switch errorCode(err) {
	case "InvalidArgumentException", "ValidationException":
		return true
	}
	return false
}

// retryable reports whether a failed entry or request may be sent again:
// all but the answers that will not change (no such stream, a request
// the service refuses as invalid).
func retryable(err error) bool {
	switch errorCode(err) {
	case "ResourceNotFoundException", "InvalidArgumentException", "ValidationException":
		return false
	}
	return true
}
