// Package api serves the Kinesis operations: one handler per operation
// turns a decoded, validated input shape of package kinesis into a call
// of package stream and the result back into an output shape or an AWS
// error. It also applies the fault injector's rules. It sits between
// package server (HTTP) and package stream (the domain) and knows neither
// HTTP nor the wire encodings.
package api

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"time"

	"github.com/tributary-io/tributary/faults"
	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

// maxDataBytes is the largest Data any stream takes (10 MiB, the ceiling
// of UpdateMaxRecordSize). Larger blobs are rejected here with the model's
// ValidationException; the stream's own, possibly lower, limit is applied
// by package stream, which knows the stream.
const maxDataBytes = 10 << 20

// Options configures an API.
type Options struct {
	// Logger receives internal failures; nil means slog.Default().
	Logger *slog.Logger
	// Faults, when not nil, injects the faults its rules describe into
	// the calls served; see handleWithFaults.
	Faults *faults.Injector
}

// API serves the Kinesis operations over a stream.Service. It implements
// server.Handler.
type API struct {
	svc    *stream.Service
	log    *slog.Logger
	faults *faults.Injector // nil: none
}

// New returns an API answering with svc.
func New(svc *stream.Service, opts Options) *API {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &API{svc: svc, log: log, faults: opts.Faults}
}

// handlerFunc runs one decoded, validated operation. It returns the output
// shape (nil for operations without output) or an error, which is either a
// *stream.Error, an *Error, or an unexpected failure.
type handlerFunc func(a *API, ctx context.Context, scope stream.Scope, in kinesis.Input) (any, error)

// handlers holds the operations package stream implements. Operations with
// a shape but no entry here are answered with unimplemented.
var handlers = map[string]handlerFunc{
	kinesis.OpCreateStream:                  (*API).createStream,
	kinesis.OpDeleteStream:                  (*API).deleteStream,
	kinesis.OpDescribeStream:                (*API).describeStream,
	kinesis.OpDescribeStreamSummary:         (*API).describeStreamSummary,
	kinesis.OpListStreams:                   (*API).listStreams,
	kinesis.OpListShards:                    (*API).listShards,
	kinesis.OpPutRecord:                     (*API).putRecord,
	kinesis.OpPutRecords:                    (*API).putRecords,
	kinesis.OpGetShardIterator:              (*API).getShardIterator,
	kinesis.OpGetRecords:                    (*API).getRecords,
	kinesis.OpIncreaseStreamRetentionPeriod: (*API).increaseRetention,
	kinesis.OpDecreaseStreamRetentionPeriod: (*API).decreaseRetention,
	kinesis.OpAddTagsToStream:               (*API).addTagsToStream,
	kinesis.OpRemoveTagsFromStream:          (*API).removeTagsFromStream,
	kinesis.OpListTagsForStream:             (*API).listTagsForStream,
	kinesis.OpTagResource:                   (*API).tagResource,
	kinesis.OpUntagResource:                 (*API).untagResource,
	kinesis.OpListTagsForResource:           (*API).listTagsForResource,
	kinesis.OpDescribeLimits:                (*API).describeLimits,
	kinesis.OpUpdateMaxRecordSize:           (*API).updateMaxRecordSize,
	kinesis.OpSplitShard:                    (*API).splitShard,
	kinesis.OpMergeShards:                   (*API).mergeShards,
	kinesis.OpUpdateShardCount:              (*API).updateShardCount,
	kinesis.OpUpdateStreamMode:              (*API).updateStreamMode,
	kinesis.OpRegisterStreamConsumer:        (*API).registerStreamConsumer,
	kinesis.OpDescribeStreamConsumer:        (*API).describeStreamConsumer,
	kinesis.OpListStreamConsumers:           (*API).listStreamConsumers,
	kinesis.OpDeregisterStreamConsumer:      (*API).deregisterStreamConsumer,
	kinesis.OpSubscribeToShard:              (*API).subscribeToShard,
}

// unimplemented is the answer to an operation Tributary knows the shape of
// but does not serve yet. It is a client-side error in AWS form, so SDKs
// surface it as an API error instead of retrying an InternalFailure.
func unimplemented(op string) *kinesis.Error {
	return kinesis.Errorf(kinesis.ErrUnknownOperation, "Tributary does not implement %s yet.", op)
}

// Handle answers one Kinesis call.
func (a *API) Handle(ctx context.Context, req *kinesis.Request) *kinesis.Response {
	op, ok := kinesis.OperationOf(req.Target)
	if !ok {
		return kinesis.ErrorResponse(req.ContentType, kinesis.UnknownOperation())
	}
	in, _ := kinesis.NewInput(op)
	if err := kinesis.DecodeRequest(req, in); err != nil {
		return kinesis.ErrorResponse(req.ContentType, err)
	}
	h, ok := handlers[op]
	if !ok {
		return kinesis.ErrorResponse(req.ContentType, unimplemented(op))
	}
	scope := stream.Scope{Account: req.Account, Region: req.Region}
	if a.faults != nil {
		return a.handleWithFaults(ctx, op, req, scope, h, in)
	}
	out, err := h(a, ctx, scope, in)
	if err != nil {
		return kinesis.ErrorResponse(req.ContentType, a.wireError(ctx, op, req, err))
	}
	if s, ok := out.(*subscription); ok {
		return a.streamResponse(req, s, -1)
	}
	return kinesis.EncodeResponse(req.ContentType, out)
}

