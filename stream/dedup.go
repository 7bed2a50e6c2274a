package stream

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/tributary-io/tributary/kpl"
	"github.com/tributary-io/tributary/storage"
)

// Exactly-once writes, a Tributary extension (docs/producer.md).
//
// Tributary's producer marks every user record it aggregates with its
// producer id and a sequence (kpl.ID, in the aggregate's tags), and when
// a PutRecords answer is lost it sends the same aggregates again, byte
// for byte. Here an aggregate is recognised by its kpl.Span, and one
// stored already in its shard, or in an ancestor of its shard, is not
// appended again: the answer is the first copy's shard and sequence
// number, as Kafka's idempotent producer is answered. Records without IDs
// (every other client) are appended as always; the cost to them is a
// four-byte comparison per record.
//
// What is remembered, per shard and producer, is the spans of the last
// dedupDepth aggregates stored. That is enough because the producer has
// at most one aggregate in flight per shard it predicts, and resends an
// aggregate before sending anything after it to that shard: between a
// first copy and its resend, a shard receives other aggregates of the
// same producer only from the few other shards the producer's map still
// names (the parents of a merge).
//
// Invariants, kept by appendOnce:
//
//  1. A span is claimed (entered, pending) before its aggregate is
//     appended, and a second copy finding it pending waits for the
//     first's outcome: two copies sent at once are never both appended.
//  2. A shard's memory is loaded from the logs, the shard's own and its
//     ancestors' (from dedupWindow ago), before any claim is made in it,
//     so it survives a restart (nothing is kept but the logs) and a
//     reshard (a copy of an aggregate stored in a parent is recognised
//     by the child the resend is routed to). Ancestors are sealed before
//     their children take writes, so their logs do not change under the
//     load; the shard's own log gains only records without IDs meanwhile,
//     because every aggregate with IDs waits for the load.
//  3. A memory is dropped only when idle for dedupWindow with no claim in
//     it, and loaded again from the logs when next needed.

// dedupDepth is how many aggregates are remembered per shard and producer.
const dedupDepth = 16

// defaultDedupWindow is Options.DedupWindow's default.
const defaultDedupWindow = 5 * time.Minute

type dedup struct {
	window time.Duration

	mu        sync.Mutex
	shards    map[shardKey]*shardSpans
	lastSweep time.Time
}

func newDedup(window time.Duration) *dedup {
	return &dedup{window: window, shards: make(map[shardKey]*shardSpans)}
}

// shardSpans is one shard's memory.
type shardSpans struct {
	loaded  chan struct{} // closed when the load from the logs ended
	loadErr error

	mu        sync.Mutex
	producers map[string]*producerSpans
	users     int       // appendOnce calls holding it
	lastUsed  time.Time // when the last one let go
}

type producerSpans struct {
	ring [dedupDepth]*spanEntry
	next int // where the next entry goes
	last time.Time
}

// spanEntry is an aggregate remembered: stored at (shard, pos, arrival),
// or being appended (done not yet closed).
type spanEntry struct {
	span         kpl.Span
	shard        uint32
	pos          uint64
	arrival      int64
	done         chan struct{} // nil for one loaded from a log
	failed       bool          // the append failed; no longer in the ring
	owner        *int          // the appendOnce call that claimed it
	loadedOrDone bool
}

func (p *producerSpans) find(s kpl.Span) *spanEntry {
	for _, e := range p.ring {
		if e != nil && e.span == s {
			return e
		}
	}
	return nil
}

func (p *producerSpans) add(e *spanEntry) {
	p.ring[p.next] = e
	p.next = (p.next + 1) % dedupDepth
}

func (p *producerSpans) remove(e *spanEntry) {
	for i, x := range p.ring {
		if x == e {
			p.ring[i] = nil
		}
	}
}

func (st *shardSpans) producer(name string, now time.Time) *producerSpans {
	p := st.producers[name]
	if p == nil {
		p = &producerSpans{}
		st.producers[name] = p
	}
	p.last = now
	return p
}

