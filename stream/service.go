// Package stream is Tributary's Kinesis domain layer: streams, shards, hash
// key ranges, sequence numbers, shard iterators, retention, tags and limits.
//
// It knows nothing of HTTP or of the wire encodings. Package kinesis decodes
// a request, does the syntactic validation AWS does before an operation runs
// (required members, lengths, patterns, enum values, numeric bounds such as
// ShardCount >= 1 or Limit <= 10000) and calls one method of Service per
// operation. Service does the semantic checks (existence, state, ranges that
// depend on the stream, limits) and reports failures as *Error carrying the
// AWS exception name and AWS's message.
//
// DryRun, on the five data-plane operations that take it (PutRecord,
// PutRecords, GetShardIterator, GetRecords and SubscribeToShard), makes
// every check the operation makes, then answers DryRunOperationException
// instead of writing, reading or starting anything: a request that would
// fail gets the error it would get, one that would succeed gets
// DryRunOperationException. As AWS documents, dry runs do not count against
// the operations' own rates (per-shard throughput, GetShardIterator's 5 per
// second, SubscribeToShard's one call per second); under Limits they have
// a rate of their own, DryRunPerSec per stream shared by the five
// operations, beyond which they get ThrottlingException.
//
// All methods are safe for concurrent use.
package stream

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tributary-io/tributary/internal/bgtask"
	"github.com/tributary-io/tributary/internal/bufpool"
	"github.com/tributary-io/tributary/keyring"
	"github.com/tributary-io/tributary/storage"
)

// Scope is the account and region a request is made in. Streams with the
// same name in different scopes are different streams, as in AWS.
type Scope struct {
	Account string // twelve digits, e.g. "000000000000"
	Region  string // e.g. "us-east-1"
}

// StreamRef names a stream by name, by ARN, or by both. When both are given
// they must name the same stream. Every operation that takes a stream takes
// a StreamRef.
type StreamRef struct {
	Name string
	ARN  string // arn:aws:kinesis:<region>:<account>:stream/<name>
}

// Options configure a Service. The zero value is usable.
type Options struct {
	// Now is the clock; nil means time.Now. Tests pass a fake clock.
	Now func() time.Time
	// Keys resolves the KeyIds of StartStreamEncryption and checks that
	// an encrypted stream's key is enabled (encryption.go). Nil: every
	// StartStreamEncryption fails with KMSNotFoundException. The engine
	// needs the same keys as its storage.KeyProvider.
	Keys keyring.Provider
	// CreateDelay is how long a new stream stays CREATING, DeleteDelay how
	// long a deleted stream stays DELETING, UpdateDelay how long a stream
	// stays UPDATING after a change that AWS applies asynchronously. Zero
	// means the default of 500ms; NoDelay (any negative value) makes the
	// transition immediate.
	CreateDelay, DeleteDelay, UpdateDelay time.Duration
	// ShardLimit is the number of open shards of provisioned streams an
	// account may have in a region. Zero means AWS's default: 20,000 in
	// us-east-1, us-west-2 and eu-west-1, 1,000 elsewhere.
	ShardLimit int
	// OnDemandStreamLimit is the number of on-demand streams an account may
	// have in a region. Zero means AWS's default of 50.
	OnDemandStreamLimit int
	// Logger receives background errors (deletions that failed and will be
	// retried) and the on-demand scaler's splits and merges. Nil means
	// slog.Default().
	Logger *slog.Logger

	// On-demand scaling (see autoscale.go). AutoscaleInterval is how often
	// the ON_DEMAND streams are evaluated, and the span their write rates
	// are measured over; zero means 1 minute and a negative value turns
	// the scaler off. A shard writing more than AutoscaleSplitThreshold of
	// its capacity is split (zero: 0.8); two adjacent shards writing less
	// than AutoscaleMergeThreshold (zero: 0.2, and it must stay below half
	// the split threshold) for AutoscaleCooldown (zero: 15 minutes) are
	// merged.
	AutoscaleInterval       time.Duration
	AutoscaleSplitThreshold float64
	AutoscaleMergeThreshold float64
	AutoscaleCooldown       time.Duration
	// ShardWriteBytesPerSec and ShardWriteRecordsPerSec are a shard's write
	// capacity the thresholds are fractions of; zero means AWS's 1 MiB/s
	// and 1000 records/s. Tests lower them.
	ShardWriteBytesPerSec   int
	ShardWriteRecordsPerSec int

	// Limits is the throttling of writes, reads and control-plane calls
	// (throttle.go). The zero value throttles nothing.
	Limits Limits

	// ConsumerLimit is the number of consumers a stream may have
	// registered; zero means AWS's default of 20. Consumers are CREATING
	// for CreateDelay and DELETING for DeleteDelay.
	ConsumerLimit int
	// SubscriptionLifetime is how long a SubscribeToShard session lasts;
	// zero means AWS's 5 minutes. SubscriptionHeartbeat is the longest an
	// idle session goes without an event; zero means AWS's 5 seconds.
	// Tests shorten both.
	SubscriptionLifetime  time.Duration
	SubscriptionHeartbeat time.Duration

	// IteratorLifetime is how long a shard iterator stays valid; zero
	// means AWS's 5 minutes. RetentionHour is how long one hour of a
	// stream's retention period lasts; zero means an hour. ReapInterval is
	// how often the deletions and reshards left unfinished are looked for;
	// zero means a second. Tests shorten them to see iterators expire,
	// records age out and the reaper run many times within seconds.
	IteratorLifetime time.Duration
	RetentionHour    time.Duration
	ReapInterval     time.Duration

	// DedupWindow is how far back, after a restart or a reshard, the logs
	// are read to recognise an aggregate Tributary's producer sends again
	// (dedup.go); zero means 5 minutes and a negative value turns the
	// recognition off, storing every copy.
	DedupWindow time.Duration

	// Metrics, when not nil, receives the Kinesis metrics under
	// CloudWatch's names and the consumer lag (metrics.go,
	// docs/metrics.md). Nil: no metrics, and no cost on the hot paths.
	Metrics prometheus.Registerer
}

