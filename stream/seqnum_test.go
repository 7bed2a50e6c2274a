package stream

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"
)

// TestSeqNumAWSNumbers decodes numbers AWS issued, as a Lambda event
// delivered them with their ApproximateArrivalTimestamp, and checks what
// the layout says they hold: version 2, shard 0, increasing sequence
// indexes, and an arrival time within 3 seconds of the record's.
func TestSeqNumAWSNumbers(t *testing.T) {
	tests := []struct {
		seq     string
		arrival float64 // ApproximateArrivalTimestamp, Unix seconds
	}{
		{"49604631341683657867295630657032921195561055316799913986", 1582837173.746},
		{"49604631341683657867295630709617567571338586507588927490", 1582837260.412},
		{"49604631341683657867295630802435265223890981442962849794", 1582837416.581},
	}
	var last uint64
	for _, tt := range tests {
		p, err := parseSeqNum(tt.seq)
		if err != nil {
			t.Fatalf("%s: %v", tt.seq, err)
		}
		if p.version != seqV2 || p.shard != 0 || p.epoch != 1582833973 || p.position <= last {
			t.Errorf("%s: %+v", tt.seq, p)
		}
		if d := math.Abs(float64(p.arrival) - tt.arrival); d > 3 {
			t.Errorf("%s: arrival %d, %.0fs from the record's %.3f", tt.seq, p.arrival, d, tt.arrival)
		}
		last = p.position
	}
}

// TestSeqNumRoundTrip checks that our numbers are AWS's 56 digits and
// read back as what was put in.
func TestSeqNumRoundTrip(t *testing.T) {
	tests := []struct {
		seq      shardSeq
		position uint64
		arrival  int64
	}{
		{shardSeq{epoch: 1434018196, tag: 0, shard: 0}, 1, 1434033294123},
		{shardSeq{epoch: 1764000000, tag: 0xef, shard: 7}, 12345, 1764000001999},
		{shardSeq{epoch: maxEpoch - 1, tag: 0xff, shard: math.MaxInt32}, math.MaxInt64, (maxEpoch - 1) * 1000},
		{shardSeq{epoch: 0, tag: 0, shard: 0}, 0, 0},
	}
	for _, tt := range tests {
		s := tt.seq.number(tt.position, tt.arrival)
		if len(s) != 56 {
			t.Errorf("%+v: %s has %d digits, want 56", tt, s, len(s))
		}
		p, err := parseSeqNum(s)
		want := parsedSeq{version: seqV2, epoch: tt.seq.epoch, shard: int64(tt.seq.shard), position: tt.position, tag: uint32(tt.seq.tag), arrival: tt.arrival / 1000}
		if err != nil || p != want {
			t.Errorf("parseSeqNum(%s) = %+v, %v; want %+v", s, p, err, want)
		}
		if !tt.seq.matches(p, 0) || (shardSeq{epoch: tt.seq.epoch + 1, tag: tt.seq.tag}).matches(p, 0) || (shardSeq{epoch: tt.seq.epoch, tag: tt.seq.tag + 1}).matches(p, 0) {
			t.Errorf("%+v: matches wrong", tt)
		}
	}
}

// TestSeqNumOrder checks the orders clients rely on: by position within a
// shard whatever the arrival times, and children above parents.
func TestSeqNumOrder(t *testing.T) {
	num := func(s string) *big.Int { n, _ := new(big.Int).SetString(s, 10); return n }
	sh := shardSeq{epoch: 1764000000, tag: 9, shard: 3}
	a := num(sh.number(10, 1764000009000))
	b := num(sh.number(11, 1764000001000)) // a later position with an earlier clock
	if a.Cmp(b) >= 0 {
		t.Errorf("position 10 sorts after position 11")
	}
	// Shards made in one second: the parent's epoch is its creation
	// second, each child's one more than its parents'.
	at := time.Unix(1764000000, 0)
	rec := &streamRecord{Shards: []shardRecord{
		{Index: 0, Created: at},
		{Index: 1, Created: at},
		{Index: 2, Parents: []uint32{0}, Created: at},
		{Index: 3, Parents: []uint32{0}, Created: at},
		{Index: 4, Parents: []uint32{3, 1}, Created: at},
		{Index: 5, Parents: []uint32{4}, Created: at.Add(time.Hour)},
	}}
	wantEpochs := []int64{1764000000, 1764000000, 1764000001, 1764000001, 1764000002, 1764003600}
	for i, want := range wantEpochs {
		if got := rec.shardSeq(uint32(i)).epoch; got != want {
			t.Errorf("shard %d: epoch %d, want %d", i, got, want)
		}
	}
	parentLast := num(rec.shardSeq(3).number(math.MaxInt64, 1764009999000))
	childFirst := num(rec.shardSeq(4).number(0, 1764000000000))
	if parentLast.Cmp(childFirst) >= 0 {
		t.Errorf("a parent's last number is not below its child's first")
	}
}

