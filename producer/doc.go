// Package producer writes records to a Kinesis data stream through the
// AWS SDK for Go v2, against AWS or Tributary alike: the Go successor of
// AWS's Kinesis Producer Library that issue 12 describes, whose retries
// never reorder a partition key's records.
//
// It is being built in steps (the design is docs/producer.md). What
// exists so far: Producer (New, Put, TryPut, Flush, Close) with order
// per partition key under partial failures and retries (the invariants
// are at the top of dispatch.go), KPL aggregation of a shard's next
// records into one entry, back-pressure by buffered records and bytes,
// a TTL per record, per-shard rate limiting that adapts to throttling,
// the shard map it predicts shards with, and metrics under KPL's names
// (NewMetrics). Exactly-once tags and learning of a reshard before an
// aggregate lands on the wrong child are the next steps.
package producer
