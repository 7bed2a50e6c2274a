package stream

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/tributary-io/tributary/storage"
)

const (
	// defaultOnDemandShards is how many shards AWS gives a new on-demand
	// stream (4 MB/s of write capacity).
	defaultOnDemandShards = 4
	defaultRetentionHours = 24
	defaultMaxRecordKiB   = 1024
	maxMaxRecordKiB       = 10240
)

// CreateStream creates a stream. It is CREATING for CreateDelay, then
// ACTIVE. The shard logs are created at once, so that the transition to
// ACTIVE is only a matter of the clock.
func (s *Service) CreateStream(ctx context.Context, scope Scope, in CreateStreamInput) error {
	// The wire layer validates names; this guard keeps a name that slipped
	// through from escaping its catalogue key or its iterators.
	if !validStreamName(in.StreamName) {
		return newError(CodeValidation,
			"1 validation error detected: Value '%s' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+", in.StreamName)
	}
	if err := s.throttle.controlCall(scope, opCreateStream, in.StreamName); err != nil {
		return err
	}
	mode := in.StreamMode
	if mode == "" {
		mode = ModeProvisioned
	}
	if mode != ModeProvisioned && mode != ModeOnDemand {
		return newError(CodeInvalidArgument, "StreamMode %s is not supported.", mode)
	}
	var count int
	switch {
	case in.ShardCount != nil:
		count = *in.ShardCount
	case mode == ModeOnDemand:
		count = defaultOnDemandShards
	default:
		return newError(CodeInvalidArgument, "ShardCount must be specified for a stream in PROVISIONED mode.")
	}
	if count < 1 {
		return newError(CodeInvalidArgument, "ShardCount must be at least 1. Requested shard count: %d", count)
	}
	maxKiB := in.MaxRecordSizeInKiB
	if maxKiB == 0 {
		maxKiB = defaultMaxRecordKiB
	}
	if err := checkMaxRecordSize(maxKiB); err != nil {
		return err
	}
	if err := checkTags(in.Tags); err != nil {
		return err
	}
	if err := checkTagsPercent(in.Tags, in.StreamName, scope.Account); err != nil {
		return err
	}
	if len(in.Tags) > maxTags {
		return errTooManyTags(in.StreamName, scope.Account)
	}

	// Invariant: the open shards of the scope's provisioned streams never
	// exceed the shard limit, and on-demand streams never exceed theirs.
	// createMu makes the count and the creation one step.
	s.createMu.Lock()
	defer s.createMu.Unlock()

	key := streamKey(scope, in.StreamName)
	old, err := s.getRaw(ctx, scope, in.StreamName)
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		return internal("create stream", err)
	default:
		if _, exists := old.rec.status(s.now()); exists {
			return errStreamExists(in.StreamName, scope.Account)
		}
		// The old stream's DELETING period is over but the reaper has not
		// removed it yet: finish its deletion now.
		if err := s.finishDeletion(ctx, key, old); err != nil {
			return internal("create stream", err)
		}
	}
	if err := s.checkCreateLimits(ctx, scope, mode, count); err != nil {
		return err
	}

	id, tag, err := newStreamID()
	if err != nil {
		return internal("create stream", err)
	}
	now := s.now()
	rec := &streamRecord{
		ID:             id,
		Tag:            tag,
		Name:           in.StreamName,
		Account:        scope.Account,
		Region:         scope.Region,
		Mode:           mode,
		Created:        now,
		ActiveAt:       now.Add(s.createDelay),
		RetentionHours: defaultRetentionHours,
		MaxRecordKiB:   maxKiB,
		Tags:           maps.Clone(in.Tags),
		Shards:         make([]shardRecord, count),
	}
	for i, r := range splitHashSpace(count) {
		rec.Shards[i] = shardRecord{Index: uint32(i), StartHash: r[0], EndHash: r[1], Created: now}
	}

	// Logs first, catalogue entry second: a crash in between leaves only
	// orphaned logs, which the next start removes; never an entry whose
	// logs are missing.
	opts := storage.LogOptions{Retention: s.retention(rec)}
	for i := range count {
		if _, err := s.engine.CreateLog(ctx, logName(id, uint32(i)), opts); err != nil {
			err = fmt.Errorf("create shard log: %w", err)
			return internal("create stream", errors.Join(err, s.deleteLogs(ctx, id, i)))
		}
	}
	if _, err := s.put(ctx, scope, rec, 0); err != nil {
		cleanup := s.deleteLogs(ctx, id, count)
		if errors.Is(err, storage.ErrConflict) {
			return errStreamExists(in.StreamName, scope.Account)
		}
		return internal("create stream", errors.Join(err, cleanup))
	}
	s.metrics.stream(rec) // its series exist from the start, at zero
	return nil
}