// handleWithFaults serves a decoded, validated call with the faults the
// injector decides it meets: all latencies first (their sum), then the
// first error, then early iterator expiry for GetRecords, then entry
// failures for PutRecords. A call that meets none is served as usual.
func (a *API) handleWithFaults(ctx context.Context, op string, req *kinesis.Request, scope stream.Scope, h handlerFunc, in kinesis.Input) *kinesis.Response {
	call := faultCall(op, req.Account, in)
	var iter faults.IteratorInfo
	var iterKnown bool
	if gr, ok := in.(*kinesis.GetRecordsInput); ok {
		// GetRecords names neither stream nor shard, but the injector may
		// remember them from when it saw the iterator handed out.
		if iter, iterKnown = a.faults.Iterator(str(gr.ShardIterator)); iterKnown {
			call.Stream, call.Shard = iter.Stream, iter.Shard
		}
	}
	decisions := a.faults.Match(call)

	var delay time.Duration
	for _, d := range decisions {
		if d.Effect == faults.EffectLatency {
			delay += d.Latency
		}
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			// The client has gone; what it would have been told is moot.
			t.Stop()
			return kinesis.ErrorResponse(req.ContentType, kinesis.InternalFailure())
		}
	}
	var failures *faults.Decision
	drop := false
	for i, d := range decisions {
		switch d.Effect {
		case faults.EffectError:
			return kinesis.ErrorResponse(req.ContentType, kinesis.NewError(d.ErrorType, d.ErrorMessage))
		case faults.EffectExpireIterators:
			if now := time.Now(); iterKnown && now.Sub(iter.Issued) > d.MaxAge {
				return kinesis.ErrorResponse(req.ContentType, kinesis.NewError(kinesis.ErrExpiredIterator, faults.ExpiredMessage(iter.Issued, now, d.MaxAge)))
			}
		case faults.EffectPutRecordsFailures:
			if failures == nil {
				failures = &decisions[i]
			}
		case faults.EffectDropSubscription:
			drop = true
		}
	}

	var out any
	var err error
	// Entry failures happen as records are written, which a dry run does
	// not do; it meets the rule's errors and latency only.
	if pr, ok := in.(*kinesis.PutRecordsInput); ok && failures != nil && !flag(pr.DryRun) {
		out, err = a.putRecordsFailing(ctx, scope, pr, failures)
	} else {
		out, err = h(a, ctx, scope, in)
	}
	if err != nil {
		return kinesis.ErrorResponse(req.ContentType, a.wireError(ctx, op, req, err))
	}
	a.recordIterator(call, out)
	if s, ok := out.(*subscription); ok {
		// drop_subscription ends the stream right after its
		// initial-response, as a connection dropped before any record
		// arrived would; the rule's Count says how many calls meet it.
		dropAfter := -1
		if drop {
			dropAfter = 0
		}
		return a.streamResponse(req, s, dropAfter)
	}
	return kinesis.EncodeResponse(req.ContentType, out)
}

// faultCall describes in for matching fault rules: the stream and shard
// come from whichever of the members StreamName, StreamARN, ShardId,
// ShardToSplit and ShardToMerge the operation has. Reflection keeps this
// to one place for every shape; it runs only with an injector.
func faultCall(op, account string, in kinesis.Input) faults.Call {
	c := faults.Call{Operation: op, Account: account}
	v := reflect.ValueOf(in)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return c
	}
	v = v.Elem()
	member := func(name string) string {
		f := v.FieldByName(name)
		if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() || f.Elem().Kind() != reflect.String {
			return ""
		}
		return f.Elem().String()
	}
	c.Stream = member("StreamName")
	if c.Stream == "" {
		c.Stream = streamNameOf(member("StreamARN"))
	}
	if c.Stream == "" {
		// A consumer ARN is the stream ARN followed by /consumer/NAME:EPOCH.
		c.Stream, _, _ = strings.Cut(streamNameOf(member("ConsumerARN")), "/")
	}
	for _, name := range []string{"ShardID", "ShardToSplit", "ShardToMerge"} {
		if c.Shard = member(name); c.Shard != "" {
			break
		}
	}
	if pr, ok := in.(*kinesis.PutRecordsInput); ok {
		c.Entries = len(pr.Records)
	}
	return c
}

// streamNameOf returns the stream name in a stream ARN, or "".
func streamNameOf(arn string) string {
	_, name, _ := strings.Cut(arn, ":stream/")
	return name
}

// wireError turns a handler's error into the AWS error to send. Domain
// errors carry their exception name and message; anything else is a fault
// of ours, logged here because the client only sees InternalFailure.
func (a *API) wireError(ctx context.Context, op string, req *kinesis.Request, err error) *kinesis.Error {
	var we *kinesis.Error
	if errors.As(err, &we) {
		return we
	}
	var se *stream.Error
	if errors.As(err, &se) {
		return kinesis.NewError(se.Type, se.Message)
	}
	a.log.ErrorContext(ctx, "operation failed",
		slog.String("op", op),
		slog.String("request_id", req.RequestID),
		slog.Any("error", err))
	return kinesis.InternalFailure()
}

// str dereferences an optional string member; absent is empty.
func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// num dereferences an optional integer member; absent is zero.
func num(p *int32) int {
	if p == nil {
		return 0
	}
	return int(*p)
}

// flag dereferences an optional boolean member; absent is false.
func flag(p *bool) bool { return p != nil && *p }

// optStr is the optional member for s: absent when empty, as AWS leaves
// out members it has no value for.
func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func ref(name, arn *string) stream.StreamRef {
	return stream.StreamRef{Name: str(name), ARN: str(arn)}
}

// timePtr converts an optional wire timestamp.
func timePtr(t *kinesis.Timestamp) *time.Time {
	if t == nil {
		return nil
	}
	v := t.Time
	return &v
}

func int32Ptr(n int32) *int32 { return &n }
