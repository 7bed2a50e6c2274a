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
	// The shape's members are pointers; they point into one slice of the
	// entries' strings rather than a new string each, so that an answer
	// of 500 entries costs a fixed number of allocations. Each entry adds
	// at most two, so strs never grows past its capacity and moves: the
	// pointers stay valid.
	strs := make([]string, 0, 2*len(r.Records))
	at := func(s string) *string {
		if s == "" {
			return nil
		}
		strs = append(strs, s)
		return &strs[len(strs)-1]
	}
	for _, e := range r.Records {
		var entry kinesis.PutRecordsResultEntry
		if e.ErrorCode != 0 {
			// An entry that failed has neither sequence number nor shard,
			// and its error's two strings take the stored entry's room.
			entry.ErrorCode = at(exceptionOf(e.ErrorCode))
			entry.ErrorMessage = at(e.ErrorMessage)
		} else {
			entry.SequenceNumber = at(e.SequenceNumber)
			entry.ShardID = at(e.ShardID)
		}
		out.Records = append(out.Records, entry)
	}
	return out, nil
}
