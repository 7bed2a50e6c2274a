package local

import (
	"context"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
)

// A reader's view of a log right after a segment roll ends in a segment
// that holds nothing durable yet (the append that rolled is not in the
// journal's last sync). seekTimeBound's binary search took that empty
// segment for the end of the log: with two segments it skipped the first,
// so a read behind the tip returned nothing and a next position past every
// record the reader had not read yet. GetRecords then moved its iterator
// past acknowledged records, which its consumer never saw. Found by the
// soak: a polling reader of an on-demand child shard, filled fast in 8 KiB
// segments, lost the records of its first segment.

func TestSeekTimeBoundEndsInEmptySegment(t *testing.T) {
	full := func(base uint64, first, last int64) segment {
		return segment{base: base, ix: index{
			entries: []indexEntry{{pos: base, time: first, offset: 0}},
			size:    1000, lastPos: base + 9, firstTime: first, lastTime: last,
		}}
	}
	for n := 1; n <= 6; n++ {
		// n full segments, record times 100..199 in the first, 200..299
		// in the second..., then the empty one a roll just made.
		var v view
		for i := range n {
			v.segs = append(v.segs, full(uint64(1+10*i), int64(100*(i+1)), int64(100*(i+1)+99)))
		}
		v.segs = append(v.segs, segment{base: uint64(1 + 10*n)})
		for want := range n {
			bound := int64(100*(want+1) + 50) // within segment want
			if si, _, ok := v.seekTimeBound(bound); !ok || si != want {
				t.Errorf("%d full segments: seekTimeBound(%d) = segment %d, %v; want %d", n, bound, si, ok, want)
			}
		}
		// A bound after every record: the empty segment, where the next
		// record will be.
		if si, _, ok := v.seekTimeBound(int64(100*(n+1) + 50)); !ok || si != n {
			t.Errorf("%d full segments: seekTimeBound past them all = segment %d, %v; want %d", n, si, ok, n)
		}
	}
}

// TestReadBehindTipAcrossRoll reads a log from its start while its last
// segment has just been rolled to: every record must come back.
func TestReadBehindTipAcrossRoll(t *testing.T) {
	e := openT(t, t.TempDir(), Options{SegmentBytes: 4 << 10})
	defer e.Close()
	ctx := context.Background()
	// A retention period makes every read time-bounded, as every stream's
	// log is.
	l, err := e.CreateLog(ctx, "l", storage.LogOptions{Retention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 0, 20)
	// What an append does first when its frame does not fit: roll to a new
	// segment, which holds nothing durable until the append's journal
	// entry is synced.
	sl := l.(*shardLog)
	sl.mu.Lock()
	_, err = sl.activeSegmentLocked(8 << 10)
	n := len(sl.segs)
	sl.mu.Unlock()
	if err != nil || n != 2 {
		t.Fatalf("roll: %v, %d segments", err, n)
	}
	for _, start := range []storage.Start{storage.Oldest(), storage.At(1), storage.At(15)} {
		res, err := l.Read(ctx, start, storage.ReadLimits{MaxRecords: 100})
		if err != nil {
			t.Fatal(err)
		}
		first := start.Position
		if start.Kind == storage.FromOldest {
			first = 1
		}
		if len(res.Records) != int(21-first) || res.Next != 21 {
			t.Errorf("read from %+v: %d records, next %d; want %d records, next 21", start, len(res.Records), res.Next, 21-first)
		}
	}
	// Appends go on into the new segment, and are read after the others.
	appendN(t, l, 20, 5)
	checkAll(t, l, 25)
}
