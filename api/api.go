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
	"time"

	"github.com/tributary-io/tributary/faults"
	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

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
	// policies caches parsed identity and resource policies.
	policies policyCache
	pages    pages
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
	kinesis.OpStartStreamEncryption:         (*API).startStreamEncryption,
	kinesis.OpStopStreamEncryption:          (*API).stopStreamEncryption,
	kinesis.OpRegisterStreamConsumer:        (*API).registerStreamConsumer,
	kinesis.OpDescribeStreamConsumer:        (*API).describeStreamConsumer,
	kinesis.OpListStreamConsumers:           (*API).listStreamConsumers,
	kinesis.OpDeregisterStreamConsumer:      (*API).deregisterStreamConsumer,
	kinesis.OpSubscribeToShard:              (*API).subscribeToShard,
	kinesis.OpEnableEnhancedMonitoring:      (*API).enableEnhancedMonitoring,
	kinesis.OpDisableEnhancedMonitoring:     (*API).disableEnhancedMonitoring,
	kinesis.OpPutResourcePolicy:             (*API).putResourcePolicy,
	kinesis.OpGetResourcePolicy:             (*API).getResourcePolicy,
	kinesis.OpDeleteResourcePolicy:          (*API).deleteResourcePolicy,
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
	if err := refuseRegionless(req); err != nil {
		return kinesis.ErrorResponse(req.ContentType, err)
	}
	if err := checkResourceAccount(op, req, in); err != nil {
		return kinesis.ErrorResponse(req.ContentType, err)
	}
	h, ok := handlers[op]
	if !ok {
		return kinesis.ErrorResponse(req.ContentType, unimplemented(op))
	}
	scope := stream.Scope{Account: req.Account, Region: req.Region}
	if req.Caller != nil {
		// Policies decide before anything else, faults included, and name
		// the scope to serve in: another account's, for a call across
		// accounts that both sides allow.
		var err error
		if scope, err = a.authorize(ctx, op, req, in); err != nil {
			return kinesis.ErrorResponse(req.ContentType, a.wireError(ctx, op, req, err))
		}
	}
	if a.faults != nil {
		return a.handleWithFaults(ctx, op, req, scope, h, in)
	}
	out, err := h(a, ctx, scope, in)
	if err != nil {
		return kinesis.ErrorResponse(req.ContentType, a.wireError(ctx, op, req, err))
	}
	out, release := unlend(out)
	defer release() // once the answer is encoded below
	if s, ok := out.(*subscription); ok {
		return a.streamResponse(req, s, -1)
	}
	return kinesis.EncodeResponse(req.ContentType, out)
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
		return kinesis.NewError(exceptionOf(se.Code), se.Message)
	}
	level := slog.LevelError
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		// The client went away (or the server is shutting down) while the
		// call ran: nobody reads the answer, and nothing is wrong here.
		level = slog.LevelDebug
	}
	a.log.Log(ctx, level, "operation failed",
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
	// Not &s: s would then be moved to the heap on every call, the empty
	// ones included.
	p := new(string)
	*p = s
	return p
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
