package history

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	stream = "s"
	shard0 = "shardId-000000000000"
	shard1 = "shardId-000000000001"
)

// at is the instant n milliseconds into a test's history.
func at(n int) time.Time { return time.Unix(1_000_000, 0).Add(time.Duration(n) * time.Millisecond) }

func ack(id int64, data, shard, seq string, start, end int) Write {
	return Write{ID: id, Stream: stream, PartitionKey: "k", Data: []byte(data), Start: at(start), End: at(end),
		Outcome: Acknowledged, ShardID: shard, SequenceNumber: seq}
}

func failed(id int64, data, code string) Write {
	return Write{ID: id, Stream: stream, PartitionKey: "k", Data: []byte(data), Start: at(0), End: at(1), Outcome: Failed, ErrorCode: code}
}

func unknown(id int64, data string) Write {
	return Write{ID: id, Stream: stream, PartitionKey: "k", Data: []byte(data), Start: at(0), End: at(1), Outcome: Unknown, ErrorCode: "InternalFailure"}
}

// seen is "seq:data".
func recs(pairs ...string) []Seen {
	var out []Seen
	for _, p := range pairs {
		seq, data, _ := strings.Cut(p, ":")
		out = append(out, Seen{SequenceNumber: seq, Data: []byte(data)})
	}
	return out
}

func read(shard, after string, start, end int, pairs ...string) Read {
	return Read{Kind: "GetRecords", Stream: stream, ShardID: shard, After: after, Start: at(start), End: at(end), Records: recs(pairs...)}
}

func final(shard string, pairs ...string) Read {
	return Read{Kind: "GetRecords", Stream: stream, ShardID: shard, Start: at(1000), End: at(1001), Records: recs(pairs...)}
}

// counts is a Result's violations as kind -> count.
func counts(r Result) map[Kind]int {
	out := map[Kind]int{}
	for _, v := range r.Violations {
		out[v.Kind] = v.Count
		if len(v.Examples) == 0 || len(v.Examples) > min(v.Count, maxExamples) {
			panic(fmt.Sprintf("%s: %d examples for %d violations", v.Kind, len(v.Examples), v.Count))
		}
	}
	return out
}

