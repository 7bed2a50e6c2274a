// Package mem is an in-memory storage.Engine for tests of the layers above
// storage. Nothing survives Close, and Options.Now lets a test drive the
// clock that arrival times and retention are measured against.
//
// Positions are deliberately not contiguous: each batch starts
// Options.PositionGap+1 past the previous batch's last record, as a cluster
// engine's positions would, so that code tested against this engine cannot
// come to depend on contiguity.
package mem

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/tributary-io/tributary/storage"
)

// DefaultPositionGap is the gap used when Options.PositionGap is zero.
const DefaultPositionGap = 3

// Options configure an Engine.
type Options struct {
	// Now is the engine's clock; nil means time.Now.
	Now func() time.Time
	// PositionGap is how many positions are left unused before each batch;
	// zero means DefaultPositionGap. There is no way to ask for contiguous
	// positions on purpose.
	PositionGap uint64
}

// Engine is an in-memory storage.Engine. All methods are safe for
// concurrent use.
type Engine struct {
	now  func() time.Time
	gap  uint64
	meta *metaStore

	// mu guards closed and logs. Lock order: Engine.mu before shardLog.mu;
	// shard log methods never take Engine.mu, so the order cannot invert.
	mu     sync.Mutex
	closed bool
	logs   map[string]*shardLog
}

var _ storage.Engine = (*Engine)(nil)

// New returns an empty engine.
func New(opts Options) *Engine {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	gap := opts.PositionGap
	if gap == 0 {
		gap = DefaultPositionGap
	}
	return &Engine{
		now:  now,
		gap:  gap,
		meta: newMetaStore(),
		logs: make(map[string]*shardLog),
	}
}

// CreateLog implements storage.Engine.
func (e *Engine) CreateLog(ctx context.Context, name string, opts storage.LogOptions) (storage.ShardLog, error) {
	if !storage.ValidLogName(name) {
		return nil, fmt.Errorf("mem: create log: invalid name %q", name)
	}
	if opts.Retention < 0 {
		return nil, fmt.Errorf("mem: create log %q: negative retention %v", name, opts.Retention)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, fmt.Errorf("mem: create log %q: %w", name, storage.ErrClosed)
	}
	if _, ok := e.logs[name]; ok {
		return nil, fmt.Errorf("mem: create log %q: %w", name, storage.ErrExists)
	}
	l := &shardLog{
		name:      name,
		created:   e.now(),
		now:       e.now,
		gap:       e.gap,
		retention: opts.Retention,
		encKey:    opts.EncryptionKey,
	}
	e.logs[name] = l
	return l, nil
}

// Log implements storage.Engine.
func (e *Engine) Log(ctx context.Context, name string) (storage.ShardLog, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, fmt.Errorf("mem: log %q: %w", name, storage.ErrClosed)
	}
	l, ok := e.logs[name]
	if !ok {
		return nil, fmt.Errorf("mem: log %q: %w", name, storage.ErrNotFound)
	}
	return l, nil
}

// ListLogs implements storage.Engine.
func (e *Engine) ListLogs(ctx context.Context) ([]string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, fmt.Errorf("mem: list logs: %w", storage.ErrClosed)
	}
	return slices.Sorted(maps.Keys(e.logs)), nil
}

// DeleteLog implements storage.Engine.
func (e *Engine) DeleteLog(ctx context.Context, name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return fmt.Errorf("mem: delete log %q: %w", name, storage.ErrClosed)
	}
	l, ok := e.logs[name]
	if !ok {
		return fmt.Errorf("mem: delete log %q: %w", name, storage.ErrNotFound)
	}
	delete(e.logs, name)
	// Handles to the deleted log keep pointing at l, not at whatever log is
	// created under the same name later, so they fail from now on.
	l.retire(storage.ErrNotFound)
	return nil
}

// Meta implements storage.Engine.
func (e *Engine) Meta() storage.MetaStore { return e.meta }

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
	e.meta.close()
	return nil
}
