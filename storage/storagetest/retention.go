package storagetest

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
)

// checkKept checks that no kind of read returns the expired records, and
// that each starts at the oldest kept record instead. It returns the Next of
// every read that found nothing, for checkPickUp.
func checkKept(t testing.TB, l storage.ShardLog, stage string, expired, kept []storage.StoredRecord) map[string]uint64 {
	t.Helper()
	starts := []storage.Start{
		storage.Oldest(),
		storage.At(0),
		storage.AtTime(math.MinInt64),
		storage.AtTime(0),
	}
	for _, r := range expired {
		starts = append(starts, storage.At(r.Position), storage.After(r.Position), storage.AtTime(r.ArrivalTime))
	}
	var newest storage.StoredRecord
	if n := len(kept); n > 0 {
		newest = kept[n-1]
	} else if n := len(expired); n > 0 {
		newest = expired[n-1]
	}
	last := newest.Position
	nexts := map[string]uint64{}
	for _, start := range starts {
		what := fmt.Sprintf("%s: %s", stage, startString(start))
		res := mustRead(t, l, start, storage.ReadLimits{MaxRecords: 1000})
		if len(kept) == 0 {
			checkEmptyRead(t, what, res, last, nexts)
		} else {
			checkRecords(t, what, res.Records, kept)
		}
		// Expiry does not change what was appended last.
		if res.LastPosition != last || res.LastArrival != newest.ArrivalTime {
			t.Errorf("%s: LastPosition, LastArrival = %d, %d; want the newest appended, %d, %d",
				what, res.LastPosition, res.LastArrival, last, newest.ArrivalTime)
		}
	}
	res := mustRead(t, l, storage.Latest(), storage.ReadLimits{MaxRecords: 1000})
	checkEmptyRead(t, stage+": Latest()", res, last, nexts)
	checkRecords(t, stage+": reading everything", readAll(t, l), kept)
	info := mustInfo(t, l)
	checkBounds(t, stage, info, kept)
	return nexts
}

func testRetention(t *testing.T, h Harness) {
	f := newFixture(t, h)
	l := f.createLog("retention", storage.LogOptions{Retention: time.Hour})
	a := mustAppend(t, l, batchOf("a", 3))
	f.clock.Advance(20 * time.Minute)
	b := mustAppend(t, l, batchOf("b", 2))
	f.clock.Advance(20 * time.Minute)
	c := mustAppend(t, l, batchOf("c", 2))
	checkKept(t, l, "at 40m, nothing expired", nil, concat(a, b, c))

	// Well clear of the boundary, so that engines need not agree on whether
	// a record exactly as old as the retention is kept.
	f.clock.Advance(21 * time.Minute)
	checkKept(t, l, "at 61m, a expired", a, concat(b, c))
	ctx := t.Context()
	if err := l.Wait(ctx, a[0].Position); err != nil {
		t.Errorf("Wait for an expired position with kept records after it: %v", err)
	}

	f.clock.Advance(20 * time.Minute)
	checkKept(t, l, "at 81m, a and b expired", concat(a, b), c)

	f.clock.Advance(40 * time.Minute)
	nexts := checkKept(t, l, "at 121m, all expired", concat(a, b, c), nil)
	info := mustInfo(t, l)
	if info.LastArrival != c[1].ArrivalTime {
		t.Errorf("all expired: Info.LastArrival %d, want the newest ever appended, %d", info.LastArrival, c[1].ArrivalTime)
	}

	now := f.clock.UnixMilli()
	d := mustAppend(t, l, batchOf("d", 2))
	if d[0].Position <= c[1].Position {
		t.Errorf("after everything expired the next position is %d, not after %d", d[0].Position, c[1].Position)
	}
	if d[0].ArrivalTime != now {
		t.Errorf("after everything expired the arrival time is %d, want the clock's %d", d[0].ArrivalTime, now)
	}
	checkPickUp(t, l, nexts, d)
	checkKept(t, l, "after appending to an expired log", concat(a, b, c), d)
}

func testSetRetention(t *testing.T, h Harness) {
	f := newFixture(t, h)
	ctx := t.Context()
	l := f.createLog("set-retention", storage.LogOptions{Retention: time.Hour})
	setRetention := func(d time.Duration) {
		t.Helper()
		if err := l.SetRetention(ctx, d); err != nil {
			t.Fatalf("SetRetention(%v): %v", d, err)
		}
		if got := mustInfo(t, l).Retention; got != d {
			t.Errorf("after SetRetention(%v) Info.Retention is %v", d, got)
		}
	}
	// c stays readable while the retention is high or zero. Whether records
	// that were already unreadable come back when it is raised, the
	// contract does not say, so only c is checked then.
	checkC := func(stage string, c []storage.StoredRecord) {
		t.Helper()
		res := mustRead(t, l, storage.At(c[0].Position), storage.ReadLimits{MaxRecords: 100})
		checkRecords(t, stage, res.Records, c)
	}

	a := mustAppend(t, l, batchOf("a", 2))
	f.clock.Advance(30 * time.Minute)
	b := mustAppend(t, l, batchOf("b", 2))
	f.clock.Advance(20 * time.Minute)
	c := mustAppend(t, l, batchOf("c", 2))
	checkKept(t, l, "at 50m under 1h", nil, concat(a, b, c))

	// Lowering the retention takes effect without the clock moving.
	setRetention(40 * time.Minute)
	checkKept(t, l, "at 50m under 40m", a, concat(b, c))
	setRetention(10 * time.Minute)
	checkKept(t, l, "at 50m under 10m", concat(a, b), c)

	setRetention(2 * time.Hour)
	checkC("at 50m under 2h", c)
	f.clock.Advance(30 * time.Minute)
	checkC("at 80m under 2h", c)

	setRetention(0)
	f.clock.Advance(1000 * time.Hour)
	checkC("1000h later under no retention", c)

	setRetention(time.Hour)
	checkKept(t, l, "1000h later under 1h", concat(a, b, c), nil)
	d := mustAppend(t, l, batchOf("d", 1))
	checkKept(t, l, "after appending under 1h", concat(a, b, c), d)
}
