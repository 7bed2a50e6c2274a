package consumer

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/tributary-io/tributary/kpl"
)

// Record is one user record: a Kinesis record as it was put, or one
// record of a KPL aggregate.
type Record struct {
	ShardID        string
	SequenceNumber string
	// Aggregated is whether the record came in a KPL aggregate, at
	// SubSequenceNumber within it (from 0), as KCL numbers them.
	Aggregated        bool
	SubSequenceNumber int64
	PartitionKey      string
	ExplicitHashKey   string
	Data              []byte
	// ApproximateArrivalTimestamp is when Kinesis stored the record (the
	// aggregate, for a record of one).
	ApproximateArrivalTimestamp time.Time
	// ID is the record's ID when Tributary's producer put it (HasID).
	ID    kpl.ID
	HasID bool
}

// Checkpoint is the position just processed with r.
func (r *Record) Checkpoint() Checkpoint {
	return Checkpoint{SequenceNumber: r.SequenceNumber, SubSequenceNumber: r.SubSequenceNumber}
}

// hashRange is a shard's hash keys, inclusive.
type hashRange struct{ start, end kpl.HashKey }

func (h hashRange) holds(k kpl.HashKey) bool { return h.start.Cmp(k) <= 0 && k.Cmp(h.end) <= 0 }

// unpackStats counts what unpack did besides passing records on.
type unpackStats struct {
	// outside counts the user records dropped with an aggregate that held
	// a record hashing outside the shard (KCL drops them all).
	outside int
	// corrupt counts aggregates whose checksum or protobuf is bad, passed
	// on as plain records, as KCL does.
	corrupt int
}

// unpack turns a shard's Kinesis records into user records, as KCL does:
// a KPL aggregate is unpacked; an aggregate one of whose records hashes
// outside the shard is dropped whole; one that cannot be read (bad MD5 or
// protobuf) is passed on as a plain record. Records at or before after
// (the checkpoint resumed from, within an aggregate) are left out.
func unpack(shardID string, rng hashRange, recs []types.Record, after Checkpoint, st *unpackStats) []Record {
	out := make([]Record, 0, len(recs))
	for i := range recs {
		kr := &recs[i]
		base := Record{
			ShardID:                     shardID,
			SequenceNumber:              aws.ToString(kr.SequenceNumber),
			PartitionKey:                aws.ToString(kr.PartitionKey),
			ApproximateArrivalTimestamp: aws.ToTime(kr.ApproximateArrivalTimestamp),
		}
		if !kpl.IsAggregated(kr.Data) {
			base.Data = kr.Data
			if !atOrBefore(base.Checkpoint(), after) {
				out = append(out, base)
			}
			continue
		}
		users, err := kpl.Deaggregate(kr.Data)
		if err != nil {
			st.corrupt++
			base.Data = kr.Data
			if !atOrBefore(base.Checkpoint(), after) {
				out = append(out, base)
			}
			continue
		}
		inside := true
		for j := range users {
			h, err := users[j].HashKey()
			if err != nil || !rng.holds(h) {
				inside = false
				break
			}
		}
		if !inside {
			st.outside += len(users)
			continue
		}
		for j, u := range users {
			r := base
			r.Aggregated, r.SubSequenceNumber = true, int64(j)
			r.PartitionKey, r.ExplicitHashKey, r.Data = u.PartitionKey, u.ExplicitHashKey, u.Data
			r.ID, r.HasID = kpl.IDOf(u.Tags)
			if !atOrBefore(r.Checkpoint(), after) {
				out = append(out, r)
			}
		}
	}
	return out
}

// atOrBefore reports whether position c is at or before checkpoint cp
// within the same Kinesis record: only then is the record known to be
// processed. Records are fetched from cp's record on (AT_SEQUENCE_NUMBER),
// so the others are all after it.
func atOrBefore(c, cp Checkpoint) bool {
	return c.SequenceNumber == cp.SequenceNumber && c.SubSequenceNumber <= cp.SubSequenceNumber
}
