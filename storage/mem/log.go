package mem

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
	"unsafe"

	"github.com/tributary-io/tributary/storage"
)

// recordOverhead approximates what a record costs beyond its keys and data,
// for LogInfo.Bytes.
const recordOverhead = int64(unsafe.Sizeof(storage.StoredRecord{}))

type shardLog struct {
	name    string
	created time.Time
	now     func() time.Time
	gap     uint64

	mu sync.Mutex
	// gone is nil while the log is usable, then ErrNotFound once it is
	// deleted or ErrClosed once its engine is closed. It never returns to
	// nil, so every method checks it first.
	gone      error
	retention time.Duration
	// encKey is the log's encryption setting: kept, reported and marked
	// on records, but memory is not at rest, so nothing is encrypted.
	encKey string
	// recs are the records retention has not dropped, in position order.
	// Arrival times never decrease along recs (Append clamps them), so recs
	// are in arrival order too: that is what lets reads by time and expiry
	// binary-search instead of scanning.
	recs  []storage.StoredRecord
	bytes int64 // footprint of recs
	// lastPos and lastArrival describe the newest record ever appended; they
	// outlive the record itself so that positions and arrival times never go
	// back after everything expired.
	lastPos     uint64
	lastArrival int64
	sealed      bool
	sealedAt    uint64
	// changed is closed, and set to nil, on every append, seal, delete or
	// close, to wake waiters. It is nil while nobody waits, so appends do
	// not allocate a channel each.
	changed chan struct{}
}

var _ storage.ShardLog = (*shardLog)(nil)

func (l *shardLog) Name() string { return l.name }

func (l *shardLog) Append(ctx context.Context, batch []storage.Record) ([]storage.Appended, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("mem: append to %q: %w", l.name, err)
	}
	if err := storage.ValidateBatch(batch); err != nil {
		return nil, fmt.Errorf("mem: append to %q: %w", l.name, err)
	}
	// Copy before taking the lock: copying up to MaxRecordData per record
	// need not hold up other appenders and readers. The copy also means a
	// caller reusing its buffers cannot change stored records.
	recs := make([]storage.StoredRecord, len(batch))
	for i, r := range batch {
		recs[i].Record = storage.Record{Key: r.Key, Data: bytes.Clone(r.Data)}
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gone != nil {
		return nil, fmt.Errorf("mem: append to %q: %w", l.name, l.gone)
	}
	// Checked under the lock Seal takes, so that no append can land after
	// Seal has read the last position.
	if l.sealed {
		return nil, fmt.Errorf("mem: append to %q: %w", l.name, storage.ErrSealed)
	}
	if len(recs) == 0 {
		return []storage.Appended{}, nil
	}
	now := l.now().UnixMilli()
	l.expire(now)
	// A clock that steps back must not make arrival times decrease.
	arrival := max(now, l.lastArrival)
	out := make([]storage.Appended, len(recs))
	pos := l.lastPos + l.gap
	for i := range recs {
		pos++
		recs[i].Position = pos
		recs[i].ArrivalTime = arrival
		recs[i].Encrypted = l.encKey != ""
		out[i] = storage.Appended{Position: pos, ArrivalTime: arrival}
		l.bytes += footprint(&recs[i])
	}
	l.recs = append(l.recs, recs...)
	l.lastPos = pos
	l.lastArrival = arrival
	l.wake()
	return out, nil
}

