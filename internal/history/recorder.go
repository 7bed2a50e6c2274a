package history

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/schemas"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
)

// Client is what a Recorder calls: the Kinesis operations of a workload,
// as *kinesis.Client has them.
type Client interface {
	PutRecord(ctx context.Context, in *kinesis.PutRecordInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordOutput, error)
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
	GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, optFns ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error)
	ListShards(ctx context.Context, in *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
	SubscribeToShard(ctx context.Context, in *kinesis.SubscribeToShardInput, optFns ...func(*kinesis.Options)) (*kinesis.SubscribeToShardOutput, error)
}

// Recorder records the calls of a workload's clients into a History. It
// is safe for concurrent use: writers and readers on many goroutines
// share one.
//
// The workload must give every record distinct data within a stream:
// Check identifies records by it.
type Recorder struct {
	// now reads the clock; a field so that every time the recorder takes
	// comes from one place.
	now func() time.Time

	mu     sync.Mutex
	h      History
	nextID int64
}

// NewRecorder returns a Recorder with an empty history.
func NewRecorder() *Recorder { return &Recorder{now: time.Now} }

// History returns a copy of what has been recorded so far.
func (r *Recorder) History() History {
	r.mu.Lock()
	defer r.mu.Unlock()
	return History{
		Writes: append([]Write(nil), r.h.Writes...),
		Reads:  append([]Read(nil), r.h.Reads...),
		Final:  append([]Read(nil), r.h.Final...),
	}
}

func (r *Recorder) addWrites(ws []Write) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range ws {
		ws[i].ID = r.nextID
		r.nextID++
	}
	r.h.Writes = append(r.h.Writes, ws...)
}

func (r *Recorder) addRead(rd Read, final bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if final {
		r.h.Final = append(r.h.Final, rd)
	} else {
		r.h.Reads = append(r.h.Reads, rd)
	}
}

// PutRecord calls c.PutRecord and records the record's outcome.
func (r *Recorder) PutRecord(ctx context.Context, c Client, in *kinesis.PutRecordInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordOutput, error) {
	w := Write{
		Stream: streamName(in.StreamName, in.StreamARN), PartitionKey: aws.ToString(in.PartitionKey),
		ExplicitHashKey: aws.ToString(in.ExplicitHashKey), Data: in.Data, Start: r.now(),
	}
	out, err := c.PutRecord(ctx, in, optFns...)
	w.End = r.now()
	switch {
	case err != nil:
		w.Outcome, w.ErrorCode, w.Error = classify(err)
	case out.ShardId == nil || out.SequenceNumber == nil:
		w.Outcome, w.Error = Unknown, "the answer has no shard or sequence number"
	default:
		w.Outcome, w.ShardID, w.SequenceNumber = Acknowledged, *out.ShardId, *out.SequenceNumber
	}
	r.addWrites([]Write{w})
	return out, err
}

// PutRecords calls c.PutRecords and records the outcome of each entry:
// acknowledged, failed with the entry's definite ErrorCode, or unknown
// (InternalFailure, or the whole call's answer lost).
func (r *Recorder) PutRecords(ctx context.Context, c Client, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	ws := make([]Write, len(in.Records))
	stream := streamName(in.StreamName, in.StreamARN)
	start := r.now()
	for i, e := range in.Records {
		ws[i] = Write{Stream: stream, PartitionKey: aws.ToString(e.PartitionKey), ExplicitHashKey: aws.ToString(e.ExplicitHashKey), Data: e.Data, Start: start}
	}
	out, err := c.PutRecords(ctx, in, optFns...)
	end := r.now()
	outcome, code, msg := Outcome(""), "", ""
	switch {
	case err != nil:
		outcome, code, msg = classify(err)
	case len(out.Records) != len(in.Records):
		outcome, msg = Unknown, fmt.Sprintf("the answer has %d entries for %d records", len(out.Records), len(in.Records))
	}
	for i := range ws {
		w := &ws[i]
		w.End = end
		if outcome != "" {
			w.Outcome, w.ErrorCode, w.Error = outcome, code, msg
			continue
		}
		e := out.Records[i]
		switch {
		case e.ErrorCode != nil:
			w.Outcome, w.ErrorCode, w.Error = Unknown, *e.ErrorCode, aws.ToString(e.ErrorMessage)
			if Definite(w.ErrorCode) {
				w.Outcome = Failed
			}
		case e.ShardId == nil || e.SequenceNumber == nil:
			w.Outcome, w.Error = Unknown, "the entry has no shard or sequence number"
		default:
			w.Outcome, w.ShardID, w.SequenceNumber = Acknowledged, *e.ShardId, *e.SequenceNumber
		}
	}
	r.addWrites(ws)
	return out, err
}

