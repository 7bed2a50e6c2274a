package jetstream

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
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

// getBatch asks for up to req.Batch messages and hands each to fn in
// sequence order until fn returns false. It returns how many matching
// messages the stream holds after the last one sent (from the end-of-batch
// marker), or 0 when fn stopped early or nothing matched.
func (e *Engine) getBatch(ctx context.Context, stream string, req getRequest, fn func(seq uint64, msg *nats.Msg) (bool, error)) (pending uint64, err error) {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	body, err := json.Marshal(req)
	if err != nil {
		return 0, err
	}
	inbox := e.nc.NewInbox()
	sub, err := e.nc.SubscribeSync(inbox)
	if err != nil {
		return 0, fmt.Errorf("direct get from %s: %w", stream, err)
	}
	// Unsubscribing drops whatever the server still sends after fn
	// stopped.
	defer func() { _ = sub.Unsubscribe() }()
	if err := e.nc.PublishRequest("$JS.API.DIRECT.GET."+stream, inbox, body); err != nil {
		return 0, fmt.Errorf("direct get from %s: %w", stream, err)
	}
	for {
		msg, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return 0, fmt.Errorf("direct get from %s: %w", stream, err)
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