// NoDelay, as a CreateDelay, DeleteDelay or UpdateDelay, makes the state
// transition immediate.
const NoDelay time.Duration = -1

// Service is the Kinesis domain: one method per operation, each taking the
// caller's Scope. Create it with New and stop it with Close.
type Service struct {
	engine storage.Engine
	keys   keyring.Provider // nil: no keyring (encryption.go)
	meta   storage.MetaStore
	log    *slog.Logger

	clock                                 func() time.Time
	createDelay, deleteDelay, updateDelay time.Duration
	shardLimit, onDemandLimit             int

	// iterKey and tokenKey sign shard iterators and pagination tokens; both
	// derive from one secret kept in the catalogue so that iterators and
	// tokens survive a restart.
	iterKey, tokenKey []byte

	// recordSlices keeps GetRecords pages' record slices between a
	// GetRecordsOutput.Release and the next page.
	recordSlices bufpool.Slices[Record]

	// createMu serialises CreateStream so that the account's shard limit
	// holds: the check and the creation happen with no other creation in
	// between. (This process is the only writer of its engine.)
	createMu sync.Mutex

	// decoded caches the stream records decoded from the catalogue.
	decoded *decodedCache

	// logs caches ShardLog handles by log name. Entries are removed when a
	// stream's logs are deleted; a stale handle would only fail with
	// ErrNotFound, never reach another stream's data, because log names are
	// unique per stream creation.
	logsMu sync.Mutex
	logs   map[string]storage.ShardLog

	// scaling holds a mutex per stream key, held while an UpdateShardCount
	// runs its splits and merges (see scaleLock).
	scaleMu sync.Mutex
	scaling map[string]*sync.Mutex

	// autoscale is the on-demand scaler's settings and meters the write
	// rates it decides on; autoscaleDone is closed when its goroutine
	// returns (at once when it is off).
	autoscale     autoscaleConfig
	meters        *meters
	autoscaleDone chan struct{}

	// throttle applies Options.Limits.
	throttle *throttler
	// dedup recognises aggregates sent again (dedup.go); nil when off.
	dedup *dedup
	// metrics are the Kinesis metrics (metrics.go); nil when off.
	metrics *metrics

	consumerLimit int
	// subs holds the SubscribeToShard sessions (subscribe.go).
	subs                      *subscriptions
	subLifetime, subHeartbeat time.Duration

	iterLifetime, retentionHour, reapInterval time.Duration

	// tasks runs the background work (reaping, finishing reshards,
	// on-demand scaling) so that a panic in it is logged and counted
	// rather than fatal; see BackgroundStats.
	tasks *bgtask.Runner

	wake   chan struct{} // nudges the reaper
	cancel context.CancelFunc
	done   chan struct{}
}

