package clusterfaults

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Kind is a kind of fault.
type Kind string

// The kinds of faults, each healed before the next fault starts.
const (
	// Kill: kill -9 one node, leave it down for Hold, restart it on its
	// data directory.
	Kill Kind = "kill"
	// Pause: SIGSTOP one node for Hold (longer than an election), then
	// SIGCONT.
	Pause Kind = "pause"
	// Partition: cut one node off from the others for Hold, then heal.
	// It needs the network namespaces.
	Partition Kind = "partition"
	// Restart: kill -9 every node, leave them down for Hold, restart them
	// all on their data directories.
	Restart Kind = "restart"
)

// AllKinds returns every kind of fault, in the order of the reports.
func AllKinds() []Kind { return []Kind{Kill, Pause, Partition, Restart} }

// Step is one fault of a schedule and the quiet period before it.
type Step struct {
	Kind Kind
	// Node is the victim, from 0; every node for Restart.
	Node int
	// Quiet is how long the workload runs unharmed before the fault.
	Quiet time.Duration
	// Hold is how long the fault lasts before it is healed.
	Hold time.Duration
}

func (s Step) String() string {
	if s.Kind == Restart {
		return fmt.Sprintf("%s of every node for %v", s.Kind, s.Hold)
	}
	return fmt.Sprintf("%s of node %d for %v", s.Kind, s.Node+1, s.Hold)
}

// holdBounds bound how long a fault of kind k lasts. A pause and a partition
// last longer than an election (nats-server's election timeout is 4 to
// 9 s), so that the victim's placements elect new leaders while it is
// gone and it comes back to find it has lost them.
func holdBounds(k Kind) [2]time.Duration {
	switch k {
	case Kill:
		return [2]time.Duration{2 * time.Second, 8 * time.Second}
	case Pause:
		return [2]time.Duration{10 * time.Second, 14 * time.Second}
	case Partition:
		return [2]time.Duration{10 * time.Second, 16 * time.Second}
	default: // Restart
		return [2]time.Duration{1 * time.Second, 4 * time.Second}
	}
}

// quietBounds bound the quiet periods between faults: long enough for the
// writers to be seen resuming.
func quietBounds() [2]time.Duration { return [2]time.Duration{4 * time.Second, 8 * time.Second} }

// Schedule draws the steps of a fault schedule from a seeded generator:
// the same seed, kinds and number of nodes give the same steps in the
// same order. The first len(kinds) steps are every kind once, in a
// random order, so that even a short schedule has them all; the rest are
// drawn at random.
type Schedule struct {
	rng   *rand.Rand
	kinds []Kind
	nodes int
	first []Kind // the kinds still to come in the opening permutation
}

// NewSchedule returns the schedule of seed over kinds (not empty) for a
// cluster of nodes nodes.
func NewSchedule(seed uint64, kinds []Kind, nodes int) *Schedule {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	first := append([]Kind(nil), kinds...)
	rng.Shuffle(len(first), func(i, j int) { first[i], first[j] = first[j], first[i] })
	return &Schedule{rng: rng, kinds: kinds, nodes: nodes, first: first}
}

// Next returns the next step.
func (s *Schedule) Next() Step {
	var k Kind
	if len(s.first) > 0 {
		k, s.first = s.first[0], s.first[1:]
	} else {
		k = s.kinds[s.rng.IntN(len(s.kinds))]
	}
	return Step{
		Kind:  k,
		Node:  s.rng.IntN(s.nodes),
		Quiet: s.between(quietBounds()),
		Hold:  s.between(holdBounds(k)),
	}
}

// between draws a duration in [b[0], b[1]], to the 100 ms.
func (s *Schedule) between(b [2]time.Duration) time.Duration {
	steps := int64((b[1] - b[0]) / (100 * time.Millisecond))
	return b[0] + time.Duration(s.rng.Int64N(steps+1))*100*time.Millisecond
}
