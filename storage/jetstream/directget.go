package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// getRequest is the body of a JetStream direct get ($JS.API.DIRECT.GET.<stream>),
// answered by whichever replica the request reaches, without going
// through the stream's leader or its API queue. The fields are the
// server's JSApiMsgGetRequest.
type getRequest struct {
	Seq      uint64 `json:"seq,omitempty"`
	LastFor  string `json:"last_by_subj,omitempty"`
	NextFor  string `json:"next_by_subj,omitempty"`
	Batch    int    `json:"batch,omitempty"`
	MaxBytes int    `json:"max_bytes,omitempty"`
	// MultiLastFor asks for the last message of each subject, read
	// together (the replica's store is locked against writes meanwhile).
	MultiLastFor []string `json:"multi_last,omitempty"`
}

// Headers and statuses of direct get answers.
const (
	hdrStatus   = "Status"
	hdrSequence = "Nats-Sequence"
	hdrSubject  = "Nats-Subject"
	hdrPending  = "Nats-Num-Pending"
	statusNone  = "404" // no message matches
	statusEOB   = "204" // end of a batch
	// statusNoResponders is the server's answer when no one listens on
	// the request's subject (nats.go turns it into ErrNoResponders for
	// its own requests; getBatch reads its answers itself).
	statusNoResponders = "503"
)

// directTimeout bounds a direct get whose context has no deadline, so
// that an answer lost in a shutting-down server cannot hang a reader.
const directTimeout = 30 * time.Second

func withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, directTimeout)
}

// getOne asks for one message; found is false when none matches.
func (e *Engine) getOne(ctx context.Context, stream string, req getRequest) (msg *nats.Msg, found bool, err error) {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	body, err := json.Marshal(req)
	if err != nil {
		return nil, false, err
	}
	for wait := retryFirst; ; wait = min(2*wait, retryMax) {
		actx, acancel := e.attempt(ctx)
		msg, err = e.nc.RequestWithContext(actx, "$JS.API.DIRECT.GET."+stream, body)
		acancel()
		if err == nil || !e.lostAnswer(ctx, err) || sleep(ctx, wait) != nil {
			break
		}
	}
	if err != nil {
		return nil, false, fmt.Errorf("direct get from %s: %w", stream, err)
	}
	switch st := msg.Header.Get(hdrStatus); st {
	case "":
		return msg, true, nil
	case statusNone:
		return nil, false, nil
	default:
		return nil, false, fmt.Errorf("direct get from %s: status %s %s", stream, st, msg.Header.Get("Description"))
	}
}

// directAttemptTimeout bounds, in a cluster, the wait for each answer to a
// direct get, which is then asked again. Any replica may answer, and the
// one chosen may not: a replica on a node cut off by a partition keeps its
// interest on the others' routes until they notice the node is gone, and
// a request routed to it is dropped. A read or an append waiting out the
// whole directTimeout for that answer would outlive its client's patience
// (issue 17: partition runs had writes waiting 30 s in findSent). A
// replica on loopback or a LAN answers a page in milliseconds.
const directAttemptTimeout = 2 * time.Second

// attempt bounds one direct get's wait for an answer: in a cluster by
// directAttemptTimeout, on a single node only by ctx (the one store is
// local and always answers).
func (e *Engine) attempt(ctx context.Context) (context.Context, context.CancelFunc) {
	if e.cluster == nil {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, directAttemptTimeout)
}

// lostAnswer tells whether err, from an attempt bounded by attempt, is a
// lost answer worth asking again for: the attempt timed out, or no
// replica listens at the moment (a node starting, an election), while ctx
// lives on. Direct gets change nothing, so asking again is always safe.
func (e *Engine) lostAnswer(ctx context.Context, err error) bool {
	if e.cluster == nil || ctx.Err() != nil {
		return false
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrNoResponders)
}

// msgSeq is the stream sequence a direct get answer carries.
func msgSeq(msg *nats.Msg) (uint64, error) {
	seq, err := strconv.ParseUint(msg.Header.Get(hdrSequence), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("direct get answer without a sequence: %w", err)
	}
	return seq, nil
}

// replies routes the answers of batched direct gets: one subscription on
// "<inbox>.*" for the engine's life, each request answered on a token of
// its own, so that a read costs no subscribe and unsubscribe round trip.
type replies struct {
	prefix string // "<inbox>."
	sub    *nats.Subscription

	mu      sync.Mutex
	next    uint64
	waiting map[string]chan *nats.Msg
}

