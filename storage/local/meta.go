package local

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/tributary-io/tributary/storage"
)

// metaStore keeps the catalogue in memory and every change in an
// append-only file, fsynced before the change is acknowledged:
//
//	record: length u32 | CRC-32C of payload u32 | payload
//	payload: op u8 (1 put, 2 delete) | revision u64 | uvarint key length |
//	         key | value
//
// Revisions come from one counter for the whole store, so a key deleted and
// created again never repeats a revision. When the file holds much more than
// the live entries it is rewritten (compacted) through a temporary file.
type metaStore struct {
	path string
	log  *slog.Logger

	mu      sync.Mutex
	f       *os.File
	size    int64
	live    int64 // bytes the live entries would take
	entries map[string]storage.MetaEntry
	rev     uint64
	// failed is set when a failed write could not be cut off the file:
	// a refused change might come back after a restart, so the store
	// refuses every later change rather than build on it.
	failed error
}

const (
	metaPut    = 1
	metaDelete = 2
	// maxMetaValue bounds one value, as the interface promises.
	maxMetaValue = storage.MaxMetaValue
)

func openMeta(path string, log *slog.Logger) (*metaStore, error) {
	m := &metaStore{path: path, log: log, entries: make(map[string]storage.MetaEntry)}
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	off := 0
	for off < len(data) {
		n, err := m.apply(data[off:])
		if err != nil {
			// A torn last record is a crash during an unacknowledged
			// change; anything else is damage we must not hide.
			if hasMetaRecordAfter(data, off+1) {
				return nil, fmt.Errorf("%w: %s at offset %d: %v", storage.ErrCorrupt, path, off, err)
			}
			break
		}
		off += n
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if off < len(data) {
		// Cut the torn record durably: the next change is written over it.
		if err := f.Truncate(int64(off)); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, err
		}
	}
	// The file may be new: its directory entry must be on disk before any
	// change written to it is acknowledged, or a power loss could take
	// the whole catalogue with it.
	if err := syncDir(filepath.Dir(path)); err != nil {
		f.Close()
		return nil, err
	}
	m.f, m.size = f, int64(off)
	return m, nil
}

// apply decodes one record at the start of b into the in-memory state and
// returns its length.
func (m *metaStore) apply(b []byte) (int, error) {
	op, rev, key, value, n, err := decodeMetaRecord(b)
	if err != nil {
		return 0, err
	}
	switch op {
	case metaPut:
		if old, ok := m.entries[key]; ok {
			m.live -= metaRecordSize(old.Key, old.Value)
		}
		m.entries[key] = storage.MetaEntry{Key: key, Value: value, Revision: rev}
		m.live += metaRecordSize(key, value)
	case metaDelete:
		if old, ok := m.entries[key]; ok {
			m.live -= metaRecordSize(old.Key, old.Value)
		}
		delete(m.entries, key)
	}
	m.rev = max(m.rev, rev)
	return n, nil
}

func decodeMetaRecord(b []byte) (op byte, rev uint64, key string, value []byte, n int, err error) {
	if len(b) < 8 {
		return 0, 0, "", nil, 0, fmt.Errorf("short record")
	}
	l := binary.BigEndian.Uint32(b)
	if l < 10 || uint64(l) > uint64(len(b)-8) {
		return 0, 0, "", nil, 0, fmt.Errorf("bad record length %d", l)
	}
	p := b[8 : 8+l]
	if crc32.Checksum(p, castagnoli) != binary.BigEndian.Uint32(b[4:]) {
		return 0, 0, "", nil, 0, fmt.Errorf("checksum mismatch")
	}
	op, rev = p[0], binary.BigEndian.Uint64(p[1:])
	kl, kn := binary.Uvarint(p[9:])
	if kn <= 0 || kl > uint64(len(p)-9-kn) || (op != metaPut && op != metaDelete) {
		return 0, 0, "", nil, 0, fmt.Errorf("bad record")
	}
	key = string(p[9+kn : 9+kn+int(kl)])
	value = append([]byte(nil), p[9+kn+int(kl):]...)
	return op, rev, key, value, 8 + int(l), nil
}

func hasMetaRecordAfter(data []byte, from int) bool {
	for i := from; i+8 <= len(data); i++ {
		if _, _, _, _, _, err := decodeMetaRecord(data[i:]); err == nil {
			return true
		}
	}
	return false
}

func appendMetaRecord(dst []byte, op byte, rev uint64, key string, value []byte) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, 8)...)
	dst = append(dst, op)
	dst = binary.BigEndian.AppendUint64(dst, rev)
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	dst = append(dst, key...)
	dst = append(dst, value...)
	p := dst[start+8:]
	binary.BigEndian.PutUint32(dst[start:], uint32(len(p)))
	binary.BigEndian.PutUint32(dst[start+4:], crc32.Checksum(p, castagnoli))
	return dst
}

