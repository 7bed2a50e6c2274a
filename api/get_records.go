package api

import (
	"context"

	"github.com/tributary-io/tributary/internal/bufpool"
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
	n := len(r.Records)
	records, times := a.pages.records.Get(n), a.pages.times.Get(n)[:n]
	out := &kinesis.GetRecordsOutput{
		Records:            recordsOutInto(records, times, r.Records),
		NextShardIterator:  optStr(r.NextShardIterator),
		MillisBehindLatest: &behind,
		ChildShards:        childShardsOut(r.ChildShards),
	}
	// The page is encoded into the answer's own buffer before Handle
	// returns: then the records, and the memory of the read they point
	// into, go back for the next page.
	return &lent{out: out, release: func() {
		a.pages.records.Put(out.Records)
		a.pages.times.Put(times)
		r.Release()
	}}, nil
}

// pages keeps the slices of GetRecords answers from one call to the next.
type pages struct {
	records bufpool.Slices[kinesis.Record]
	times   bufpool.Slices[kinesis.Timestamp]
}

// lent is a handler's answer that lends pooled memory until it is
// encoded: the caller encodes out, then calls release (see unlend).
type lent struct {
	out     any
	release func()
}

// unlend returns the answer to encode and the function to call once it
// is encoded (one that does nothing for answers that lend nothing).
func unlend(out any) (any, func()) {
	if l, ok := out.(*lent); ok {
		return l.out, l.release
	}
	return out, func() {}
}
