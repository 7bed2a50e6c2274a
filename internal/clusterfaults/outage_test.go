package clusterfaults

import (
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/history"
)

func TestWorstOutage(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms ...int) []time.Time {
		out := make([]time.Time, len(ms))
		for i, m := range ms {
			out[i] = t0.Add(time.Duration(m) * time.Millisecond)
		}
		return out
	}
	ms := func(m int) time.Duration { return time.Duration(m) * time.Millisecond }
	tests := []struct {
		name     string
		acks     map[string][]time.Time
		closed   map[string]time.Time
		from, to int // ms
		want     Outage
	}{
		{
			name: "the gap across the fault",
			acks: map[string][]time.Time{"a": at(0, 50, 100, 4100, 4150)},
			from: 120, to: 10000,
			want: Outage{Shard: "a", Gap: ms(4000), Resumed: true},
		},
		{
			name: "the worst of two shards",
			acks: map[string][]time.Time{"a": at(0, 100, 4100), "b": at(0, 100, 200, 300, 7300)},
			from: 150, to: 10000,
			want: Outage{Shard: "b", Gap: ms(7000), Resumed: true},
		},
		{
			name: "a later gap in the window counts too",
			acks: map[string][]time.Time{"a": at(0, 100, 200, 300, 3300)},
			from: 150, to: 10000,
			want: Outage{Shard: "a", Gap: ms(3000), Resumed: true},
		},
		{
			name: "gaps after the window do not count",
			acks: map[string][]time.Time{"a": at(0, 100, 200, 300, 9300)},
			from: 150, to: 5000,
			want: Outage{Shard: "a", Gap: ms(100), Resumed: true},
		},
		{
			name: "not resumed beats any gap",
			acks: map[string][]time.Time{"a": at(0, 100, 1900), "b": at(0, 1000)},
			from: 1500, to: 2000,
			want: Outage{Shard: "b", Gap: ms(1000), Resumed: false},
		},
		{
			name: "a shard first written after the fault is not judged",
			acks: map[string][]time.Time{"a": at(0, 100, 200), "new": at(5000, 5100)},
			from: 150, to: 10000,
			want: Outage{Shard: "a", Gap: ms(100), Resumed: true},
		},
		{
			name:   "a shard closed by a reshard is judged up to its closing",
			acks:   map[string][]time.Time{"parent": at(0, 100, 200, 9000), "other": at(0, 100, 400)},
			closed: map[string]time.Time{"parent": t0.Add(ms(300))},
			from:   150, to: 10000,
			want: Outage{Shard: "other", Gap: ms(300), Resumed: true},
		},
		{
			name:   "a shard closed before any write after the fault is not judged",
			acks:   map[string][]time.Time{"parent": at(0, 100), "other": at(0, 100, 400)},
			closed: map[string]time.Time{"parent": t0.Add(ms(300))},
			from:   150, to: 10000,
			want: Outage{Shard: "other", Gap: ms(300), Resumed: true},
		},
		{
			name: "nothing to judge",
			acks: map[string][]time.Time{"a": at(5000)},
			from: 150, to: 10000,
			want: Outage{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := worstOutage(tt.acks, tt.closed, t0.Add(ms(tt.from)), t0.Add(ms(tt.to)))
			if got != tt.want {
				t.Errorf("worstOutage = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestAckTimes(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	writes := []history.Write{
		{Outcome: history.Acknowledged, ShardID: "a", End: t0.Add(2 * time.Second)},
		{Outcome: history.Unknown, End: t0.Add(3 * time.Second)},
		{Outcome: history.Acknowledged, ShardID: "a", End: t0.Add(1 * time.Second)},
		{Outcome: history.Failed, ShardID: "b", End: t0},
		{Outcome: history.Acknowledged, ShardID: "b", End: t0.Add(5 * time.Second)},
	}
	got := ackTimes(writes)
	if len(got) != 2 || len(got["a"]) != 2 || !got["a"][0].Equal(t0.Add(time.Second)) || !got["a"][1].Equal(t0.Add(2*time.Second)) ||
		len(got["b"]) != 1 || !got["b"][0].Equal(t0.Add(5*time.Second)) {
		t.Fatalf("ackTimes = %v, want a at 1s and 2s, b at 5s", got)
	}
}