// classify turns a call's error into the outcome of its records: failed
// if the service answered with a definite error, unknown otherwise.
func classify(err error) (outcome Outcome, code, msg string) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if Definite(ae.ErrorCode()) {
			return Failed, ae.ErrorCode(), ae.ErrorMessage()
		}
		return Unknown, ae.ErrorCode(), ae.ErrorMessage()
	}
	return Unknown, "", err.Error()
}

// streamName is the stream a call names, by name or by ARN.
func streamName(name, arn *string) string {
	if name != nil {
		return *name
	}
	a := aws.ToString(arn)
	if i := strings.LastIndex(a, ":stream/"); i >= 0 {
		return a[i+len(":stream/"):]
	}
	return a
}

// ReadOptions configures ReadShard.
type ReadOptions struct {
	// After is the position to read after; empty means the shard's
	// start (TRIM_HORIZON).
	After string
	// Limit is GetRecords' Limit; zero means the service's default.
	Limit int32
	// Poll is the pause after an empty page or an error; zero means
	// 10 ms.
	Poll time.Duration
}

// ReadShard reads one shard with GetRecords, page after page, recording
// every page, until ctx ends or the shard is closed and read to its end
// (a reshard's parent). It returns the last position read, from which a
// later ReadShard may continue, and ctx's error if that ended it.
//
// Errors of GetRecords (faults, a node that died, an expired iterator)
// do not end it: it pauses, takes a new iterator after the last record
// it saw and goes on, as a consumer does. Reading after the last record
// seen, rather than following the service's next iterator across the
// error, is what lets Check tell a record skipped by the service.
func (r *Recorder) ReadShard(ctx context.Context, c Client, stream, shard string, opts ReadOptions, optFns ...func(*kinesis.Options)) (string, error) {
	_, last, err := r.readShard(ctx, c, stream, shard, opts, false, optFns)
	return last, err
}

// readShard is ReadShard; final records the pages as the final read and
// stops at the end of an open shard too (a page empty and not behind).
func (r *Recorder) readShard(ctx context.Context, c Client, stream, shard string, opts ReadOptions, final bool, optFns []func(*kinesis.Options)) (closed bool, last string, err error) {
	poll := opts.Poll
	if poll == 0 {
		poll = 10 * time.Millisecond
	}
	last = opts.After
	var iterator *string
	pause := func() error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
			return nil
		}
	}
	for {
		if iterator == nil {
			in := &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorTypeTrimHorizon}
			if last != "" {
				in.ShardIteratorType, in.StartingSequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(last)
			}
			out, err := c.GetShardIterator(ctx, in, optFns...)
			if err != nil {
				if err := pause(); err != nil {
					return false, last, err
				}
				continue
			}
			iterator = out.ShardIterator
		}
		start := r.now()
		out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iterator, Limit: limit(opts.Limit)}, optFns...)
		if err != nil {
			if ctx.Err() != nil {
				return false, last, ctx.Err()
			}
			iterator = nil
			if err := pause(); err != nil {
				return false, last, err
			}
			continue
		}
		rd := Read{Kind: "GetRecords", Stream: stream, ShardID: shard, After: last, Start: start, End: r.now(), Records: make([]Seen, 0, len(out.Records))}
		for _, rec := range out.Records {
			rd.Records = append(rd.Records, Seen{SequenceNumber: aws.ToString(rec.SequenceNumber), PartitionKey: aws.ToString(rec.PartitionKey), Data: rec.Data})
		}
		r.addRead(rd, final)
		if n := len(rd.Records); n > 0 {
			last = rd.Records[n-1].SequenceNumber
		}
		iterator = out.NextShardIterator
		switch {
		case iterator == nil:
			return true, last, nil
		case final && len(rd.Records) == 0 && aws.ToInt64(out.MillisBehindLatest) == 0:
			return false, last, nil
		case len(rd.Records) == 0:
			if err := pause(); err != nil {
				return false, last, err
			}
		}
	}
}

