// Package discard is a storage.Engine that throws record data away. It loses
// every record by design and exists only for benchmarks: it measures how
// fast the protocol stack above storage (HTTP, codecs, validation, the
// stream layer) can go when storage costs nothing, the upper bound that a
// real engine's figures are compared against. Never use it to keep data.
//
// What it does keep is everything that costs no record memory: the
// catalogue, which it delegates to an in-memory storage/mem engine so that
// streams, shards and consumers work as usual, and per log the last
// position and arrival time, the retention and the seal. Append assigns
// increasing positions and arrival times and returns at once; Read always
// returns no records, with Next past the last position, so a reader sees a
// log that is always caught up; Wait blocks until its context ends, since
// no record will ever be there to wake it for.
//
// Because records vanish, the engine does not pass the conformance suite in
// storage/storagetest and must not be offered where data is expected.
package discard

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/tributary-io/tributary/storage"
	"github.com/tributary-io/tributary/storage/mem"
)

// Engine is a storage.Engine that keeps the catalogue and discards records.
// All methods are safe for concurrent use.
type Engine struct {
	now func() time.Time
	// meta is the engine whose MetaStore serves as the catalogue; only its
	// catalogue is used, never its logs.
	meta *mem.Engine

	// mu guards closed and logs. Lock order: Engine.mu before shardLog.mu.
	mu     sync.Mutex
	closed bool
	logs   map[string]*shardLog
}

var _ storage.Engine = (*Engine)(nil)

// New returns an empty engine whose clock is now, or time.Now if now is nil.
func New(now func() time.Time) *Engine {
	if now == nil {
		now = time.Now
	}
	return &Engine{
		now:  now,
		meta: mem.New(mem.Options{Now: now}),
		logs: make(map[string]*shardLog),
	}
}

// CreateLog implements storage.Engine.
func (e *Engine) CreateLog(ctx context.Context, name string, opts storage.LogOptions) (storage.ShardLog, error) {
	if !storage.ValidLogName(name) {
		return nil, fmt.Errorf("discard: create log: invalid name %q", name)
	}
	if opts.Retention < 0 {
		return nil, fmt.Errorf("discard: create log %q: negative retention %v", name, opts.Retention)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, fmt.Errorf("discard: create log %q: %w", name, storage.ErrClosed)
	}
	if _, ok := e.logs[name]; ok {
		return nil, fmt.Errorf("discard: create log %q: %w", name, storage.ErrExists)
	}
	l := &shardLog{
		name:      name,
		created:   e.now(),
		now:       e.now,
		retention: opts.Retention,
		encKey:    opts.EncryptionKey,
		changed:   make(chan struct{}),
	}
	e.logs[name] = l
	return l, nil
}

// Log implements storage.Engine.
func (e *Engine) Log(ctx context.Context, name string) (storage.ShardLog, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, fmt.Errorf("discard: log %q: %w", name, storage.ErrClosed)
	}
	l, ok := e.logs[name]
	if !ok {
		return nil, fmt.Errorf("discard: log %q: %w", name, storage.ErrNotFound)
	}
	return l, nil
}

// ListLogs implements storage.Engine.
func (e *Engine) ListLogs(ctx context.Context) ([]string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, fmt.Errorf("discard: list logs: %w", storage.ErrClosed)
	}
	return slices.Sorted(maps.Keys(e.logs)), nil
}

// DeleteLog implements storage.Engine.
func (e *Engine) DeleteLog(ctx context.Context, name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return fmt.Errorf("discard: delete log %q: %w", name, storage.ErrClosed)
	}
	l, ok := e.logs[name]
	if !ok {
		return fmt.Errorf("discard: delete log %q: %w", name, storage.ErrNotFound)
	}
	delete(e.logs, name)
	// Handles to the deleted log keep pointing at l, so they fail from now
	// on even if a log of the same name is created later.
	l.retire(storage.ErrNotFound)
	return nil
}

// Meta implements storage.Engine.
func (e *Engine) Meta() storage.MetaStore { return e.meta.Meta() }

// Close implements storage.Engine. It wakes every waiter with ErrClosed.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	for _, l := range e.logs {
		l.retire(storage.ErrClosed)
	}
	e.logs = nil
	return e.meta.Close()
}

// shardLog is a log's bookkeeping without its records.
type shardLog struct {
	name    string
	created time.Time
	now     func() time.Time

	mu sync.Mutex
	// gone is nil while the log is usable, then ErrNotFound once it is
	// deleted or ErrClosed once its engine is closed.
	gone      error
	retention time.Duration
	// lastPos and lastArrival describe the newest record ever appended, the
	// only trace a record leaves.
	lastPos     uint64
	lastArrival int64
	sealed      bool
	sealedAt    uint64
	encKey      string // kept and reported; nothing is stored to encrypt
	// changed is closed once, when the log is sealed, deleted or closed:
	// those are the only events that end a wait, as no record ever arrives.
	changed chan struct{}
}