// TestParseSeqNumAWSAnswers pins how numbers AWS answers specially are
// read (kinesalite's tests, captured from the live service).
func TestParseSeqNumAWSAnswers(t *testing.T) {
	hex := func(h string) string { n, _ := new(big.Int).SetString(h, 16); return n.String() }
	tests := []struct {
		in      string
		ok      bool
		version int
		shard   int64
	}{
		{"0", true, seqV0, 0},
		{"5", true, seqV0, 5},
		{hex("13bb2cc3d80000000000000000000000"), false, 0, 0},                // epoch in the year 2477
		{hex("20000000000800000000000000000000000000000000002"), false, 0, 0}, // sequence index at or above 2^63
		{hex("20000000000000000000000000000000000000800000002"), true, seqV2, math.MinInt32},
		{hex("20000000000000000000000000000000000000000000001"), true, seqV1, 0},
		{hex("20000000000000000000000000000000000000000000003"), false, 0, 0}, // no version 3
		{"", false, 0, 0},
		{"12x", false, 0, 0},
		{"6277101735386680763835789423207666416102355444464034512896", false, 0, 0}, // 2^192
		{hex("3" + "0000000000000000000000000000000000000000000002"), false, 0, 0},  // above 1.5 * 2^185
	}
	for _, tt := range tests {
		p, err := parseSeqNum(tt.in)
		if (err == nil) != tt.ok || (tt.ok && (p.version != tt.version || p.shard != tt.shard)) {
			t.Errorf("parseSeqNum(%s) = %+v, %v; want ok %v, version %d, shard %d", tt.in, p, err, tt.ok, tt.version, tt.shard)
		}
	}
	if got := shardName(math.MinInt32); got != "shardId--02147483648" {
		t.Errorf("shardName(-2^31) = %s", got)
	}
}

// TestParseSeqNumLegacy reads numbers of the layout before AWS's, as a
// client may hold from before an upgrade.
func TestParseSeqNumLegacy(t *testing.T) {
	// 1<<184 | 0xdeadbeef<<152 | 7<<64 | 12345
	p, err := parseSeqNum("45848310317642427770349127221826428619602646740754247737")
	want := parsedSeq{version: seqLegacy, tag: 0xdeadbeef, shard: 7, position: 12345}
	if err != nil || p != want {
		t.Fatalf("got %+v, %v; want %+v", p, err, want)
	}
	if !(shardSeq{}).matches(p, 0xdeadbeef) || (shardSeq{}).matches(p, 1) {
		t.Error("a legacy number is matched by something other than its stream's tag")
	}
}

func TestWords192Fields(t *testing.T) {
	var w words192
	w.put(60, 8, 0xab) // straddles words 2 and 1
	w.put(120, 16, 0x1234)
	w.put(184, 4, 0xf)
	if w.get(60, 8) != 0xab || w.get(120, 16) != 0x1234 || w.get(184, 4) != 0xf || w.get(0, 60) != 0 {
		t.Errorf("fields read back wrong: %x", w)
	}
	w.put(60, 8, 0)
	if w.get(56, 16) != 0 {
		t.Errorf("a field did not clear: %x", w)
	}
}
func TestWords192RoundTrip(t *testing.T) {
	for _, w := range []words192{{0, 0, 0}, {0, 0, 1}, {0, 1, 0}, {1, 0, 0}, {math.MaxUint64, math.MaxUint64, math.MaxUint64}, {12345, 0, 987654321}} {
		s := w.String()
		back, err := parseWords192(s)
		if err != nil || back != w {
			t.Errorf("round trip of %v via %s gave %v, %v", w, s, back, err)
		}
	}
	if got := (words192{math.MaxUint64, math.MaxUint64, math.MaxUint64}).String(); got != "6277101735386680763835789423207666416102355444464034512895" {
		t.Errorf("2^192-1 = %s", got)
	}
}

