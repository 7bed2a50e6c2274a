package api

import (
	"context"

	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func (a *API) listStreams(ctx context.Context, scope stream.Scope, raw kinesis.Input) (any, error) {
	in := raw.(*kinesis.ListStreamsInput)
	l, err := a.svc.ListStreams(ctx, scope, stream.ListStreamsInput{
		Limit:                    num(in.Limit),
		ExclusiveStartStreamName: str(in.ExclusiveStartStreamName),
		NextToken:                str(in.NextToken),
	})
	if err != nil {
		return nil, err
	}
	// AWS sends both lists even when empty.
	out := &kinesis.ListStreamsOutput{
		StreamNames:     make([]string, 0, len(l.StreamNames)),
		HasMoreStreams:  l.HasMoreStreams,
		NextToken:       optStr(l.NextToken),
		StreamSummaries: make([]kinesis.StreamSummary, 0, len(l.StreamSummaries)),
	}
	out.StreamNames = append(out.StreamNames, l.StreamNames...)
	for _, s := range l.StreamSummaries {
		out.StreamSummaries = append(out.StreamSummaries, kinesis.StreamSummary{
			StreamName:              s.StreamName,
			StreamARN:               s.StreamARN,
			StreamStatus:            string(s.StreamStatus),
			StreamModeDetails:       modeDetails(s.StreamMode),
			StreamCreationTimestamp: kinesis.TimestampOf(s.StreamCreationTimestamp),
		})
	}
	return out, nil
}
