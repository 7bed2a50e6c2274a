package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) putRecord(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.PutRecordInput)
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
		ShardID:        r.ShardID,
		SequenceNumber: r.SequenceNumber,
		EncryptionType: optStr(r.EncryptionType),
	}, nil
}