// TestCheck has, for every kind of violation, a history that shows it and
// a close one that does not.
func TestCheck(t *testing.T) {
	two := []Write{ack(1, "a", shard0, "10", 0, 2), ack(2, "b", shard0, "20", 1, 3)}
	tests := []struct {
		name string
		h    History
		want map[Kind]int
	}{
		{"clean", History{
			Writes: two,
			Reads:  []Read{read(shard0, "", 4, 5, "10:a", "20:b"), read(shard0, "10", 4, 5, "20:b")},
			Final:  []Read{final(shard0, "10:a", "20:b")},
		}, nil},
		{"lost", History{Writes: two, Final: []Read{final(shard0, "20:b")}}, map[Kind]int{Lost: 1}},
		{"lost: no final read of the shard", History{Writes: two}, map[Kind]int{Lost: 2}},
		{"unknown never stored is not lost", History{
			Writes: append(slices.Clone(two), unknown(3, "c")),
			Final:  []Read{final(shard0, "10:a", "20:b")},
		}, nil},
		{"duplicated acknowledged", History{Writes: two, Final: []Read{final(shard0, "10:a", "20:b", "30:a")}}, map[Kind]int{Duplicated: 1}},
		{"duplicated across shards", History{Writes: two, Final: []Read{final(shard0, "10:a", "20:b"), final(shard1, "5:b")}}, map[Kind]int{Duplicated: 1}},
		{"duplicated unknown", History{
			Writes: append(slices.Clone(two), unknown(3, "c")),
			Final:  []Read{final(shard0, "10:a", "20:b", "30:c", "40:c")},
		}, map[Kind]int{Duplicated: 1}},
		{"unknown stored once", History{
			Writes: append(slices.Clone(two), unknown(3, "c")),
			Final:  []Read{final(shard0, "10:a", "20:b", "30:c")},
		}, nil},
		{"misplaced position", History{Writes: two, Final: []Read{final(shard0, "10:a", "25:b")}}, map[Kind]int{Misplaced: 1}},
		{"misplaced shard", History{Writes: two, Final: []Read{final(shard0, "10:a"), final(shard1, "20:b")}}, map[Kind]int{Misplaced: 1}},
		{"order in a read", History{
			Writes: two,
			Reads:  []Read{read(shard0, "", 4, 5, "20:b", "10:a")},
			Final:  []Read{final(shard0, "10:a", "20:b")},
		}, map[Kind]int{Order: 1}},
		{"order: not past After", History{
			Writes: two,
			Reads:  []Read{read(shard0, "20", 4, 5, "10:a")},
			Final:  []Read{final(shard0, "10:a", "20:b")},
		}, map[Kind]int{Order: 1}},
		{"order: equal positions", History{
			Writes: two,
			Reads:  []Read{read(shard0, "", 4, 5, "10:a", "10:a")},
			Final:  []Read{final(shard0, "10:a", "20:b")},
		}, map[Kind]int{Order: 1}},
		{"order in the final read, split in two", History{
			Writes: two,
			Final:  []Read{final(shard0, "20:b"), final(shard0, "10:a")},
		}, map[Kind]int{Order: 1}},
		{"order by number, not by text", History{
			Writes: []Write{ack(1, "a", shard0, "9", 0, 2), ack(2, "b", shard0, "10", 1, 3)},
			Reads:  []Read{read(shard0, "", 4, 5, "9:a", "10:b")},
			Final:  []Read{final(shard0, "9:a", "10:b")},
		}, nil},
		{"read-lost", History{
			Writes: append(slices.Clone(two), unknown(3, "c")),
			Reads:  []Read{read(shard0, "", 4, 5, "10:a", "20:b", "30:c")},
			Final:  []Read{final(shard0, "10:a", "20:b")},
		}, map[Kind]int{ReadLost: 1}},
		{"read-moved", History{
			Writes: two,
			Reads:  []Read{read(shard0, "", 4, 5, "10:a", "15:b")},
			Final:  []Read{final(shard0, "10:a", "20:b")},
		}, map[Kind]int{ReadMoved: 1}},
		{"stale read", History{
			Writes: append(slices.Clone(two), ack(3, "c", shard0, "30", 1, 3)),
			Reads:  []Read{read(shard0, "", 4, 5, "10:a", "30:c")},
			Final:  []Read{final(shard0, "10:a", "20:b", "30:c")},
		}, map[Kind]int{StaleRead: 1}},
		{"read concurrent with the ack may miss it", History{
			Writes: append(slices.Clone(two), ack(3, "c", shard0, "30", 1, 3)),
			Reads:  []Read{read(shard0, "", 3, 5, "10:a", "30:c")},
			Final:  []Read{final(shard0, "10:a", "20:b", "30:c")},
		}, nil},
		{"read past the record need not have it", History{
			Writes: append(slices.Clone(two), ack(3, "c", shard0, "30", 1, 3)),
			Reads:  []Read{read(shard0, "20", 4, 5, "30:c")},
			Final:  []Read{final(shard0, "10:a", "20:b", "30:c")},
		}, nil},
		{"read that stops before the record need not have it", History{
			Writes: two,
			Reads:  []Read{read(shard0, "", 4, 5, "10:a")},
			Final:  []Read{final(shard0, "10:a", "20:b")},
		}, nil},
		{"read of another shard need not have it", History{
			Writes: append(slices.Clone(two), ack(3, "c", shard1, "30", 1, 3)),
			Reads:  []Read{read(shard1, "", 4, 5, "30:c")},
			Final:  []Read{final(shard0, "10:a", "20:b"), final(shard1, "30:c")},
		}, nil},
		{"failed but stored", History{
			Writes: append(slices.Clone(two), failed(3, "c", "ProvisionedThroughputExceededException")),
			Final:  []Read{final(shard0, "10:a", "20:b", "30:c")},
		}, map[Kind]int{FailedButStored: 1}},
		{"failed with InternalFailure may be stored", History{
			Writes: append(slices.Clone(two), failed(3, "c", "InternalFailure")),
			Final:  []Read{final(shard0, "10:a", "20:b", "30:c")},
		}, nil},
		{"failed and not stored", History{
			Writes: append(slices.Clone(two), failed(3, "c", "ProvisionedThroughputExceededException")),
			Final:  []Read{final(shard0, "10:a", "20:b")},
		}, nil},
		{"phantom in a read", History{
			Writes: two,
			Reads:  []Read{read(shard0, "", 4, 5, "10:a", "20:b", "25:z")},
			Final:  []Read{final(shard0, "10:a", "20:b")},
		}, map[Kind]int{Phantom: 1}},
		{"phantom in the final read", History{Writes: two, Final: []Read{final(shard0, "10:a", "20:b", "25:z")}}, map[Kind]int{Phantom: 1}},
		{"resharding: parent and children are separate logs", History{
			Writes: []Write{ack(1, "a", shard0, "10", 0, 1), ack(2, "b", shard1, "5", 2, 3), ack(3, "c", "shardId-000000000002", "7", 2, 3)},
			Reads: []Read{
				read(shard0, "", 4, 5, "10:a"),
				read(shard1, "", 4, 5, "5:b"),
				read("shardId-000000000002", "", 4, 5, "7:c"),
			},
			Final: []Read{final(shard0, "10:a"), final(shard1, "5:b"), final("shardId-000000000002", "7:c")},
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Check(tt.h)
			if err != nil {
				t.Fatal(err)
			}
			if got := counts(res); !maps.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("violations %v, want %v\n%s", got, tt.want, res)
			}
			if res.OK() != (len(tt.want) == 0) {
				t.Errorf("OK() = %v with violations %v", res.OK(), counts(res))
			}
		})
	}
}

