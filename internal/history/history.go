// Package history records what concurrent Kinesis clients did and saw,
// and checks the record against the guarantees of Kinesis's log model:
// for the cluster's fault tests (docs/cluster-testing.md), where writers
// and readers run while nodes are killed, paused and cut off.
//
// # The model
//
// A Kinesis stream is a set of shards; each shard is an append-only log
// whose positions (sequence numbers) increase but need not be
// contiguous. A record lives in one shard; after a reshard the parent
// and its children are separate logs. PutRecord and PutRecords append;
// an acknowledged append names the shard and the position it got.
// GetRecords and SubscribeToShard return, from a starting point, the
// records that follow it in order.
//
// # Why these checks are enough
//
// Checking a history for linearizability is expensive in general because
// the checker must guess the order in which concurrent operations took
// effect. Here the server tells: every acknowledged append carries its
// position, and every read carries the positions it saw. The order of
// each shard's log is therefore witnessed, not guessed, and one full
// read of every shard after the workload has stopped (the final read)
// is the log itself. What remains is to check that each witness agrees
// with that log, which is linear in the size of the history:
//
//   - every acknowledged record is in the final read exactly once, in the
//     shard and at the position it was acknowledged with (lost,
//     duplicated, misplaced);
//   - positions strictly increase in every read (order);
//   - every record a reader saw is in the final read at the same shard
//     and position (read-lost: a record seen then lost; read-moved: seen
//     at one position, stored at another);
//   - a read that began after a record's acknowledgement, and whose
//     contiguous range of positions covers the record's, returns it
//     (stale-read): acknowledged means visible;
//   - a record whose outcome the writer does not know appears at most
//     once (duplicated); a record whose write definitely failed never
//     appears (failed-but-stored);
//   - every record read was written by someone (phantom).
//
// An append-only log with server-assigned positions has no other
// observable behaviour: a history passing these checks is explained by
// appending each stored record at its position, at a moment between its
// call's start and its acknowledgement, and serving each read from the
// log as it was when the read began. (Porcupine, which searches for such
// an order, would find the one the positions already give, at a cost
// exponential in the concurrency; this checker needs no search.)
//
// The final read must come before retention trims anything: a trimmed
// record would count as lost.
//
// # Records and outcomes
//
// A record is identified by its stream and its data, so a workload must
// give every record distinct data (Recorder does). A write's outcome is
// acknowledged, failed (the service said, definitely, that it did not
// store it: see Definite) or unknown (an answer that does not say, such
// as InternalFailure, or none at all: a timeout, a dropped connection).
package history

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Outcome is what a writer learnt of one record it sent.
type Outcome string

// Outcomes.
const (
	// Acknowledged: the service answered with the record's shard and
	// sequence number.
	Acknowledged Outcome = "acknowledged"
	// Failed: the service answered with an error that means the record
	// was not stored (Definite).
	Failed Outcome = "failed"
	// Unknown: the answer was lost or does not say whether the record
	// was stored; it may appear at most once.
	Unknown Outcome = "unknown"
)

// Write is one record sent by PutRecord or PutRecords (one Write per
// entry of a PutRecords call, all with the call's times).
type Write struct {
	// ID numbers the writes of a history, for the reports.
	ID              int64  `json:"id"`
	Stream          string `json:"stream"`
	PartitionKey    string `json:"partition_key"`
	ExplicitHashKey string `json:"explicit_hash_key,omitempty"`
	// Data identifies the record: no two writes of a stream share it.
	Data []byte `json:"data"`
	// Start is when the call was sent, End when its answer (or the end of
	// waiting for one) came.
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Outcome Outcome   `json:"outcome"`
	// ShardID and SequenceNumber are the acknowledgement's.
	ShardID        string `json:"shard_id,omitempty"`
	SequenceNumber string `json:"sequence_number,omitempty"`
	// ErrorCode is the AWS error code, or the entry's ErrorCode, of a
	// failed or unknown write; Error its message, or the client's error
	// when there was no answer.
	ErrorCode string `json:"error_code,omitempty"`
	Error     string `json:"error,omitempty"`
}

// Seen is one record a read returned.
type Seen struct {
	SequenceNumber string `json:"sequence_number"`
	PartitionKey   string `json:"partition_key,omitempty"`
	Data           []byte `json:"data"`
}

// Read is one GetRecords page or one SubscribeToShard event: a
// contiguous run of one shard's log, the records following position
// After.
type Read struct {
	// Kind is "GetRecords" or "SubscribeToShard", for the reports.
	Kind    string `json:"kind"`
	Stream  string `json:"stream"`
	ShardID string `json:"shard_id"`
	// After is the position the read continued from: its records are
	// the first ones past it. Empty means the start of the shard
	// (TRIM_HORIZON, with nothing trimmed yet).
	After string `json:"after,omitempty"`
	// Start is when the call was sent (for an event: when the previous
	// event, or the subscription's initial response, was received); End
	// when its answer was received.
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Records []Seen    `json:"records"`
}

// History is what a workload's clients recorded.
type History struct {
	Writes []Write `json:"writes"`
	Reads  []Read  `json:"reads"`
	// Final holds, after every writer has stopped, one full read of every
	// shard of every stream written to, parents and children alike
	// (Recorder.FinalRead): the log the other records are checked
	// against. A shard's final read may be split into several Reads, in
	// order; Check joins them.
	Final []Read `json:"final"`
}

// WriteJSON writes h as indented JSON, for post-mortems.
func (h History) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(h); err != nil {
		return fmt.Errorf("history: encoding: %w", err)
	}
	return nil
}

// ReadJSON reads a history written by WriteJSON.
func ReadJSON(r io.Reader) (History, error) {
	var h History
	if err := json.NewDecoder(r).Decode(&h); err != nil {
		return History{}, fmt.Errorf("history: decoding: %w", err)
	}
	return h, nil
}

// Definite reports whether a write that ended with the AWS error code
// code was definitely not stored: the request was refused before anything
// was written (throttling, limits, a missing or busy stream, a bad
// argument or signature, a KMS key that cannot be used). Every other
// code, and InternalFailure, ServiceUnavailable and
// InternalFailureException in particular, leaves the outcome unknown: AWS
// documents that a record answered InternalFailure may have been stored,
// and a server that stored a record and then failed answers 500 too. The
// empty code (no answer: a timeout, a dropped connection) is not definite.
func Definite(code string) bool {
	switch code {
	case "ProvisionedThroughputExceededException", "ThrottlingException",
		"LimitExceededException", "ResourceNotFoundException",
		"ResourceInUseException", "InvalidArgumentException",
		"ValidationException", "SerializationException",
		"AccessDeniedException", "UnrecognizedClientException",
		"MissingAuthenticationTokenException", "IncompleteSignatureException",
		"InvalidSignatureException", "ExpiredTokenException",
		"KMSAccessDeniedException", "KMSDisabledException",
		"KMSInvalidStateException", "KMSNotFoundException",
		"KMSOptInRequired", "KMSThrottlingException":
		return true
	}
	return false
}