var _ storage.ShardLog = (*shardLog)(nil)

func (l *shardLog) Name() string { return l.name }

func (l *shardLog) Append(ctx context.Context, batch []storage.Record) ([]storage.Appended, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("discard: append to %q: %w", l.name, err)
	}
	// The limits are checked although nothing is stored, so that a
	// benchmark against this engine rejects what a real engine rejects.
	if err := storage.ValidateBatch(batch); err != nil {
		return nil, fmt.Errorf("discard: append to %q: %w", l.name, err)
	}
	out := make([]storage.Appended, len(batch))
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gone != nil {
		return nil, fmt.Errorf("discard: append to %q: %w", l.name, l.gone)
	}
	// Checked under the lock Seal takes, so that no append lands after
	// Seal has read the last position.
	if l.sealed {
		return nil, fmt.Errorf("discard: append to %q: %w", l.name, storage.ErrSealed)
	}
	if len(batch) == 0 {
		return out, nil
	}
	// A clock that steps back must not make arrival times decrease.
	arrival := max(l.now().UnixMilli(), l.lastArrival)
	for i := range out {
		l.lastPos++
		out[i] = storage.Appended{Position: l.lastPos, ArrivalTime: arrival}
	}
	l.lastArrival = arrival
	return out, nil
}

func (l *shardLog) Read(ctx context.Context, start storage.Start, limits storage.ReadLimits) (storage.ReadResult, error) {
	if err := ctx.Err(); err != nil {
		return storage.ReadResult{}, fmt.Errorf("discard: read %q: %w", l.name, err)
	}
	if start.Kind > storage.FromLatest {
		return storage.ReadResult{}, fmt.Errorf("discard: read %q: unknown start kind %d", l.name, start.Kind)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gone != nil {
		return storage.ReadResult{}, fmt.Errorf("discard: read %q: %w", l.name, l.gone)
	}
	// Whatever the start, the log holds nothing, so every read is at the
	// end: the next record can only land past lastPos.
	return storage.ReadResult{
		Next:         l.lastPos + 1,
		LastPosition: l.lastPos,
		LastArrival:  l.lastArrival,
		Sealed:       l.sealed,
	}, nil
}

func (l *shardLog) Wait(ctx context.Context, p uint64) error {
	l.mu.Lock()
	gone, sealed, changed := l.gone, l.sealed, l.changed
	l.mu.Unlock()
	switch {
	case gone != nil:
		return fmt.Errorf("discard: wait on %q: %w", l.name, gone)
	case sealed:
		return fmt.Errorf("discard: wait on %q for position %d: %w", l.name, p, storage.ErrSealed)
	}
	select {
	case <-changed:
		// Sealed, deleted or closed: say which.
		return l.Wait(ctx, p)
	case <-ctx.Done():
		return fmt.Errorf("discard: wait on %q: %w", l.name, ctx.Err())
	}
}

func (l *shardLog) Seal(ctx context.Context) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gone != nil {
		return 0, fmt.Errorf("discard: seal %q: %w", l.name, l.gone)
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
		return storage.LogInfo{}, fmt.Errorf("discard: info on %q: %w", l.name, l.gone)
	}
	// FirstPosition, LastPosition and Bytes stay zero: the log holds no
	// records.
	return storage.LogInfo{
		Name:          l.name,
		Created:       l.created,
		Retention:     l.retention,
		LastArrival:   l.lastArrival,
		Sealed:        l.sealed,
		SealedAt:      l.sealedAt,
		EncryptionKey: l.encKey,
	}, nil
}

func (l *shardLog) SetRetention(ctx context.Context, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("discard: set retention of %q: negative retention %v", l.name, d)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gone != nil {
		return fmt.Errorf("discard: set retention of %q: %w", l.name, l.gone)
	}
	l.retention = d
	return nil
}

// retire makes every later call fail with err and wakes the waiters.
func (l *shardLog) retire(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gone == nil {
		l.gone = err
	}
	l.wake()
}

// wake releases the waiters; it happens at most once per log, since every
// event that calls it is final. l.mu must be held.
func (l *shardLog) wake() {
	select {
	case <-l.changed:
	default:
		close(l.changed)
	}
}

// SetEncryption implements storage.ShardLog: the setting is kept and
// reported; there are no records to encrypt.
func (l *shardLog) SetEncryption(ctx context.Context, keyID string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gone != nil {
		return fmt.Errorf("discard: set encryption of %q: %w", l.name, l.gone)
	}
	l.encKey = keyID
	return nil
}