// acquire returns shard index's memory, loading it from the logs first if
// this is the first call since it was dropped (invariant 2).
func (d *dedup) acquire(ctx context.Context, s *Service, rec *streamRecord, index uint32) (*shardSpans, error) {
	now := s.clock()
	k := shardKey{rec.ID, index}
	d.mu.Lock()
	d.sweep(now)
	st := d.shards[k]
	load := st == nil
	if load {
		st = &shardSpans{loaded: make(chan struct{}), producers: make(map[string]*producerSpans)}
		d.shards[k] = st
	}
	st.mu.Lock()
	st.users++
	st.mu.Unlock()
	d.mu.Unlock()

	if load {
		st.loadErr = s.loadSpans(ctx, rec, index, st, now)
		close(st.loaded)
	} else {
		select {
		case <-st.loaded:
		case <-ctx.Done():
			d.release(st, now)
			return nil, ctx.Err()
		}
	}
	if st.loadErr != nil {
		d.mu.Lock()
		if d.shards[k] == st {
			delete(d.shards, k) // the next call loads again
		}
		d.mu.Unlock()
		d.release(st, now)
		return nil, st.loadErr
	}
	return st, nil
}

func (d *dedup) release(st *shardSpans, now time.Time) {
	st.mu.Lock()
	st.users--
	st.lastUsed = now
	st.mu.Unlock()
}

// sweep drops, at most once a window, the memories idle for a window
// (invariant 3) and the producers quiet for as long. Called with d.mu.
func (d *dedup) sweep(now time.Time) {
	if now.Sub(d.lastSweep) < d.window {
		return
	}
	d.lastSweep = now
	for k, st := range d.shards {
		st.mu.Lock()
		if st.users == 0 && now.Sub(st.lastUsed) > d.window {
			delete(d.shards, k)
		} else {
			for name, p := range st.producers {
				if now.Sub(p.last) > d.window && !p.pending() {
					delete(st.producers, name)
				}
			}
		}
		st.mu.Unlock()
	}
}

func (p *producerSpans) pending() bool {
	for _, e := range p.ring {
		if e != nil && !e.loadedOrDone {
			return true
		}
	}
	return false
}

// forget drops the memories of a deleted stream.
func (d *dedup) forget(streamID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k := range d.shards {
		if k.stream == streamID {
			delete(d.shards, k)
		}
	}
}

// loadSpans fills st from the logs of shard index and of its ancestors,
// oldest first, reading what arrived in the last window.
func (s *Service) loadSpans(ctx context.Context, rec *streamRecord, index uint32, st *shardSpans, now time.Time) error {
	from := now.Add(-s.dedup.window)
	// The shard and its ancestors closed within the window, nearest
	// first; loaded in reverse, so that the ring keeps the newest.
	var line []uint32
	seen := map[uint32]bool{}
	for queue := []uint32{index}; len(queue) > 0; queue = queue[1:] {
		i := queue[0]
		if seen[i] || int(i) >= len(rec.Shards) {
			continue
		}
		seen[i] = true
		sh := &rec.Shards[i]
		if i != index && !sh.Closed.IsZero() && sh.Closed.Before(from) {
			continue
		}
		line = append(line, i)
		queue = append(queue, sh.Parents...)
	}
	slices.Reverse(line)
	for _, i := range line {
		l, err := s.shardLog(ctx, rec, i)
		if errors.Is(err, storage.ErrNotFound) {
			continue // trimmed or never written
		}
		if err != nil {
			return err
		}
		start := storage.AtTime(from.UnixMilli())
		for {
			res, err := l.Read(ctx, start, storage.ReadLimits{MaxRecords: 10_000, MaxBytes: 8 << 20})
			if err != nil {
				return err
			}
			for _, r := range res.Records {
				if span, ok := kpl.SpanOf(r.Data); ok {
					st.producer(span.Producer, now).add(&spanEntry{span: span, shard: i, pos: r.Position, arrival: r.ArrivalTime, loadedOrDone: true})
				}
			}
			if len(res.Records) == 0 {
				break
			}
			start = storage.At(res.Next)
		}
	}
	return nil
}

