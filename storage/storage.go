// Package storage defines the contract between Tributary's domain layer and
// the engines that keep its data: ordered, append-only logs (one per shard)
// and a small catalogue of metadata with compare-and-swap updates.
//
// The engine knows nothing of Kinesis. Sequence numbers, iterators, hash
// ranges and throttling are built on top of it by package stream. What an
// engine offers is deliberately small so that very different engines fit:
//
//   - storage/local keeps each log in segment files on one machine;
//   - storage/mem keeps everything in memory, for tests;
//   - a cluster engine multiplexes many logs as subjects of one replicated
//     stream, so positions within a log increase but are not contiguous, and
//     sealing is a fence recorded in the replicated stream rather than a file
//     operation.
//
// Every engine must pass the conformance suite in storage/storagetest.
package storage

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Errors returned by engines. Callers test for them with errors.Is; engines
// may wrap them with more context.
var (
	// ErrNotFound: the log or metadata key does not exist (or was deleted).
	ErrNotFound = errors.New("storage: not found")
	// ErrExists: CreateLog was called with the name of an existing log.
	ErrExists = errors.New("storage: already exists")
	// ErrSealed: an append reached a log after Seal fenced it.
	ErrSealed = errors.New("storage: log is sealed")
	// ErrConflict: a compare-and-swap found another revision than expected.
	ErrConflict = errors.New("storage: revision conflict")
	// ErrClosed: the engine was closed.
	ErrClosed = errors.New("storage: engine closed")
	// ErrTooLarge: a record or batch exceeds the engine's limits.
	ErrTooLarge = errors.New("storage: too large")
	// ErrCorrupt: stored bytes failed their checksum or could not be decoded.
	// The wrapping error names the file and offset.
	ErrCorrupt = errors.New("storage: corrupt data")
	// ErrNoKeys: SetEncryption (or LogOptions.EncryptionKey) asked for
	// encryption from an engine given no KeyProvider.
	ErrNoKeys = errors.New("storage: no key provider")
	// ErrDecrypt: an encrypted frame could not be decrypted: its data key
	// did not unwrap (the KeyProvider's error is wrapped too, so that
	// errors.Is finds its cause, e.g. a disabled key) or the ciphertext
	// failed authentication. The wrapping error names the file and offset.
	ErrDecrypt = errors.New("storage: cannot decrypt")
)

// KeyProvider wraps and unwraps the data keys an engine encrypts records
// with at rest; its two calls are KMS's GenerateDataKey and Decrypt, so
// that a real KMS could stand behind it. keyID is opaque to the engine.
// The wrapped form must name its key (and version): the engine stores it
// beside the data and hands it back to Decrypt alone.
type KeyProvider interface {
	GenerateDataKey(ctx context.Context, keyID string) (plaintext, wrapped []byte, err error)
	Decrypt(ctx context.Context, wrapped []byte) ([]byte, error)
}

// Limits every engine accepts at least.
const (
	// MaxRecordData is the largest record payload an engine must store:
	// 10 MiB, the largest record Kinesis accepts after UpdateMaxRecordSize.
	MaxRecordData = 10 << 20
	// MaxKeyLen bounds a record's Key, in bytes: enough for a Kinesis
	// partition key, 256 Unicode characters (up to 1 KiB in UTF-8).
	MaxKeyLen = 1024
	// MaxMetaValue is the largest catalogue value an engine must store:
	// 16 MiB. A stream is one value with a record per shard it ever had
	// (about 160 bytes of JSON each), so a stream of Kinesis's 10,000
	// open shards takes some 1.6 MiB, and the closed shards that
	// resharding leaves behind until their records expire come on top.
	MaxMetaValue = 16 << 20
)

// Record is what a producer hands to Append.
type Record struct {
	// Key is opaque to the engine: it is stored with the record and
	// returned with it, and means what the layer above makes it mean. At
	// most MaxKeyLen bytes; it may be empty.
	Key  string
	Data []byte
}

