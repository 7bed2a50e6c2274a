package bench

import (
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/cli"
)

// seq returns the durations 1ms, 2ms, ..., n ms.
func seq(n int) []time.Duration {
	d := make([]time.Duration, n)
	for i := range d {
		d[i] = time.Duration(i+1) * time.Millisecond
	}
	return d
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value p50", seq(1), 50, 1 * time.Millisecond},
		{"one value p99", seq(1), 99, 1 * time.Millisecond},
		{"two values p50", seq(2), 50, 1 * time.Millisecond},
		{"two values p99", seq(2), 99, 2 * time.Millisecond},
		{"ten values p50 is rank 5", seq(10), 50, 5 * time.Millisecond},
		{"ten values p90 is rank 9", seq(10), 90, 9 * time.Millisecond},
		{"ten values p99 is the max", seq(10), 99, 10 * time.Millisecond},
		{"hundred values p99 is rank 99", seq(100), 99, 99 * time.Millisecond},
		{"hundred values p100", seq(100), 100, 100 * time.Millisecond},
		{"thousand values p99 is rank 990", seq(1000), 99, 990 * time.Millisecond},
		{"thousand values p50 is rank 500", seq(1000), 50, 500 * time.Millisecond},
		{"101 values p50 rounds up to rank 51", seq(101), 50, 51 * time.Millisecond},
		{"tiny p is the min", seq(10), 0.001, 1 * time.Millisecond},
		{"thousand values p99.9 is rank 999", seq(1000), 99.9, 999 * time.Millisecond},
		{"ten thousand values p99.9 is rank 9990", seq(10000), 99.9, 9990 * time.Millisecond},
		{"hundred values p99.9 is the max", seq(100), 99.9, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%d values, %v) = %v, want %v", len(tt.sorted), tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		in   []time.Duration
		want *Latency
	}{
		{"none", nil, nil},
		{"one", []time.Duration{1500 * time.Microsecond}, &Latency{P50: 1.5, P99: 1.5, P999: 1.5, Max: 1.5}},
		{
			"unsorted, sorted in place",
			[]time.Duration{4 * time.Millisecond, 1 * time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond},
			&Latency{P50: 2, P99: 4, P999: 4, Max: 4},
		},
		{"microsecond precision", []time.Duration{1234567 * time.Nanosecond}, &Latency{P50: 1.234, P99: 1.234, P999: 1.234, Max: 1.234}},
		{"hundred", seq(100), &Latency{P50: 50, P99: 99, P999: 100, Max: 100}},
		{"two thousand", seq(2000), &Latency{P50: 1000, P99: 1980, P999: 1998, Max: 2000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := summarize(tt.in)
			switch {
			case got == nil && tt.want == nil:
			case got == nil || tt.want == nil || *got != *tt.want:
				t.Errorf("summarize = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestThousands(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0"},
		{999, "999"},
		{1000, "1,000"},
		{45678, "45,678"},
		{1234567, "1,234,567"},
		{-1234, "-1,234"},
	}
	for _, tt := range tests {
		if got := cli.Thousands(tt.in); got != tt.want {
			t.Errorf("cli.Thousands(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
