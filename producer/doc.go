// Package producer writes records to a Kinesis data stream through the
// AWS SDK for Go v2, against AWS or Tributary alike: the Go successor of
// AWS's Kinesis Producer Library, whose retries never reorder a partition
// key's records.
//
// A Producer (New, Put, TryPut, Flush, Close) keeps each partition key's
// records in the order Put was called whatever fails and is retried (the
// invariants are at the top of dispatch.go), packs a shard's next records
// into one KPL aggregate, sends records again where a reshard left them
// out of KCL's sight, bounds what it buffers, fails a record only after
// its TTL or a non-retryable error, limits each shard's rate and adapts it
// to throttling, and reports KPL-named metrics (NewMetrics). Each record
// carries an ID (its producer and sequence, in the aggregate's tags) by
// which Tributary stores a copy sent after a lost answer only once, and
// consumers drop copies elsewhere. The design, its tests and its limits:
// docs/producer.md.
package producer
