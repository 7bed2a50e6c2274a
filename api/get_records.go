package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

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
