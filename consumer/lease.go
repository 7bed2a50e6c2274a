package consumer

import (
	"context"
	"errors"
)

// Sentinel checkpoints: a Checkpoint's SequenceNumber is a sequence
// number or one of these, as KCL writes them.
const (
	TrimHorizon = "TRIM_HORIZON" // from the oldest record
	Latest      = "LATEST"       // from the records after the lease was created
	AtTimestamp = "AT_TIMESTAMP" // from the Config's timestamp
	ShardEnd    = "SHARD_END"    // every record of a closed shard processed
)

// Checkpoint is how far a shard's records are processed: every record up
// to SequenceNumber and, within an aggregated record, up to
// SubSequenceNumber (0 for a record that is not aggregated).
type Checkpoint struct {
	SequenceNumber    string
	SubSequenceNumber int64
}

// Lease is the right of one worker to process one shard, and the shard's
// checkpoint. Its fields are those of AWS's KCL 3.x lease table, so that
// a table written by a Java application is read here and the other way
// round (see package consumer/dynamolease).
type Lease struct {
	// Key is the shard id.
	Key string
	// Owner is the worker holding the lease; "" for none.
	Owner string
	// Counter grows by one with every write. A lease whose counter has
	// not moved for the failover time is taken to be its owner's no more.
	Counter int64
	// Checkpoint is where processing resumes.
	Checkpoint Checkpoint
	// PendingCheckpoint, set by a two-phase checkpoint (KCL's
	// prepareCheckpoint), is where a processor means to checkpoint next,
	// with application state; nil when none.
	PendingCheckpoint      *Checkpoint
	PendingCheckpointState []byte
	// OwnerSwitchesSinceCheckpoint counts the owners the lease had since
	// its last checkpoint.
	OwnerSwitchesSinceCheckpoint int64
	// ParentShardIDs and ChildShardIDs are the shard's lineage: its
	// records are processed after every parent's, before any child's.
	ParentShardIDs []string
	ChildShardIDs  []string
	// StartingHashKey and EndingHashKey are the shard's hash key range,
	// in decimal.
	StartingHashKey, EndingHashKey string
	// ThroughputKBps is the rate the owner last read the shard at, by
	// which leases are balanced between workers (KCL 3.x).
	ThroughputKBps float64
	// CheckpointOwner, during a graceful handoff, is the worker still
	// allowed to checkpoint (the old owner) while Owner is already the
	// new one; "" otherwise (KCL 3.x).
	CheckpointOwner string
}

// Errors of a LeaseStore; test them with errors.Is.
var (
	ErrLeaseNotFound = errors.New("consumer: no such lease")
	ErrLeaseExists   = errors.New("consumer: a lease with this key exists")
	// ErrLeaseChanged: the lease was written by someone else since it was
	// read (its Counter is not the one given).
	ErrLeaseChanged = errors.New("consumer: the lease changed since it was read")
)

// LeaseStore keeps the leases of one application (one consumer of one
// stream). Writes are conditional on the lease's Counter, which is all
// the coordination workers need: two workers that read the same lease
// cannot both write it. Implementations: NewMemoryLeaseStore (one
// process), consumer/dynamolease (DynamoDB, KCL's table), and
// consumer/pglease (PostgreSQL); consumer/leasetest checks any of them.
type LeaseStore interface {
	// Init prepares the store, creating its table if there is none, and
	// returns once it can be used. It may be called again.
	Init(ctx context.Context) error
	// Create adds l as it is (its Counter included), or returns
	// ErrLeaseExists if a lease has its key.
	Create(ctx context.Context, l Lease) error
	// Get returns the lease of key, or ErrLeaseNotFound.
	Get(ctx context.Context, key string) (Lease, error)
	// List returns every lease, in no particular order.
	List(ctx context.Context) ([]Lease, error)
	// Update replaces the lease of l.Key with l if the stored lease's
	// Counter is still l.Counter, and returns it as stored: l with Counter
	// one more. Otherwise it changes nothing and returns ErrLeaseChanged,
	// or ErrLeaseNotFound when there is no such lease.
	Update(ctx context.Context, l Lease) (Lease, error)
	// Delete removes the lease of l.Key if its Counter is still
	// l.Counter; ErrLeaseChanged or ErrLeaseNotFound otherwise.
	Delete(ctx context.Context, l Lease) error
}
