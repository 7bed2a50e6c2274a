package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Barriers: how an append whose answer was lost learns its fate exactly.
//
// An append in a cluster may send its message several times (send): each
// attempt whose answer is lost (a leader killed, paused or cut off after
// the proposal) is sent again with the same message id. When a resend is
// answered "wrong last sequence", the earlier attempt may be stored, or
// may still come to be: the answer may come from a node that still takes
// itself for the leader and checks its own stale store, while the real
// leader has the earlier attempt in its queue or its Raft log. Looking
// for it at once (findSent) can miss it; building the record again could
// then store it twice, and giving up leaves the client an unknown
// outcome.
//
// So, after an attempt whose answer was lost and before looking for it,
// publish appends a barrier to the same stream and waits for its
// acknowledgement (settle). It does so too when its attempts keep being
// refused for half a second (stuckFor) while the leader's word for the
// tail does not move: the node
// refusing them, and answering the leader's get, takes itself for the
// leader (traced after a pause, for seconds), and only a barrier gives
// the true tail. The invariant: once the barrier at sequence b
// is acknowledged, every attempt this call sent before it is either in
// the stream before b or never will be. Why:
//
//   - The engine sends its attempts and then the barrier on one connection,
//     and they go to every server of the stream in that order; each server
//     hands a stream's inbound messages to its leader logic through one
//     queue. A leader proposes them in the order received, so an attempt
//     it took is in its log before the barrier.
//   - The barrier is acknowledged only once it is committed (a majority
//     holds it) and applied, by the leader of its term:
//     processJetStreamMsgWithBatch answers only when the node is the
//     leader (isLeaderNodeState), and entries are applied in log order.
//   - An entry of an earlier term that is not before the barrier in that
//     leader's log can never be committed: every later leader's log holds
//     the committed barrier, and by Raft's log matching holds exactly the
//     same entries before it; entries after it are of its term or later.
//
// Then the subject's last message, read from any replica that has applied
// b (lastAfter), bounds where an attempt can be, and findSent, looking up
// to it, decides: found, it is this call's answer; not found, none of the
// attempts is stored and none ever will be, so the message is built again
// and sent, and still at most one copy is stored.
//
// What nats-server 2.15.3 does by itself (read in its raft.go,
// jetstream_cluster.go and stream.go): a stream's newly elected leader
// takes no publish until it has applied every entry its log held when it
// won (switchToLeader sets aflr to the index of the entry it appends on
// winning; Processed sets leaderState, which mset.isLeader and so
// processClusteredInboundMsg read, only once everything up to aflr is
// processed), and a follower records each applied message's id in the
// dedup table. So the case issue 17 feared, a new leader checking a resend
// against a store that lacks the committed first copy, does not arise in
// this version. The barrier does not rely on that: it also covers the
// stale leader's answer above, which made such appends end with an unknown
// outcome. It costs one replicated write, only after a lost answer.
//
// Barriers go to "trib.log.<placement>.barrier" (log ids are hex, so it is
// no log's subject) with a rollup header: the stream keeps the last one.

// barrierSubject is the subject of placement p's barriers.
func barrierSubject(p int) string { return fmt.Sprintf("%s%d.barrier", logSubjectRoot, p) }

// publishBarrier appends a barrier to stream and returns its sequence once
// acknowledged. An attempt whose answer is lost is sent again: a barrier
// more is harmless.
func (e *Engine) publishBarrier(ctx context.Context, stream, subject string) (uint64, error) {
	for wait := retryFirst; ; wait = min(2*wait, retryMax) {
		msg := nats.NewMsg(subject)
		msg.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		ack, err := e.publishMsg(actx, msg)
		cancel()
		if err == nil {
			return ack.Sequence, nil
		}
		if !(retryable(err) || errors.Is(err, context.DeadlineExceeded)) || ctx.Err() != nil {
			return 0, fmt.Errorf("barrier on %s: %w", stream, err)
		}
		if sleep(ctx, wait) != nil {
			return 0, fmt.Errorf("barrier on %s: %w", stream, err)
		}
	}
}

// settle decides whether a message this call sent (findSent) is stored:
// after a barrier, so that the answer is final (see above). It moves the
// tail to the subject's last message.
func (st *logState) settle(ctx context.Context, sent map[string]uint64, looked map[uint64]bool) (uint64, *nats.Msg, error) {
	b, err := st.e.publishBarrier(ctx, st.stream, st.barrier)
	if err != nil {
		return 0, nil, err
	}
	last, found, err := st.lastAfter(ctx, b)
	if err != nil {
		return 0, nil, err
	}
	if !found {
		// The subject is empty: nothing of this call's is stored.
		st.loaded, st.stale = true, false
		return 0, nil, nil
	}
	seq, err := msgSeq(last)
	if err != nil {
		return 0, nil, err
	}
	d, err := decode(st.subject, seq, last.Data)
	if err != nil {
		return 0, nil, err
	}
	st.observe(seq, markOf(d))
	st.loaded, st.stale = true, false
	return st.findSent(ctx, sent, looked, seq)
}

