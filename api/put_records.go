package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) putRecords(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.PutRecordsInput)
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
		entry := kinesis.PutRecordsResultEntry{
			SequenceNumber: optStr(e.SequenceNumber),
			ShardID:        optStr(e.ShardID),
		}
		if e.ErrorCode != 0 {
			entry.ErrorCode = optStr(exceptionOf(e.ErrorCode))
			entry.ErrorMessage = optStr(e.ErrorMessage)
		}
		out.Records = append(out.Records, entry)
	}
	return out, nil
}
