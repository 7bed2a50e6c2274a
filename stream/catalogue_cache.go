package stream

import (
	"sort"
	"sync"

	"github.com/tributary-io/tributary/storage"
)

// decodedCache keeps the last decoded record of each stream key with the
// revision it was decoded from. A stream's catalogue entry holds a record
// per shard, some 1.6 MB of JSON for 10,000 shards, and every data-plane
// call reads its stream: decoding the entry each time cost 18 ms a call
// at that size. A key's revision changes on every change to it (and never
// comes back, also across a delete and re-create), so a record decoded at
// the current revision is the current record.
//
// Invariant: a cached record is shared by every caller that reads the
// stream at that revision, so nobody may modify it. update decodes a
// private copy to change (see getPrivate).
type decodedCache struct {
	mu    sync.Mutex
	byKey map[string]entry // by catalogue key
}

func newDecodedCache() *decodedCache {
	return &decodedCache{byKey: make(map[string]entry)}
}

// lookup returns the record cached for key at revision rev.
func (c *decodedCache) lookup(key string, rev uint64) (entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[key]
	if !ok || e.rev != rev {
		return entry{}, false
	}
	return e, true
}

// decode returns the record of a catalogue entry, decoding it only when
// the cache does not hold it at its revision.
func (c *decodedCache) decode(me storage.MetaEntry) (entry, error) {
	if e, ok := c.lookup(me.Key, me.Revision); ok {
		return e, nil
	}
	e, err := decodeRecord(me)
	if err != nil {
		return entry{}, err
	}
	e.rec.buildRoutes()
	c.mu.Lock()
	// A caller that read an older revision must not replace a newer one.
	if old, ok := c.byKey[me.Key]; !ok || old.rev < e.rev {
		c.byKey[me.Key] = e
	}
	c.mu.Unlock()
	return e, nil
}

// forget drops a key whose entry was deleted.
func (c *decodedCache) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.byKey, key)
}

// routeTable finds the open shard of a hash key by binary search: with
// 10,000 shards, a scan of them all for each of a PutRecords' 500
// records cost more than the rest of the call.
type routeTable struct {
	// open are the indexes of the open shards in ascending order of
	// StartHash; the open shards' ranges tile the hash key space.
	open []uint32
}

// buildRoutes makes the record's route table. Only records that will
// not change get one (the cached ones): route falls back to a scan
// without it.
func (r *streamRecord) buildRoutes() {
	t := &routeTable{}
	for i := range r.Shards {
		if r.Shards[i].open() {
			t.open = append(t.open, uint32(i))
		}
	}
	sort.Slice(t.open, func(a, b int) bool {
		return r.Shards[t.open[a]].StartHash.cmp(r.Shards[t.open[b]].StartHash) < 0
	})
	r.routes = t
}

// lookup returns the open shard whose range holds h, or nil.
func (t *routeTable) lookup(r *streamRecord, h uint128) *shardRecord {
	// The first open shard starting after h; the one before it is the
	// only candidate.
	i := sort.Search(len(t.open), func(i int) bool { return r.Shards[t.open[i]].StartHash.cmp(h) > 0 })
	if i == 0 {
		return nil
	}
	sh := &r.Shards[t.open[i-1]]
	if h.cmp(sh.EndHash) > 0 {
		return nil
	}
	return sh
}
