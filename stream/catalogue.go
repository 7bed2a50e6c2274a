package stream

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/storage"
)

// The catalogue keeps one small JSON value per stream in the engine's
// MetaStore under streamKey(scope, name). Every change is a
// read-modify-CompareAndSwap retried on ErrConflict, so concurrent requests
// (and, one day, several processes over one engine) never lose an update.
// The engines keep the catalogue in memory; what is cached here is the
// decoded record of each stream, by revision (catalogue_cache.go).

const streamsPrefix = "streams/"

func scopePrefix(scope Scope) string {
	return streamsPrefix + scope.Account + "/" + scope.Region + "/"
}

func streamKey(scope Scope, name string) string { return scopePrefix(scope) + name }

// streamRecord is a stream as the catalogue keeps it.
//
// The status is not stored: it is a function of the timestamps and the
// clock (see status), so no timer has to fire for a stream to become ACTIVE
// and a restart loses nothing.
type streamRecord struct {
	// ID is unique to this creation of the stream (16 random bytes in hex);
	// the shard logs are named after it so that a stream re-created under
	// the same name never sees the old one's logs.
	ID string `json:"id"`
	// Tag is the first 32 bits of ID, carried in every sequence number and
	// iterator so that those of a deleted stream are recognised as foreign.
	Tag     uint32     `json:"tag"`
	Name    string     `json:"name"`
	Account string     `json:"account"`
	Region  string     `json:"region"`
	Mode    StreamMode `json:"mode"`
	Created time.Time  `json:"created"`
	// ActiveAt is when CREATING ends.
	ActiveAt time.Time `json:"activeAt"`
	// UpdatingUntil is when the last asynchronous change ends (zero: none).
	UpdatingUntil time.Time `json:"updatingUntil,omitzero"`
	// DeletingAt is when DeleteStream was called and GoneAt when the stream
	// stops existing (DeletingAt + DeleteDelay); both zero unless deleting.
	// From GoneAt on every operation treats the stream as absent, whether or
	// not the reaper has removed its logs and this entry yet.
	DeletingAt     time.Time         `json:"deletingAt,omitzero"`
	GoneAt         time.Time         `json:"goneAt,omitzero"`
	RetentionHours int               `json:"retentionHours"`
	MaxRecordKiB   int               `json:"maxRecordKiB"`
	Tags           map[string]string `json:"tags,omitempty"`
	// Shards are indexed by their shard index: Shards[i].Index == i.
	Shards []shardRecord `json:"shards"`
	// Pending is a split or merge whose intent is recorded but whose
	// outcome is not yet (see reshard.go); nil when none is under way.
	Pending *pendingReshard `json:"pending,omitempty"`
	// ScalingTo is the target of an UpdateShardCount under way (zero:
	// none); Scalings are the times of the UpdateShardCount calls of the
	// last 24 hours, for AWS's rate rule.
	ScalingTo int         `json:"scalingTo,omitempty"`
	Scalings  []time.Time `json:"scalings,omitempty"`
	// Consumers are the enhanced fan-out consumers, in name order. They
	// live in the stream's entry so that deleting the stream deletes them
	// with it, and a consumer's status, like the stream's, is a function
	// of its timestamps and the clock (see consumerRecord.status).
	Consumers []consumerRecord `json:"consumers,omitempty"`
	// ShardLevelMetrics are the shard-level metrics EnableEnhancedMonitoring
	// turned on, by AWS's names in shardMetricNames' order (monitoring.go).
	ShardLevelMetrics []string `json:"shardLevelMetrics,omitempty"`
	// Server-side encryption (encryption.go): EncryptionType is KMS or
	// empty (NONE); KeyID the KeyId as the client gave it; EncryptionKey
	// the key's UUID, what the shard logs are encrypted under.
	// EncryptionStarts and EncryptionStops are the times of those calls
	// in the last 24 hours, for AWS's limit of 25 each.
	EncryptionType   string      `json:"encryptionType,omitempty"`
	KeyID            string      `json:"keyId,omitempty"`
	EncryptionKey    string      `json:"encryptionKey,omitempty"`
	EncryptionStarts []time.Time `json:"encryptionStarts,omitempty"`
	EncryptionStops  []time.Time `json:"encryptionStops,omitempty"`
	// Policy is the stream's resource policy document as PutResourcePolicy
	// stored it (package api validated it); empty when it has none. It
	// lives in the entry so that deleting the stream deletes it, and a
	// stream re-created under the same name starts with none.
	Policy string `json:"policy,omitempty"`

	// routes finds the open shard of a hash key; only the decoded cache
	// builds it, on records nobody changes (catalogue_cache.go).
	routes *routeTable
}

