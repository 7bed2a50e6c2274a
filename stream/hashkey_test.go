package stream

import (
	"math/big"
	"testing"
)

func TestSplitHashSpace(t *testing.T) {
	tests := []struct {
		n    int
		want [][2]string
	}{
		{1, [][2]string{{"0", "340282366920938463463374607431768211455"}}},
		{2, [][2]string{
			{"0", "170141183460469231731687303715884105727"},
			{"170141183460469231731687303715884105728", "340282366920938463463374607431768211455"},
		}},
		// The values AWS returns for a 3-shard stream.
		{3, [][2]string{
			{"0", "113427455640312821154458202477256070484"},
			{"113427455640312821154458202477256070485", "226854911280625642308916404954512140969"},
			{"226854911280625642308916404954512140970", "340282366920938463463374607431768211455"},
		}},
		{4, [][2]string{
			{"0", "85070591730234615865843651857942052863"},
			{"85070591730234615865843651857942052864", "170141183460469231731687303715884105727"},
			{"170141183460469231731687303715884105728", "255211775190703847597530955573826158591"},
			{"255211775190703847597530955573826158592", "340282366920938463463374607431768211455"},
		}},
		{7, [][2]string{
			{"0", "48611766702991209066196372490252601635"},
			{"48611766702991209066196372490252601636", "97223533405982418132392744980505203272"},
			{"97223533405982418132392744980505203273", "145835300108973627198589117470757804908"},
			{"145835300108973627198589117470757804909", "194447066811964836264785489961010406545"},
			{"194447066811964836264785489961010406546", "243058833514956045330981862451263008181"},
			{"243058833514956045330981862451263008182", "291670600217947254397178234941515609818"},
			{"291670600217947254397178234941515609819", "340282366920938463463374607431768211455"},
		}},
	}
	for _, tt := range tests {
		got := splitHashSpace(tt.n)
		if len(got) != len(tt.want) {
			t.Fatalf("n=%d: %d ranges, want %d", tt.n, len(got), len(tt.want))
		}
		for i, r := range got {
			if r[0].String() != tt.want[i][0] || r[1].String() != tt.want[i][1] {
				t.Errorf("n=%d shard %d: [%s, %s], want [%s, %s]", tt.n, i, r[0], r[1], tt.want[i][0], tt.want[i][1])
			}
		}
	}
}

func TestSplitHashSpace100(t *testing.T) {
	got := splitHashSpace(100)
	want := map[int][2]string{
		0:  {"0", "3402823669209384634633746074317682113"},
		1:  {"3402823669209384634633746074317682114", "6805647338418769269267492148635364228"},
		50: {"170141183460469231731687303715884105728", "173544007129678616366321049790201787841"},
		98: {"333476719582519694194107115283132847226", "336879543251729078828740861357450529340"},
		99: {"336879543251729078828740861357450529341", "340282366920938463463374607431768211455"},
	}
	for i, w := range want {
		if got[i][0].String() != w[0] || got[i][1].String() != w[1] {
			t.Errorf("shard %d: [%s, %s], want [%s, %s]", i, got[i][0], got[i][1], w[0], w[1])
		}
	}
	// Every boundary agrees with floor(2^128*i/n) computed with math/big,
	// and the ranges are contiguous.
	space := new(big.Int).Lsh(big.NewInt(1), 128)
	for i := range got {
		start := new(big.Int).Div(new(big.Int).Mul(space, big.NewInt(int64(i))), big.NewInt(100))
		if got[i][0].String() != start.String() {
			t.Errorf("shard %d starts at %s, want %s", i, got[i][0], start)
		}
		if i > 0 && got[i-1][1].add1() != got[i][0] {
			t.Errorf("shard %d does not start right after shard %d", i, i-1)
		}
	}
}

func TestPartitionHash(t *testing.T) {
	tests := []struct{ key, want string }{
		{"a", "16955237001963240173058271559858726497"},
		{"b", "195289424170611159128911017612795795343"},
		{"partition-key", "171922231538597478840392253176536055210"},
		{"ü", "255482112228542481294366945247899473731"}, // UTF-8 bytes
	}
	for _, tt := range tests {
		if got := partitionHash(tt.key).String(); got != tt.want {
			t.Errorf("partitionHash(%q) = %s, want %s", tt.key, got, tt.want)
		}
	}
}

func TestParseHashKey(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"0", "0", true},
		{"1", "1", true},
		{"18446744073709551615", "18446744073709551615", true},
		{"18446744073709551616", "18446744073709551616", true},
		{"340282366920938463463374607431768211455", "340282366920938463463374607431768211455", true},
		{"340282366920938463463374607431768211456", "", false}, // 2^128
		{"999999999999999999999999999999999999999", "", false},
		{"1000000000000000000000000000000000000000", "", false}, // 40 digits
		{"", "", false},
		{"-1", "", false},
		{"12a", "", false},
	}
	for _, tt := range tests {
		got, err := parseHashKey(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("parseHashKey(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && got.String() != tt.want {
			t.Errorf("parseHashKey(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestUint128Cmp(t *testing.T) {
	a := uint128{hi: 1, lo: 0}
	b := uint128{hi: 0, lo: ^uint64(0)}
	if a.cmp(b) != 1 || b.cmp(a) != -1 || a.cmp(a) != 0 {
		t.Errorf("cmp: got %d %d %d, want 1 -1 0", a.cmp(b), b.cmp(a), a.cmp(a))
	}
	if b.add1() != a || a.sub1() != b {
		t.Errorf("add1/sub1 do not carry across words")
	}
}