func metaRecordSize(key string, value []byte) int64 {
	return int64(8 + 1 + 8 + uvarintLen(len(key)) + len(key) + len(value))
}

// write appends a record durably and then applies it. A change it fails
// is cut off the file again, durably, so that it cannot appear after a
// restart (a CreateStream answered with an error must not create the
// stream later).
func (m *metaStore) write(op byte, key string, value []byte) (uint64, error) {
	if m.failed != nil {
		return 0, m.failed
	}
	rev := m.rev + 1
	rec := appendMetaRecord(nil, op, rev, key, value)
	_, err := m.f.WriteAt(rec, m.size)
	if err == nil {
		err = m.f.Sync()
	}
	if err != nil {
		if cerr := m.cutBack(); cerr != nil {
			m.failed = fmt.Errorf("catalogue %s: a write failed (%v) and could not be undone (%v); refusing changes until restart", m.path, err, cerr)
		}
		return 0, err
	}
	m.size += int64(len(rec))
	if _, err := m.apply(rec); err != nil {
		return 0, err
	}
	if m.size > 4*m.live+(1<<20) {
		// The change is durable whatever happens here; a compaction that
		// fails (a full disk) is tried again at a later change.
		if err := m.compact(); err != nil {
			m.log.Warn("compacting the catalogue failed; will retry", "file", m.path, "err", err)
		}
	}
	return rev, nil
}

// cutBack truncates the file to its last good record and syncs it.
func (m *metaStore) cutBack() error {
	if err := m.f.Truncate(m.size); err != nil {
		return err
	}
	return m.f.Sync()
}

// compact rewrites the file with only the live entries.
func (m *metaStore) compact() error {
	keys := make([]string, 0, len(m.entries))
	for k := range m.entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b []byte
	for _, k := range keys {
		e := m.entries[k]
		b = appendMetaRecord(b, metaPut, e.Revision, k, e.Value)
	}
	// The highest revision may belong to a deleted key; keep the counter by
	// recording it as a delete of a key that does not exist.
	b = appendMetaRecord(b, metaDelete, m.rev, "", nil)
	if err := writeFileAtomic(m.path, b); err != nil {
		return err
	}
	f, err := os.OpenFile(m.path, os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	m.f.Close()
	m.f, m.size = f, int64(len(b))
	return nil
}

func (m *metaStore) close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.f.Close()
}

// metaView is the storage.MetaStore of an engine: the store plus the
// engine's closed check.
type metaView struct{ e *Engine }

func (v metaView) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if v.e.isClosed() {
		return storage.ErrClosed
	}
	return nil
}

func (v metaView) Get(ctx context.Context, key string) (storage.MetaEntry, error) {
	if err := v.check(ctx); err != nil {
		return storage.MetaEntry{}, err
	}
	m := v.e.meta
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok {
		return storage.MetaEntry{}, fmt.Errorf("meta key %q: %w", key, storage.ErrNotFound)
	}
	e.Value = append([]byte(nil), e.Value...)
	return e, nil
}

func (v metaView) Revision(ctx context.Context, key string) (uint64, error) {
	if err := v.check(ctx); err != nil {
		return 0, err
	}
	m := v.e.meta
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok {
		return 0, fmt.Errorf("meta key %q: %w", key, storage.ErrNotFound)
	}
	return e.Revision, nil
}

func (v metaView) List(ctx context.Context, prefix string) ([]storage.MetaEntry, error) {
	if err := v.check(ctx); err != nil {
		return nil, err
	}
	m := v.e.meta
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []storage.MetaEntry
	for k, e := range m.entries {
		if strings.HasPrefix(k, prefix) {
			e.Value = append([]byte(nil), e.Value...)
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (v metaView) CompareAndSwap(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	if err := v.check(ctx); err != nil {
		return 0, err
	}
	if len(value) > maxMetaValue {
		return 0, fmt.Errorf("meta key %q: %w: value of %d bytes", key, storage.ErrTooLarge, len(value))
	}
	m := v.e.meta
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur := m.entries[key].Revision; cur != rev {
		return 0, fmt.Errorf("meta key %q: revision is %d, not %d: %w", key, cur, rev, storage.ErrConflict)
	}
	return m.write(metaPut, key, value)
}

func (v metaView) Delete(ctx context.Context, key string, rev uint64) error {
	if err := v.check(ctx); err != nil {
		return err
	}
	m := v.e.meta
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.entries[key]
	if !ok {
		return fmt.Errorf("meta key %q: %w", key, storage.ErrNotFound)
	}
	if cur.Revision != rev {
		return fmt.Errorf("meta key %q: revision is %d, not %d: %w", key, cur.Revision, rev, storage.ErrConflict)
	}
	_, err := m.write(metaDelete, key, nil)
	return err
}