// shardRecord is one shard. A shard is open until Closed is set; its log is
// sealed before Closed is recorded.
type shardRecord struct {
	Index uint32 `json:"index"`
	// Parents holds the parent and, after a merge, the adjacent parent.
	Parents  []uint32 `json:"parents,omitempty"`
	Children []uint32 `json:"children,omitempty"`
	// StartHash..EndHash is the inclusive hash key range.
	StartHash uint128   `json:"startHash"`
	EndHash   uint128   `json:"endHash"`
	Created   time.Time `json:"created"`
	Closed    time.Time `json:"closed,omitzero"`
	// EndPosition is the last position of the sealed log (zero if empty).
	EndPosition uint64 `json:"endPosition,omitempty"`
}

func (sh *shardRecord) open() bool { return sh.Closed.IsZero() }

func (r *streamRecord) arn() string { return streamARN(r.Region, r.Account, r.Name) }

func streamARN(region, account, name string) string {
	return "arn:aws:kinesis:" + region + ":" + account + ":stream/" + name
}

// status is the stream's status at now, and false once it is gone.
func (r *streamRecord) status(now time.Time) (StreamStatus, bool) {
	switch {
	case !r.GoneAt.IsZero() && !now.Before(r.GoneAt):
		return "", false
	case !r.DeletingAt.IsZero():
		return StatusDeleting, true
	case now.Before(r.ActiveAt):
		return StatusCreating, true
	case now.Before(r.UpdatingUntil) || r.Pending != nil || r.ScalingTo != 0:
		// A reshard under way keeps the stream UPDATING however short
		// UpdateDelay is, so that no other change starts before it ends.
		return StatusUpdating, true
	}
	return StatusActive, true
}

// logName names the log of shard index of the stream with the given id.
func logName(id string, index uint32) string {
	return "kds." + id + "." + strconv.FormatUint(uint64(index), 10)
}

// logStreamID returns the stream id a log name belongs to, or false for
// logs this package did not create.
func logStreamID(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "kds.")
	if !ok {
		return "", false
	}
	id, _, ok := strings.Cut(rest, ".")
	return id, ok
}

func newStreamID() (string, uint32, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", 0, fmt.Errorf("stream id: %w", err)
	}
	return hex.EncodeToString(b[:]), binary.BigEndian.Uint32(b[:4]), nil
}

// entry is a catalogue record with the revision it was read at.
type entry struct {
	rec *streamRecord
	rev uint64
}

func decodeRecord(e storage.MetaEntry) (entry, error) {
	var rec streamRecord
	if err := json.Unmarshal(e.Value, &rec); err != nil {
		return entry{}, fmt.Errorf("catalogue entry %s: %w: %w", e.Key, storage.ErrCorrupt, err)
	}
	return entry{rec: &rec, rev: e.Revision}, nil
}

// getRaw reads a stream's entry whatever its state, or returns
// storage.ErrNotFound. The record is shared: it must not be changed.
func (s *Service) getRaw(ctx context.Context, scope Scope, name string) (entry, error) {
	key := streamKey(scope, name)
	rev, err := s.meta.Revision(ctx, key)
	if err != nil {
		return entry{}, err
	}
	if e, ok := s.decoded.lookup(key, rev); ok {
		return e, nil
	}
	me, err := s.meta.Get(ctx, key)
	if err != nil {
		return entry{}, err
	}
	return s.decoded.decode(me)
}

// get reads a stream that exists now (any status but gone), or returns
// ResourceNotFoundException. The record is shared: it must not be changed.
func (s *Service) get(ctx context.Context, scope Scope, name string) (entry, StreamStatus, error) {
	return s.getWith(ctx, scope, name, s.getRaw)
}

