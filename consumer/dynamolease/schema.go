package dynamolease

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tributary-io/tributary/consumer"
)

// The lease table's schema, as Java KCL 3.x writes it. Every fact below
// was read in awslabs/amazon-kinesis-client at v3.5.1 (commit 024eb86e),
// unless a comment says otherwise; no code of it is copied here:
//
//   - attribute names: the constants of
//     amazon-kinesis-client/src/main/java/software/amazon/kinesis/leases/dynamodb/DynamoDBLeaseSerializer.java
//     (the same names in v3.0.0, but for entityType, which v3.5.0 added);
//   - attribute types: how that serializer builds each value with
//     .../kinesis/leases/DynamoUtils.java, whose createAttributeValue
//     makes S of a String, N of a Long or a Double, SS of a collection
//     and B of a byte[], and refuses an empty string or set (so an empty
//     value is an absent attribute);
//   - the table: DynamoDBLeaseRefresher.java's createTableRequestBuilder
//     (hash key leaseKey of type S, from the serializer's getKeySchema and
//     getAttributeDefinitions) with PAY_PER_REQUEST, the default billing
//     mode of .../kinesis/common/DdbTableConfig.java and
//     LeaseManagementConfig.java;
//   - the index: DynamoDBLeaseRefresher.java's
//     LEASE_OWNER_TO_LEASE_KEY_INDEX_NAME and
//     createLeaseOwnerToLeaseKeyIndexIfNotExists (projection KEYS_ONLY),
//     with the serializer's getWorkerIdToLeaseKeyIndexKeySchema and
//     ...AttributeDefinitions (hash leaseOwner S, range leaseKey S). AWS's
//     guide says the same in prose: "KCL also creates a global secondary
//     index on the lease table with the partition key of leaseOwner ...
//     [it] mirrors the leaseKey attribute of the base lease table"
//     (https://docs.aws.amazon.com/streams/latest/dev/kcl-dynamoDB.html).
const (
	indexName = "LeaseOwnerToLeaseKeyIndex"

	attrKey           = "leaseKey"                           // S, the hash key: the shard id
	attrOwner         = "leaseOwner"                         // S, absent when no worker holds the lease
	attrCounter       = "leaseCounter"                       // N (Long), always written
	attrCheckpoint    = "checkpoint"                         // S, always written by KCL
	attrCheckpointSub = "checkpointSubSequenceNumber"        // N (Long), always written
	attrPending       = "pendingCheckpoint"                  // S, absent when none
	attrPendingSub    = "pendingCheckpointSubSequenceNumber" // N (Long), with pendingCheckpoint
	// pendingCheckpointState is B as KCL's updateLease writes it and every
	// KCL reads it (DynamoUtils.safeGetByteArray). KCL's createLease would
	// write an N (toDynamoRecord puts the checkpoint's subsequence number
	// there, a slip) but creates leases with no state; an N here fails
	// KCL's reader, and this package's too.
	attrPendingState    = "pendingCheckpointState"       // B, absent when none
	attrOwnerSwitches   = "ownerSwitchesSinceCheckpoint" // N (Long), always written
	attrParents         = "parentShardId"                // SS (singular name, a set), absent when empty
	attrChildren        = "childShardIds"                // SS, absent when empty; plural, since KCL 2.3.0 added it
	attrStartingHashKey = "startingHashKey"              // S, decimal; KCL writes both hash keys or neither
	attrEndingHashKey   = "endingHashKey"                // S, decimal
	attrThroughput      = "throughputKBps"               // N (Double), absent until measured
	attrCheckpointOwner = "checkpointOwner"              // S, absent but during a graceful handoff

	// attrEntityType, since KCL 3.5.0 (CHANGELOG.md, PR #1773), tells a
	// lease from the other items KCL may keep in the same table (worker
	// metrics, coordinator state: leases/EntityType.java). KCL writes it on
	// every lease it creates and reads an item without it as a lease
	// (DynamoDBLeaseSerializer.fromDynamoRecord, for tables from before
	// 3.5); so does this package.
	attrEntityType = "entityType" // S
	entityLease    = "LEASE"
)

// known lists every attribute this package reads or writes, in the order
// Update writes them.
var known = []string{
	attrOwner, attrCounter, attrCheckpoint, attrCheckpointSub,
	attrPending, attrPendingSub, attrPendingState, attrOwnerSwitches,
	attrParents, attrChildren, attrStartingHashKey, attrEndingHashKey,
	attrThroughput, attrCheckpointOwner,
}

