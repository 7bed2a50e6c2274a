package faults

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/kinesis"
)

func u64(n uint64) *uint64 { return &n }

// calls is a fixed request sequence mixing matching and other calls.
func calls() []Call {
	var out []Call
	for i := range 200 {
		op := "PutRecords"
		if i%3 == 0 {
			op = "GetRecords"
		}
		out = append(out, Call{Operation: op, Stream: "s", Account: "000000000000", Entries: 1 + i%7})
	}
	return out
}

func run(t *testing.T, seed uint64, rules []Rule) [][]Decision {
	t.Helper()
	in := New(seed)
	for _, r := range rules {
		if _, err := in.Add(r); err != nil {
			t.Fatalf("Add(%+v): %v", r, err)
		}
	}
	var out [][]Decision
	for _, c := range calls() {
		out = append(out, in.Match(c))
	}
	return out
}

func TestDeterministic(t *testing.T) {
	tests := []struct {
		name string
		rule Rule
	}{
		{"error", Rule{Operation: "PutRecords", Effect: EffectError, ErrorType: kinesis.ErrProvisionedThroughputExceeded, Probability: 0.5}},
		{"latency", Rule{Operation: "*", Effect: EffectLatency, Latency: Duration(time.Millisecond), Probability: 0.3}},
		{"put records failures", Rule{Operation: "PutRecords", Effect: EffectPutRecordsFailures, Fraction: 0.4, Probability: 0.7}},
		{"internal failures", Rule{Operation: "PutRecords", Effect: EffectPutRecordsFailures, Fraction: 1, ErrorCode: kinesis.ErrInternalFailure}},
		{"expire iterators", Rule{Operation: "GetRecords", Effect: EffectExpireIterators, MaxAge: Duration(time.Second), Probability: 0.5}},
		{"rule seed", Rule{Operation: "PutRecords", Effect: EffectError, ErrorType: kinesis.ErrInternalFailure, Probability: 0.5, Seed: u64(99)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := run(t, 42, []Rule{tt.rule})
			b := run(t, 42, []Rule{tt.rule})
			if !reflect.DeepEqual(a, b) {
				t.Fatal("same seed and requests gave different decisions")
			}
			fired := 0
			for _, d := range a {
				fired += len(d)
			}
			if fired == 0 {
				t.Fatal("rule never fired")
			}
			if tt.rule.Seed == nil && tt.rule.Fraction != 1 && reflect.DeepEqual(a, run(t, 43, []Rule{tt.rule})) {
				t.Error("a different seed gave the same decisions")
			}
		})
	}
}

func TestRuleSeedOverridesInjectorSeed(t *testing.T) {
	r := Rule{Operation: "PutRecords", Effect: EffectError, ErrorType: kinesis.ErrInternalFailure, Probability: 0.5, Seed: u64(7)}
	if !reflect.DeepEqual(run(t, 1, []Rule{r}), run(t, 2, []Rule{r})) {
		t.Error("a rule with its own seed depends on the injector's seed")
	}
}

func TestProbability(t *testing.T) {
	// 20000 calls at p: the standard deviation of the observed rate is at
	// most 0.0036, so a tolerance of 0.02 is more than 5 of them; the seed
	// is fixed, so the outcome cannot flake anyway.
	const n, tolerance = 20000, 0.02
	for _, p := range []float64{0.1, 0.5, 0.9} {
		in := New(1)
		if _, err := in.Add(Rule{Operation: "PutRecord", Effect: EffectError, ErrorType: kinesis.ErrInternalFailure, Probability: p}); err != nil {
			t.Fatal(err)
		}
		hits := 0
		for range n {
			hits += len(in.Match(Call{Operation: "PutRecord"}))
		}
		if got := float64(hits) / n; math.Abs(got-p) > tolerance {
			t.Errorf("p=%v: rate %v", p, got)
		}
	}
}

