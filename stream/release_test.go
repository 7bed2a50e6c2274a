package stream

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage/local"
)

// TestReadReleaseStream reads, through GetRecords and SubscribeToShard, a
// stream written by the service and engine as released at commit ff40391
// (testdata/release-ff40391; gen_release_test.go there is the program),
// whose frames hold the explicit hash keys of the records put with one.
// Every record comes back as it was acknowledged then: shard, sequence
// number, partition key, data and arrival time.
func TestReadReleaseStream(t *testing.T) {
	const dir = "testdata/release-ff40391"
	b, err := os.ReadFile(filepath.Join(dir, "want.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Stream      string    `json:"stream"`
		ConsumerARN string    `json:"consumerARN"`
		Now         time.Time `json:"now"`
		Records     []struct {
			Shard   string    `json:"shard"`
			Seq     string    `json:"seq"`
			Key     string    `json:"key"`
			HashKey string    `json:"hashKey"`
			Data    []byte    `json:"data"`
			Arrival time.Time `json:"arrival"`
		} `json:"records"`
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	if err := os.CopyFS(data, os.DirFS(filepath.Join(dir, "data"))); err != nil {
		t.Fatal(err)
	}
	// A minute after the last write: well within the day of retention.
	clock := &fakeClock{t: want.Now.Add(time.Minute)}
	engine, err := local.Open(data, local.Options{Now: clock.Now})
	if err != nil {
		t.Fatalf("opening the data directory of release ff40391: %v", err)
	}
	defer engine.Close()
	ctx := context.Background()
	svc, err := New(ctx, engine, Options{Now: clock.Now, Logger: quiet, AutoscaleInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()

	byShard := map[string][]Record{}
	hashKeys := 0
	for _, r := range want.Records {
		byShard[r.Shard] = append(byShard[r.Shard], Record{SequenceNumber: r.Seq, ApproximateArrivalTimestamp: r.Arrival, Data: r.Data, PartitionKey: r.Key})
		if r.HashKey != "" {
			hashKeys++
		}
	}
	if len(byShard) != 2 || hashKeys == 0 {
		t.Fatalf("the fixture has records in %d shards, %d with hash keys; it should have both shards and some", len(byShard), hashKeys)
	}
	check := func(how, shard string, got []Record) {
		t.Helper()
		w := byShard[shard]
		if len(got) != len(w) {
			t.Errorf("%s %s: %d records, want %d", how, shard, len(got), len(w))
			return
		}
		for i := range w {
			g := got[i]
			if !sameRecordNumber(g.SequenceNumber, w[i].SequenceNumber, g.ApproximateArrivalTimestamp) || !g.ApproximateArrivalTimestamp.Equal(w[i].ApproximateArrivalTimestamp) ||
				g.PartitionKey != w[i].PartitionKey || !bytes.Equal(g.Data, w[i].Data) {
				t.Errorf("%s %s: record %d is %+v, want %+v", how, shard, i, g, w[i])
			}
		}
	}
	for shard := range byShard {
		it, err := svc.GetShardIterator(ctx, scope, GetShardIteratorInput{Stream: StreamRef{Name: want.Stream}, ShardID: shard, ShardIteratorType: TrimHorizon})
		if err != nil {
			t.Fatalf("GetShardIterator(%s): %v", shard, err)
		}
		out, err := svc.GetRecords(ctx, scope, GetRecordsInput{ShardIterator: it.ShardIterator})
		if err != nil {
			t.Fatalf("GetRecords(%s): %v", shard, err)
		}
		check("GetRecords", shard, out.Records)

		// A number the old release issued, as a client's checkpoint holds
		// it, still starts a read at its record.
		for i, r := range byShard[shard] {
			it, err := svc.GetShardIterator(ctx, scope, GetShardIteratorInput{Stream: StreamRef{Name: want.Stream}, ShardID: shard,
				ShardIteratorType: AtSequenceNumber, StartingSequenceNumber: r.SequenceNumber})
			if err != nil {
				t.Fatalf("GetShardIterator(%s) at the old number %s: %v", shard, r.SequenceNumber, err)
			}
			out, err := svc.GetRecords(ctx, scope, GetRecordsInput{ShardIterator: it.ShardIterator, Limit: 1})
			if err != nil || len(out.Records) != 1 || out.Records[0].PartitionKey != r.PartitionKey || !bytes.Equal(out.Records[0].Data, r.Data) {
				t.Errorf("%s: the read at old record %d's number gave %+v, %v", shard, i, out, err)
			}
		}

		sub, err := svc.SubscribeToShard(ctx, scope, SubscribeToShardInput{ConsumerARN: want.ConsumerARN, ShardID: shard, StartingPosition: StartingPosition{Type: TrimHorizon}})
		if err != nil {
			t.Fatalf("SubscribeToShard(%s): %v", shard, err)
		}
		var pushed []Record
		for len(pushed) < len(byShard[shard]) {
			ev, err := sub.Next()
			if err != nil {
				t.Fatalf("SubscribeToShard(%s): Next: %v", shard, err)
			}
			if len(ev.Records) == 0 {
				t.Fatalf("SubscribeToShard(%s): an empty event after %d records, want %d", shard, len(pushed), len(byShard[shard]))
			}
			pushed = append(pushed, ev.Records...)
		}
		sub.Close()
		check("SubscribeToShard", shard, pushed)
	}
}

// sameRecordNumber reports whether got, a number in AWS's layout, names
// the record the old release numbered old (its layout before AWS's): the
// same shard and position, and the record's arrival second.
func sameRecordNumber(got, old string, arrival time.Time) bool {
	g, err := parseSeqNum(got)
	o, err2 := parseSeqNum(old)
	return err == nil && err2 == nil && g.version == seqV2 && o.version == seqLegacy &&
		g.shard == o.shard && g.position == o.position && g.arrival == arrival.Unix()
}
