package jetstream

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tributary-io/tributary/storage"
)

// Retention is the engine's own, by arrival time on its clock: reads skip
// what it no longer keeps at once, and the trimmer reclaims the space in
// bulk, every Options.TrimInterval, for every log, idle ones included.
// In a cluster each log is trimmed by one node, the leader of its
// placement (trims).

// trimLoop runs trimAll every interval until the engine closes.
func (e *Engine) trimLoop(interval time.Duration) {
	defer close(e.trimDone)
	// Close waits for this loop: a pass in flight is cancelled, not
	// awaited.
	base, stop := context.WithCancel(context.Background())
	defer stop()
	go func() {
		<-e.closed
		stop()
	}()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-e.closed:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(base, interval)
		// A failed pass leaves the space for the next: reads never see
		// expired records either way, so there is nothing to report but
		// the space.
		_ = e.trimAll(ctx)
		cancel()
	}
}

// trimAll purges, on the subject of every log with a retention that this
// node trims, the messages before the first one retention keeps. It
// stops at the first error.
//
// It chooses from the entries in the bucket, before it loads a log's
// state: a node holds no state for the logs it has not served, and
// loading 1,000 of them (an entry and a tail each, from the leaders) was
// most of the first pass's cost on such a node.
func (e *Engine) trimAll(ctx context.Context) error {
	var names []string
	err := e.scanBucket(ctx, logsBucket, func(name string, value []byte, _ uint64) {
		// An entry that does not decode is not this pass's to report:
		// the log's own calls do.
		entry, err := decodeEntry(name, value)
		if err == nil && entry.Retention > 0 && e.trims(streamName(entry.Placement)) {
			names = append(names, name)
		}
	})
	if err != nil {
		return err
	}
	for _, name := range names {
		st, err := e.state(ctx, name)
		if err != nil {
			continue // deleted meanwhile
		}
		if err := st.trim(ctx); err != nil {
			return err
		}
	}
	return nil
}

// trims reports whether this node trims the logs of a placement stream:
// on one node, yes; in a cluster, if it leads the stream. A purge is
// replicated, so one node is enough; with every node trimming every log,
// a node that had served none of them loaded a state for each on its
// first pass, more than half of the pass's cost on a cluster with 1,000
// idle shards (docs/benchmarks.md, "Idle CPU: the trimmer"). A log
// whose leader changes is trimmed by the new leader's next pass; two
// nodes that both believe they lead trim it twice, which is safe: each
// purge is checked on the entry loaded from the bucket's leader, and cuts
// only below a message retention no longer keeps.
func (e *Engine) trims(stream string) bool {
	return e.cluster == nil || e.ns.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream)
}

// trim purges the messages of st's subject older than its retention,
// keeping the last message whatever its age: it carries the tail. It
// needs no lock: a purge below the last message never changes what a
// writer expects, and a message appended meanwhile is newer than the cut.
//
// Most passes find nothing expired, and tell so from the entry this node
// holds (kept current by the watch, watch.go) and one direct get of the
// subject's first message. In a cluster, before a purge the entry is
// loaded from the bucket's leader: a node holding a retention from before
// it was raised through another node would purge records the raised one
// keeps. (A stale entry can only delay a purge, never make one: the check
// is made again on the loaded entry.) A raise that lands between this
// load and the purge can still lose to it; the purge is not conditional
// on the entry's revision. Asking the leader on every pass cost each node
// of a 3-node cluster with 1,000 idle shards about 3 % of a core for half
// of every minute (docs/benchmarks.md, "Idle CPU: the trimmer").
func (st *logState) trim(ctx context.Context) error {
	t := st.snapshot()
	if t.entry.Retention <= 0 || t.deleted || t.lastSeq == 0 {
		return nil
	}
	// The subject's first message is kept (or a marker): nothing to
	// purge.
	first, ok, err := st.next(ctx, 0, st.upTo(t))
	if err != nil || !ok || first.batch == nil {
		return err
	}
	expired := func(t tail) bool {
		return t.entry.Retention > 0 && !t.deleted && first.batch.arrival < st.cutoff(t)
	}
	if !expired(t) {
		return nil
	}
	if st.e.cluster != nil {
		if err := st.loadEntry(ctx); errors.Is(err, storage.ErrNotFound) {
			return nil // deleted meanwhile
		} else if err != nil {
			return err
		}
		if t = st.snapshot(); !expired(t) {
			return nil // raised, or removed, through another node
		}
	}
	cut, err := st.firstKept(ctx, first.seq, st.cutoff(t), t)
	if err != nil {
		return err
	}
	if cut == 0 {
		cut = t.lastSeq // everything expired: all but the last
	}
	return st.e.purge(ctx, st, jetstream.WithPurgeSequence(cut))
}
