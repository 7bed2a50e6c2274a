package stream

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/tributary-io/tributary/storage"
)

// A shard iterator is base64 (standard encoding, like AWS's) of
//
//	offset  size
//	0       8     00 00 00 00 00 00 00 01, the first eight bytes of AWS's
//	8       1     layout version (iteratorVersion)
//	9       8     issued, Unix milliseconds, big-endian
//	17      4     tag, the stream's tag
//	21      4     shard, the shard index
//	25      1     kind, a storage.StartKind
//	26      8     value, the position (FromPosition) or time (FromTime)
//	34      1     namelen, and the stream name (at most 128 bytes)
//	35+n    ...   zeros up to the MAC
//	end-16  16    HMAC-SHA256 over account, region and all of the above
//
// and 152 + 16*floor((namelen+2)/16) bytes long in all, the length AWS's
// iterators have for a stream name of that length, so that tools which
// check the shape of an iterator accept ours. (AWS's body looks
// encrypted; what it holds is not documented.)
//
// The start is kept the way the storage engine understands it, so a read
// resolves it without any lookup. The MAC covers the scope so that an
// iterator is only good in the account and region that issued it, and the
// padding so that no byte of an iterator can be changed unnoticed; the
// issue time makes it expire after five minutes. The longest iterator is
// 280 bytes, 376 characters: within the 512 AWS allows.
//
// Iterators of the layout before (version 1: the version byte first, no
// prefix, no padding) are still read, so that those issued just before an
// upgrade stay good for their five minutes.

const (
	iteratorVersion         = 2
	iteratorMACLen          = 16
	iteratorHeaderLen       = 35
	defaultIteratorLifetime = 5 * time.Minute
	maxStreamName           = 128

	iteratorV1         = 1
	iteratorV1FixedLen = 1 + 8 + 4 + 4 + 1 + 8 + 1
)

// iteratorPrefix is how every AWS shard iterator starts.
var iteratorPrefix = [8]byte{0, 0, 0, 0, 0, 0, 0, 1}

// iteratorLen is the length of an iterator for a stream name of n bytes.
func iteratorLen(n int) int { return 152 + 16*((n+2)/16) }

// iterator is a decoded shard iterator.
type iterator struct {
	issued time.Time
	tag    uint32
	shard  uint32
	start  storage.Start
	stream string
}

// scopedMAC signs body for one account and region, so that an iterator or
// token issued to one scope is refused in another. Iterators and tokens use
// different keys derived from one secret (see Service.iterKey), which keeps
// one kind from passing for the other.
func scopedMAC(key []byte, scope Scope, body []byte, n int) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(scope.Account))
	m.Write([]byte{0})
	m.Write([]byte(scope.Region))
	m.Write([]byte{0})
	m.Write(body)
	return m.Sum(nil)[:n]
}

// encodeIterator signs and encodes it. Stream names are at most 128 bytes
// (the wire layer's check), which the one-byte length relies on.
func encodeIterator(key []byte, scope Scope, it iterator) string {
	b := make([]byte, iteratorLen(len(it.stream)))
	copy(b, iteratorPrefix[:])
	b[8] = iteratorVersion
	binary.BigEndian.PutUint64(b[9:], uint64(it.issued.UnixMilli()))
	binary.BigEndian.PutUint32(b[17:], it.tag)
	binary.BigEndian.PutUint32(b[21:], it.shard)
	b[25] = byte(it.start.Kind)
	binary.BigEndian.PutUint64(b[26:], startValue(it.start))
	b[34] = byte(len(it.stream))
	copy(b[iteratorHeaderLen:], it.stream)
	body := b[:len(b)-iteratorMACLen]
	copy(b[len(body):], scopedMAC(key, scope, body, iteratorMACLen))
	return base64.StdEncoding.EncodeToString(b)
}

func startValue(start storage.Start) uint64 {
	if start.Kind == storage.FromTime {
		return uint64(start.Time)
	}
	return start.Position
}