// appendOnce is append, except that the aggregates with IDs already
// stored in the shard or its ancestors are not appended again: their
// Appended is the first copy's, and at, when not nil, holds for every
// record of the batch the index of the shard it is stored in (index for
// the ones appended now).
func (s *Service) appendOnce(ctx context.Context, rec *streamRecord, index uint32, batch []storage.Record) (app []storage.Appended, at []uint32, err error) {
	if s.dedup == nil {
		app, err := s.append(ctx, rec, index, batch)
		return app, nil, err
	}
	var spans map[int]kpl.Span
	for j := range batch {
		if span, ok := kpl.SpanOf(batch[j].Data); ok {
			if spans == nil {
				spans = make(map[int]kpl.Span)
			}
			spans[j] = span
		}
	}
	if spans == nil {
		app, err := s.append(ctx, rec, index, batch)
		return app, nil, err
	}
	st, err := s.dedup.acquire(ctx, s, rec, index)
	if err != nil {
		return nil, nil, internal("load the shard's aggregates", err)
	}
	defer func() { s.dedup.release(st, s.clock()) }()

	// Claim every span, or find it stored (invariant 1).
	me := new(int)
	entries := make(map[int]*spanEntry, len(spans))
	for len(entries) < len(spans) {
		var wait chan struct{}
		now := s.clock()
		st.mu.Lock()
		for j, span := range spans {
			if entries[j] != nil {
				continue
			}
			p := st.producer(span.Producer, now)
			e := p.find(span)
			switch {
			case e == nil:
				e = &spanEntry{span: span, shard: index, done: make(chan struct{}), owner: me}
				p.add(e)
			case e.owner == me || e.loadedOrDone:
				// Ours (the same aggregate twice in one batch) or stored.
			default:
				wait = e.done
				continue
			}
			entries[j] = e
		}
		st.mu.Unlock()
		if wait != nil {
			select {
			case <-wait:
			case <-ctx.Done():
				s.settleClaims(st, entries, me, nil, nil)
				return nil, nil, ctx.Err()
			}
		}
	}

	// Append what is not stored yet, in batch order: records without IDs,
	// and the first record of each claim of ours.
	var todo []storage.Record
	var todoIdx []int
	appending := make(map[*spanEntry]bool)
	for j := range batch {
		if e := entries[j]; e != nil {
			if e.loadedOrDone || appending[e] {
				continue
			}
			appending[e] = true
		}
		todo = append(todo, batch[j])
		todoIdx = append(todoIdx, j)
	}
	var got []storage.Appended
	if len(todo) > 0 {
		got, err = s.append(ctx, rec, index, todo)
	}
	s.settleClaims(st, entries, me, todoIdx, got)
	if err != nil {
		return nil, nil, err
	}
	app = make([]storage.Appended, len(batch))
	for k, j := range todoIdx {
		app[j] = got[k]
	}
	for j, e := range entries {
		if e.shard != index {
			if at == nil {
				at = make([]uint32, len(batch))
				for i := range at {
					at[i] = index
				}
			}
			at[j] = e.shard
		}
		app[j] = storage.Appended{Position: e.pos, ArrivalTime: e.arrival}
	}
	return app, at, nil
}

// settleClaims records the outcome of the claims made by call me: the
// records appended at todoIdx got the positions in got, or, when got is
// nil, the append failed or never ran, and the claims are withdrawn so
// that a copy waiting on one appends itself.
func (s *Service) settleClaims(st *shardSpans, entries map[int]*spanEntry, me *int, todoIdx []int, got []storage.Appended) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if got != nil {
		for k, j := range todoIdx {
			if e := entries[j]; e != nil && e.owner == me && !e.loadedOrDone {
				e.pos, e.arrival, e.loadedOrDone = got[k].Position, got[k].ArrivalTime, true
				close(e.done)
			}
		}
	}
	for _, e := range entries {
		if e.owner == me && !e.loadedOrDone && !e.failed {
			e.failed = true
			if p := st.producers[e.span.Producer]; p != nil {
				p.remove(e)
			}
			close(e.done)
		}
	}
}
