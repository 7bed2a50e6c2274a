package jetstream

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tributary-io/tributary/storage"
)

// metaStore is the catalogue in a key-value bucket. A key's revision is
// the bucket stream's sequence of its last change, so it increases on every
// change, deletes included, and is never reused after a restart. Keys are
// hex-encoded: KV keys allow few characters, and hex keeps byte order.
type metaStore struct {
	e  *Engine
	kv jetstream.KeyValue
}

var _ storage.MetaStore = (*metaStore)(nil)

func metaKey(key string) string { return hex.EncodeToString([]byte(key)) }

func (m *metaStore) fail(op, key string, err error) error {
	return m.e.fail(fmt.Sprintf("%s %q", op, key), err)
}

// Get returns the entry for key.
func (m *metaStore) Get(ctx context.Context, key string) (storage.MetaEntry, error) {
	if m.e.isClosed() {
		return storage.MetaEntry{}, m.fail("get", key, storage.ErrClosed)
	}
	value, rev, err := m.e.kvGet(ctx, m.kv, metaBucket, metaKey(key))
	if err != nil {
		return storage.MetaEntry{}, m.fail("get", key, err)
	}
	return storage.MetaEntry{Key: key, Value: value, Revision: rev}, nil
}

// kvGet reads key (encoded) from bucket, or fails with storage.ErrNotFound.
// In a cluster it asks the bucket's leader (cluster.go): the catalogue
// read after a compare-and-set through another node must see it.
func (e *Engine) kvGet(ctx context.Context, kv jetstream.KeyValue, bucket, key string) ([]byte, uint64, error) {
	if e.cluster == nil {
		kve, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, 0, storage.ErrNotFound
		}
		if err != nil {
			return nil, 0, err
		}
		return kve.Value(), kve.Revision(), nil
	}
	msg, found, err := e.lastFor(ctx, "KV_"+bucket, "$KV."+bucket+"."+key)
	if err != nil {
		return nil, 0, err
	}
	if !found {
		return nil, 0, storage.ErrNotFound
	}
	switch msg.Header.Get("KV-Operation") {
	case "DEL", "PURGE":
		return nil, 0, storage.ErrNotFound
	}
	rev, err := msgSeq(msg)
	if err != nil {
		return nil, 0, err
	}
	if msg.Data == nil {
		msg.Data = []byte{}
	}
	return msg.Data, rev, nil
}

// Revision returns key's revision. The bucket has no way to give a
// revision without its value, so this is Get's cost; the stream layer
// calls it on every data-plane call to see whether its decoded catalogue
// entry is current, so a cluster with large catalogue entries (a stream of
// thousands of shards) will want a watcher that keeps revisions in memory,
// with care for how far behind it may be.
func (m *metaStore) Revision(ctx context.Context, key string) (uint64, error) {
	e, err := m.Get(ctx, key)
	if err != nil {
		return 0, err
	}
	return e.Revision, nil
}

// CompareAndSwap maps to the bucket's own compare-and-set: Create for
// revision 0 (which also succeeds over a deleted key), Update otherwise.
func (m *metaStore) CompareAndSwap(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	if m.e.isClosed() {
		return 0, m.fail("compare and swap", key, storage.ErrClosed)
	}
	var (
		newRev uint64
		err    error
	)
	if rev == 0 {
		newRev, err = m.kv.Create(ctx, metaKey(key), value)
	} else {
		newRev, err = m.kv.Update(ctx, metaKey(key), value, rev)
	}
	if isWrongLast(err) || errors.Is(err, jetstream.ErrKeyExists) {
		return 0, m.fail("compare and swap", key, storage.ErrConflict)
	}
	if err != nil {
		return 0, m.fail("compare and swap", key, err)
	}
	return newRev, nil
}

// Delete removes key at revision rev.
func (m *metaStore) Delete(ctx context.Context, key string, rev uint64) error {
	cur, err := m.Get(ctx, key)
	if err != nil {
		return err
	}
	if cur.Revision != rev {
		return m.fail("delete", key, storage.ErrConflict)
	}
	err = m.kv.Delete(ctx, metaKey(key), jetstream.LastRevision(rev))
	if isWrongLast(err) {
		return m.fail("delete", key, storage.ErrConflict)
	}
	if err != nil {
		return m.fail("delete", key, err)
	}
	return nil
}

// List returns the entries whose keys start with prefix, sorted by key.
func (m *metaStore) List(ctx context.Context, prefix string) ([]storage.MetaEntry, error) {
	if m.e.isClosed() {
		return nil, m.fail("list", prefix, storage.ErrClosed)
	}
	var out []storage.MetaEntry
	err := m.e.scanBucket(ctx, metaBucket, func(key string, value []byte, rev uint64) {
		if strings.HasPrefix(key, prefix) {
			out = append(out, storage.MetaEntry{Key: key, Value: value, Revision: rev})
		}
	})
	if err != nil {
		return nil, m.fail("list", prefix, err)
	}
	return out, nil
}

// scanBucket hands fn every live key of bucket (decoded from hex) with its
// value and revision, sorted by key. It reads the bucket's stream in pages
// of direct gets: with a history of one, the stream holds exactly the last
// message of every key (values and delete markers), so one pass over it
// is the whole bucket, with an error if it breaks off (which the client's
// key lister would not report).
func (e *Engine) scanBucket(ctx context.Context, bucket string, fn func(key string, value []byte, rev uint64)) error {
	subjectPrefix := "$KV." + bucket + "."
	live := map[string]storage.MetaEntry{}
	// In a cluster, the bucket's last sequence as its leader has it: the
	// replica answering must reach it (cluster.go). The bucket's last
	// message is the last of its key, which a history of one keeps.
	var upTo uint64
	if e.cluster != nil {
		s, err := e.js.Stream(ctx, "KV_"+bucket)
		if err != nil {
			return err
		}
		upTo = s.CachedInfo().State.LastSeq
	}
	wait := retryFirst
	for seq := uint64(1); ; {
		var last uint64
		pending, err := e.getBatch(ctx, "KV_"+bucket, getRequest{Seq: seq, NextFor: subjectPrefix + ">", Batch: 1000, MaxBytes: readPageBytes}, func(mseq uint64, msg *nats.Msg) (bool, error) {
			last = mseq
			subject := msg.Header.Get(hdrSubject)
			raw, err := hex.DecodeString(strings.TrimPrefix(subject, subjectPrefix))
			if err != nil {
				return false, fmt.Errorf("%w: subject %q in bucket %s", storage.ErrCorrupt, subject, bucket)
			}
			key := string(raw)
			// A key changed while we page may show up twice; pages go in
			// sequence order, so the later revision wins, and a delete
			// marker hides the key.
			switch msg.Header.Get("KV-Operation") {
			case "DEL", "PURGE":
				delete(live, key)
			default:
				if msg.Data == nil {
					msg.Data = []byte{}
				}
				live[key] = storage.MetaEntry{Key: key, Value: msg.Data, Revision: mseq}
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		if last != 0 {
			seq, wait = last+1, retryFirst
		}
		if pending == 0 {
			if seq > upTo {
				break
			}
			if err := sleep(ctx, wait); err != nil {
				return fmt.Errorf("a replica of bucket %s stays behind sequence %d: %w", bucket, upTo, err)
			}
			wait = min(2*wait, retryMax)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(live)) {
		fn(k, live[k].Value, live[k].Revision)
	}
	return nil
}
