package kinesis

import (
	"bytes"
	"context"
	"errors"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/tributary-io/tributary/stream"
)

// SubscribeToShard answers with an event stream
// (application/vnd.amazon.eventstream): binary messages, each with headers
// and a payload in the request's encoding. The header names and values are
// those aws-sdk-go-v2's kinesis deserializer (smithy-go's event stream
// codec) and the other SDKs read:
//
//   - first an event with :event-type initial-response and an empty
//     object as payload, which RPC-protocol SDKs (and boto3) require
//     before any other event;
//   - then one event per stream.SubscribeToShardEvent, with :event-type
//     SubscribeToShardEvent;
//   - a failure after the stream has started is an exception message,
//     :message-type exception and :exception-type the AWS exception name,
//     with the usual error body as payload; the stream then ends.
//
// A session that ends cleanly (its 5 minutes are over, another took over,
// or a closed shard was read to its end) simply ends the stream.
const ContentTypeEventStream = "application/vnd.amazon.eventstream"

// Event stream header names and values.
const (
	hdrMessageType   = ":message-type"
	hdrEventType     = ":event-type"
	hdrExceptionType = ":exception-type"
	hdrContentType   = ":content-type"

	eventInitialResponse = "initial-response"
	eventSubscribe       = "SubscribeToShardEvent"
)

// subscription is subscribeToShard's output: not a shape but a session,
// which Handle turns into a streamed Response.
type subscription struct {
	sub *stream.Subscription
}

func (a *API) subscribeToShard(ctx context.Context, scope stream.Scope, raw Input) (any, error) {
	in := raw.(*SubscribeToShardInput)
	pos := stream.StartingPosition{
		Type:           stream.ShardIteratorType(str(in.StartingPosition.Type)),
		SequenceNumber: str(in.StartingPosition.SequenceNumber),
		Timestamp:      timePtr(in.StartingPosition.Timestamp),
	}
	sub, err := a.svc.SubscribeToShard(ctx, scope, stream.SubscribeToShardInput{
		ConsumerARN:      str(in.ConsumerARN),
		ShardId:          str(in.ShardID),
		StartingPosition: pos,
		DryRun:           flag(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &subscription{sub: sub}, nil
}

// eventPayloadType is the :content-type of event payloads in enc.
func eventPayloadType(enc Encoding) string {
	if enc == EncodingCBOR {
		return "application/cbor"
	}
	return "application/json"
}

// streamResponse serves a session. dropAfter, when not negative, is the
// number of SubscribeToShard events after which a drop_subscription fault
// ends the stream early, as a dropped connection would.
func (a *API) streamResponse(req *Request, s *subscription, dropAfter int) *Response {
	enc, ok := EncodingOf(req.ContentType)
	if !ok {
		enc = EncodingJSON
	}
	return &Response{
		Status:      statusOK,
		ContentType: ContentTypeEventStream,
		Stream: func(ctx context.Context, send func([]byte) error) {
			defer s.sub.Close()
			// The session runs under the request's context; the stream's
			// may end sooner (the server shutting down).
			stop := context.AfterFunc(ctx, func() { s.sub.End(context.Canceled) })
			defer stop()
			w := eventWriter{enc: enc, encoder: eventstream.NewEncoder(), send: send}
			if err := w.event(eventInitialResponse, struct{}{}); err != nil {
				return
			}
			for n := 0; dropAfter < 0 || n < dropAfter; n++ {
				ev, err := s.sub.Next()
				if errors.Is(err, io.EOF) {
					return
				}
				if err != nil {
					if ctx.Err() == nil {
						_ = w.exception(a.wireError(ctx, OpSubscribeToShard, req, err))
					}
					return
				}
				if err := w.event(eventSubscribe, eventOut(ev)); err != nil {
					return
				}
			}
		},
	}
}

// eventOut is the wire shape of an event.
func eventOut(ev *stream.SubscribeToShardEvent) *SubscribeToShardEvent {
	out := &SubscribeToShardEvent{
		Records:                    make([]Record, 0, len(ev.Records)),
		ContinuationSequenceNumber: optStr(ev.ContinuationSequenceNumber),
		MillisBehindLatest:         ev.MillisBehindLatest,
		ChildShards:                childShardsOut(ev.ChildShards),
	}
	for _, r := range ev.Records {
		data := r.Data
		if data == nil {
			data = []byte{}
		}
		out.Records = append(out.Records, Record{
			SequenceNumber:              r.SequenceNumber,
			ApproximateArrivalTimestamp: TimestampOf(r.ApproximateArrivalTimestamp),
			Data:                        data,
			PartitionKey:                r.PartitionKey,
			EncryptionType:              optStr(r.EncryptionType),
		})
	}
	return out
}

// eventWriter frames messages with the SDK's event stream encoder.
type eventWriter struct {
	enc     Encoding
	encoder *eventstream.Encoder
	send    func([]byte) error
	buf     bytes.Buffer
}

func (w *eventWriter) event(typ string, payload any) error {
	body, err := EncodeAs(w.enc, payload)
	if err != nil {
		return err
	}
	var msg eventstream.Message
	msg.Headers.Set(hdrMessageType, eventstream.StringValue("event"))
	msg.Headers.Set(hdrEventType, eventstream.StringValue(typ))
	msg.Headers.Set(hdrContentType, eventstream.StringValue(eventPayloadType(w.enc)))
	msg.Payload = body
	return w.write(msg)
}

func (w *eventWriter) exception(e *Error) error {
	var msg eventstream.Message
	msg.Headers.Set(hdrMessageType, eventstream.StringValue("exception"))
	msg.Headers.Set(hdrExceptionType, eventstream.StringValue(e.Type))
	msg.Headers.Set(hdrContentType, eventstream.StringValue(eventPayloadType(w.enc)))
	msg.Payload = ErrorResponse(w.enc.ContentType(), e).Body
	return w.write(msg)
}

func (w *eventWriter) write(msg eventstream.Message) error {
	w.buf.Reset()
	if err := w.encoder.Encode(&w.buf, msg); err != nil {
		return err
	}
	return w.send(w.buf.Bytes())
}
