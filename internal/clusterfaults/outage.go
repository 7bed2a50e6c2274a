package clusterfaults

import (
	"maps"
	"slices"
	"time"

	"github.com/tributary-io/tributary/internal/history"
)

// Outage is how long writes stopped being acknowledged on one shard
// around a fault: the time writes took to resume.
type Outage struct {
	Shard string
	// Gap is the longest time between two acknowledgements of the shard
	// (by when they arrived) such that the later one arrived after the
	// fault began and before the next fault: it spans the fault when the
	// fault stopped the shard's writes, and is the writers' usual pace
	// otherwise.
	Gap time.Duration
	// Resumed is false if no write of the shard was acknowledged after
	// the fault began and before the next one (or the end of the writes):
	// Gap is then from the last acknowledgement before the fault to the
	// end of the window, a lower bound.
	Resumed bool
}

// ackTimes returns, for each shard, when its acknowledged writes'
// answers arrived, in order.
func ackTimes(writes []history.Write) map[string][]time.Time {
	acks := map[string][]time.Time{}
	for _, w := range writes {
		if w.Outcome == history.Acknowledged {
			acks[w.ShardID] = append(acks[w.ShardID], w.End)
		}
	}
	for _, ts := range acks {
		slices.SortFunc(ts, time.Time.Compare)
	}
	return acks
}

// worstOutage returns the shard whose writes stopped longest around a
// fault that began at from, looking at the acknowledgements that arrived
// until to (the next fault, or the end of the writes). A shard is judged
// only if it had an acknowledgement before from (it was written to when
// the fault began) and was not closed by then; a shard closed by a
// reshard (closed says when it was seen closed) is judged up to its
// closing only, and not at all if it closed before any write after the
// fault. Ties go to the first shard in name order; the zero Outage means
// no shard could be judged.
func worstOutage(acks map[string][]time.Time, closed map[string]time.Time, from, to time.Time) Outage {
	var worst Outage
	for _, shard := range slices.Sorted(maps.Keys(acks)) {
		ts := acks[shard]
		end := to
		if c, ok := closed[shard]; ok && c.Before(end) {
			end = c
		}
		if !end.After(from) {
			continue
		}
		// i is the first acknowledgement after the fault began.
		i, _ := slices.BinarySearchFunc(ts, from, func(t, from time.Time) int {
			if t.After(from) {
				return 1
			}
			return -1
		})
		if i == 0 {
			continue // not written to before the fault
		}
		o := Outage{Shard: shard}
		prev := ts[i-1]
		for ; i < len(ts) && !ts[i].After(end); i++ {
			o.Gap = max(o.Gap, ts[i].Sub(prev))
			o.Resumed = true
			prev = ts[i]
		}
		if !o.Resumed {
			if end != to {
				// Closed by a reshard before any write after the
				// fault: its writers went on in its children.
				continue
			}
			o.Gap = end.Sub(prev)
		}
		// A shard that never resumed is worse than any that did.
		if worst.Shard == "" || o.Resumed == worst.Resumed && o.Gap > worst.Gap || !o.Resumed && worst.Resumed {
			worst = o
		}
	}
	return worst
}
