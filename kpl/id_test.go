package kpl_test

import (
	"math"
	"testing"

	"github.com/tributary-io/tributary/kpl"
)

func TestIDTag(t *testing.T) {
	tag := kpl.ID{Producer: "p-1_X", Seq: 42}.Tag()
	if tag.Key != "tributary" || tag.Value != "p-1_X.42" || !tag.HasValue {
		t.Fatalf("Tag() = %+v", tag)
	}
	for _, tt := range []struct {
		tags []kpl.Tag
		want kpl.ID
		ok   bool
	}{
		{[]kpl.Tag{tag}, kpl.ID{Producer: "p-1_X", Seq: 42}, true},
		{[]kpl.Tag{{Key: "other", Value: "x.1", HasValue: true}, {Key: "tributary", Value: "a.b.7", HasValue: true}}, kpl.ID{}, false}, // '.' is not in an id
		{[]kpl.Tag{{Key: "tributary", Value: "ab.7", HasValue: true}}, kpl.ID{Producer: "ab", Seq: 7}, true},
		{[]kpl.Tag{{Key: "tributary", Value: "ab.07", HasValue: true}}, kpl.ID{}, false},
		{[]kpl.Tag{{Key: "tributary", Value: "ab.0", HasValue: true}}, kpl.ID{}, false},
		{[]kpl.Tag{{Key: "tributary", Value: ".7", HasValue: true}}, kpl.ID{}, false},
		{[]kpl.Tag{{Key: "tributary", Value: "ab.", HasValue: true}}, kpl.ID{}, false},
		{[]kpl.Tag{{Key: "tributary", Value: "ab.18446744073709551616", HasValue: true}}, kpl.ID{}, false},
		{[]kpl.Tag{{Key: "tributary", Value: "ab 1.2", HasValue: true}}, kpl.ID{}, false},
		{[]kpl.Tag{{Key: "tributary"}}, kpl.ID{}, false},
		{nil, kpl.ID{}, false},
	} {
		got, ok := kpl.IDOf(tt.tags)
		if got != tt.want || ok != tt.ok {
			t.Errorf("IDOf(%+v) = %+v, %v; want %+v, %v", tt.tags, got, ok, tt.want, tt.ok)
		}
	}
}

// aggregateOf aggregates records of the given IDs (seq 0: no tag).
func aggregateOf(t testing.TB, producer string, seqs ...uint64) []byte {
	t.Helper()
	agg := kpl.NewAggregator(math.MaxInt, 0)
	for _, s := range seqs {
		r := kpl.Record{PartitionKey: "k", Data: []byte("data")}
		if s != 0 {
			r.Tags = []kpl.Tag{{Key: "x", Value: "y", HasValue: true}, kpl.ID{Producer: producer, Seq: s}.Tag()}
		}
		if err := agg.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	return agg.Bytes()
}

func TestSpanOf(t *testing.T) {
	corrupt := aggregateOf(t, "p", 1, 2)
	corrupt[len(corrupt)-1] ^= 1
	mixed := kpl.NewAggregator(math.MaxInt, 0)
	mixed.Add(kpl.Record{PartitionKey: "k", Data: []byte("a"), Tags: []kpl.Tag{kpl.ID{Producer: "p", Seq: 1}.Tag()}})
	mixed.Add(kpl.Record{PartitionKey: "k", Data: []byte("b"), Tags: []kpl.Tag{kpl.ID{Producer: "q", Seq: 2}.Tag()}})
	for _, tt := range []struct {
		name string
		data []byte
		want kpl.Span
		ok   bool
	}{
		{"one record", aggregateOf(t, "p", 7), kpl.Span{Producer: "p", First: 7, Last: 7, Records: 1}, true},
		{"gaps between", aggregateOf(t, "prod", 3, 9, 10, 20), kpl.Span{Producer: "prod", First: 3, Last: 20, Records: 4}, true},
		{"middle untagged", aggregateOf(t, "p", 3, 0, 5), kpl.Span{Producer: "p", First: 3, Last: 5, Records: 3}, true},
		{"last untagged", aggregateOf(t, "p", 3, 4, 0), kpl.Span{}, false},
		{"first untagged", aggregateOf(t, "p", 0, 4), kpl.Span{}, false},
		{"decreasing", aggregateOf(t, "p", 5, 3), kpl.Span{}, false},
		{"more records than numbers", aggregateOf(t, "p", 3, 3, 4), kpl.Span{}, false},
		{"two producers", mixed.Bytes(), kpl.Span{}, false},
		{"bad MD5", corrupt, kpl.Span{}, false},
		{"plain record", []byte("p.1"), kpl.Span{}, false},
	} {
		got, ok := kpl.SpanOf(tt.data)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: SpanOf = %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzSpanOf checks that SpanOf never panics and, on every aggregate
// Deaggregate reads, agrees with the IDs of its first and last records.
func FuzzSpanOf(f *testing.F) {
	f.Add(aggregateOf(f, "p", 1, 2, 3)[4:], true)
	f.Add(aggregateOf(f, "p", 5)[4:], true)
	f.Add(aggregateOf(f, "p", 5, 0)[4:], true)
	f.Fuzz(func(t *testing.T, body []byte, frame bool) {
		data := body
		if frame {
			data = withMD5(body)
		}
		span, ok := kpl.SpanOf(data)
		recs, err := kpl.Deaggregate(data)
		if err != nil || !kpl.IsAggregated(data) || len(recs) == 0 {
			return
		}
		first, ok1 := kpl.IDOf(recs[0].Tags)
		last, ok2 := kpl.IDOf(recs[len(recs)-1].Tags)
		// SpanOf takes the first ID-bearing tag of a record, as IDOf does.
		want := ok1 && ok2 && first.Producer == last.Producer && last.Seq >= first.Seq && uint64(len(recs)) <= last.Seq-first.Seq+1
		if ok != want {
			t.Fatalf("SpanOf = %+v, %v; the records' IDs are %+v (%v) and %+v (%v) over %d records", span, ok, first, ok1, last, ok2, len(recs))
		}
		if ok && (span != kpl.Span{Producer: first.Producer, First: first.Seq, Last: last.Seq, Records: len(recs)}) {
			t.Fatalf("SpanOf = %+v; the records say %+v to %+v over %d", span, first, last, len(recs))
		}
	})
}