// getPrivate is get with a record of the caller's own, to change.
func (s *Service) getPrivate(ctx context.Context, scope Scope, name string) (entry, StreamStatus, error) {
	return s.getWith(ctx, scope, name, func(ctx context.Context, scope Scope, name string) (entry, error) {
		me, err := s.meta.Get(ctx, streamKey(scope, name))
		if err != nil {
			return entry{}, err
		}
		return decodeRecord(me)
	})
}

func (s *Service) getWith(ctx context.Context, scope Scope, name string, read func(context.Context, Scope, string) (entry, error)) (entry, StreamStatus, error) {
	e, err := read(ctx, scope, name)
	if errors.Is(err, storage.ErrNotFound) {
		return entry{}, "", errStreamNotFound(name, scope.Account)
	}
	if err != nil {
		return entry{}, "", err
	}
	st, ok := e.rec.status(s.now())
	if !ok {
		return entry{}, "", errStreamNotFound(name, scope.Account)
	}
	return e, st, nil
}

func (s *Service) put(ctx context.Context, scope Scope, rec *streamRecord, rev uint64) (uint64, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return 0, fmt.Errorf("encode stream %s: %w", rec.Name, err)
	}
	return s.meta.CompareAndSwap(ctx, streamKey(scope, rec.Name), b, rev)
}

// update applies change to the stream's current record and stores it,
// retrying from a fresh read when another update got there first. change
// sees the status at the time of the read; returning an error abandons the
// update. The stored record is returned.
func (s *Service) update(ctx context.Context, scope Scope, name string, change func(rec *streamRecord, st StreamStatus) error) (*streamRecord, error) {
	for {
		e, st, err := s.getPrivate(ctx, scope, name)
		if err != nil {
			return nil, err
		}
		if err := change(e.rec, st); err != nil {
			return nil, err
		}
		_, err = s.put(ctx, scope, e.rec, e.rev)
		if errors.Is(err, storage.ErrConflict) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("update stream %s: %w", name, err)
		}
		return e.rec, nil
	}
}

// list returns the records of a scope's streams, in name order, including
// those being deleted but not those gone.
func (s *Service) list(ctx context.Context, scope Scope) ([]*streamRecord, error) {
	entries, err := s.meta.List(ctx, scopePrefix(scope))
	if err != nil {
		return nil, fmt.Errorf("list streams: %w", err)
	}
	now := s.now()
	recs := make([]*streamRecord, 0, len(entries))
	for _, me := range entries {
		e, err := s.decoded.decode(me)
		if err != nil {
			return nil, err
		}
		if _, ok := e.rec.status(now); ok {
			recs = append(recs, e.rec)
		}
	}
	return recs, nil
}

// resolve turns a StreamRef into a stream name in scope.
//
// AWS documents that either or both may be given; with both they must name
// the same stream. An ARN of another account or region names a stream this
// caller cannot see, which is reported as not found in that account.
func resolve(scope Scope, ref StreamRef) (string, error) {
	if ref.ARN == "" {
		if ref.Name == "" {
			return "", newError(CodeInvalidArgument, "Either StreamName or StreamARN must be provided.")
		}
		return ref.Name, nil
	}
	region, account, name, ok := parseStreamARN(ref.ARN)
	if !ok {
		return "", newError(CodeInvalidArgument, "StreamARN %s is invalid.", ref.ARN)
	}
	if ref.Name != "" && ref.Name != name {
		return "", newError(CodeInvalidArgument, "StreamARN %s and StreamName %s do not refer to the same stream.", ref.ARN, ref.Name)
	}
	if account != scope.Account || region != scope.Region {
		return "", errStreamNotFound(name, account)
	}
	return name, nil
}

// parseStreamARN splits arn:<partition>:kinesis:<region>:<account>:stream/<name>.
func parseStreamARN(arn string) (region, account, name string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[2] != "kinesis" {
		return "", "", "", false
	}
	name, ok = strings.CutPrefix(parts[5], "stream/")
	if !ok || name == "" || strings.Contains(name, "/") || parts[3] == "" || parts[4] == "" {
		return "", "", "", false
	}
	return parts[3], parts[4], name, true
}
