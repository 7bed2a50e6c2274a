package consumer

import "context"

// Processor handles the records of one shard while its worker holds the
// shard's lease, as KCL's ShardRecordProcessor does. The worker calls its
// methods from one goroutine, in this order: Initialize once, then
// ProcessRecords for each batch, then exactly one of ShardEnded (the
// shard is closed and every record was delivered), LeaseLost (another
// worker took the lease: stop, do not checkpoint) or ShutdownRequested
// (the worker stops or hands the lease over: checkpoint now if you mean
// to).
type Processor interface {
	Initialize(ctx context.Context, in InitializeInput) error
	// ProcessRecords handles a batch in order. An error makes the worker
	// deliver the same batch again after a pause: records are delivered
	// at least once.
	ProcessRecords(ctx context.Context, in ProcessRecordsInput) error
	LeaseLost(ctx context.Context)
	// ShardEnded must checkpoint (Checkpointer.Checkpoint records
	// SHARD_END) so that the shard's children may start; until it does,
	// the worker calls it again after a pause.
	ShardEnded(ctx context.Context, cp Checkpointer) error
	ShutdownRequested(ctx context.Context, cp Checkpointer) error
}

// ProcessorFactory makes the Processor of a shard.
type ProcessorFactory func(shardID string) Processor

// InitializeInput tells a Processor where it starts.
type InitializeInput struct {
	ShardID string
	// Checkpoint is the lease's checkpoint: a sequence number, or a
	// sentinel (TrimHorizon, Latest, AtTimestamp).
	Checkpoint Checkpoint
}

// ProcessRecordsInput is a batch of a shard's records.
type ProcessRecordsInput struct {
	Records []Record
	// MillisBehindLatest is how far the batch's last record is behind
	// the shard's newest.
	MillisBehindLatest int64
	Checkpointer       Checkpointer
}

// Checkpointer records how far a shard is processed, in the lease, for
// whoever holds the lease next. It fails with ErrLeaseLost once the lease
// is another worker's.
type Checkpointer interface {
	// Checkpoint records every record delivered so far as processed (and,
	// in ShardEnded, the shard as done).
	Checkpoint(ctx context.Context) error
	// CheckpointAt records processing up to and including the position
	// cp (a Record's Checkpoint), which must be one delivered.
	CheckpointAt(ctx context.Context, cp Checkpoint) error
}
