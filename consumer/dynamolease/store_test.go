package dynamolease_test

import (
	"errors"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tributary-io/tributary/consumer"
	"github.com/tributary-io/tributary/consumer/dynamolease"
	"github.com/tributary-io/tributary/consumer/leasetest"
)

var fast = dynamolease.Options{PollInterval: 20 * time.Millisecond}

// newStore returns an Init'ed store on a new table, and its client.
func newStore(t *testing.T) (*dynamolease.Store, *dynamodb.Client, string) {
	t.Helper()
	c := client(t)
	table := newTable()
	s := dynamolease.New(c, table, fast)
	if err := s.Init(ctx(t)); err != nil {
		t.Fatalf("Init: %v", err)
	}
	return s, c, table
}

func TestConformance(t *testing.T) {
	leasetest.Run(t, func(t *testing.T) consumer.LeaseStore {
		return dynamolease.New(client(t), newTable(), fast)
	})
}

// Attribute values, short.
func s(v string) types.AttributeValue     { return &types.AttributeValueMemberS{Value: v} }
func n(v string) types.AttributeValue     { return &types.AttributeValueMemberN{Value: v} }
func ss(v ...string) types.AttributeValue { return &types.AttributeValueMemberSS{Value: v} }
func b(v ...byte) types.AttributeValue    { return &types.AttributeValueMemberB{Value: v} }

// Items as Java KCL 3.x writes them: DynamoDBLeaseSerializer.toDynamoRecord
// (createLease) and getDynamoUpdateLeaseUpdate (updateLease), with the
// types DynamoUtils gives each value (see schema.go for the sources).
type javaItem struct {
	name string
	item map[string]types.AttributeValue
	want consumer.Lease
}

var javaItems = []javaItem{{
	name: "held and checkpointed, KCL 3.5",
	item: map[string]types.AttributeValue{
		"leaseKey":                           s("shardId-000000000007"),
		"leaseOwner":                         s("java-worker-1"),
		"leaseCounter":                       n("1289"),
		"checkpoint":                         s("49590338271490256608559692538361571095921575989136588898"),
		"checkpointSubSequenceNumber":        n("12"),
		"pendingCheckpoint":                  s("49590338271490256608559692540925702759324208523137515618"),
		"pendingCheckpointSubSequenceNumber": n("3"),
		"pendingCheckpointState":             b(0xca, 0xfe, 0x00, 0x01),
		"ownerSwitchesSinceCheckpoint":       n("2"),
		"parentShardId":                      ss("shardId-000000000001", "shardId-000000000002"),
		"childShardIds":                      ss("shardId-000000000009"),
		"startingHashKey":                    s("170141183460469231731687303715884105728"),
		"endingHashKey":                      s("340282366920938463463374607431768211455"),
		"throughputKBps":                     n("812.625"), // Java's Double.toString
		"checkpointOwner":                    s("java-worker-0"),
		"entityType":                         s("LEASE"),
	},
	want: consumer.Lease{
		Key:                          "shardId-000000000007",
		Owner:                        "java-worker-1",
		Counter:                      1289,
		Checkpoint:                   consumer.Checkpoint{SequenceNumber: "49590338271490256608559692538361571095921575989136588898", SubSequenceNumber: 12},
		PendingCheckpoint:            &consumer.Checkpoint{SequenceNumber: "49590338271490256608559692540925702759324208523137515618", SubSequenceNumber: 3},
		PendingCheckpointState:       []byte{0xca, 0xfe, 0x00, 0x01},
		OwnerSwitchesSinceCheckpoint: 2,
		ParentShardIDs:               []string{"shardId-000000000001", "shardId-000000000002"},
		ChildShardIDs:                []string{"shardId-000000000009"},
		StartingHashKey:              "170141183460469231731687303715884105728",
		EndingHashKey:                "340282366920938463463374607431768211455",
		ThroughputKBps:               812.625,
		CheckpointOwner:              "java-worker-0",
	},
}, {
	name: "new from shard sync, KCL 3.0-3.4 (no entityType)",
	item: map[string]types.AttributeValue{
		"leaseKey":                     s("shardId-000000000008"),
		"leaseCounter":                 n("0"),
		"checkpoint":                   s("TRIM_HORIZON"),
		"checkpointSubSequenceNumber":  n("0"),
		"ownerSwitchesSinceCheckpoint": n("0"),
		"parentShardId":                ss("shardId-000000000003"),
		"startingHashKey":              s("0"),
		"endingHashKey":                s("170141183460469231731687303715884105727"),
	},
	want: consumer.Lease{
		Key:             "shardId-000000000008",
		Checkpoint:      consumer.Checkpoint{SequenceNumber: consumer.TrimHorizon},
		ParentShardIDs:  []string{"shardId-000000000003"},
		StartingHashKey: "0",
		EndingHashKey:   "170141183460469231731687303715884105727",
	},
}, {
	name: "finished, a tiny throughput in Java's exponent notation",
	item: map[string]types.AttributeValue{
		"leaseKey":                     s("shardId-000000000009"),
		"leaseOwner":                   s("java-worker-2"),
		"leaseCounter":                 n("77"),
		"checkpoint":                   s("SHARD_END"),
		"checkpointSubSequenceNumber":  n("0"),
		"ownerSwitchesSinceCheckpoint": n("0"),
		"throughputKBps":               n("1.0E-4"),
		"entityType":                   s("LEASE"),
	},
	want: consumer.Lease{
		Key:            "shardId-000000000009",
		Owner:          "java-worker-2",
		Counter:        77,
		Checkpoint:     consumer.Checkpoint{SequenceNumber: consumer.ShardEnd},
		ThroughputKBps: 1e-4,
	},
}}

