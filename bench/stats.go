package bench

import (
	"math"
	"slices"
	"time"
)

// Latency is a latency distribution in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	// P999 is the 99.9th percentile: of fewer than 1,000 values, the
	// largest.
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest value that at least p percent of the
// values are less than or equal to. Nearest rank always returns a measured
// value, never an interpolation between two, so p99 of a few samples is a
// latency that really happened. It returns 0 for no values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// rank = ceil(p/100 * n), computed in integers, p in thousandths of a
	// percent, so that e.g. p99.9 of 1,000 values is rank 999 exactly and
	// not 999.0000000000001 → 1000 (99.9 has no exact float64).
	thousandths := int64(math.Round(p * 1000))
	rank := int((thousandths*int64(n) + 100_000 - 1) / 100_000)
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// summarize returns p50, p99, p99.9 and max of durations, which it sorts
// in place; nil for none.
func summarize(durations []time.Duration) *Latency {
	if len(durations) == 0 {
		return nil
	}
	slices.Sort(durations)
	return &Latency{
		P50:  ms(percentile(durations, 50)),
		P99:  ms(percentile(durations, 99)),
		P999: ms(percentile(durations, 99.9)),
		Max:  ms(durations[len(durations)-1]),
	}
}

// ms converts d to milliseconds, kept to microsecond precision.
func ms(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}