func TestFraction(t *testing.T) {
	const tolerance = 0.02 // as in TestProbability: 20000 entries
	in := New(3)
	if _, err := in.Add(Rule{Operation: "PutRecords", Effect: EffectPutRecordsFailures, Fraction: 0.3}); err != nil {
		t.Fatal(err)
	}
	failed := 0
	for range 40 {
		d := in.Match(Call{Operation: "PutRecords", Stream: "s", Account: "1", Entries: 500})
		if len(d) != 1 {
			t.Fatalf("got %d decisions", len(d))
		}
		failed += len(d[0].FailedEntries)
		if d[0].ErrorCode != kinesis.ErrProvisionedThroughputExceeded || d[0].ErrorMessage != "Rate exceeded for stream s under account 1." {
			t.Fatalf("entry error %q %q", d[0].ErrorCode, d[0].ErrorMessage)
		}
	}
	if got := float64(failed) / 20000; math.Abs(got-0.3) > tolerance {
		t.Errorf("failed fraction %v, want 0.3", got)
	}
}

func TestCountSpends(t *testing.T) {
	in := New(0)
	r, err := in.Add(Rule{Operation: "PutRecord", Stream: "s", Effect: EffectError, ErrorType: kinesis.ErrProvisionedThroughputExceeded, Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := in.Match(Call{Operation: "PutRecord", Stream: "other"}); len(got) != 0 {
		t.Fatal("matched another stream")
	}
	for i := range 2 {
		if got := in.Match(Call{Operation: "PutRecord", Stream: "s"}); len(got) != 1 || got[0].RuleID != r.ID {
			t.Fatalf("call %d: got %+v", i+1, got)
		}
	}
	if got := in.Match(Call{Operation: "PutRecord", Stream: "s"}); len(got) != 0 {
		t.Fatalf("third call: got %+v", got)
	}
	if rules := in.List(); len(rules) != 0 {
		t.Fatalf("spent rule still listed: %+v", rules)
	}
}

func TestMatchShard(t *testing.T) {
	in := New(0)
	if _, err := in.Add(Rule{Operation: "GetShardIterator", Shard: "shardId-000000000001", Effect: EffectError, ErrorType: kinesis.ErrProvisionedThroughputExceeded}); err != nil {
		t.Fatal(err)
	}
	if got := in.Match(Call{Operation: "GetShardIterator", Stream: "s", Shard: "shardId-000000000000"}); len(got) != 0 {
		t.Fatal("matched another shard")
	}
	got := in.Match(Call{Operation: "GetShardIterator", Stream: "s", Shard: "shardId-000000000001", Account: "123456789012"})
	want := "Rate exceeded for shard shardId-000000000001 in stream s under account 123456789012."
	if len(got) != 1 || got[0].ErrorMessage != want {
		t.Fatalf("got %+v, want message %q", got, want)
	}
}

func TestListAndClear(t *testing.T) {
	in := New(0)
	var ids []string
	for range 3 {
		r, err := in.Add(Rule{ID: "ignored", Operation: "*", Effect: EffectLatency, Latency: Duration(time.Millisecond)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	if want := []string{"f1", "f2", "f3"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("ids %v, want %v", ids, want)
	}
	if !in.Clear("f2") || in.Clear("f2") {
		t.Fatal("Clear(f2) twice: want true then false")
	}
	if got := in.List(); len(got) != 2 || got[0].ID != "f1" || got[1].ID != "f3" || got[0].Probability != 1 {
		t.Fatalf("List: %+v", got)
	}
	if !in.Clear("") || len(in.List()) != 0 {
		t.Fatal("Clear all left rules")
	}
}

func TestLoad(t *testing.T) {
	const file = `{"seed": 5, "rules": [
		{"operation": "PutRecords", "effect": "put_records_failures", "fraction": 0.5, "probability": 0.5},
		{"operation": "GetRecords", "effect": "expire_iterators", "max_age": "1s"},
		{"operation": "SubscribeToShard", "effect": "drop_subscription"}
	]}`
	a, b := New(0), New(5)
	n, err := a.Load(strings.NewReader(file))
	if err != nil || n != 3 {
		t.Fatalf("Load: %d, %v", n, err)
	}
	// The file's seed replaces the injector's: a matches an injector
	// created with seed 5 and given the same rules.
	if _, err := b.Load(strings.NewReader(strings.Replace(file, `"seed": 5,`, "", 1))); err != nil {
		t.Fatal(err)
	}
	for _, c := range calls() {
		if da, db := a.Match(c), b.Match(c); !reflect.DeepEqual(da, db) {
			t.Fatalf("%+v: %+v vs %+v", c, da, db)
		}
	}
	if got := a.List()[1].MaxAge; time.Duration(got) != time.Second {
		t.Errorf("max_age %v", got)
	}

	bad := []string{
		`{"rules": [{"operation": "PutRecords", "effect": "error"}]}`,
		`{"rules": [], "extra": 1}`,
		`{"rules": [{"operation": "GetRecords", "effect": "expire_iterators", "max_age": 1}]}`,
		`not json`,
	}
	for _, s := range bad {
		in := New(0)
		if _, err := in.Load(strings.NewReader(s)); err == nil {
			t.Errorf("Load(%s): no error", s)
		}
		if len(in.List()) != 0 {
			t.Errorf("Load(%s) added rules", s)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		rule Rule
		want string
	}{
		{"no operation", Rule{Effect: EffectLatency, Latency: 1}, "operation is required"},
		{"unknown operation", Rule{Operation: "PutRecordz", Effect: EffectLatency, Latency: 1}, `unknown operation "PutRecordz"`},
		{"no effect", Rule{Operation: "*"}, "effect is required"},
		{"unknown effect", Rule{Operation: "*", Effect: "explode"}, `unknown effect "explode"`},
		{"probability", Rule{Operation: "*", Effect: EffectLatency, Latency: 1, Probability: 1.5}, "probability 1.5 must be from 0 to 1"},
		{"negative count", Rule{Operation: "*", Effect: EffectLatency, Latency: 1, Count: -1}, "count -1 must not be negative"},
		{"count and probability", Rule{Operation: "*", Effect: EffectLatency, Latency: 1, Count: 2, Probability: 0.5}, "probability and count are exclusive"},
		{"no error type", Rule{Operation: "*", Effect: EffectError}, "effect error needs error_type"},
		{"unknown error type", Rule{Operation: "*", Effect: EffectError, ErrorType: "Oops"}, `unknown error_type "Oops"`},
		{"no latency", Rule{Operation: "*", Effect: EffectLatency}, "effect latency needs a latency above 0 and at most 5m0s"},
		{"huge latency", Rule{Operation: "*", Effect: EffectLatency, Latency: Duration(time.Hour)}, "effect latency needs a latency above 0 and at most 5m0s"},
		{"failures op", Rule{Operation: "PutRecord", Effect: EffectPutRecordsFailures, Fraction: 0.1}, "effect put_records_failures applies only to operation PutRecords"},
		{"no fraction", Rule{Operation: "PutRecords", Effect: EffectPutRecordsFailures}, "fraction 0 must be above 0 and at most 1"},
		{"error code", Rule{Operation: "PutRecords", Effect: EffectPutRecordsFailures, Fraction: 0.1, ErrorCode: "X"}, `error_code "X" must be ProvisionedThroughputExceededException or InternalFailure`},
		{"expire op", Rule{Operation: "*", Effect: EffectExpireIterators, MaxAge: 1}, "effect expire_iterators applies only to operation GetRecords"},
		{"no max age", Rule{Operation: "GetRecords", Effect: EffectExpireIterators}, "effect expire_iterators needs a max_age above 0"},
		{"drop op", Rule{Operation: "GetRecords", Effect: EffectDropSubscription}, "effect drop_subscription applies only to operation SubscribeToShard"},
		{"lose subscription", Rule{Operation: "SubscribeToShard", Effect: EffectLoseAnswer}, "effect lose_answer does not apply to SubscribeToShard (use drop_subscription)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(0).Add(tt.rule)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestIteratorTracking(t *testing.T) {
	in := New(0)
	t0 := time.Unix(1000, 0)
	for i := range maxTrackedIterators + 1 {
		in.RecordIterator(fmt.Sprint("it", i), IteratorInfo{Issued: t0, Stream: "s"})
	}
	if _, ok := in.Iterator("it0"); ok {
		t.Error("oldest iterator not evicted")
	}
	if info, ok := in.Iterator("it1"); !ok || info.Stream != "s" {
		t.Errorf("second iterator: %+v %v", info, ok)
	}
	if len(in.iters) != maxTrackedIterators {
		t.Errorf("%d iterators tracked", len(in.iters))
	}
}

func TestExpiredMessage(t *testing.T) {
	issued := time.Date(2015, 1, 22, 1, 22, 2, 0, time.UTC)
	got := ExpiredMessage(issued, issued.Add(5*time.Second), time.Second)
	want := "Iterator expired. The iterator was created at time Thu Jan 22 01:22:02 UTC 2015 while right now it is Thu Jan 22 01:22:07 UTC 2015 which is further in the future than the tolerated delay of 1000 milliseconds."
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
