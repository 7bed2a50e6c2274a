package jetstream

import (
	"context"
	"encoding/json"
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
}

// Headers and statuses of direct get answers.
const (
	hdrStatus   = "Status"
	hdrSequence = "Nats-Sequence"
	hdrSubject  = "Nats-Subject"
	hdrPending  = "Nats-Num-Pending"
	statusNone  = "404" // no message matches
	statusEOB   = "204" // end of a batch
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
	msg, err = e.nc.RequestWithContext(ctx, "$JS.API.DIRECT.GET."+stream, body)
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
func (e *Engine) getBatch(ctx context.Context, stream string, req getRequest, fn func(seq uint64, msg *nats.Msg) (bool, error)) (pending uint64, err error) {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	req.Batch = max(req.Batch, 1)
	body, err := json.Marshal(req)
	if err != nil {
		return 0, err
	}
	// The server sends at most the batch, and an end marker or a 404.
	reply, answers, done := e.replies.open(req.Batch + 1)
	defer done()
	if err := e.nc.PublishRequest("$JS.API.DIRECT.GET."+stream, reply, body); err != nil {
		return 0, fmt.Errorf("direct get from %s: %w", stream, err)
	}
	for {
		var msg *nats.Msg
		select {
		case msg = <-answers:
		case <-ctx.Done():
			return 0, fmt.Errorf("direct get from %s: %w", stream, ctx.Err())
		}
		switch st := msg.Header.Get(hdrStatus); st {
		case "":
		case statusNone:
			return 0, nil
		case statusEOB:
			n, err := strconv.ParseUint(msg.Header.Get(hdrPending), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("direct get from %s: end of batch without a pending count: %w", stream, err)
			}
			return n, nil
		default:
			return 0, fmt.Errorf("direct get from %s: status %s %s", stream, st, msg.Header.Get("Description"))
		}
		seq, err := msgSeq(msg)
		if err != nil {
			return 0, err
		}
		more, err := fn(seq, msg)
		if err != nil || !more {
			return 0, err
		}
	}
}
