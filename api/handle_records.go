package api

import (
	"context"
	"time"

	"github.com/tributary-io/tributary/faults"
	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) putRecord(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.PutRecordInput)
	if err := kinesis.ValidateDataSize(in, maxDataBytes); err != nil {
		return nil, err
	}
	r, err := a.svc.PutRecord(ctx, scope, stream.PutRecordInput{
		Stream:                    ref(in.StreamName, in.StreamARN),
		PartitionKey:              str(in.PartitionKey),
		ExplicitHashKey:           str(in.ExplicitHashKey),
		Data:                      in.Data,
		SequenceNumberForOrdering: str(in.SequenceNumberForOrdering),
		DryRun:                    flag(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &kinesis.PutRecordOutput{
		ShardID:        r.ShardId,
		SequenceNumber: r.SequenceNumber,
		EncryptionType: optStr(r.EncryptionType),
	}, nil
}

func (a *API) putRecords(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.PutRecordsInput)
	if err := kinesis.ValidateDataSize(in, maxDataBytes); err != nil {
		return nil, err
	}
	entries := make([]stream.PutRecordsEntry, 0, len(in.Records))
	for _, e := range in.Records {
		entries = append(entries, stream.PutRecordsEntry{
			PartitionKey:    str(e.PartitionKey),
			ExplicitHashKey: str(e.ExplicitHashKey),
			Data:            e.Data,
		})
	}
	r, err := a.svc.PutRecords(ctx, scope, stream.PutRecordsInput{
		Stream:  ref(in.StreamName, in.StreamARN),
		Records: entries,
		DryRun:  flag(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	out := &kinesis.PutRecordsOutput{
		FailedRecordCount: int32Ptr(int32(r.FailedRecordCount)),
		Records:           make([]kinesis.PutRecordsResultEntry, 0, len(r.Records)),
		EncryptionType:    optStr(r.EncryptionType),
	}
	for _, e := range r.Records {
		out.Records = append(out.Records, kinesis.PutRecordsResultEntry{
			SequenceNumber: optStr(e.SequenceNumber),
			ShardID:        optStr(e.ShardId),
			ErrorCode:      optStr(e.ErrorCode),
			ErrorMessage:   optStr(e.ErrorMessage),
		})
	}
	return out, nil
}

func (a *API) getShardIterator(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.GetShardIteratorInput)
	r, err := a.svc.GetShardIterator(ctx, scope, stream.GetShardIteratorInput{
		Stream:                 ref(in.StreamName, in.StreamARN),
		ShardId:                str(in.ShardID),
		ShardIteratorType:      stream.ShardIteratorType(str(in.ShardIteratorType)),
		StartingSequenceNumber: str(in.StartingSequenceNumber),
		Timestamp:              timePtr(in.Timestamp),
		DryRun:                 flag(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	return &kinesis.GetShardIteratorOutput{ShardIterator: optStr(r.ShardIterator)}, nil
}

func (a *API) getRecords(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.GetRecordsInput)
	r, err := a.svc.GetRecords(ctx, scope, stream.GetRecordsInput{
		ShardIterator: str(in.ShardIterator),
		Limit:         num(in.Limit),
		StreamARN:     str(in.StreamARN),
		DryRun:        flag(in.DryRun),
	})
	if err != nil {
		return nil, err
	}
	behind := r.MillisBehindLatest
	out := &kinesis.GetRecordsOutput{
		Records:            make([]kinesis.Record, 0, len(r.Records)),
		NextShardIterator:  optStr(r.NextShardIterator),
		MillisBehindLatest: &behind,
		ChildShards:        childShardsOut(r.ChildShards),
	}
	for _, rec := range r.Records {
		data := rec.Data
		if data == nil {
			data = []byte{}
		}
		out.Records = append(out.Records, kinesis.Record{
			SequenceNumber:              rec.SequenceNumber,
			ApproximateArrivalTimestamp: kinesis.TimestampOf(rec.ApproximateArrivalTimestamp),
			Data:                        data,
			PartitionKey:                rec.PartitionKey,
			EncryptionType:              optStr(rec.EncryptionType),
		})
	}
	return out, nil
}

// putRecordsFailing serves a PutRecords call of which the entries d names
// fail. The failed entries never reach package stream, so they are not
// stored; the others are put as one call, and the results are merged back
// in request order. If every entry fails, the stream is not consulted at
// all, so a missing stream goes unnoticed.
func (a *API) putRecordsFailing(ctx context.Context, scope stream.Scope, in *kinesis.PutRecordsInput, d *faults.Decision) (any, error) {
	// The whole request is checked first, as AWS checks it before any
	// entry is put.
	if err := kinesis.ValidateDataSize(in, maxDataBytes); err != nil {
		return nil, err
	}
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