// StoredRecord is a record as it was durably appended.
type StoredRecord struct {
	Record
	// Encrypted is true when the engine stored the record encrypted at
	// rest (the log had an encryption key when it was appended).
	Encrypted bool
	// Position is assigned by the engine: strictly increasing within a log,
	// never zero, and not necessarily contiguous.
	Position uint64
	// ArrivalTime is the engine's clock when the record was appended, in
	// milliseconds since the Unix epoch. Never earlier than the arrival time
	// of the record before it in the same log.
	ArrivalTime int64
}

// Appended tells where one appended record landed.
type Appended struct {
	Position    uint64
	ArrivalTime int64 // Unix milliseconds
}

// StartKind says how Read finds its first record.
type StartKind uint8

const (
	// FromOldest starts at the oldest record that retention has kept.
	FromOldest StartKind = iota
	// FromPosition starts at the first record whose position is at or after
	// Start.Position. A position older than the oldest kept record starts at
	// the oldest kept record.
	FromPosition
	// FromTime starts at the first record whose arrival time is at or after
	// Start.Time (Unix milliseconds).
	FromTime
	// FromLatest starts after the newest record: such a read returns no
	// records, and its Next is where a reader waiting for new records begins.
	FromLatest
)

// Start names where a read begins.
type Start struct {
	Kind     StartKind
	Position uint64 // for FromPosition
	Time     int64  // for FromTime, Unix milliseconds
}

// At returns the start at the first record with position p or later.
func At(p uint64) Start { return Start{Kind: FromPosition, Position: p} }

// After returns the start at the first record with a position after p.
func After(p uint64) Start {
	if p == math.MaxUint64 {
		// Nothing can follow; At(p+1) would wrap around to the oldest record.
		return Start{Kind: FromPosition, Position: p}
	}
	return Start{Kind: FromPosition, Position: p + 1}
}

// AtTime returns the start at the first record that arrived at or after t.
func AtTime(t int64) Start { return Start{Kind: FromTime, Time: t} }

// Oldest returns the start at the oldest kept record.
func Oldest() Start { return Start{Kind: FromOldest} }

// Latest returns the start after the newest record.
func Latest() Start { return Start{Kind: FromLatest} }

// ReadLimits bound one Read.
type ReadLimits struct {
	// MaxRecords is the most records returned; values < 1 mean 1.
	MaxRecords int
	// MaxBytes bounds the sum of the returned records' Data and Key
	// lengths. A read always returns at least one record when one is
	// available, even if that record alone exceeds MaxBytes, so that a
	// reader always makes progress. Values < 1 mean no byte limit.
	MaxBytes int
}

// ReadResult is what Read returns.
type ReadResult struct {
	// Records are in position order, all within the log's retention.
	Records []StoredRecord
	// Next is the position to continue from with At(Next): one past the last
	// record returned, or, when no record was returned, the position at which
	// the next record to be appended will be found. Reading At(Next) never
	// skips a record that exists now or is appended later.
	Next uint64
	// LastPosition and LastArrival describe the newest record appended to
	// the log by the time of the read, even if retention has since removed
	// it (zero when nothing was ever appended), so that the caller can tell
	// how far behind the reader is.
	LastPosition uint64
	LastArrival  int64
	// Sealed is true when the log is sealed and the read reached its end:
	// no record will ever follow Records.
	Sealed bool
	// Release, when not nil, gives back to the engine the memory the
	// records lend (their slice and the buffers their Data point into),
	// for the next read to reuse: after it, nothing may use Records or
	// anything taken from them without a copy. Calling it is optional,
	// and only once; a caller that hands the records on without knowing
	// when they are done with (a subscription's event) leaves them to the
	// garbage collector.
	Release func()
}

