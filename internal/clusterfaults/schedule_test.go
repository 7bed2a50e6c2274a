package clusterfaults

import (
	"slices"
	"testing"
	"time"
)

func TestScheduleIsSeeded(t *testing.T) {
	draw := func(seed uint64, kinds []Kind, n int) []Step {
		s := NewSchedule(seed, kinds, 3)
		steps := make([]Step, n)
		for i := range steps {
			steps[i] = s.Next()
		}
		return steps
	}
	a, b := draw(42, AllKinds(), 50), draw(42, AllKinds(), 50)
	if !slices.Equal(a, b) {
		t.Fatalf("seed 42 drew two schedules:\n%v\n%v", a, b)
	}
	if c := draw(43, AllKinds(), 50); slices.Equal(a, c) {
		t.Fatalf("seeds 42 and 43 drew the same schedule: %v", a)
	}
}

func TestScheduleSteps(t *testing.T) {
	tests := []struct {
		name  string
		kinds []Kind
		nodes int
	}{
		{"every kind", AllKinds(), 3},
		{"two kinds", []Kind{Kill, Restart}, 3},
		{"one kind", []Kind{Pause}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range uint64(20) {
				s := NewSchedule(seed, tt.kinds, tt.nodes)
				var first []Kind
				seen := map[Kind]int{}
				for i := range 200 {
					st := s.Next()
					if i < len(tt.kinds) {
						first = append(first, st.Kind)
					}
					seen[st.Kind]++
					if !slices.Contains(tt.kinds, st.Kind) {
						t.Fatalf("seed %d step %d: %s, not among %v", seed, i, st.Kind, tt.kinds)
					}
					if st.Node < 0 || st.Node >= tt.nodes {
						t.Fatalf("seed %d step %d: node %d of %d", seed, i, st.Node, tt.nodes)
					}
					if h := holdBounds(st.Kind); st.Hold < h[0] || st.Hold > h[1] {
						t.Fatalf("seed %d step %d: %s held %v, outside %v", seed, i, st.Kind, st.Hold, h)
					}
					if q := quietBounds(); st.Quiet < q[0] || st.Quiet > q[1] {
						t.Fatalf("seed %d step %d: quiet %v, outside %v", seed, i, st.Quiet, q)
					}
					if st.Hold%(100*time.Millisecond) != 0 || st.Quiet%(100*time.Millisecond) != 0 {
						t.Fatalf("seed %d step %d: %v and %v, not whole tenths of a second", seed, i, st.Hold, st.Quiet)
					}
				}
				// Every kind once before any twice.
				slices.Sort(first)
				want := slices.Sorted(slices.Values(tt.kinds))
				if !slices.Equal(first, want) {
					t.Fatalf("seed %d: the first steps are %v, want each of %v once", seed, first, want)
				}
				// And then drawn from all of them.
				for _, k := range tt.kinds {
					if seen[k] < 200/len(tt.kinds)/2 {
						t.Errorf("seed %d: %s %d times in 200 steps", seed, k, seen[k])
					}
				}
			}
		})
	}
}

// A pause or a partition shorter than an election would not make the
// victim's placements elect new leaders, which is what they are for.
func TestHoldsOutlastAnElection(t *testing.T) {
	const election = 9 * time.Second // nats-server's longest election timeout
	for _, k := range []Kind{Pause, Partition} {
		if h := holdBounds(k); h[0] <= election {
			t.Errorf("%s holds from %v, not longer than an election (%v)", k, h[0], election)
		}
	}
}