// BenchmarkSeqNumber measures making and reading one sequence number,
// which PutRecords and GetRecords do for every record.
//
//	go test -run '^$' -bench SeqNum ./stream/
func BenchmarkSeqNumber(b *testing.B) {
	sh := shardSeq{epoch: 1764000000, tag: 0x5a, shard: 3}
	b.ReportAllocs()
	for i := range b.N {
		_ = sh.number(uint64(i)+1, 1764000000123)
	}
}

func BenchmarkSeqNumParse(b *testing.B) {
	s := shardSeq{epoch: 1764000000, tag: 0x5a, shard: 3}.number(123456, 1764000000123)
	b.ReportAllocs()
	for range b.N {
		if _, err := parseSeqNum(s); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSeqNumbersBatch: a batch writes each number as number does, in
// order, with a fixed number of allocations however many it holds.
func TestSeqNumbersBatch(t *testing.T) {
	type in struct {
		s        shardSeq
		position uint64
		arrival  int64
	}
	var ins []in
	for i := range 500 {
		ins = append(ins, in{shardSeq{epoch: 1764000000 + int64(i%3), tag: byte(i % 256), shard: uint32(i % 7)}, uint64(i) * 977, 1764000001999 + int64(i)})
	}
	ins = append(ins, in{shardSeq{epoch: maxEpoch - 1, tag: 0xff, shard: math.MaxInt32}, math.MaxInt64, (maxEpoch - 1) * 1000}, in{})
	b := newSeqNumbers(len(ins))
	for _, x := range ins {
		b.add(x.s, x.position, x.arrival)
	}
	got := b.strings()
	if len(got) != len(ins) {
		t.Fatalf("%d numbers, want %d", len(got), len(ins))
	}
	for i, x := range ins {
		if want := x.s.number(x.position, x.arrival); got[i] != want {
			t.Errorf("number %d: %q, want %q", i, got[i], want)
		}
	}
	b.release()
	// With the buffers back from the pool, a batch costs its string and
	// the slice of substrings.
	allocs := testing.AllocsPerRun(10, func() {
		b := newSeqNumbers(len(ins))
		for _, x := range ins {
			b.add(x.s, x.position, x.arrival)
		}
		b.strings()
		b.release()
	})
	want := 2.0
	if raceEnabled {
		want = 5 // the pool may drop the batch: its struct and two slices again
	}
	if allocs > want {
		t.Errorf("%v allocations for %d numbers, want at most %v", allocs, len(ins), want)
	}
}

// appendDecimal prints any 192-bit number as math/big does: the edges of
// each 19-digit chunk and of the whole range, and random numbers of every
// length.
func TestAppendDecimalMatchesBig(t *testing.T) {
	check := func(w words192) {
		t.Helper()
		n := new(big.Int).SetUint64(w[0])
		n.Lsh(n, 64).Or(n, new(big.Int).SetUint64(w[1]))
		n.Lsh(n, 64).Or(n, new(big.Int).SetUint64(w[2]))
		if got, want := string(w.appendDecimal([]byte("x"))), "x"+n.String(); got != want {
			t.Fatalf("%x: %s, want %s", w, got, want)
		}
	}
	ten19 := uint64(10_000_000_000_000_000_000)
	for _, w := range []words192{
		{}, {0, 0, 1}, {0, 0, 9}, {0, 0, 10}, {0, 0, 99}, {0, 0, 100},
		{0, 0, ten19 - 1}, {0, 0, ten19}, {0, 0, ten19 + 1}, {0, 0, math.MaxUint64},
		{0, 1, 0}, {1, 0, 0}, {math.MaxUint64, math.MaxUint64, math.MaxUint64},
	} {
		check(w)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10_000 {
		w := words192{rng.Uint64(), rng.Uint64(), rng.Uint64()}
		// Every length: keep a random number of the low bits.
		bitsKept := rng.IntN(193)
		for i := 2; i >= 0; i-- {
			keep := min(max(bitsKept-64*(2-i), 0), 64)
			if keep < 64 {
				w[i] &= 1<<keep - 1
			}
		}
		check(w)
	}
}