// checkCreateLimits enforces the account's limits for a new stream.
func (s *Service) checkCreateLimits(ctx context.Context, scope Scope, mode StreamMode, count int) error {
	recs, err := s.list(ctx, scope)
	if err != nil {
		return internal("create stream", err)
	}
	u := usage(recs)
	if mode == ModeOnDemand {
		if u.onDemandStreams >= s.onDemandLimit {
			return newError(CodeLimitExceeded,
				"This request would exceed the limit of %d on-demand streams for the account %s in %s.", s.onDemandLimit, scope.Account, scope.Region)
		}
		return nil
	}
	limit := s.shardLimitFor(scope)
	if u.openShards+count > limit {
		return errShardLimit(scope.Account, scope.Region, u.openShards, limit, count)
	}
	return nil
}

// DeleteStream starts deleting a stream: it is DELETING for DeleteDelay and
// then gone; the reaper then deletes its logs and catalogue entry.
// Deleting a stream that is already DELETING succeeds and changes nothing.
func (s *Service) DeleteStream(ctx context.Context, scope Scope, in DeleteStreamInput) error {
	name, err := resolve(scope, in.Stream)
	if err != nil {
		return err
	}
	if err := s.throttle.controlCall(scope, opDeleteStream, name); err != nil {
		return err
	}
	rec, err := s.update(ctx, scope, name, func(rec *streamRecord, st StreamStatus) error {
		// A stream still CREATING is deleted like an ACTIVE one, as AWS
		// does (issue 11): it goes to DELETING at once.
		if st == StatusDeleting {
			return errNoChange
		}
		now := s.now()
		if !in.EnforceConsumerDeletion && rec.liveConsumers(s.clock()) > 0 {
			return errStreamHasConsumers(name, scope.Account)
		}
		rec.DeletingAt = now
		rec.GoneAt = now.Add(s.deleteDelay)
		return nil
	})
	if errors.Is(err, errNoChange) {
		return nil
	}
	if err != nil {
		return internal("delete stream", err)
	}
	// Wake the reaper when the stream is due to go, so that its logs do not
	// outlive it by more than a moment.
	s.nudge(rec.GoneAt.Sub(s.now()))
	// The stream's subscriptions end now: its consumers go with it; and
	// so do its series.
	s.subs.endStream(rec.arn(), errStreamNotFound(name, scope.Account))
	s.metrics.forget(rec.ID)
	return nil
}

// errNoChange abandons an update that has nothing to do.
var errNoChange = errors.New("no change")

const (
	defaultDescribeShards = 100
	maxDescribeShards     = 100
)