const defaultDelay = 500 * time.Millisecond

func delay(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return defaultDelay
	case d < 0:
		return 0
	}
	return d
}

// New returns a Service over engine. It loads (or, on first start, creates)
// the secret that signs shard iterators, removes shard logs left behind by
// a creation that a crash interrupted, finishes interrupted reshards, and
// starts the goroutines that finish deletions (those a crash interrupted
// first) and scale on-demand streams. ctx bounds
// this start-up work only.
func New(ctx context.Context, engine storage.Engine, opts Options) (*Service, error) {
	auto, err := newAutoscaleConfig(opts)
	if err != nil {
		return nil, err
	}
	clock := opts.Now
	if clock == nil {
		clock = time.Now
	}
	throttle, err := newThrottler(opts.Limits, clock)
	if err != nil {
		return nil, err
	}
	s := &Service{
		autoscale:     auto,
		meters:        newMeters(auto.window()),
		autoscaleDone: make(chan struct{}),
		throttle:      throttle,
		engine:        engine,
		keys:          opts.Keys,
		meta:          engine.Meta(),
		log:           opts.Logger,
		clock:         opts.Now,
		createDelay:   delay(opts.CreateDelay),
		deleteDelay:   delay(opts.DeleteDelay),
		updateDelay:   delay(opts.UpdateDelay),
		shardLimit:    opts.ShardLimit,
		onDemandLimit: opts.OnDemandStreamLimit,
		decoded:       newDecodedCache(),
		logs:          make(map[string]storage.ShardLog),
		scaling:       make(map[string]*sync.Mutex),
		wake:          make(chan struct{}, 1),
		done:          make(chan struct{}),
		consumerLimit: opts.ConsumerLimit,
		subs:          newSubscriptions(),
		subLifetime:   opts.SubscriptionLifetime,
		subHeartbeat:  opts.SubscriptionHeartbeat,
	}
	if s.consumerLimit <= 0 {
		s.consumerLimit = defaultConsumerLimit
	}
	if s.subLifetime <= 0 {
		s.subLifetime = defaultSubscriptionLifetime
	}
	if s.subHeartbeat <= 0 {
		s.subHeartbeat = defaultSubscriptionHeartbeat
	}
	s.iterLifetime = cmp.Or(max(opts.IteratorLifetime, 0), defaultIteratorLifetime)
	if opts.DedupWindow >= 0 {
		s.dedup = newDedup(cmp.Or(opts.DedupWindow, defaultDedupWindow))
	}
	s.retentionHour = cmp.Or(max(opts.RetentionHour, 0), time.Hour)
	s.reapInterval = cmp.Or(max(opts.ReapInterval, 0), defaultReapInterval)
	if s.log == nil {
		s.log = slog.Default()
	}
	s.tasks = bgtask.New(s.log)
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.metrics, err = newMetrics(opts.Metrics, s.subs, s.clock); err != nil {
		return nil, fmt.Errorf("stream: metrics: %w", err)
	}
	if s.onDemandLimit <= 0 {
		s.onDemandLimit = defaultOnDemandStreamLimit
	}
	secret, err := loadSecret(ctx, s.meta)
	if err != nil {
		return nil, err
	}
	s.iterKey = deriveKey(secret, "shard-iterator")
	s.tokenKey = deriveKey(secret, "next-token")
	if err := s.removeOrphanLogs(ctx); err != nil {
		return nil, err
	}
	// Deletions a restart interrupted are finished by the reaper's first
	// pass (reapLoop), at once but in the background: a gone stream is
	// absent to every operation whether or not its logs are removed yet
	// (CreateStream of its name finishes the deletion itself), and removing
	// the 10,000 logs of a large stream takes seconds that readiness need
	// not wait.
	//
	// A reshard a crash interrupted is finished before requests arrive:
	// until then writes to its sealed parent would wait for the children.
	if err := s.resumeReshards(ctx); err != nil {
		return nil, err
	}
	bg, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.reapLoop(bg)
	if s.autoscale.interval > 0 {
		go s.autoscaleLoop(bg)
	} else {
		close(s.autoscaleDone)
	}
	return s, nil
}

