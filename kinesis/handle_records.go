package kinesis

import (
	"context"

	"github.com/tributary-io/tributary/stream"
)

func (a *API) putRecord(ctx context.Context, scope stream.Scope, raw Input) (any, error) {
	in := raw.(*PutRecordInput)
	if err := ValidateDataSize(in, maxDataBytes); err != nil {
		return nil, err
	}
	r, err := a.svc.PutRecord(ctx, scope, stream.PutRecordInput{
		Stream:                    ref(in.StreamName, in.StreamARN),
		PartitionKey:              str(in.PartitionKey),
		ExplicitHashKey:           str(in.ExplicitHashKey),
		Data:                      in.Data,
		SequenceNumberForOrdering: str(in.SequenceNumberForOrdering),
	})
	if err != nil {
		return nil, err
	}
	return &PutRecordOutput{
		ShardID:        r.ShardId,
		SequenceNumber: r.SequenceNumber,
		EncryptionType: optStr(r.EncryptionType),
	}, nil
}

func (a *API) putRecords(ctx context.Context, scope stream.Scope, raw Input) (any, error) {
	in := raw.(*PutRecordsInput)
	if err := ValidateDataSize(in, maxDataBytes); err != nil {
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
	})
	if err != nil {
		return nil, err
	}
	out := &PutRecordsOutput{
		FailedRecordCount: int32Ptr(int32(r.FailedRecordCount)),
		Records:           make([]PutRecordsResultEntry, 0, len(r.Records)),
		EncryptionType:    optStr(r.EncryptionType),
	}
	for _, e := range r.Records {
		out.Records = append(out.Records, PutRecordsResultEntry{
			SequenceNumber: optStr(e.SequenceNumber),
			ShardID:        optStr(e.ShardId),
			ErrorCode:      optStr(e.ErrorCode),
			ErrorMessage:   optStr(e.ErrorMessage),
		})
	}
	return out, nil
}

func (a *API) getShardIterator(ctx context.Context, scope stream.Scope, raw Input) (any, error) {
	in := raw.(*GetShardIteratorInput)
	r, err := a.svc.GetShardIterator(ctx, scope, stream.GetShardIteratorInput{
		Stream:                 ref(in.StreamName, in.StreamARN),
		ShardId:                str(in.ShardID),
		ShardIteratorType:      stream.ShardIteratorType(str(in.ShardIteratorType)),
		StartingSequenceNumber: str(in.StartingSequenceNumber),
		Timestamp:              timePtr(in.Timestamp),
	})
	if err != nil {
		return nil, err
	}
	return &GetShardIteratorOutput{ShardIterator: optStr(r.ShardIterator)}, nil
}

func (a *API) getRecords(ctx context.Context, scope stream.Scope, raw Input) (any, error) {
	in := raw.(*GetRecordsInput)
	r, err := a.svc.GetRecords(ctx, scope, stream.GetRecordsInput{
		ShardIterator: str(in.ShardIterator),
		Limit:         num(in.Limit),
		StreamARN:     str(in.StreamARN),
	})
	if err != nil {
		return nil, err
	}
	behind := r.MillisBehindLatest
	out := &GetRecordsOutput{
		Records:            make([]Record, 0, len(r.Records)),
		NextShardIterator:  optStr(r.NextShardIterator),
		MillisBehindLatest: &behind,
		ChildShards:        childShardsOut(r.ChildShards),
	}
	for _, rec := range r.Records {
		data := rec.Data
		if data == nil {
			data = []byte{}
		}
		out.Records = append(out.Records, Record{
			SequenceNumber:              rec.SequenceNumber,
			ApproximateArrivalTimestamp: TimestampOf(rec.ApproximateArrivalTimestamp),
			Data:                        data,
			PartitionKey:                rec.PartitionKey,
			EncryptionType:              optStr(rec.EncryptionType),
		})
	}
	return out, nil
}
