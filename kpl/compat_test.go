package kpl_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/tributary-io/tributary/kpl"
)

// compatFixture is what compat/kpl_deagg.mjs reads: aggregates made by
// the Aggregator and the records each must de-aggregate to, for AWS's
// de-aggregator (the npm package aws-kinesis-agg) to check. Bytes are
// base64, as encoding/json writes []byte.
type compatFixture struct {
	Aggregates []compatAggregate `json:"aggregates"`
}

type compatAggregate struct {
	Name    string         `json:"name"`
	Data    []byte         `json:"data"`
	Records []compatRecord `json:"records"`
}

type compatRecord struct {
	PartitionKey    string      `json:"partitionKey"`
	ExplicitHashKey string      `json:"explicitHashKey,omitempty"`
	Data            []byte      `json:"data"`
	Tags            []compatTag `json:"tags"`
}

type compatTag struct {
	Key   string  `json:"key"`
	Value *string `json:"value,omitempty"`
}

// TestCompatFixture builds the fixture and checks it with Deaggregate;
// with KPL_COMPAT_OUT set (compat/run.sh sets it) it also writes it there.
func TestCompatFixture(t *testing.T) {
	var fx compatFixture
	add := func(name string, agg *kpl.Aggregator, records []kpl.Record) {
		a := compatAggregate{Name: name, Data: agg.Bytes(), Records: []compatRecord{}}
		for _, r := range records {
			cr := compatRecord{PartitionKey: r.PartitionKey, ExplicitHashKey: r.ExplicitHashKey, Data: r.Data, Tags: []compatTag{}}
			if cr.Data == nil {
				cr.Data = []byte{}
			}
			for _, tg := range r.Tags {
				ct := compatTag{Key: tg.Key}
				if tg.HasValue {
					ct.Value = &tg.Value
				}
				cr.Tags = append(cr.Tags, ct)
			}
			a.Records = append(a.Records, cr)
		}
		got, err := kpl.Deaggregate(a.Data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := diffRecords(got, records); diff != "" {
			t.Fatalf("%s: %s", name, diff)
		}
		fx.Aggregates = append(fx.Aggregates, a)
	}

	for _, tt := range roundTrips {
		// Keys and tags that are not UTF-8 cannot be told in JSON, nor in
		// JavaScript's strings (protobufjs decodes them with replacement
		// characters), nor put through the Kinesis API, whose partition
		// keys are Unicode.
		if slices.ContainsFunc(tt.records, notUTF8) {
			continue
		}
		agg := kpl.NewAggregator(kpl.DefaultMaxRecordSize, 1)
		for _, r := range tt.records {
			if err := agg.Add(r); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
		}
		add(tt.name, agg, tt.records)
	}

	// What a producer sends: an aggregate filled to 1 MiB with 100-byte
	// records, the outer key being "a".
	agg := kpl.NewAggregator(kpl.DefaultMaxRecordSize, 1)
	var full []kpl.Record
	for i := 0; ; i++ {
		r := kpl.Record{PartitionKey: fmt.Sprintf("user-%d", i%500), Data: make([]byte, 100)}
		r.Data[0], r.Data[1] = byte(i), byte(i>>8)
		if err := agg.Add(r); errors.Is(err, kpl.ErrFull) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		full = append(full, r)
	}
	if agg.Size() > kpl.DefaultMaxRecordSize || agg.Size() < kpl.DefaultMaxRecordSize-200 {
		t.Fatalf("a full aggregate is %d bytes", agg.Size())
	}
	add("full 1 MiB aggregate", agg, full)

	b, err := json.Marshal(fx)
	if err != nil {
		t.Fatal(err)
	}
	if out := os.Getenv("KPL_COMPAT_OUT"); out != "" {
		if err := os.WriteFile(out, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %d aggregates to %s", len(fx.Aggregates), out)
	}
}

// notUTF8 reports whether a key or tag string of r is not UTF-8.
func notUTF8(r kpl.Record) bool {
	for _, tg := range r.Tags {
		if !utf8.ValidString(tg.Key) || !utf8.ValidString(tg.Value) {
			return true
		}
	}
	return !utf8.ValidString(r.PartitionKey) || !utf8.ValidString(r.ExplicitHashKey)
}