// encode gives the attributes of l as KCL writes them, leaseKey and
// entityType left out: the attributes with no value are not in the map.
func encode(l consumer.Lease) (map[string]types.AttributeValue, error) {
	item := make(map[string]types.AttributeValue, len(known))
	str := func(name, v string) {
		if v != "" {
			item[name] = &types.AttributeValueMemberS{Value: v}
		}
	}
	num := func(name string, v int64) {
		item[name] = &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
	}
	set := func(name string, v []string) {
		if len(v) > 0 {
			// A string set holds each value once, in no order.
			item[name] = &types.AttributeValueMemberSS{Value: slices.Compact(slices.Sorted(slices.Values(v)))}
		}
	}
	str(attrOwner, l.Owner)
	num(attrCounter, l.Counter)
	str(attrCheckpoint, l.Checkpoint.SequenceNumber)
	num(attrCheckpointSub, l.Checkpoint.SubSequenceNumber)
	// KCL takes a pending checkpoint with no sequence number for none.
	if p := l.PendingCheckpoint; p != nil && p.SequenceNumber != "" {
		str(attrPending, p.SequenceNumber)
		num(attrPendingSub, p.SubSequenceNumber)
	}
	if len(l.PendingCheckpointState) > 0 {
		item[attrPendingState] = &types.AttributeValueMemberB{Value: slices.Clone(l.PendingCheckpointState)}
	}
	num(attrOwnerSwitches, l.OwnerSwitchesSinceCheckpoint)
	set(attrParents, l.ParentShardIDs)
	set(attrChildren, l.ChildShardIDs)
	str(attrStartingHashKey, l.StartingHashKey)
	str(attrEndingHashKey, l.EndingHashKey)
	// 0 is no attribute: KCL's null (not measured yet) and a measured 0.0
	// are one value in a Lease.
	if t := l.ThroughputKBps; t != 0 {
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return nil, fmt.Errorf("%s is %v, which DynamoDB cannot store", attrThroughput, t)
		}
		// Plain decimal: DynamoDB and KCL (Double's parser) read it.
		item[attrThroughput] = &types.AttributeValueMemberN{Value: strconv.FormatFloat(t, 'f', -1, 64)}
	}
	str(attrCheckpointOwner, l.CheckpointOwner)
	return item, nil
}

// isLease tells whether item is a lease rather than another of the
// entities KCL 3.5 may keep in the lease table.
func isLease(item map[string]types.AttributeValue) bool {
	v, ok := item[attrEntityType]
	if !ok {
		return true
	}
	s, ok := v.(*types.AttributeValueMemberS)
	return ok && s.Value == entityLease
}

// decode reads a lease item. Attributes it does not know are ignored; a
// known one of another type than KCL writes is an error.
func decode(item map[string]types.AttributeValue) (consumer.Lease, error) {
	var (
		l   consumer.Lease
		err error
	)
	fail := func(name string, v types.AttributeValue, want string) {
		if err == nil {
			err = fmt.Errorf("attribute %s is %T, want %s", name, v, want)
		}
	}
	str := func(name string) string {
		switch v := item[name].(type) {
		case nil:
		case *types.AttributeValueMemberS:
			return v.Value
		default:
			fail(name, v, "S")
		}
		return ""
	}
	num := func(name string) int64 {
		switch v := item[name].(type) {
		case nil:
		case *types.AttributeValueMemberN:
			n, perr := strconv.ParseInt(v.Value, 10, 64)
			if perr != nil && err == nil {
				err = fmt.Errorf("attribute %s: %w", name, perr)
			}
			return n
		default:
			fail(name, v, "N")
		}
		return 0
	}
	set := func(name string) []string {
		switch v := item[name].(type) {
		case nil:
		case *types.AttributeValueMemberSS:
			return slices.Clone(v.Value)
		default:
			fail(name, v, "SS")
		}
		return nil
	}

	if l.Key = str(attrKey); l.Key == "" && err == nil {
		return l, fmt.Errorf("no attribute %s", attrKey)
	}
	if _, ok := item[attrCounter]; !ok {
		return l, fmt.Errorf("no attribute %s", attrCounter)
	}
	l.Owner = str(attrOwner)
	l.Counter = num(attrCounter)
	l.Checkpoint = consumer.Checkpoint{SequenceNumber: str(attrCheckpoint), SubSequenceNumber: num(attrCheckpointSub)}
	if seq := str(attrPending); seq != "" {
		l.PendingCheckpoint = &consumer.Checkpoint{SequenceNumber: seq, SubSequenceNumber: num(attrPendingSub)}
	}
	switch v := item[attrPendingState].(type) {
	case nil:
	case *types.AttributeValueMemberB:
		if len(v.Value) > 0 {
			l.PendingCheckpointState = slices.Clone(v.Value)
		}
	default:
		fail(attrPendingState, v, "B")
	}
	l.OwnerSwitchesSinceCheckpoint = num(attrOwnerSwitches)
	l.ParentShardIDs = set(attrParents)
	l.ChildShardIDs = set(attrChildren)
	l.StartingHashKey = str(attrStartingHashKey)
	l.EndingHashKey = str(attrEndingHashKey)
	switch v := item[attrThroughput].(type) {
	case nil:
	case *types.AttributeValueMemberN:
		t, perr := strconv.ParseFloat(v.Value, 64)
		if perr != nil && err == nil {
			err = fmt.Errorf("attribute %s: %w", attrThroughput, perr)
		}
		l.ThroughputKBps = t
	default:
		fail(attrThroughput, v, "N")
	}
	l.CheckpointOwner = str(attrCheckpointOwner)
	return l, err
}
