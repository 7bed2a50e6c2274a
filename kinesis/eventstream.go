package kinesis

import (
	"bytes"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
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
//   - then one event per SubscribeToShardEvent, with :event-type
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

// EventWriter frames the messages of one SubscribeToShard event stream
// with the SDK's own event stream encoder and hands each to send.
type EventWriter struct {
	enc     Encoding
	encoder *eventstream.Encoder
	send    func([]byte) error
	buf     bytes.Buffer
}

// NewEventWriter returns a writer whose payloads are in the encoding of
// the request's contentType (JSON for anything not CBOR). send must write
// and flush one framed message; its error ends the stream.
func NewEventWriter(contentType string, send func(msg []byte) error) *EventWriter {
	enc, ok := EncodingOf(contentType)
	if !ok {
		enc = EncodingJSON
	}
	return &EventWriter{enc: enc, encoder: eventstream.NewEncoder(), send: send}
}

// InitialResponse writes the initial-response event every stream starts
// with.
func (w *EventWriter) InitialResponse() error { return w.event(eventInitialResponse, struct{}{}) }

// Event writes one SubscribeToShardEvent.
func (w *EventWriter) Event(ev *SubscribeToShardEvent) error { return w.event(eventSubscribe, ev) }

// Exception writes e as the exception message that ends a stream.
func (w *EventWriter) Exception(e *Error) error {
	var msg eventstream.Message
	msg.Headers.Set(hdrMessageType, eventstream.StringValue("exception"))
	msg.Headers.Set(hdrExceptionType, eventstream.StringValue(e.Type))
	msg.Headers.Set(hdrContentType, eventstream.StringValue(w.payloadType()))
	msg.Payload = ErrorResponse(w.enc.ContentType(), e).Body
	return w.write(msg)
}

func (w *EventWriter) event(typ string, payload any) error {
	body, err := EncodeAs(w.enc, payload)
	if err != nil {
		return err
	}
	var msg eventstream.Message
	msg.Headers.Set(hdrMessageType, eventstream.StringValue("event"))
	msg.Headers.Set(hdrEventType, eventstream.StringValue(typ))
	msg.Headers.Set(hdrContentType, eventstream.StringValue(w.payloadType()))
	msg.Payload = body
	return w.write(msg)
}

// payloadType is the :content-type of event payloads.
func (w *EventWriter) payloadType() string {
	if w.enc == EncodingCBOR {
		return "application/cbor"
	}
	return "application/json"
}

func (w *EventWriter) write(msg eventstream.Message) error {
	w.buf.Reset()
	if err := w.encoder.Encode(&w.buf, msg); err != nil {
		return err
	}
	return w.send(w.buf.Bytes())
}
