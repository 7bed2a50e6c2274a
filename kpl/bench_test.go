package kpl_test

import (
	"crypto/md5"
	"fmt"
	"strconv"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tributary-io/tributary/kpl"
)

// The benchmarks encode and decode aggregates of benchN records of 100
// bytes, each with its own 20-byte partition key (the worst case for the
// key tables), and report the time per record; allocs/op is per aggregate.
//
//	go test -run '^$' -bench . -benchmem ./kpl/
const benchN = 1000

func benchRecords(tagged bool) []kpl.Record {
	recs := make([]kpl.Record, benchN)
	data := make([]byte, 100)
	for i := range recs {
		recs[i] = kpl.Record{PartitionKey: fmt.Sprintf("partition-key-%06d", i), Data: data}
		if tagged {
			// The shape of the producer's exactly-once metadata: who wrote
			// the record and its sequence.
			recs[i].Tags = []kpl.Tag{
				{Key: "p", Value: "0123456789abcdef", HasValue: true},
				{Key: "s", Value: strconv.Itoa(1_000_000 + i), HasValue: true},
			}
		}
	}
	return recs
}

func perRecord(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchN, "ns/record")
}

func benchAggregate(b *testing.B, tagged bool) {
	recs := benchRecords(tagged)
	agg := kpl.NewAggregator(kpl.DefaultMaxRecordSize, 1)
	b.ReportAllocs()
	var size int
	for b.Loop() {
		agg.Reset()
		for _, r := range recs {
			if err := agg.Add(r); err != nil {
				b.Fatal(err)
			}
		}
		size = len(agg.Bytes())
	}
	b.SetBytes(int64(size))
	perRecord(b)
}

func BenchmarkAggregate(b *testing.B)       { benchAggregate(b, false) }
func BenchmarkAggregateTagged(b *testing.B) { benchAggregate(b, true) }

func benchDeaggregate(b *testing.B, tagged bool) {
	agg := kpl.NewAggregator(kpl.DefaultMaxRecordSize, 1)
	for _, r := range benchRecords(tagged) {
		if err := agg.Add(r); err != nil {
			b.Fatal(err)
		}
	}
	data := agg.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		recs, err := kpl.Deaggregate(data)
		if err != nil || len(recs) != benchN {
			b.Fatal(len(recs), err)
		}
	}
	perRecord(b)
}

func BenchmarkDeaggregate(b *testing.B)       { benchDeaggregate(b, false) }
func BenchmarkDeaggregateTagged(b *testing.B) { benchDeaggregate(b, true) }

// BenchmarkMD5 is the part of both that the format imposes: the MD5 of an
// aggregate of benchN records.
func BenchmarkMD5(b *testing.B) {
	agg := kpl.NewAggregator(kpl.DefaultMaxRecordSize, 1)
	for _, r := range benchRecords(false) {
		_ = agg.Add(r)
	}
	body := agg.Bytes()[4 : agg.Size()-1-16]
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		md5.Sum(body)
	}
	perRecord(b)
}

// BenchmarkGeneratedAggregate and BenchmarkGeneratedDeaggregate do the
// same work through the generated code (messages, proto.Marshal and
// proto.Unmarshal), the alternative to the hand-written wire code, to
// show what it would cost.
func BenchmarkGeneratedAggregate(b *testing.B) {
	recs := benchRecords(false)
	b.ReportAllocs()
	for b.Loop() {
		body, err := proto.Marshal(toPB(recs))
		if err != nil {
			b.Fatal(err)
		}
		withMD5(body)
	}
	perRecord(b)
}

func BenchmarkGeneratedDeaggregate(b *testing.B) {
	agg := kpl.NewAggregator(kpl.DefaultMaxRecordSize, 1)
	for _, r := range benchRecords(false) {
		_ = agg.Add(r)
	}
	data := agg.Bytes()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := referenceDeaggregate(b, data); err != nil {
			b.Fatal(err)
		}
	}
	perRecord(b)
}