func put(t *testing.T, c *dynamodb.Client, table string, item map[string]types.AttributeValue) {
	t.Helper()
	if _, err := c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatalf("PutItem: %v", err)
	}
}

func raw(t *testing.T, c *dynamodb.Client, table, key string) map[string]types.AttributeValue {
	t.Helper()
	out, err := c.GetItem(ctx(t), &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            map[string]types.AttributeValue{"leaseKey": s(key)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	return out.Item
}

func sameLease(t *testing.T, what string, got, want consumer.Lease) {
	t.Helper()
	slices.Sort(got.ParentShardIDs)
	slices.Sort(got.ChildShardIDs)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// TestReadsJavaLeases: leases written as Java KCL writes them read right.
func TestReadsJavaLeases(t *testing.T) {
	st, c, table := newStore(t)
	for _, j := range javaItems {
		put(t, c, table, j.item)
	}
	for _, j := range javaItems {
		t.Run(j.name, func(t *testing.T) {
			got, err := st.Get(ctx(t), j.want.Key)
			if err != nil {
				t.Fatal(err)
			}
			sameLease(t, "Get", got, j.want)
		})
	}
	all, err := st.List(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(javaItems) {
		t.Fatalf("List returned %d leases, want %d", len(all), len(javaItems))
	}
	for _, got := range all {
		i := slices.IndexFunc(javaItems, func(j javaItem) bool { return j.want.Key == got.Key })
		if i < 0 {
			t.Fatalf("List returned a lease %s never written", got.Key)
		}
		sameLease(t, "List", got, javaItems[i].want)
	}
}

// shape is an item's attribute names and types.
func shape(item map[string]types.AttributeValue) map[string]string {
	m := make(map[string]string, len(item))
	for name, v := range item {
		switch v.(type) {
		case *types.AttributeValueMemberS:
			m[name] = "S"
		case *types.AttributeValueMemberN:
			m[name] = "N"
		case *types.AttributeValueMemberB:
			m[name] = "B"
		case *types.AttributeValueMemberSS:
			m[name] = "SS"
		default:
			m[name] = reflect.TypeOf(v).String()
		}
	}
	return m
}

// TestWritesJavaShape: what Create and Update write has KCL's names and
// types, and nothing else; an attribute with no value is absent.
func TestWritesJavaShape(t *testing.T) {
	// Written for every lease, as KCL's toDynamoRecord does.
	always := map[string]string{
		"leaseKey": "S", "leaseCounter": "N", "checkpoint": "S",
		"checkpointSubSequenceNumber": "N", "ownerSwitchesSinceCheckpoint": "N",
		"entityType": "S",
	}
	every := maps.Clone(always)
	maps.Copy(every, map[string]string{
		"leaseOwner": "S", "pendingCheckpoint": "S", "pendingCheckpointSubSequenceNumber": "N",
		"pendingCheckpointState": "B", "parentShardId": "SS", "childShardIds": "SS",
		"startingHashKey": "S", "endingHashKey": "S", "throughputKBps": "N", "checkpointOwner": "S",
	})
	full := javaItems[0].want
	owned := consumer.Lease{
		Owner:      "go-worker",
		Checkpoint: consumer.Checkpoint{SequenceNumber: "4959033827149025660855969253836157109592"},
	}
	st, c, table := newStore(t)
	for i, step := range []struct {
		name  string
		lease consumer.Lease
		want  map[string]string
	}{
		{"every field", full, every},
		{"only an owner and a checkpoint", owned, with(always, "leaseOwner", "S")},
		{"every field again", full, every},
		{"nothing", consumer.Lease{}, without(always, "checkpoint")},
	} {
		t.Run(step.name, func(t *testing.T) {
			l := step.lease
			l.Key = "shardId-000000000042"
			var err error
			if i == 0 {
				err = st.Create(ctx(t), l)
			} else {
				prev, _ := st.Get(ctx(t), l.Key)
				l.Counter = prev.Counter
				_, err = st.Update(ctx(t), l)
				l.Counter++
			}
			if err != nil {
				t.Fatal(err)
			}
			item := raw(t, c, table, l.Key)
			if got := shape(item); !maps.Equal(got, step.want) {
				t.Errorf("attributes:\n got %v\nwant %v", got, step.want)
			}
			// The values, as KCL writes them.
			want := map[string]types.AttributeValue{
				"leaseCounter": n(strconv.FormatInt(l.Counter, 10)),
				"entityType":   s("LEASE"),
			}
			if step.want["throughputKBps"] != "" {
				want["throughputKBps"] = n("812.625")
				want["pendingCheckpointState"] = b(full.PendingCheckpointState...)
				want["parentShardId"] = ss(full.ParentShardIDs...)
				if v, ok := item["parentShardId"].(*types.AttributeValueMemberSS); ok {
					slices.Sort(v.Value) // a set: in no order
				}
			}
			for name, v := range want {
				if !reflect.DeepEqual(item[name], v) {
					t.Errorf("%s = %#v, want %#v", name, item[name], v)
				}
			}
			got, err := st.Get(ctx(t), l.Key)
			if err != nil {
				t.Fatal(err)
			}
			sameLease(t, "Get", got, l)
		})
	}
}

func with(m map[string]string, name, typ string) map[string]string {
	m = maps.Clone(m)
	m[name] = typ
	return m
}

func without(m map[string]string, name string) map[string]string {
	m = maps.Clone(m)
	delete(m, name)
	return m
}

func sorted(v []string) []string { return slices.Sorted(slices.Values(v)) }

// TestKeepsUnknownAttributes: attributes Java KCL writes and this package
// does not know (a multi-stream lease's, or a later KCL's) survive Update.
func TestKeepsUnknownAttributes(t *testing.T) {
	st, c, table := newStore(t)
	item := maps.Clone(javaItems[0].item)
	extra := map[string]types.AttributeValue{
		"streamName":        s("123456789012:orders:1700000000"),
		"shardId":           s("shardId-000000000007"),
		"someLaterKCLField": n("17"),
	}
	maps.Copy(item, extra)
	put(t, c, table, item)

	l, err := st.Get(ctx(t), "shardId-000000000007")
	if err != nil {
		t.Fatal(err)
	}
	l.Owner = "go-worker"
	l.CheckpointOwner = ""
	l.PendingCheckpoint, l.PendingCheckpointState = nil, nil
	if _, err := st.Update(ctx(t), l); err != nil {
		t.Fatal(err)
	}
	after := raw(t, c, table, l.Key)
	for name, v := range extra {
		if !reflect.DeepEqual(after[name], v) {
			t.Errorf("%s after Update = %#v, want %#v", name, after[name], v)
		}
	}
	if !reflect.DeepEqual(after["entityType"], s("LEASE")) {
		t.Errorf("entityType after Update = %#v", after["entityType"])
	}
	for _, gone := range []string{"checkpointOwner", "pendingCheckpoint", "pendingCheckpointSubSequenceNumber", "pendingCheckpointState"} {
		if _, ok := after[gone]; ok {
			t.Errorf("%s still there after Update cleared it", gone)
		}
	}
}

// TestNotLeases: KCL 3.5 may keep other entities in the lease table; the
// store neither lists nor reads nor writes them.
func TestNotLeases(t *testing.T) {
	st, c, table := newStore(t)
	put(t, c, table, javaItems[1].item)
	others := []map[string]types.AttributeValue{{
		"leaseKey": s("java-worker-1"), "entityType": s("WORKER_METRIC_STATS"), "leaseCounter": n("5"),
	}, {
		"leaseKey": s("Leader"), "entityType": s("LEADER"), "leaseCounter": n("0"),
	}}
	for _, o := range others {
		put(t, c, table, o)
	}
	all, err := st.List(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].Key != javaItems[1].want.Key {
		t.Errorf("List = %+v, want only %s", all, javaItems[1].want.Key)
	}
	for i, o := range others {
		key := []string{"java-worker-1", "Leader"}[i]
		counter := []int64{5, 0}[i]
		if _, err := st.Get(ctx(t), key); !errors.Is(err, consumer.ErrLeaseNotFound) {
			t.Errorf("Get(%s) = %v, want ErrLeaseNotFound", key, err)
		}
		l := consumer.Lease{Key: key, Counter: counter, Owner: "go-worker"}
		if _, err := st.Update(ctx(t), l); !errors.Is(err, consumer.ErrLeaseNotFound) {
			t.Errorf("Update(%s) = %v, want ErrLeaseNotFound", key, err)
		}
		if err := st.Delete(ctx(t), l); !errors.Is(err, consumer.ErrLeaseNotFound) {
			t.Errorf("Delete(%s) = %v, want ErrLeaseNotFound", key, err)
		}
		if err := st.Create(ctx(t), l); !errors.Is(err, consumer.ErrLeaseExists) {
			t.Errorf("Create(%s) = %v, want ErrLeaseExists", key, err)
		}
		if got := raw(t, c, table, key); !reflect.DeepEqual(got, o) {
			t.Errorf("%s changed: %v", key, got)
		}
	}
}

// TestBadItems: an attribute of another type than KCL's is an error that
// names it, not a lease with a field missing.
func TestBadItems(t *testing.T) {
	st, c, table := newStore(t)
	for _, tc := range []struct {
		attr string
		v    types.AttributeValue
	}{
		{"leaseCounter", s("12")},
		{"checkpoint", n("12")},
		{"parentShardId", s("shardId-000000000000")},
		{"pendingCheckpointState", n("0")},
		{"throughputKBps", s("fast")},
	} {
		t.Run(tc.attr, func(t *testing.T) {
			item := maps.Clone(javaItems[1].item)
			item["leaseKey"] = s("bad-" + tc.attr)
			item[tc.attr] = tc.v
			put(t, c, table, item)
			_, err := st.Get(ctx(t), "bad-"+tc.attr)
			if err == nil || !strings.Contains(err.Error(), tc.attr) || !strings.Contains(err.Error(), table) {
				t.Errorf("Get = %v, want an error naming %s and the table", err, tc.attr)
			}
		})
	}
	if _, err := st.List(ctx(t)); err == nil {
		t.Error("List of a table with bad items succeeded")
	}
	l := javaItems[1].want
	l.Key, l.ThroughputKBps = "nan", math.NaN()
	if err := st.Create(ctx(t), l); err == nil || !strings.Contains(err.Error(), "throughputKBps") {
		t.Errorf("Create with a NaN throughput = %v", err)
	}
}

// TestInit: the table Init creates is KCL's; Init takes an existing lease
// table as it is, and refuses a table that is no lease table.
func TestInit(t *testing.T) {
	c := client(t)
	table := newTable()
	// Workers starting together all create the table.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = dynamolease.New(c, table, fast).Init(ctx(t)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Init %d: %v", i, err)
		}
	}
	out, err := c.DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	d := out.Table
	keys := func(ks []types.KeySchemaElement) (s []string) {
		for _, k := range ks {
			s = append(s, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
		}
		return s
	}
	if got := keys(d.KeySchema); !slices.Equal(got, []string{"leaseKey HASH"}) {
		t.Errorf("key schema %v", got)
	}
	var defs []string
	for _, a := range d.AttributeDefinitions {
		defs = append(defs, aws.ToString(a.AttributeName)+" "+string(a.AttributeType))
	}
	if slices.Sort(defs); !slices.Equal(defs, []string{"leaseKey S", "leaseOwner S"}) {
		t.Errorf("attribute definitions %v", defs)
	}
	if d.BillingModeSummary == nil || d.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing mode %+v, want PAY_PER_REQUEST", d.BillingModeSummary)
	}
	if d.TableStatus != types.TableStatusActive {
		t.Errorf("table status %s after Init", d.TableStatus)
	}
	if len(d.GlobalSecondaryIndexes) != 1 {
		t.Fatalf("indexes %+v, want one", d.GlobalSecondaryIndexes)
	}
	ix := d.GlobalSecondaryIndexes[0]
	if aws.ToString(ix.IndexName) != "LeaseOwnerToLeaseKeyIndex" ||
		!slices.Equal(keys(ix.KeySchema), []string{"leaseOwner HASH", "leaseKey RANGE"}) ||
		ix.Projection == nil || ix.Projection.ProjectionType != types.ProjectionTypeKeysOnly ||
		ix.IndexStatus != types.IndexStatusActive {
		t.Errorf("index %s %v %+v %s", aws.ToString(ix.IndexName), keys(ix.KeySchema), ix.Projection, ix.IndexStatus)
	}

	// A KCL 2.x table: leaseKey alone, no index. Init leaves it so.
	old := newTable()
	createTable(t, c, old, "leaseKey")
	if err := dynamolease.New(c, old, fast).Init(ctx(t)); err != nil {
		t.Fatalf("Init of a table without the index: %v", err)
	}
	if out, _ := c.DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String(old)}); len(out.Table.GlobalSecondaryIndexes) != 0 {
		t.Errorf("Init changed an existing table")
	}

	other := newTable()
	createTable(t, c, other, "id")
	if err := dynamolease.New(c, other, fast).Init(ctx(t)); err == nil || !strings.Contains(err.Error(), "not a KCL lease table") {
		t.Errorf("Init of a table keyed by id = %v", err)
	}
}

func createTable(t *testing.T, c *dynamodb.Client, table, key string) {
	t.Helper()
	_, err := c.CreateTable(ctx(t), &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(key), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(key), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestListPages: List reads every page of the Scan. A Scan page holds up to
// 1 MB, so leases with a large attribute (one this package does not know)
// take several.
func TestListPages(t *testing.T) {
	st, c, table := newStore(t)
	const count = 8
	big := strings.Repeat("x", 300<<10)
	for i := range count {
		item := maps.Clone(javaItems[1].item)
		item["leaseKey"] = s("shardId-" + strconv.Itoa(i))
		item["padding"] = s(big)
		put(t, c, table, item)
	}
	pages := 0
	var start map[string]types.AttributeValue
	for {
		out, err := c.Scan(ctx(t), &dynamodb.ScanInput{TableName: aws.String(table), ExclusiveStartKey: start})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if start = out.LastEvaluatedKey; len(start) == 0 {
			break
		}
	}
	if pages < 2 {
		t.Fatalf("the table is %d Scan page(s): the test needs more", pages)
	}
	all, err := st.List(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != count {
		t.Errorf("List returned %d leases of %d (%d pages)", len(all), count, pages)
	}
}