// decodeIterator checks and decodes an iterator. Anything that is not an
// iterator this service issued to this scope is "Invalid ShardIterator.";
// one issued more than five minutes before now has expired.
func decodeIterator(key []byte, scope Scope, text string, now time.Time, lifetime time.Duration) (iterator, error) {
	b, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return iterator{}, errInvalidIterator()
	}
	var it iterator
	var kind, value []byte
	switch {
	case len(b) > iteratorHeaderLen && [8]byte(b[:8]) == iteratorPrefix && b[8] == iteratorVersion:
		n := int(b[34])
		if n == 0 || n > maxStreamName || len(b) != iteratorLen(n) {
			return iterator{}, errInvalidIterator()
		}
		body, mac := b[:len(b)-iteratorMACLen], b[len(b)-iteratorMACLen:]
		if !hmac.Equal(mac, scopedMAC(key, scope, body, iteratorMACLen)) {
			return iterator{}, errInvalidIterator()
		}
		it = iterator{
			issued: time.UnixMilli(int64(binary.BigEndian.Uint64(b[9:]))),
			tag:    binary.BigEndian.Uint32(b[17:]),
			shard:  binary.BigEndian.Uint32(b[21:]),
			stream: string(b[iteratorHeaderLen : iteratorHeaderLen+n]),
		}
		kind, value = b[25:26], b[26:34]
	case len(b) >= iteratorV1FixedLen+iteratorMACLen && b[0] == iteratorV1:
		n := int(b[26])
		if n == 0 || n > maxStreamName || len(b) != iteratorV1FixedLen+n+iteratorMACLen {
			return iterator{}, errInvalidIterator()
		}
		body, mac := b[:iteratorV1FixedLen+n], b[iteratorV1FixedLen+n:]
		if !hmac.Equal(mac, scopedMAC(key, scope, body, iteratorMACLen)) {
			return iterator{}, errInvalidIterator()
		}
		it = iterator{
			issued: time.UnixMilli(int64(binary.BigEndian.Uint64(b[1:]))),
			tag:    binary.BigEndian.Uint32(b[9:]),
			shard:  binary.BigEndian.Uint32(b[13:]),
			stream: string(b[iteratorV1FixedLen : iteratorV1FixedLen+n]),
		}
		kind, value = b[17:18], b[18:26]
	default:
		return iterator{}, errInvalidIterator()
	}
	v := binary.BigEndian.Uint64(value)
	switch storage.StartKind(kind[0]) {
	case storage.FromOldest:
		it.start = storage.Oldest()
	case storage.FromPosition:
		it.start = storage.At(v)
	case storage.FromTime:
		it.start = storage.AtTime(int64(v))
	default:
		// FromLatest is resolved to a position before an iterator is made.
		return iterator{}, errInvalidIterator()
	}
	if now.Sub(it.issued) > lifetime {
		return iterator{}, errIteratorExpired(it.issued, now, lifetime)
	}
	return it, nil
}

// GetShardIterator returns an iterator for a shard of an ACTIVE or UPDATING
// stream.
//
// TRIM_HORIZON is resolved when the iterator is read, so it always starts
// at the oldest record retention has kept. LATEST is resolved now, to the
// position after the newest record, so records put after this call are
// returned. AT_TIMESTAMP starts at the first record that arrived at or
// after the timestamp; a timestamp in the future is refused, as AWS does.
func (s *Service) GetShardIterator(ctx context.Context, scope Scope, in GetShardIteratorInput) (*GetShardIteratorOutput, error) {
	name, err := resolve(scope, in.Stream)
	if err != nil {
		return nil, err
	}
	index, ok := parseShardID(in.ShardID)
	if !ok {
		return nil, errBadShardID(in.ShardID, name, scope.Account)
	}
	id := shardID(index)
	e, st, err := s.get(ctx, scope, name)
	var nf *Error
	if err != nil {
		if errors.As(err, &nf) && nf.Code == CodeNotFound {
			return nil, errShardNotFound(id, name, scope.Account)
		}
		return nil, internal("get shard iterator", err)
	}
	rec := e.rec
	if st == StatusCreating || st == StatusDeleting || int(index) >= len(rec.Shards) {
		return nil, errShardNotFound(id, name, scope.Account)
	}
	// The arguments are checked before the rate: AWS answers a request it
	// rejects as invalid (a malformed or foreign sequence number,
	// AT_TIMESTAMP without a timestamp or with one in the future) with
	// InvalidArgumentException however fast it comes, and throttles only
	// requests it would serve. AWS: 5 calls per second per open shard,
	// refused with the shard's ProvisionedThroughputExceededException. A
	// dry run is not counted there but against the stream's dry-run rate.
	now := s.now()
	start, latest, err := parseStart(scope, rec, index, in.ShardIteratorType, in.StartingSequenceNumber, in.Timestamp, now)
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		if err := s.throttle.dryRun(scope, name); err != nil {
			return nil, err
		}
	} else if !s.throttle.iterator(scope, rec, index) {
		return nil, errShardRate(id, name, scope.Account)
	}
	if in.DryRun {
		return nil, errDryRun()
	}
	if latest {
		if start, err = s.latestStart(ctx, rec, index); err != nil {
			return nil, err
		}
	}
	it := iterator{issued: now, tag: rec.Tag, shard: index, start: start, stream: name}
	return &GetShardIteratorOutput{ShardIterator: encodeIterator(s.iterKey, scope, it)}, nil
}