func TestCheckStats(t *testing.T) {
	h := History{
		Writes: []Write{ack(1, "a", shard0, "10", 0, 1), failed(2, "b", "ProvisionedThroughputExceededException"), unknown(3, "c"), unknown(4, "d")},
		Reads:  []Read{read(shard0, "", 2, 3, "10:a"), read(shard0, "10", 2, 3)},
		Final:  []Read{final(shard0, "10:a", "20:c")},
	}
	res, err := Check(h)
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Writes: 4, Acknowledged: 1, Failed: 1, Unknown: 2, UnknownStored: 1, Reads: 2, ReadRecords: 1, FinalRecords: 2}
	if res.Stats != want {
		t.Errorf("stats %+v, want %+v", res.Stats, want)
	}
	if s := res.String(); !strings.Contains(s, "2 unknown of which 1 stored") || !strings.Contains(s, "no violation") {
		t.Errorf("String() = %q", s)
	}
}

func TestCheckMalformed(t *testing.T) {
	tests := []struct {
		name string
		h    History
		want string
	}{
		{"same data twice", History{Writes: []Write{ack(1, "a", shard0, "10", 0, 1), unknown(2, "a")}}, "same data"},
		{"sequence number not a number", History{Writes: []Write{ack(1, "a", shard0, "1x", 0, 1)}}, "not a decimal"},
		{"leading zeros", History{Writes: []Write{ack(1, "a", shard0, "10", 0, 1)}, Reads: []Read{read(shard0, "", 2, 3, "010:a")}}, "leading zeros"},
		{"no outcome", History{Writes: []Write{{ID: 1, Stream: stream, Data: []byte("a")}}}, "outcome"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Check(tt.h)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestCheckExamplesBounded(t *testing.T) {
	var h History
	for i := range 20 {
		h.Writes = append(h.Writes, ack(int64(i), strconv.Itoa(i), shard0, strconv.Itoa(10+i), 0, 1))
	}
	res, err := Check(h)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Violations) != 1 || res.Violations[0].Count != 20 || len(res.Violations[0].Examples) != maxExamples {
		t.Fatalf("violations %+v", res.Violations)
	}
	if !strings.Contains(res.Violations[0].Examples[0], `write 0 of "0", acknowledged at shardId-000000000000/10`) {
		t.Errorf("first example %q", res.Violations[0].Examples[0])
	}
}

// simulate builds the history of a correct log: writers and readers
// overlapping in time on shards whose positions increase in the order
// records are appended, with gaps. Every write is appended (or not) at an
// instant between its start and its end, and every read is served from
// the log as it was at an instant between its start and its end.
func simulate(rng *rand.Rand) History {
	shards := []string{shard0, shard1, "shardId-000000000002"}
	type pending struct {
		w        Write
		appended int // tick of the append; -1 if never stored
	}
	var ws []pending
	for i := range 300 {
		start := rng.IntN(1000)
		appendAt := start + rng.IntN(5)
		end := appendAt + rng.IntN(5)
		w := Write{ID: int64(i), Stream: stream, PartitionKey: strconv.Itoa(i), Data: fmt.Appendf(nil, "r%d", i),
			Start: at(start), End: at(end), ShardID: shards[rng.IntN(len(shards))]}
		switch p := rng.IntN(10); {
		case p < 7:
			w.Outcome = Acknowledged
		case p < 8:
			w.Outcome, w.ErrorCode, appendAt = Failed, "ProvisionedThroughputExceededException", -1
		default:
			w.Outcome, w.ErrorCode = Unknown, "InternalFailure"
			if rng.IntN(2) == 0 {
				appendAt = -1
			}
		}
		ws = append(ws, pending{w, appendAt})
	}
	// Positions in the order of appends, with gaps.
	slices.SortStableFunc(ws, func(a, b pending) int { return a.appended - b.appended })
	logs := map[string][]int{} // shard -> indexes into ws, in log order
	next := map[string]int{}
	for i := range ws {
		p := &ws[i]
		if p.appended < 0 {
			continue
		}
		next[p.w.ShardID] += 1 + rng.IntN(3)
		p.w.SequenceNumber = strconv.Itoa(next[p.w.ShardID] * 1000)
		logs[p.w.ShardID] = append(logs[p.w.ShardID], i)
	}
	var h History
	for _, p := range ws {
		w := p.w
		if w.Outcome != Acknowledged {
			w.SequenceNumber = "" // only the acknowledgement tells it
			if w.Outcome == Failed {
				w.ShardID = ""
			}
		}
		h.Writes = append(h.Writes, w)
	}
	for range 200 {
		shard := shards[rng.IntN(len(shards))]
		served := rng.IntN(1010)
		var visible []int // the shard's log at the instant served
		for _, i := range logs[shard] {
			if ws[i].appended <= served {
				visible = append(visible, i)
			}
		}
		r := Read{Kind: "GetRecords", Stream: stream, ShardID: shard, Start: at(served - rng.IntN(3)), End: at(served + rng.IntN(3))}
		from := 0
		if len(visible) > 0 && rng.IntN(3) > 0 {
			from = rng.IntN(len(visible))
			r.After = ws[visible[from]].w.SequenceNumber
			from++
		}
		limit := 1 + rng.IntN(20)
		for _, i := range visible[from:min(len(visible), from+limit)] {
			r.Records = append(r.Records, Seen{SequenceNumber: ws[i].w.SequenceNumber, PartitionKey: ws[i].w.PartitionKey, Data: ws[i].w.Data})
		}
		h.Reads = append(h.Reads, r)
	}
	for _, shard := range shards {
		// In two pages, as a reader with a limit would.
		var recs []Seen
		for _, i := range logs[shard] {
			recs = append(recs, Seen{SequenceNumber: ws[i].w.SequenceNumber, Data: ws[i].w.Data})
		}
		half := len(recs) / 2
		h.Final = append(h.Final,
			Read{Kind: "GetRecords", Stream: stream, ShardID: shard, Start: at(2000), End: at(2001), Records: recs[:half]},
			Read{Kind: "GetRecords", Stream: stream, ShardID: shard, Start: at(2001), End: at(2002), Records: recs[half:]})
	}
	return h
}

// clone copies h through its JSON form, which the test checks on the way.
func clone(t *testing.T, h History) History {
	t.Helper()
	var b bytes.Buffer
	if err := h.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	c, err := ReadJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCheckSimulated checks that the histories of a correct simulated log
// pass, and that each fault injected into one is caught, alone.
func TestCheckSimulated(t *testing.T) {
	faults := []struct {
		name string
		// inject changes h and returns the violations it must cause, or
		// nil when h offers no place for the fault.
		inject func(rng *rand.Rand, h *History) map[Kind]int
	}{
		{"drop an acknowledged record", func(rng *rand.Rand, h *History) map[Kind]int {
			f := &h.Final[rng.IntN(len(h.Final))]
			for i, s := range f.Records {
				if w := writeOf(h, s.Data); w.Outcome == Acknowledged {
					f.Records = slices.Delete(f.Records, i, i+1)
					want := map[Kind]int{Lost: 1}
					if n := sightings(h, s.Data); n > 0 {
						want[ReadLost] = n
					}
					return want
				}
			}
			return nil
		}},
		{"duplicate a record", func(rng *rand.Rand, h *History) map[Kind]int {
			f := &h.Final[len(h.Final)-1] // the second half of the last shard
			if len(f.Records) == 0 {
				return nil
			}
			s := f.Records[rng.IntN(len(f.Records))]
			last := f.Records[len(f.Records)-1].SequenceNumber
			s.SequenceNumber = last + "0" // ten times the last: past it
			f.Records = append(f.Records, s)
			return map[Kind]int{Duplicated: 1}
		}},
		{"reorder a read", func(rng *rand.Rand, h *History) map[Kind]int {
			for _, i := range rng.Perm(len(h.Reads)) {
				r := &h.Reads[i]
				if len(r.Records) >= 2 {
					j := rng.IntN(len(r.Records) - 1)
					r.Records[j], r.Records[j+1] = r.Records[j+1], r.Records[j]
					return map[Kind]int{Order: 1}
				}
			}
			return nil
		}},
		{"stale read", func(rng *rand.Rand, h *History) map[Kind]int {
			for _, i := range rng.Perm(len(h.Reads)) {
				r := &h.Reads[i]
				// Not the last record: past it, the read's range ends.
				for j := 0; j < len(r.Records)-1; j++ {
					if w := writeOf(h, r.Records[j].Data); w.Outcome == Acknowledged && w.End.Before(r.Start) {
						r.Records = slices.Delete(r.Records, j, j+1)
						return map[Kind]int{StaleRead: 1}
					}
				}
			}
			return nil
		}},
		{"store a failed record", func(rng *rand.Rand, h *History) map[Kind]int {
			for _, i := range rng.Perm(len(h.Writes)) {
				w := &h.Writes[i]
				if w.Outcome == Unknown && len(places(h, w.Data)) == 1 {
					w.Outcome, w.ErrorCode = Failed, "ProvisionedThroughputExceededException"
					return map[Kind]int{FailedButStored: 1}
				}
			}
			return nil
		}},
		{"move a record a reader saw", func(rng *rand.Rand, h *History) map[Kind]int {
			for _, i := range rng.Perm(len(h.Reads)) {
				r := &h.Reads[i]
				if len(r.Records) > 0 {
					// One past its position: still in order, and no
					// other record of the log is in between (positions
					// are multiples of 1000).
					s := &r.Records[rng.IntN(len(r.Records))]
					n, _ := strconv.Atoi(s.SequenceNumber)
					s.SequenceNumber = strconv.Itoa(n + 1)
					return map[Kind]int{ReadMoved: 1}
				}
			}
			return nil
		}},
	}
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 17))
		h := simulate(rng)
		res, err := Check(h)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if !res.OK() {
			t.Fatalf("seed %d: a correct history failed:\n%s", seed, res)
		}
		if res.Stats.ReadRecords == 0 || res.Stats.Unknown == 0 || res.Stats.UnknownStored == 0 {
			t.Fatalf("seed %d: the simulation exercises too little: %+v", seed, res.Stats)
		}
		for _, f := range faults {
			bad := clone(t, h)
			want := f.inject(rng, &bad)
			if want == nil {
				t.Fatalf("seed %d, %s: no place for the fault", seed, f.name)
			}
			res, err := Check(bad)
			if err != nil {
				t.Fatalf("seed %d, %s: %v", seed, f.name, err)
			}
			if got := counts(res); !maps.Equal(got, want) {
				t.Errorf("seed %d, %s: violations %v, want %v\n%s", seed, f.name, got, want, res)
			}
		}
	}
}

func writeOf(h *History, data []byte) Write {
	for _, w := range h.Writes {
		if bytes.Equal(w.Data, data) {
			return w
		}
	}
	panic(fmt.Sprintf("no write of %q", data))
}

func sightings(h *History, data []byte) int {
	n := 0
	for _, r := range h.Reads {
		for _, s := range r.Records {
			if bytes.Equal(s.Data, data) {
				n++
			}
		}
	}
	return n
}

func places(h *History, data []byte) []string {
	var out []string
	for _, r := range h.Final {
		for _, s := range r.Records {
			if bytes.Equal(s.Data, data) {
				out = append(out, r.ShardID+"/"+s.SequenceNumber)
			}
		}
	}
	return out
}

// BenchmarkCheck checks the history of a simulated log: 300 writes, 200
// reads of about 1,500 records, 3 shards.
func BenchmarkCheck(b *testing.B) {
	h := simulate(rand.New(rand.NewPCG(1, 17)))
	b.ReportAllocs()
	for b.Loop() {
		if res, err := Check(h); err != nil || !res.OK() {
			b.Fatal(err, res)
		}
	}
}
