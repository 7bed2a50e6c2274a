package api

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/fxamacker/cbor/v2"

	"github.com/tributary-io/tributary/faults"
	"github.com/tributary-io/tributary/kinesis"
)

// message is a decoded event stream message.
type message struct {
	headers map[string]string
	payload []byte
}

// runStream serves a SubscribeToShard call and returns its messages: it
// stops after stopAfter messages (or when the stream ends by itself).
func runStream(t *testing.T, a *API, contentType, body string, stopAfter int) (*kinesis.Response, []message) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	raw := []byte(body)
	if contentType == kinesis.ContentTypeCBOR {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		var err error
		if raw, err = cbor.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	resp := a.Handle(ctx, &kinesis.Request{
		Target: kinesis.TargetPrefix + kinesis.OpSubscribeToShard, ContentType: contentType, Body: raw,
		Region: "us-east-1", Account: "000000000000", RequestID: "req",
	})
	if resp.Stream == nil {
		return resp, nil
	}
	var msgs []message
	dec := eventstream.NewDecoder()
	resp.Stream(ctx, func(b []byte) error {
		m, err := dec.Decode(bytes.NewReader(b), nil)
		if err != nil {
			t.Errorf("decode message: %v", err)
			cancel()
			return err
		}
		h := make(map[string]string)
		for _, hd := range m.Headers {
			h[hd.Name] = hd.Value.String()
		}
		msgs = append(msgs, message{headers: h, payload: m.Payload})
		if len(msgs) == stopAfter {
			cancel()
		}
		return nil
	})
	return resp, msgs
}

// setupConsumer creates stream s with one record and ACTIVE consumer c,
// returning the consumer ARN.
func setupConsumer(t *testing.T, a *API) string {
	t.Helper()
	// newFaultAPI has created s already.
	call(a, kinesis.ContentTypeJSON, kinesis.OpCreateStream, `{"StreamName":"s","ShardCount":1}`)
	for _, c := range []struct{ op, body string }{
		{kinesis.OpPutRecord, `{"StreamName":"s","PartitionKey":"k","Data":"aGk="}`},
	} {
		if r := call(a, kinesis.ContentTypeJSON, c.op, c.body); r.Status != 200 {
			t.Fatalf("%s: %d %s", c.op, r.Status, r.Body)
		}
	}
	r := call(a, kinesis.ContentTypeJSON, kinesis.OpRegisterStreamConsumer, `{"StreamARN":"`+testARN+`","ConsumerName":"c"}`)
	var out struct{ Consumer struct{ ConsumerARN string } }
	if err := json.Unmarshal(r.Body, &out); err != nil || out.Consumer.ConsumerARN == "" {
		t.Fatalf("RegisterStreamConsumer: %d %s", r.Status, r.Body)
	}
	return out.Consumer.ConsumerARN
}

func subscribeBody(arn string) string {
	return `{"ConsumerARN":"` + arn + `","ShardId":"shardId-000000000000","StartingPosition":{"Type":"TRIM_HORIZON"}}`
}

func TestSubscribeToShardEventStream(t *testing.T) {
	tests := []struct {
		contentType, payloadType, initial string
	}{
		{kinesis.ContentTypeJSON, "application/json", "{}"},
		{kinesis.ContentTypeCBOR, "application/cbor", "\xa0"},
	}
	for _, tc := range tests {
		t.Run(tc.payloadType, func(t *testing.T) {
			a, _ := newTestAPI(t)
			arn := setupConsumer(t, a)
			resp, msgs := runStream(t, a, tc.contentType, subscribeBody(arn), 2)
			if resp.Status != 200 || resp.ContentType != kinesis.ContentTypeEventStream {
				t.Fatalf("response %d %s %s", resp.Status, resp.ContentType, resp.Body)
			}
			if len(msgs) != 2 {
				t.Fatalf("%d messages, want 2", len(msgs))
			}
			want0 := map[string]string{":message-type": "event", ":event-type": "initial-response", ":content-type": tc.payloadType}
			if !equalHeaders(msgs[0].headers, want0) || string(msgs[0].payload) != tc.initial {
				t.Errorf("first message %v %q, want %v %q", msgs[0].headers, msgs[0].payload, want0, tc.initial)
			}
			want1 := map[string]string{":message-type": "event", ":event-type": "SubscribeToShardEvent", ":content-type": tc.payloadType}
			if !equalHeaders(msgs[1].headers, want1) {
				t.Errorf("second message headers %v, want %v", msgs[1].headers, want1)
			}
			if tc.contentType == kinesis.ContentTypeJSON {
				var ev struct {
					Records                    []struct{ Data []byte }
					ContinuationSequenceNumber string
					MillisBehindLatest         *int64
				}
				if err := json.Unmarshal(msgs[1].payload, &ev); err != nil {
					t.Fatalf("event payload %s: %v", msgs[1].payload, err)
				}
				if len(ev.Records) != 1 || string(ev.Records[0].Data) != "hi" || ev.ContinuationSequenceNumber == "" || ev.MillisBehindLatest == nil {
					t.Errorf("event payload %s", msgs[1].payload)
				}
			}
		})
	}
}