// Close stops the background goroutines and waits for them. It does not close
// the engine, which the caller owns. Close is idempotent.
func (s *Service) Close() {
	s.cancel()
	<-s.done
	<-s.autoscaleDone
}

// BackgroundStats counts the runs, failures and panics of the service's
// background tasks, by task: "reap" (finishing a deletion), "reshard"
// (finishing an interrupted reshard), "autoscale" (scaling an on-demand
// stream), each per stream, and "reaper" and "autoscaler", each pass.
func (s *Service) BackgroundStats() map[string]bgtask.Stats { return s.tasks.Stats() }

// now is the clock truncated to milliseconds, the precision of every time
// Kinesis reports.
func (s *Service) now() time.Time { return s.clock().Truncate(time.Millisecond) }

// internal wraps an unexpected failure of the engine; the wire layer
// reports anything that is not an *Error as an internal failure.
func internal(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

// The operations, one per Kinesis action. They are implemented in the files
// named after their concept (streams.go, records.go, iterator.go, shards.go,
// tags.go, retention.go, limits.go, consumers.go, subscribe.go, monitoring.go):
//
//	CreateStream(ctx, Scope, CreateStreamInput) error
//	DeleteStream(ctx, Scope, DeleteStreamInput) error
//	DescribeStream(ctx, Scope, DescribeStreamInput) (*StreamDescription, error)
//	DescribeStreamSummary(ctx, Scope, StreamRef) (*StreamDescriptionSummary, error)
//	ListStreams(ctx, Scope, ListStreamsInput) (*ListStreamsOutput, error)
//	ListShards(ctx, Scope, ListShardsInput) (*ListShardsOutput, error)
//	PutRecord(ctx, Scope, PutRecordInput) (*PutRecordOutput, error)
//	PutRecords(ctx, Scope, PutRecordsInput) (*PutRecordsOutput, error)
//	GetShardIterator(ctx, Scope, GetShardIteratorInput) (*GetShardIteratorOutput, error)
//	GetRecords(ctx, Scope, GetRecordsInput) (*GetRecordsOutput, error)
//	IncreaseStreamRetentionPeriod(ctx, Scope, RetentionInput) error
//	DecreaseStreamRetentionPeriod(ctx, Scope, RetentionInput) error
//	AddTagsToStream(ctx, Scope, AddTagsToStreamInput) error
//	RemoveTagsFromStream(ctx, Scope, RemoveTagsFromStreamInput) error
//	ListTagsForStream(ctx, Scope, ListTagsForStreamInput) (*ListTagsForStreamOutput, error)
//	TagResource(ctx, Scope, TagResourceInput) error
//	UntagResource(ctx, Scope, UntagResourceInput) error
//	ListTagsForResource(ctx, Scope, ListTagsForResourceInput) (*ListTagsForResourceOutput, error)
//	DescribeLimits(ctx, Scope) (*DescribeLimitsOutput, error)
//	UpdateMaxRecordSize(ctx, Scope, UpdateMaxRecordSizeInput) error
//	SplitShard(ctx, Scope, SplitShardInput) error
//	MergeShards(ctx, Scope, MergeShardsInput) error
//	UpdateShardCount(ctx, Scope, UpdateShardCountInput) (*UpdateShardCountOutput, error)
//	UpdateStreamMode(ctx, Scope, UpdateStreamModeInput) error
//	RegisterStreamConsumer(ctx, Scope, RegisterStreamConsumerInput) (*Consumer, error)
//	DescribeStreamConsumer(ctx, Scope, ConsumerRef) (*Consumer, error)
//	ListStreamConsumers(ctx, Scope, ListStreamConsumersInput) (*ListStreamConsumersOutput, error)
//	DeregisterStreamConsumer(ctx, Scope, ConsumerRef) error
//	SubscribeToShard(ctx, Scope, SubscribeToShardInput) (*Subscription, error)
//	EnableEnhancedMonitoring(ctx, Scope, EnhancedMonitoringInput) (*EnhancedMonitoringOutput, error)
//	DisableEnhancedMonitoring(ctx, Scope, EnhancedMonitoringInput) (*EnhancedMonitoringOutput, error)