func (l *shardLog) Read(ctx context.Context, start storage.Start, limits storage.ReadLimits) (storage.ReadResult, error) {
	if err := ctx.Err(); err != nil {
		return storage.ReadResult{}, fmt.Errorf("mem: read %q: %w", l.name, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gone != nil {
		return storage.ReadResult{}, fmt.Errorf("mem: read %q: %w", l.name, l.gone)
	}
	l.expire(l.now().UnixMilli())

	var i int
	switch start.Kind {
	case storage.FromOldest:
		i = 0
	case storage.FromPosition:
		i = sort.Search(len(l.recs), func(j int) bool { return l.recs[j].Position >= start.Position })
	case storage.FromTime:
		i = sort.Search(len(l.recs), func(j int) bool { return l.recs[j].ArrivalTime >= start.Time })
	case storage.FromLatest:
		i = len(l.recs)
	default:
		return storage.ReadResult{}, fmt.Errorf("mem: read %q: unknown start kind %d", l.name, start.Kind)
	}

	maxRecords := max(limits.MaxRecords, 1)
	j, size := i, 0
	for j < len(l.recs) && j-i < maxRecords {
		n := len(l.recs[j].Data) + len(l.recs[j].Key)
		// The first record goes out whatever its size, so that a reader
		// always makes progress.
		if limits.MaxBytes > 0 && j > i && size+n > limits.MaxBytes {
			break
		}
		size += n
		j++
	}

	res := storage.ReadResult{
		LastPosition: l.lastPos,
		LastArrival:  l.lastArrival,
		Sealed:       l.sealed && j == len(l.recs),
	}
	if j > i {
		res.Records = make([]storage.StoredRecord, j-i)
		for k := range res.Records {
			res.Records[k] = l.recs[i+k]
			res.Records[k].Data = bytes.Clone(l.recs[i+k].Data)
		}
		res.Next = l.recs[j-1].Position + 1
	} else {
		// Every later record lands past lastPos, whatever the start asked
		// for, so this Next never skips one.
		res.Next = l.lastPos + 1
	}
	return res, nil
}

func (l *shardLog) Wait(ctx context.Context, p uint64) error {
	for {
		changed, err := l.waitState(p)
		if err != nil || changed == nil {
			return err
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("mem: wait on %q: %w", l.name, ctx.Err())
		}
	}
}

// waitState returns nil, nil when the log holds a record at or after p, an
// error when the wait is over without one, and otherwise the channel that
// is closed on the next change.
func (l *shardLog) waitState(p uint64) (<-chan struct{}, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gone != nil {
		return nil, fmt.Errorf("mem: wait on %q: %w", l.name, l.gone)
	}
	l.expire(l.now().UnixMilli())
	if n := len(l.recs); n > 0 && l.recs[n-1].Position >= p {
		return nil, nil
	}
	if l.sealed {
		return nil, fmt.Errorf("mem: wait on %q for position %d: %w", l.name, p, storage.ErrSealed)
	}
	if l.changed == nil {
		l.changed = make(chan struct{})
	}
	return l.changed, nil
}

func (l *shardLog) Seal(ctx context.Context) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gone != nil {
		return 0, fmt.Errorf("mem: seal %q: %w", l.name, l.gone)
	}
	if !l.sealed {
		l.sealed = true
		l.sealedAt = l.lastPos
		l.wake()
	}
	return l.sealedAt, nil
}

func (l *shardLog) Info(ctx context.Context) (storage.LogInfo, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gone != nil {
		return storage.LogInfo{}, fmt.Errorf("mem: info on %q: %w", l.name, l.gone)
	}
	l.expire(l.now().UnixMilli())
	info := storage.LogInfo{
		Name:          l.name,
		Created:       l.created,
		Retention:     l.retention,
		LastArrival:   l.lastArrival,
		Sealed:        l.sealed,
		SealedAt:      l.sealedAt,
		Bytes:         l.bytes,
		EncryptionKey: l.encKey,
	}
	if n := len(l.recs); n > 0 {
		info.FirstPosition = l.recs[0].Position
		info.LastPosition = l.recs[n-1].Position
	}
	return info, nil
}

func (l *shardLog) SetRetention(ctx context.Context, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("mem: set retention of %q: negative retention %v", l.name, d)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gone != nil {
		return fmt.Errorf("mem: set retention of %q: %w", l.name, l.gone)
	}
	l.retention = d
	l.expire(l.now().UnixMilli())
	return nil
}

// expire drops the records that retention no longer keeps at nowMs. Records
// are dropped rather than hidden, so that raising the retention later does
// not bring back records that were already unreadable. l.mu must be held.
func (l *shardLog) expire(nowMs int64) {
	if l.retention <= 0 || len(l.recs) == 0 {
		return
	}
	cutoff := nowMs - l.retention.Milliseconds()
	k := sort.Search(len(l.recs), func(i int) bool { return l.recs[i].ArrivalTime >= cutoff })
	if k == 0 {
		return
	}
	for i := range l.recs[:k] {
		l.bytes -= footprint(&l.recs[i])
	}
	// Zero the dropped records so that their data can be collected even
	// though the backing array lives on until the next append grows it.
	clear(l.recs[:k])
	l.recs = l.recs[k:]
	if len(l.recs) == 0 {
		l.recs = nil
	}
}

// retire makes every later call fail with err and wakes the waiters.
func (l *shardLog) retire(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gone == nil {
		l.gone = err
	}
	l.recs = nil
	l.bytes = 0
	l.wake()
}

// wake releases the current waiters. l.mu must be held.
func (l *shardLog) wake() {
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
}

func footprint(r *storage.StoredRecord) int64 {
	return int64(len(r.Data)+len(r.Key)) + recordOverhead
}

// SetEncryption implements storage.ShardLog: the setting is kept and
// reported, and records appended under it are marked Encrypted, but a
// memory engine holds nothing at rest, so nothing is encrypted.
func (l *shardLog) SetEncryption(ctx context.Context, keyID string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gone != nil {
		return fmt.Errorf("mem: set encryption of %q: %w", l.name, l.gone)
	}
	l.encKey = keyID
	return nil
}