func equalHeaders(got, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func TestSubscribeToShardErrors(t *testing.T) {
	a, _ := newTestAPI(t)
	arn := setupConsumer(t, a)
	other := strings.Replace(arn, "/consumer/c:", "/consumer/d:", 1)
	resp, _ := runStream(t, a, kinesis.ContentTypeJSON, subscribeBody(other), 1)
	want := `{"__type":"ResourceNotFoundException","message":"Consumer d under stream s and account 000000000000 not found."}`
	if resp.Status != 400 || string(resp.Body) != want {
		t.Errorf("unknown consumer: %d %s, want 400 %s", resp.Status, resp.Body, want)
	}
}

func TestSubscribeToShardException(t *testing.T) {
	a, _ := newTestAPI(t)
	arn := setupConsumer(t, a)
	ctx := context.Background()
	resp := a.Handle(ctx, &kinesis.Request{
		Target: kinesis.TargetPrefix + kinesis.OpSubscribeToShard, ContentType: kinesis.ContentTypeJSON, Body: []byte(subscribeBody(arn)),
		Region: "us-east-1", Account: "000000000000",
	})
	var last message
	n := 0
	resp.Stream(ctx, func(b []byte) error {
		m, err := eventstream.NewDecoder().Decode(bytes.NewReader(b), nil)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		n++
		if n == 2 {
			// After the first event, the consumer goes: the stream ends
			// with an exception message.
			if r := call(a, kinesis.ContentTypeJSON, kinesis.OpDeregisterStreamConsumer, `{"ConsumerARN":"`+arn+`"}`); r.Status != 200 {
				t.Fatalf("DeregisterStreamConsumer: %d %s", r.Status, r.Body)
			}
		}
		last = message{headers: map[string]string{}, payload: m.Payload}
		for _, h := range m.Headers {
			last.headers[h.Name] = h.Value.String()
		}
		return nil
	})
	if last.headers[":message-type"] != "exception" || last.headers[":exception-type"] != "ResourceNotFoundException" &&
		last.headers[":exception-type"] != "ResourceInUseException" {
		t.Fatalf("last message %v %s, want an exception", last.headers, last.payload)
	}
	var body struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(last.payload, &body); err != nil || body.Type != last.headers[":exception-type"] || body.Message == "" {
		t.Errorf("exception payload %s", last.payload)
	}
}

func TestDropSubscriptionFault(t *testing.T) {
	inj := faults.New(1)
	a := newFaultAPI(t, inj)
	arn := setupConsumer(t, a)
	addRule(t, inj, faults.Rule{Operation: kinesis.OpSubscribeToShard, Effect: faults.EffectDropSubscription, Count: 1})

	// The first call meets the fault: the stream ends after its
	// initial-response, before any record.
	_, msgs := runStream(t, a, kinesis.ContentTypeJSON, subscribeBody(arn), 10)
	if len(msgs) != 1 || msgs[0].headers[":event-type"] != "initial-response" {
		t.Fatalf("dropped stream sent %d messages (%v), want only the initial-response", len(msgs), msgs)
	}
	// The rule is spent: the next call streams the record.
	_, msgs = runStream(t, a, kinesis.ContentTypeJSON, subscribeBody(arn), 2)
	if len(msgs) != 2 || msgs[1].headers[":event-type"] != "SubscribeToShardEvent" || !bytes.Contains(msgs[1].payload, []byte(`"Data":"aGk="`)) {
		t.Fatalf("second stream: %d messages, want the initial-response and the record", len(msgs))
	}
}