// lastAfter returns the subject's last message as a replica has it once
// it has applied the barrier at b (or a later one, which rolled b up):
// one direct get for the last message of both subjects, read together,
// which any replica may answer, and which is asked again until the
// answering replica has reached b. A replica's store is a prefix of the
// stream's committed log, so its answer then holds everything before b.
func (st *logState) lastAfter(ctx context.Context, b uint64) (*nats.Msg, bool, error) {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	req := getRequest{MultiLastFor: []string{st.subject, st.barrier}, Batch: 2}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, false, err
	}
	for wait := retryFirst; ; wait = min(2*wait, retryMax) {
		var (
			last    *nats.Msg
			reached bool
		)
		_, _, err := st.e.getBatchOnce(ctx, st.stream, req.Batch, body, func(seq uint64, msg *nats.Msg) (bool, error) {
			if msg.Header.Get(hdrSubject) == st.barrier {
				reached = seq >= b
			} else {
				last = msg
			}
			return true, nil
		})
		switch {
		case err == nil && reached:
			return last, last != nil, nil
		case err != nil && !st.e.lostAnswer(ctx, err):
			return nil, false, err
		}
		// A replica behind b, or an answer lost (or cut short, which
		// could hide the subject's message): ask again.
		if err := sleep(ctx, wait); err != nil {
			return nil, false, fmt.Errorf("a replica of %s stays behind barrier %d: %w", st.stream, b, err)
		}
	}
}

// Reads confirm too (refresh): a read must see every write acknowledged
// before it began, and the stream leader's word for the subject's last
// message is not enough there, since a leader cut off with a minority
// answers until it notices it lost its quorum (seconds), from a store
// that misses what the new leader acknowledged meanwhile. A barrier
// published after the read began can only be acknowledged by a leader
// holding a quorum, and any replica that has applied it holds every write
// acknowledged before it: lastAfter reads the subject's last message from
// such a replica, for the read to reach (upTo).
//
// A barrier is a replicated, fsynced write (BenchmarkClusterConfirm: a few
// milliseconds where a leader's get takes a tenth of one), so the reads
// of a stream share them: one barrier in flight per stream and node, and
// the reads arriving meanwhile wait for the next, which starts when it
// ends. Each read still gets a barrier published after it began.

// barrierGroup coalesces one stream's barriers for reads.
type barrierGroup struct {
	mu       sync.Mutex
	inflight bool
	// next gathers the reads that arrived while a barrier was in flight.
	next *barrierRound
}

// barrierRound is one barrier shared by the reads that wait for it.
type barrierRound struct {
	done chan struct{}
	seq  uint64
	err  error
}

// readBudget bounds a read's confirmation: a node cut off from the
// majority cannot have a barrier acknowledged, and refuses the read
// (InternalFailure) after it rather than answer from a stale store.
const readBudget = 15 * time.Second

// confirm returns the sequence of a barrier on stream published after
// confirm was called and acknowledged.
func (e *Engine) confirm(ctx context.Context, stream, subject string) (uint64, error) {
	e.mu.Lock()
	g := e.barriers[stream]
	if g == nil {
		g = &barrierGroup{}
		e.barriers[stream] = g
	}
	e.mu.Unlock()

	g.mu.Lock()
	r := g.next
	if r == nil {
		r = &barrierRound{done: make(chan struct{})}
		g.next = r
	}
	start := !g.inflight
	if start {
		g.inflight, g.next = true, nil
	}
	g.mu.Unlock()
	if start {
		// On its own goroutine: the round is shared, and must not end
		// with the context of the read that happened to start it.
		go e.runBarriers(g, stream, subject, r)
	}
	select {
	case <-r.done:
		return r.seq, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// runBarriers publishes r's barrier, then those of the rounds gathered
// meanwhile, one after the other, until none is waiting.
func (e *Engine) runBarriers(g *barrierGroup, stream, subject string, r *barrierRound) {
	for r != nil {
		// Not tied to the engine's life: once it closes, its connection
		// is closed and the publish fails at once.
		ctx, cancel := context.WithTimeout(context.Background(), readBudget)
		r.seq, r.err = e.publishBarrier(ctx, stream, subject)
		cancel()
		close(r.done)
		g.mu.Lock()
		r, g.next = g.next, nil
		if r == nil {
			g.inflight = false
		}
		g.mu.Unlock()
	}
}