// DescribeStream describes a stream and a page of its shards. While a
// stream is CREATING its shard list is empty, as in AWS.
func (s *Service) DescribeStream(ctx context.Context, scope Scope, in DescribeStreamInput) (*StreamDescription, error) {
	name, err := resolve(scope, in.Stream)
	if err != nil {
		return nil, err
	}
	if err := s.throttle.controlCall(scope, opDescribeStream, name); err != nil {
		return nil, err
	}
	e, st, err := s.get(ctx, scope, name)
	if err != nil {
		return nil, internal("describe stream", err)
	}
	rec := e.rec
	out := &StreamDescription{
		StreamName:              rec.Name,
		StreamARN:               rec.arn(),
		StreamStatus:            st,
		StreamMode:              rec.Mode,
		StreamCreationTimestamp: rec.Created,
		RetentionPeriodHours:    rec.RetentionHours,
		Shards:                  []Shard{},
		EncryptionType:          rec.encryptionType(),
		KeyID:                   rec.KeyID,
		ShardLevelMetrics:       metricSetOf(rec.ShardLevelMetrics).names(),
	}
	if st == StatusCreating {
		return out, nil
	}
	limit := in.Limit
	if limit <= 0 {
		limit = defaultDescribeShards
	}
	limit = min(limit, maxDescribeShards)
	for i := range rec.Shards {
		sh := &rec.Shards[i]
		if !afterShardID(sh.Index, in.ExclusiveStartShardID) {
			continue
		}
		if len(out.Shards) == limit {
			out.HasMoreShards = true
			break
		}
		out.Shards = append(out.Shards, describeShard(rec, sh))
	}
	return out, nil
}

// DescribeStreamSummary describes a stream without its shards.
func (s *Service) DescribeStreamSummary(ctx context.Context, scope Scope, ref StreamRef) (*StreamDescriptionSummary, error) {
	name, err := resolve(scope, ref)
	if err != nil {
		return nil, err
	}
	if err := s.throttle.controlCall(scope, opDescribeStreamSummary, name); err != nil {
		return nil, err
	}
	e, st, err := s.get(ctx, scope, name)
	if err != nil {
		return nil, internal("describe stream summary", err)
	}
	rec := e.rec
	open := 0
	if st != StatusCreating {
		open = rec.openShards()
	}
	return &StreamDescriptionSummary{
		StreamName:              rec.Name,
		StreamARN:               rec.arn(),
		StreamStatus:            st,
		StreamMode:              rec.Mode,
		StreamCreationTimestamp: rec.Created,
		RetentionPeriodHours:    rec.RetentionHours,
		OpenShardCount:          open,
		ConsumerCount:           rec.liveConsumers(s.clock()),
		MaxRecordSizeInKiB:      rec.MaxRecordKiB,
		EncryptionType:          rec.encryptionType(),
		KeyID:                   rec.KeyID,
		ShardLevelMetrics:       metricSetOf(rec.ShardLevelMetrics).names(),
	}, nil
}

func (r *streamRecord) openShards() int {
	n := 0
	for i := range r.Shards {
		if r.Shards[i].open() {
			n++
		}
	}
	return n
}

const (
	defaultListStreams = 100
	maxListStreams     = 100
)

// ListStreams lists the scope's streams in name order. NextToken, when
// given, continues a previous listing (and ExclusiveStartStreamName is then
// ignored); otherwise the listing starts after ExclusiveStartStreamName.
func (s *Service) ListStreams(ctx context.Context, scope Scope, in ListStreamsInput) (*ListStreamsOutput, error) {
	if err := s.throttle.controlCall(scope, opListStreams, ""); err != nil {
		return nil, err
	}
	after := in.ExclusiveStartStreamName
	if in.NextToken != "" {
		tok, err := s.openToken(scope, in.NextToken, tokenListStreams)
		if err != nil {
			return nil, err
		}
		after = tok.Stream
	}
	limit := in.Limit
	if limit <= 0 {
		limit = defaultListStreams
	}
	limit = min(limit, maxListStreams)

	recs, err := s.list(ctx, scope)
	if err != nil {
		return nil, internal("list streams", err)
	}
	now := s.now()
	out := &ListStreamsOutput{StreamNames: []string{}, StreamSummaries: []StreamSummary{}}
	for _, rec := range recs {
		if rec.Name <= after {
			continue
		}
		if len(out.StreamNames) == limit {
			out.HasMoreStreams = true
			tok, err := s.sealToken(scope, token{Kind: tokenListStreams, Stream: out.StreamNames[limit-1]})
			if err != nil {
				return nil, err
			}
			out.NextToken = tok
			break
		}
		st, _ := rec.status(now)
		out.StreamNames = append(out.StreamNames, rec.Name)
		out.StreamSummaries = append(out.StreamSummaries, StreamSummary{
			StreamName:              rec.Name,
			StreamARN:               rec.arn(),
			StreamStatus:            st,
			StreamMode:              rec.Mode,
			StreamCreationTimestamp: rec.Created,
		})
	}
	return out, nil
}

