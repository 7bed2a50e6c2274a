package mem

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/tributary-io/tributary/storage"
)

// MaxMetaValue is the largest catalogue value the engine accepts: the
// bound storage.MetaStore documents, enforced here so that tests of the
// layers above notice when they exceed it.
const MaxMetaValue = storage.MaxMetaValue

type metaStore struct {
	mu     sync.Mutex
	closed bool
	// rev is the last revision handed out. One counter for all keys keeps a
	// key's revisions increasing across delete and re-create, so that a
	// revision read before a delete can never match again.
	rev     uint64
	entries map[string]storage.MetaEntry
}

var _ storage.MetaStore = (*metaStore)(nil)

func newMetaStore() *metaStore {
	return &metaStore{entries: make(map[string]storage.MetaEntry)}
}

func (m *metaStore) Get(ctx context.Context, key string) (storage.MetaEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return storage.MetaEntry{}, fmt.Errorf("mem: meta get %q: %w", key, storage.ErrClosed)
	}
	e, ok := m.entries[key]
	if !ok {
		return storage.MetaEntry{}, fmt.Errorf("mem: meta get %q: %w", key, storage.ErrNotFound)
	}
	e.Value = bytes.Clone(e.Value)
	return e, nil
}

func (m *metaStore) Revision(ctx context.Context, key string) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, fmt.Errorf("mem: meta revision %q: %w", key, storage.ErrClosed)
	}
	e, ok := m.entries[key]
	if !ok {
		return 0, fmt.Errorf("mem: meta revision %q: %w", key, storage.ErrNotFound)
	}
	return e.Revision, nil
}

func (m *metaStore) List(ctx context.Context, prefix string) ([]storage.MetaEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("mem: meta list %q: %w", prefix, storage.ErrClosed)
	}
	var out []storage.MetaEntry
	for k, e := range m.entries {
		if strings.HasPrefix(k, prefix) {
			e.Value = bytes.Clone(e.Value)
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (m *metaStore) CompareAndSwap(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	if len(value) > MaxMetaValue {
		return 0, fmt.Errorf("mem: meta put %q: %w: value of %d bytes, the limit is %d", key, storage.ErrTooLarge, len(value), MaxMetaValue)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, fmt.Errorf("mem: meta put %q: %w", key, storage.ErrClosed)
	}
	// A missing key is at revision 0, which no existing key ever has.
	if cur := m.entries[key].Revision; cur != rev {
		return 0, fmt.Errorf("mem: meta put %q: %w: revision is %d, not %d", key, storage.ErrConflict, cur, rev)
	}
	m.rev++
	m.entries[key] = storage.MetaEntry{Key: key, Value: bytes.Clone(value), Revision: m.rev}
	return m.rev, nil
}

func (m *metaStore) Delete(ctx context.Context, key string, rev uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("mem: meta delete %q: %w", key, storage.ErrClosed)
	}
	e, ok := m.entries[key]
	if !ok {
		return fmt.Errorf("mem: meta delete %q: %w", key, storage.ErrNotFound)
	}
	if e.Revision != rev {
		return fmt.Errorf("mem: meta delete %q: %w: revision is %d, not %d", key, storage.ErrConflict, e.Revision, rev)
	}
	delete(m.entries, key)
	return nil
}

func (m *metaStore) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.entries = nil
}