func newReplies(nc *nats.Conn) (*replies, error) {
	r := &replies{prefix: nc.NewInbox() + ".", waiting: map[string]chan *nats.Msg{}}
	sub, err := nc.Subscribe(r.prefix+"*", r.route)
	if err != nil {
		return nil, err
	}
	// route never blocks, so the pending queue only holds what arrived
	// faster than a map lookup: no limit, rather than drop an answer
	// and leave its reader waiting for its deadline.
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		return nil, err
	}
	r.sub = sub
	return r, nil
}

// route hands msg to its request. It never blocks: each request's channel
// holds every message the server may send it (its batch and the end
// marker), and answers for a request that gave up are dropped.
func (r *replies) route(msg *nats.Msg) {
	r.mu.Lock()
	ch := r.waiting[msg.Subject[len(r.prefix):]]
	r.mu.Unlock()
	if ch != nil {
		select {
		case ch <- msg:
		default:
		}
	}
}

// open returns a reply subject for a request of up to n answers, the
// channel they arrive on, and the function that stops routing them.
func (r *replies) open(n int) (string, <-chan *nats.Msg, func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	token := strconv.FormatUint(r.next, 36)
	ch := make(chan *nats.Msg, n)
	r.waiting[token] = ch
	return r.prefix + token, ch, func() {
		r.mu.Lock()
		delete(r.waiting, token)
		r.mu.Unlock()
	}
}

// getBatch asks for up to req.Batch messages and hands each to fn in
// sequence order until fn returns false. It returns how many matching
// messages the stream holds after the last one sent (from the end-of-batch
// marker), or 0 when fn stopped early or nothing matched.
//
// In a cluster an answer that does not come within directAttemptTimeout
// is taken as lost: with nothing handed to fn yet the request is sent
// again; after some messages, getBatch returns 1 pending, so that the
// caller asks again from the last one it got (every caller pages so).
func (e *Engine) getBatch(ctx context.Context, stream string, req getRequest, fn func(seq uint64, msg *nats.Msg) (bool, error)) (pending uint64, err error) {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	req.Batch = max(req.Batch, 1)
	body, err := json.Marshal(req)
	if err != nil {
		return 0, err
	}
	for wait := retryFirst; ; wait = min(2*wait, retryMax) {
		handed, pending, err := e.getBatchOnce(ctx, stream, req.Batch, body, fn)
		switch {
		case err == nil:
			return pending, nil
		case !e.lostAnswer(ctx, err):
			return 0, err
		case handed:
			return 1, nil
		}
		if serr := sleep(ctx, wait); serr != nil {
			return 0, err
		}
	}
}

// getBatchOnce sends one batched direct get of up to batch messages and
// waits for its answers; handed tells whether fn saw any.
func (e *Engine) getBatchOnce(ctx context.Context, stream string, batch int, body []byte, fn func(seq uint64, msg *nats.Msg) (bool, error)) (handed bool, pending uint64, err error) {
	ctx, cancel := e.attempt(ctx)
	defer cancel()
	// The server sends at most the batch, and an end marker or a 404.
	reply, answers, done := e.replies.open(batch + 1)
	defer done()
	if err := e.nc.PublishRequest("$JS.API.DIRECT.GET."+stream, reply, body); err != nil {
		return false, 0, fmt.Errorf("direct get from %s: %w", stream, err)
	}
	for {
		var msg *nats.Msg
		select {
		case msg = <-answers:
		case <-ctx.Done():
			return handed, 0, fmt.Errorf("direct get from %s: %w", stream, ctx.Err())
		}
		switch st := msg.Header.Get(hdrStatus); st {
		case "":
		case statusNone:
			return handed, 0, nil
		case statusEOB:
			n, err := strconv.ParseUint(msg.Header.Get(hdrPending), 10, 64)
			if err != nil {
				return handed, 0, fmt.Errorf("direct get from %s: end of batch without a pending count: %w", stream, err)
			}
			return handed, n, nil
		case statusNoResponders:
			// No replica listens yet (a node starting, an election):
			// as a request's no responders, asked again in a cluster.
			return handed, 0, fmt.Errorf("direct get from %s: %w", stream, nats.ErrNoResponders)
		default:
			return handed, 0, fmt.Errorf("direct get from %s: status %s %s", stream, st, msg.Header.Get("Description"))
		}
		seq, err := msgSeq(msg)
		if err != nil {
			return handed, 0, err
		}
		handed = true
		more, err := fn(seq, msg)
		if err != nil || !more {
			return handed, 0, err
		}
	}
}
