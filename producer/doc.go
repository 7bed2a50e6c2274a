// Package producer writes records to a Kinesis data stream through the
// AWS SDK for Go v2, against AWS or Tributary alike: the Go successor of
// AWS's Kinesis Producer Library that issue 12 describes, whose retries
// never reorder a partition key's records.
//
// It is being built in steps (the design is docs/producer.md). What
// exists so far is the shard map (FetchShardMap, ShardMap.Lookup) and the
// hash keys it works with (HashKeyOf, ParseHashKey), which the producer
// uses to aggregate the records of one shard together, and the per-shard
// rate limiter its senders will use.
package producer
