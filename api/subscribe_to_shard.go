package api

import (
	"context"
	"errors"
	"io"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

// subscription is subscribeToShard's output: not a shape but a session,
// which Handle turns into a streamed Response.
type subscription struct {
	sub *stream.Subscription
}

func (a *API) subscribeToShard(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.SubscribeToShardInput)
	pos := stream.StartingPosition{
		Type:           stream.ShardIteratorType(str(in.StartingPosition.Type)),
		SequenceNumber: str(in.StartingPosition.SequenceNumber),
		Timestamp:      timePtr(in.StartingPosition.Timestamp),
	}
	sub, err := a.svc.SubscribeToShard(ctx, scope, stream.SubscribeToShardInput{
		ConsumerARN:      str(in.ConsumerARN),
		ShardID:          str(in.ShardID),
		StartingPosition: pos,
		DryRun:           flag(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &subscription{sub: sub}, nil
}

// streamResponse serves a session. dropAfter, when not negative, is the
// number of SubscribeToShard events after which a drop_subscription fault
// ends the stream early, as a dropped connection would.
func (a *API) streamResponse(req *kinesis.Request, s *subscription, dropAfter int) *kinesis.Response {
	return &kinesis.Response{
		Status:      200,
		ContentType: kinesis.ContentTypeEventStream,
		Stream: func(ctx context.Context, send func([]byte) error) {
			defer s.sub.Close()
			// The session runs under the request's context; the stream's
			// may end sooner (the server shutting down).
			stop := context.AfterFunc(ctx, func() { s.sub.End(context.Canceled) })
			defer stop()
			w := kinesis.NewEventWriter(req.ContentType, send)
			if err := w.InitialResponse(); err != nil {
				return
			}
			for n := 0; dropAfter < 0 || n < dropAfter; n++ {
				ev, err := s.sub.Next()
				if errors.Is(err, io.EOF) {
					return
				}
				if err != nil {
					if ctx.Err() == nil {
						_ = w.Exception(a.wireError(ctx, kinesis.OpSubscribeToShard, req, err))
					}
					return
				}
				if err := w.Event(eventOut(ev)); err != nil {
					return
				}
			}
		},
	}
}