// startOf resolves where a read of shard index of rec starts, for
// GetShardIterator's iterator types and SubscribeToShard's starting
// positions (the same five types, checked the same way).
func (s *Service) startOf(ctx context.Context, scope Scope, rec *streamRecord, index uint32, typ ShardIteratorType, seqText string, ts *time.Time, now time.Time) (storage.Start, error) {
	start, latest, err := parseStart(scope, rec, index, typ, seqText, ts, now)
	if err != nil || !latest {
		return start, err
	}
	return s.latestStart(ctx, rec, index)
}

// latestStart is the position after the last record of the shard's log.
func (s *Service) latestStart(ctx context.Context, rec *streamRecord, index uint32) (storage.Start, error) {
	l, err := s.shardLog(ctx, rec, index)
	if err != nil {
		return storage.Start{}, internal("get shard iterator", err)
	}
	res, err := l.Read(ctx, storage.Latest(), storage.ReadLimits{MaxRecords: 1})
	if err != nil {
		return storage.Start{}, internal("get shard iterator", err)
	}
	return storage.At(res.Next), nil
}

// parseStart checks a starting position's arguments, which needs no
// storage, and returns where it starts, or latest when that is the tip of
// the log, which only a read can tell.
func parseStart(scope Scope, rec *streamRecord, index uint32, typ ShardIteratorType, seqText string, ts *time.Time, now time.Time) (start storage.Start, latest bool, err error) {
	name, id := rec.Name, shardID(index)
	switch typ {
	case TrimHorizon, Latest:
		if seqText != "" {
			return storage.Start{}, false, errIteratorArgs(typ, true)
		}
		if typ == TrimHorizon {
			return storage.Oldest(), false, nil
		}
		return storage.Start{}, true, nil
	case AtSequenceNumber, AfterSequenceNumber:
		if seqText == "" {
			return storage.Start{}, false, errIteratorArgs(typ, false)
		}
		seq, err := parseSeqNum(seqText)
		if err != nil {
			return storage.Start{}, false, errSeqInvalid(seqText, id, name, scope.Account)
		}
		if seq.shard != int64(index) {
			return storage.Start{}, false, errSeqOtherShard(shardName(seq.shard), id)
		}
		if !rec.shardSeq(index).matches(seq, rec.Tag) {
			// AWS fails a version 0 number of the right shard but another
			// stream (or "0") with InternalFailure, and any other with
			// InvalidArgumentException.
			if seq.version == seqV0 {
				return storage.Start{}, false, newError(CodeInternalFailure, "")
			}
			return storage.Start{}, false, errSeqOtherStream(seqText, id, name, scope.Account)
		}
		start = storage.At(seq.position)
		if typ == AfterSequenceNumber && seq.position < math.MaxUint64 {
			start = storage.After(seq.position)
		}
	case AtTimestamp:
		if ts == nil {
			return storage.Start{}, false, errNoTimestamp()
		}
		ts := ts.UnixMilli()
		if ts > now.UnixMilli() {
			return storage.Start{}, false, errFutureTimestamp(ts, now.UnixMilli())
		}
		start = storage.AtTime(ts)
	default:
		// The wire layer checks the enum; this is AWS's answer for the rest.
		return storage.Start{}, false, errIteratorArgs(typ, seqText != "")
	}
	return start, false, nil
}

// ShardIteratorType says where a shard iterator starts.
type ShardIteratorType string

const (
	AtSequenceNumber    ShardIteratorType = "AT_SEQUENCE_NUMBER"
	AfterSequenceNumber ShardIteratorType = "AFTER_SEQUENCE_NUMBER"
	TrimHorizon         ShardIteratorType = "TRIM_HORIZON"
	Latest              ShardIteratorType = "LATEST"
	AtTimestamp         ShardIteratorType = "AT_TIMESTAMP"
)

// GetShardIteratorInput is GetShardIterator's request.
// StartingSequenceNumber is empty and Timestamp nil when absent.
type GetShardIteratorInput struct {
	Stream                 StreamRef
	ShardID                string
	ShardIteratorType      ShardIteratorType
	StartingSequenceNumber string
	Timestamp              *time.Time
	DryRun                 bool
}

// GetShardIteratorOutput is GetShardIterator's result.
type GetShardIteratorOutput struct {
	ShardIterator string
}