func limit(n int32) *int32 {
	if n == 0 {
		return nil
	}
	return &n
}

// FinalRead reads every shard of the stream, closed or open, from its
// start to its end, and records the pages as the final read that Check
// compares everything else with. Call it once the writers have stopped
// (and the faults are healed): it ends at the first empty page of an
// open shard.
func (r *Recorder) FinalRead(ctx context.Context, c Client, stream string, optFns ...func(*kinesis.Options)) error {
	var shards []string
	in := &kinesis.ListShardsInput{StreamName: aws.String(stream)}
	for {
		out, err := c.ListShards(ctx, in, optFns...)
		if err != nil {
			return fmt.Errorf("history: final read of %s: %w", stream, err)
		}
		for _, s := range out.Shards {
			shards = append(shards, aws.ToString(s.ShardId))
		}
		if out.NextToken == nil {
			break
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
	for _, shard := range shards {
		if _, _, err := r.readShard(ctx, c, stream, shard, ReadOptions{}, true, optFns); err != nil {
			return fmt.Errorf("history: final read of %s: %w", shard, err)
		}
	}
	return nil
}

// Subscribe subscribes the consumer to one shard with SubscribeToShard,
// recording every event as a read, until ctx ends or the shard is closed
// and read to its end. It starts after opts.After (the shard's start if
// empty) and subscribes again, after the last record it saw, whenever a
// subscription ends (AWS ends each after 5 minutes) or fails. It returns
// the last position read and ctx's error if that ended it.
//
// An event's read is taken to begin when the previous event (or the
// subscription's answer) arrived: a record acknowledged before that and
// past the last position delivered must come in this event, if this
// event goes past it.
func (r *Recorder) Subscribe(ctx context.Context, c Client, consumerARN, stream, shard string, opts ReadOptions, optFns ...func(*kinesis.Options)) (string, error) {
	poll := opts.Poll
	if poll == 0 {
		poll = 10 * time.Millisecond
	}
	last := opts.After
	for {
		pos := &types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon}
		if last != "" {
			pos = &types.StartingPosition{Type: types.ShardIteratorTypeAfterSequenceNumber, SequenceNumber: aws.String(last)}
		}
		out, err := c.SubscribeToShard(ctx, &kinesis.SubscribeToShardInput{ConsumerARN: aws.String(consumerARN), ShardId: aws.String(shard), StartingPosition: pos},
			append(slices.Clip(optFns), ownCodec)...)
		if err == nil {
			var closed bool
			closed, last = r.events(ctx, out.GetStream(), stream, shard, last)
			if closed {
				return last, nil
			}
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// ownCodec gives a subscription an event stream codec of its own: the
// SDK's protocol (smithy-go v1.28) keeps one per client and every
// subscription uses it unsynchronized, so that concurrent subscriptions,
// as a workload has, race on it (aws/smithy-go#714).
func ownCodec(o *kinesis.Options) {
	if _, ok := o.Protocol.(*awsjson.Protocol); ok {
		o.Protocol = awsjson.New11(schemas.Kinesis_20131202)
	}
}

// events records one subscription's events until it ends; closed tells
// that the shard was read to its end.
func (r *Recorder) events(ctx context.Context, es *kinesis.SubscribeToShardEventStream, stream, shard, last string) (closed bool, _ string) {
	defer es.Close()
	start := r.now()
	for {
		var ev types.SubscribeToShardEventStream
		var ok bool
		select {
		case <-ctx.Done():
			return false, last
		case ev, ok = <-es.Events():
		}
		if !ok {
			return false, last
		}
		e, isEvent := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent)
		if !isEvent {
			continue
		}
		end := r.now()
		rd := Read{Kind: "SubscribeToShard", Stream: stream, ShardID: shard, After: last, Start: start, End: end, Records: make([]Seen, 0, len(e.Value.Records))}
		for _, rec := range e.Value.Records {
			rd.Records = append(rd.Records, Seen{SequenceNumber: aws.ToString(rec.SequenceNumber), PartitionKey: aws.ToString(rec.PartitionKey), Data: rec.Data})
		}
		r.addRead(rd, false)
		if n := len(rd.Records); n > 0 {
			last = rd.Records[n-1].SequenceNumber
		}
		start = end
		// A closed shard's last event has no continuation and names
		// the children.
		if e.Value.ContinuationSequenceNumber == nil {
			return true, last
		}
	}
}