// LogInfo describes a log.
type LogInfo struct {
	Name      string
	Created   time.Time
	Retention time.Duration
	// FirstPosition and LastPosition bound the records the log holds within
	// its retention; both are zero when it holds none.
	FirstPosition uint64
	LastPosition  uint64
	// LastArrival is the arrival time of the newest record ever appended
	// (Unix milliseconds), or zero.
	LastArrival int64
	// Sealed is true once Seal has returned; SealedAt is the last position
	// the log will ever hold (zero when it was sealed empty).
	Sealed   bool
	SealedAt uint64
	// Bytes is the approximate disk or memory footprint of the log.
	Bytes int64
	// EncryptionKey is the key new records are encrypted under (see
	// ShardLog.SetEncryption); empty when they are not.
	EncryptionKey string
}

// LogOptions configure a new log.
type LogOptions struct {
	// Retention is how long records stay readable after they arrive. Zero
	// means records are kept until the log is deleted.
	Retention time.Duration
	// EncryptionKey, when not empty, encrypts the log from its first
	// record, as SetEncryption does.
	EncryptionKey string
}

// ShardLog is one ordered, append-only log.
//
// All methods are safe for concurrent use. A ShardLog value stays valid
// until the log is deleted or the engine is closed; after that every method
// returns ErrNotFound or ErrClosed respectively. Holding a ShardLog does not
// pin file handles or memory beyond a small descriptor: engines open and
// close files on demand.
type ShardLog interface {
	// Name returns the name the log was created with.
	Name() string

	// Append durably appends a batch of records, in order, and returns the
	// position and arrival time of each. It returns only after the batch is
	// durable as the engine is configured (on disk, by default), so a record
	// whose Append returned survives a crash. Either the whole batch is
	// appended or none of it is. Concurrent appends to one log are
	// serialised in some order; each batch stays contiguous in that order.
	//
	// The batch's records are the caller's again once Append returns,
	// whatever it returns: an engine that keeps their Data copies it
	// first (the front end reuses request buffers, see server.Handler).
	//
	// Append fails with ErrSealed once Seal has begun, with ErrTooLarge for
	// a record over MaxRecordData or keys over MaxKeyLen, and with ctx's
	// error if ctx ends first (the batch may or may not have been appended).
	Append(ctx context.Context, batch []Record) ([]Appended, error)

	// Read returns records from start, bounded by limits, without waiting.
	// Finding the first record costs no more than a lookup in a sparse index
	// and a bounded scan: a read never scans the log from its beginning.
	// Records older than the retention period are never returned; a start
	// before them starts at the oldest kept record.
	//
	// The records' Data may lend the engine's memory: the caller calls the
	// result's Release, when set, once it no longer uses them.
	Read(ctx context.Context, start Start, limits ReadLimits) (ReadResult, error)

	// Wait blocks until the log holds a record at or after position p, and
	// then returns nil. It returns ErrSealed if the log is sealed and will
	// never hold such a record, and ctx's error when ctx ends. It is how a
	// push reader follows the tip without polling.
	Wait(ctx context.Context, p uint64) error

	// Seal fences the log: every Append that returns successfully returns
	// before Seal does, and every Append that begins after Seal returned
	// fails with ErrSealed. It returns the last position in the log (zero if
	// empty). Sealing a sealed log returns the same position again. The seal
	// is durable, and a sealed log stays readable until retention removes
	// its records.
	Seal(ctx context.Context) (uint64, error)

	// Info describes the log.
	Info(ctx context.Context) (LogInfo, error)

	// SetRetention changes how long records stay readable. Lowering it makes
	// older records unreadable at once; the space they use is reclaimed in
	// bulk later.
	SetRetention(ctx context.Context, d time.Duration) error

	// SetEncryption makes every record appended after it returns stored
	// under data keys from the engine's KeyProvider for keyID; an empty
	// keyID stops that. Records already stored stay as they are, and
	// every record reads back the same either way. The setting is
	// durable. An engine whose storage is not at rest (memory) keeps the
	// setting, reports it in Info and marks records Encrypted, without
	// encrypting; one that encrypts fails with ErrNoKeys when it has no
	// KeyProvider.
	SetEncryption(ctx context.Context, keyID string) error
}