// validStreamName reports whether name is 1 to 128 of [a-zA-Z0-9_.-].
func validStreamName(name string) bool {
	if len(name) == 0 || len(name) > maxStreamName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// StreamStatus is a stream's state.
type StreamStatus string

const (
	StatusCreating StreamStatus = "CREATING"
	StatusDeleting StreamStatus = "DELETING"
	StatusActive   StreamStatus = "ACTIVE"
	StatusUpdating StreamStatus = "UPDATING"
)

// StreamMode is a stream's capacity mode.
type StreamMode string

const (
	ModeProvisioned StreamMode = "PROVISIONED"
	ModeOnDemand    StreamMode = "ON_DEMAND"
)

// EncryptionNone is the encryption type of a stream that is not encrypted;
// outputs carry it so the wire layer can echo AWS's "EncryptionType":"NONE".
const EncryptionNone = "NONE"

// CreateStreamInput is CreateStream's request.
type CreateStreamInput struct {
	StreamName string
	// ShardCount is required for PROVISIONED streams; for ON_DEMAND streams
	// nil means AWS's default of 4 shards.
	ShardCount *int
	// StreamMode is PROVISIONED when empty.
	StreamMode StreamMode
	// MaxRecordSizeInKiB is 1024 (1 MiB) when zero; at most 10240.
	MaxRecordSizeInKiB int
	Tags               map[string]string
}

// DeleteStreamInput is DeleteStream's request. A stream with registered
// consumers is only deleted with EnforceConsumerDeletion, which deletes the
// consumers too.
type DeleteStreamInput struct {
	Stream                  StreamRef
	EnforceConsumerDeletion bool
}

// DescribeStreamInput is DescribeStream's request. Limit is 100 when zero
// and at most 100 shards are returned whatever Limit says.
type DescribeStreamInput struct {
	Stream                StreamRef
	Limit                 int
	ExclusiveStartShardID string
}

// StreamDescription is DescribeStream's result. ShardLevelMetrics is the
// enhanced monitoring setting; the wire layer encodes it as
// "EnhancedMonitoring":[{"ShardLevelMetrics":[...]}].
type StreamDescription struct {
	StreamName              string
	StreamARN               string
	StreamStatus            StreamStatus
	StreamMode              StreamMode
	StreamCreationTimestamp time.Time
	RetentionPeriodHours    int
	Shards                  []Shard
	HasMoreShards           bool
	EncryptionType          string
	KeyID                   string // empty unless EncryptionType is KMS
	ShardLevelMetrics       []string
}

// StreamDescriptionSummary is DescribeStreamSummary's result.
type StreamDescriptionSummary struct {
	StreamName              string
	StreamARN               string
	StreamStatus            StreamStatus
	StreamMode              StreamMode
	StreamCreationTimestamp time.Time
	RetentionPeriodHours    int
	OpenShardCount          int
	ConsumerCount           int
	MaxRecordSizeInKiB      int
	EncryptionType          string
	KeyID                   string // empty unless EncryptionType is KMS
	ShardLevelMetrics       []string
}

// ListStreamsInput is ListStreams' request. Limit is 100 when zero and at
// most 100 streams are returned. NextToken, when set, continues a previous
// listing and takes precedence over ExclusiveStartStreamName.
type ListStreamsInput struct {
	Limit                    int
	ExclusiveStartStreamName string
	NextToken                string
}

// StreamSummary is one stream in ListStreams' result.
type StreamSummary struct {
	StreamName              string
	StreamARN               string
	StreamStatus            StreamStatus
	StreamMode              StreamMode
	StreamCreationTimestamp time.Time
}

// ListStreamsOutput is ListStreams' result. NextToken is empty when
// HasMoreStreams is false.
type ListStreamsOutput struct {
	StreamNames     []string
	StreamSummaries []StreamSummary
	HasMoreStreams  bool
	NextToken       string
}
