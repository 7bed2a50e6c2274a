package stream

import (
	"math"
	"testing"
)

func TestSeqNumString(t *testing.T) {
	tests := []struct {
		seq  seqNum
		want string
	}{
		{seqNum{}, "24519928653854221733733552434404946937899825954937634816"},
		{seqNum{tag: 0xdeadbeef, shard: 7, position: 12345}, "45848310317642427770349127221826428619602646740754247737"},
		{seqNum{tag: math.MaxUint32, shard: math.MaxUint32, position: math.MaxUint64}, "49039857301999452696643265423804912512266008957888233471"},
	}
	for _, tt := range tests {
		got := tt.seq.String()
		if got != tt.want {
			t.Errorf("%+v.String() = %s, want %s", tt.seq, got, tt.want)
		}
		if len(got) != 56 {
			t.Errorf("%+v has %d digits, want 56", tt.seq, len(got))
		}
		back, err := parseSeqNum(got)
		if err != nil || back != tt.seq {
			t.Errorf("parseSeqNum(%s) = %+v, %v; want %+v", got, back, err, tt.seq)
		}
	}
}

func TestSeqNumOrder(t *testing.T) {
	// Numbers increase with the position within a shard and with the shard
	// index, which is what resharding relies on.
	a := seqNum{tag: 5, shard: 1, position: math.MaxUint64}.String()
	b := seqNum{tag: 5, shard: 2, position: 1}.String()
	c := seqNum{tag: 5, shard: 2, position: 2}.String()
	if !(a < b && b < c) { // same length, so string order is numeric order
		t.Errorf("order broken: %s, %s, %s", a, b, c)
	}
}

func TestParseSeqNumRejects(t *testing.T) {
	for _, in := range []string{
		"",
		"0",
		"5",
		"49551532098093284204238000035066183240246145871536717826", // AWS's layout
		"21267647932558653966460912964485513216",
		"6277101735386680763835789423207666416102355444464034512896", // 2^192
		"12345678901234567890123456789012345678901234567890123456x",
		// Marker bit set but a bit above the shard field's 32 bits too.
		words192{seqMarker, 1 << 32, 0}.String(),
		// A bit between the marker and the tag.
		words192{seqMarker | 1, 0, 0}.String(),
		// Marker in the wrong place.
		words192{seqMarker << 1, 0, 0}.String(),
	} {
		if s, err := parseSeqNum(in); err == nil {
			t.Errorf("parseSeqNum(%q) = %+v, want an error", in, s)
		}
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