// Engine owns logs and the metadata catalogue.
//
// All methods are safe for concurrent use.
type Engine interface {
	// CreateLog creates an empty log. It fails with ErrExists if a log of
	// that name exists. Names are 1 to 255 bytes of printable ASCII other
	// than '/' and '\\'.
	CreateLog(ctx context.Context, name string, opts LogOptions) (ShardLog, error)

	// Log returns an existing log, or ErrNotFound.
	Log(ctx context.Context, name string) (ShardLog, error)

	// ListLogs returns the names of all logs, sorted.
	ListLogs(ctx context.Context) ([]string, error)

	// DeleteLog removes a log and its records. Reads and appends through
	// existing ShardLog values fail with ErrNotFound afterwards; waiters are
	// woken with ErrNotFound. A new log may be created with the same name.
	DeleteLog(ctx context.Context, name string) error

	// Meta returns the catalogue.
	Meta() MetaStore

	// Close flushes and closes everything. Calls after Close return
	// ErrClosed. Close is idempotent.
	Close() error
}

// Announcer is an Engine whose concurrent appends share commits (one
// fsync for many, as storage/local's group commit does, or one replicated
// message for a shard's appends, as storage/jetstream's). A caller about
// to start several appends at once, PutRecords to its shards, announces
// them first: a commit that begins before the last of them has started
// then waits a moment for it, rather than leave it a whole commit later;
// and an engine whose commits wait for returning writers can tell the
// writers blocked on its other commits from those that may come back.
// Engines that have nothing to share need not implement it.
type Announcer interface {
	// Announce returns the context to give the n appends (an append
	// with another context is not one of them) and the function to call
	// once they have all returned or will never be made.
	Announce(ctx context.Context, n int) (context.Context, func())
}

// MetaEntry is one key of the catalogue.
type MetaEntry struct {
	Key   string
	Value []byte
	// Revision increases on every change to the key; it is never zero for
	// an existing key.
	Revision uint64
}

// MetaStore is a small, durable key-value catalogue for streams, shards and
// consumers. It is not meant for bulk data: values are small (up to
// MaxMetaValue, and mostly a few KiB) and the number of keys is in the
// thousands.
type MetaStore interface {
	// Get returns the entry for key, or ErrNotFound.
	Get(ctx context.Context, key string) (MetaEntry, error)

	// Revision returns the key's current revision, or ErrNotFound, without
	// copying its value: a caller that keeps what it decoded from a value
	// by revision tells with it whether that is still current.
	Revision(ctx context.Context, key string) (uint64, error)

	// List returns the entries whose keys start with prefix, sorted by key.
	List(ctx context.Context, prefix string) ([]MetaEntry, error)

	// CompareAndSwap stores value under key if the key's current revision is
	// rev (0: the key must not exist), and returns the new revision. It
	// fails with ErrConflict otherwise. The change is durable when it
	// returns.
	CompareAndSwap(ctx context.Context, key string, value []byte, rev uint64) (uint64, error)

	// Delete removes key if its current revision is rev, or fails with
	// ErrConflict (ErrNotFound if it does not exist).
	Delete(ctx context.Context, key string, rev uint64) error
}

// ValidLogName reports whether name is acceptable to CreateLog.
func ValidLogName(name string) bool {
	if len(name) == 0 || len(name) > 255 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c > '~' || c == '/' || c == '\\' {
			return false
		}
	}
	return name != "." && name != ".."
}

// ValidateBatch checks a batch against the limits every engine enforces.
func ValidateBatch(batch []Record) error {
	for i := range batch {
		r := &batch[i]
		if len(r.Data) > MaxRecordData {
			return fmt.Errorf("%w: record %d has %d bytes of data, the limit is %d", ErrTooLarge, i, len(r.Data), MaxRecordData)
		}
		if len(r.Key) > MaxKeyLen {
			return fmt.Errorf("%w: record %d has a key over %d bytes", ErrTooLarge, i, MaxKeyLen)
		}
	}
	return nil
}
