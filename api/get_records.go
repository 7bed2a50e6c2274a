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
	return &kinesis.GetRecordsOutput{
		Records:            recordsOut(r.Records),
		NextShardIterator:  optStr(r.NextShardIterator),
		MillisBehindLatest: &behind,
		ChildShards:        childShardsOut(r.ChildShards),
	}, nil
}
