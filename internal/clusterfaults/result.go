package clusterfaults

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/tributary-io/tributary/internal/history"
)

// Result is what a run did and what the checker found.
type Result struct {
	Seed  uint64
	Check history.Result
	// Faults are the faults run, in order, each with the worst outage of
	// writes around it.
	Faults []Fault
	// Splits and Merges count the reshards that completed.
	Splits, Merges int
	// Shards is how many shards the stream had in all, parents and
	// children.
	Shards int
	// HistoryPath is where the history was written, if the check failed.
	HistoryPath string
	Elapsed     time.Duration
}

// Fault is one fault as it ran.
type Fault struct {
	Step
	Start time.Time
	// Led is how many placements of shards' logs the victim led when it
	// was hit (-1 if it did not say), and Placements how many it knew.
	Led, Placements int
	Outage          Outage
}

// Count returns how many faults of kind k ran.
func (r Result) Count(k Kind) int {
	n := 0
	for _, f := range r.Faults {
		if f.Kind == k {
			n++
		}
	}
	return n
}

// WriteReport writes the result for people: the faults with their
// outages, the counts and the checker's verdict.
func (r Result) WriteReport(w io.Writer) {
	fmt.Fprintf(w, "seed %d, %v, %d faults:", r.Seed, r.Elapsed.Round(time.Second), len(r.Faults))
	for _, k := range AllKinds() {
		fmt.Fprintf(w, " %s %d", k, r.Count(k))
	}
	fmt.Fprintf(w, "; reshards: %d splits, %d merges, %d shards in all\n", r.Splits, r.Merges, r.Shards)
	for i, f := range r.Faults {
		resumed := "resumed after"
		if !f.Outage.Resumed {
			resumed = "NOT resumed after at least"
		}
		fmt.Fprintf(w, "  %2d %-9s %-8s held %-6v writes %s %v (%s)\n", i+1, f.Kind, victim(f.Step), f.Hold, resumed, f.Outage.Gap.Round(10*time.Millisecond), f.Outage.Shard)
	}
	for _, k := range AllKinds() {
		var gaps []time.Duration
		for _, f := range r.Faults {
			if f.Kind == k && f.Outage.Shard != "" {
				gaps = append(gaps, f.Outage.Gap)
			}
		}
		if len(gaps) == 0 {
			continue
		}
		slices.Sort(gaps)
		fmt.Fprintf(w, "  writes resumed after %s: median %v, max %v (%d faults)\n", k, gaps[len(gaps)/2].Round(10*time.Millisecond), gaps[len(gaps)-1].Round(10*time.Millisecond), len(gaps))
	}
	s := r.Check.Stats
	fmt.Fprintf(w, "writes: %d, acknowledged %d, failed %d, unknown %d (of which stored %d); reads: %d returning %d records; final read: %d records\n",
		s.Writes, s.Acknowledged, s.Failed, s.Unknown, s.UnknownStored, s.Reads, s.ReadRecords, s.FinalRecords)
	fmt.Fprintf(w, "check: %s\n", r.Check)
	if r.HistoryPath != "" {
		fmt.Fprintf(w, "history: %s\n", r.HistoryPath)
	}
}

func victim(s Step) string {
	if s.Kind == Restart {
		return "all"
	}
	return fmt.Sprintf("node %d", s.Node+1)
}
