package api

import (
	"context"
	"reflect"
	"strings"
	"time"

	"github.com/tributary-io/tributary/faults"
	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

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
	drop, lose := false, false
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
		case faults.EffectLoseAnswer:
			lose = true
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
	out, release := unlend(out)
	defer release() // once the answer is encoded below
	if lose {
		// Served; only the answer is lost.
		return kinesis.ErrorResponse(req.ContentType, kinesis.InternalFailure())
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

// putRecordsFailing serves a PutRecords call of which the entries d names
// fail. The failed entries never reach package stream, so they are not
// stored; the others are put as one call, and the results are merged back
// in request order. If every entry fails, the stream is not consulted at
// all, so a missing stream goes unnoticed.
func (a *API) putRecordsFailing(ctx context.Context, scope stream.Scope, in *kinesis.PutRecordsInput, d *faults.Decision) (any, error) {
	failed := make([]bool, len(in.Records))
	for _, i := range d.FailedEntries {
		failed[i] = true
	}
	kept := make([]kinesis.PutRecordsRequestEntry, 0, len(in.Records)-len(d.FailedEntries))
	for i, e := range in.Records {
		if !failed[i] {
			kept = append(kept, e)
		}
	}
	served := &kinesis.PutRecordsOutput{}
	if len(kept) > 0 {
		sub := *in
		sub.Records = kept
		out, err := a.putRecords(ctx, scope, &sub)
		if err != nil {
			return nil, err
		}
		served = out.(*kinesis.PutRecordsOutput)
	}
	out := &kinesis.PutRecordsOutput{
		Records:        make([]kinesis.PutRecordsResultEntry, 0, len(in.Records)),
		EncryptionType: served.EncryptionType,
	}
	n, j := 0, 0
	for i := range in.Records {
		if failed[i] {
			out.Records = append(out.Records, kinesis.PutRecordsResultEntry{ErrorCode: optStr(d.ErrorCode), ErrorMessage: optStr(d.ErrorMessage)})
			n++
			continue
		}
		e := served.Records[j]
		j++
		if e.ErrorCode != nil {
			n++
		}
		out.Records = append(out.Records, e)
	}
	out.FailedRecordCount = int32Ptr(int32(n))
	return out, nil
}

// recordIterator tells the fault injector about an iterator handed out by
// GetShardIterator or GetRecords, with the stream and shard it reads, so
// that expire_iterators can expire it early and rules on the stream and
// shard can match the GetRecords calls that present it. A GetRecords
// iterator inherits what is known of the one it came from.
func (a *API) recordIterator(call faults.Call, out any) {
	info := faults.IteratorInfo{Issued: time.Now(), Stream: call.Stream, Shard: call.Shard}
	switch o := out.(type) {
	case *kinesis.GetShardIteratorOutput:
		a.faults.RecordIterator(str(o.ShardIterator), info)
	case *kinesis.GetRecordsOutput:
		a.faults.RecordIterator(str(o.NextShardIterator), info)
	}
}
