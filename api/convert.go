package api

// Conversions from package stream's results to the wire's shapes that
// several operations share.

import (
	"github.com/tributary-io/tributary/kinesis"
	"github.com/tributary-io/tributary/stream"
)

func consumerOut(c *stream.Consumer) kinesis.Consumer {
	return kinesis.Consumer{
		ConsumerName:              c.ConsumerName,
		ConsumerARN:               c.ConsumerARN,
		ConsumerStatus:            string(c.ConsumerStatus),
		ConsumerCreationTimestamp: kinesis.NewTimestamp(c.ConsumerCreationTimestamp),
	}
}

// shardsOut converts shards; the list is never nil because AWS always
// sends it.
func shardsOut(in []stream.Shard) []kinesis.Shard {
	out := make([]kinesis.Shard, 0, len(in))
	for _, s := range in {
		out = append(out, kinesis.Shard{
			ShardID:               s.ShardID,
			ParentShardID:         optStr(s.ParentShardID),
			AdjacentParentShardID: optStr(s.AdjacentParentShardID),
			HashKeyRange:          kinesis.HashKeyRange(s.HashKeyRange),
			SequenceNumberRange: kinesis.SequenceNumberRange{
				StartingSequenceNumber: s.SequenceNumberRange.StartingSequenceNumber,
				EndingSequenceNumber:   optStr(s.SequenceNumberRange.EndingSequenceNumber),
			},
		})
	}
	return out
}

func childShardsOut(in []stream.ChildShard) []kinesis.ChildShard {
	if len(in) == 0 {
		return nil
	}
	out := make([]kinesis.ChildShard, 0, len(in))
	for _, c := range in {
		out = append(out, kinesis.ChildShard{
			ShardID:      c.ShardID,
			ParentShards: append([]string(nil), c.ParentShards...),
			HashKeyRange: kinesis.HashKeyRange(c.HashKeyRange),
		})
	}
	return out
}

func modeDetails(m stream.StreamMode) *kinesis.StreamModeDetails {
	if m == "" {
		return nil
	}
	return &kinesis.StreamModeDetails{StreamMode: optStr(string(m))}
}

// monitoring is AWS's EnhancedMonitoring: one entry, whose metric list is
// present even when empty.
func monitoring(metrics []string) []kinesis.EnhancedMetrics {
	return []kinesis.EnhancedMetrics{{ShardLevelMetrics: append(make([]string, 0, len(metrics)), metrics...)}}
}

// tagsOut converts tags; the list is never nil because AWS always sends
// it.
func tagsOut(in []stream.Tag) []kinesis.Tag {
	out := make([]kinesis.Tag, 0, len(in))
	for _, t := range in {
		v := t.Value
		out = append(out, kinesis.Tag{Key: t.Key, Value: &v})
	}
	return out
}

// eventOut is the wire shape of an event.
func eventOut(ev *stream.SubscribeToShardEvent) *kinesis.SubscribeToShardEvent {
	return &kinesis.SubscribeToShardEvent{
		Records:                    recordsOut(ev.Records),
		ContinuationSequenceNumber: optStr(ev.ContinuationSequenceNumber),
		MillisBehindLatest:         ev.MillisBehindLatest,
		ChildShards:                childShardsOut(ev.ChildShards),
	}
}

// recordsOut is the one conversion of records to the wire, for GetRecords
// and SubscribeToShard alike. The list is never nil and neither is a
// record's Data: AWS always sends both.
//
// A page holds up to 10,000 records: their timestamps, which the shape
// points to, are one slice rather than an allocation each.
func recordsOut(in []stream.Record) []kinesis.Record {
	return recordsOutInto(make([]kinesis.Record, 0, len(in)), make([]kinesis.Timestamp, len(in)), in)
}

// recordsOutInto is recordsOut appending to out, with times (at least
// as long as in) holding the timestamps: GetRecords passes slices from
// its pools.
func recordsOutInto(out []kinesis.Record, times []kinesis.Timestamp, in []stream.Record) []kinesis.Record {
	for i, r := range in {
		data := r.Data
		if data == nil {
			data = []byte{}
		}
		times[i] = kinesis.Timestamp{Time: r.ApproximateArrivalTimestamp}
		out = append(out, kinesis.Record{
			SequenceNumber:              r.SequenceNumber,
			ApproximateArrivalTimestamp: &times[i],
			Data:                        data,
			PartitionKey:                r.PartitionKey,
			EncryptionType:              optStr(r.EncryptionType),
		})
	}
	return out
}
