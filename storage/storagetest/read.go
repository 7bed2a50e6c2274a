package storagetest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
)

// checkPickUp checks that reading At(next), for each next an empty read
// returned before later was appended, starts at later's first record:
// "Reading At(Next) never skips a record that exists now or is appended
// later".
func checkPickUp(t testing.TB, l storage.ShardLog, nexts map[string]uint64, later []storage.StoredRecord) {
	t.Helper()
	for what, next := range nexts {
		res := mustRead(t, l, storage.At(next), storage.ReadLimits{MaxRecords: 1})
		if len(res.Records) == 0 || res.Records[0].Position != later[0].Position {
			t.Errorf("%s returned Next %d, but At(%d) then read %s instead of the record appended next, at %d",
				what, next, next, positionList(res.Records), later[0].Position)
		}
	}
}

// checkEmptyRead checks a read that found nothing because it started past
// the newest record, and records its Next for checkPickUp.
func checkEmptyRead(t testing.TB, what string, res storage.ReadResult, last uint64, nexts map[string]uint64) {
	t.Helper()
	if len(res.Records) != 0 {
		t.Errorf("%s: got records at %s, want none", what, positionList(res.Records))
		return
	}
	if res.Next <= last {
		t.Errorf("%s: Next is %d, not past the newest record at %d", what, res.Next, last)
	}
	nexts[what] = res.Next
}

func testReadByPosition(t *testing.T, h Harness) {
	f := newFixture(t, h)
	l := f.createLog("by-position", storage.LogOptions{})
	var want []storage.StoredRecord
	for i, n := range []int{3, 1, 2, 4} {
		want = append(want, mustAppend(t, l, batchOf(fmt.Sprintf("b%d", i), n))...)
	}
	last := want[len(want)-1].Position
	// firstAt is the index of the first record at or after p; any gaps
	// between positions are the engine's own.
	firstAt := func(p uint64) int {
		return sort.Search(len(want), func(i int) bool { return want[i].Position >= p })
	}

	probes := []uint64{0, 1, last + 1, last + 2, last + 1000, math.MaxUint64}
	for _, r := range want {
		probes = append(probes, r.Position-1, r.Position, r.Position+1)
	}
	nexts := map[string]uint64{}
	check := func(what string, start storage.Start, from int) {
		t.Helper()
		for _, most := range []int{1, 3, 100} {
			what := fmt.Sprintf("%s, MaxRecords %d", what, most)
			res := mustRead(t, l, start, storage.ReadLimits{MaxRecords: most})
			if from == len(want) {
				checkEmptyRead(t, what, res, last, nexts)
				continue
			}
			checkRecords(t, what, res.Records, want[from:min(from+most, len(want))])
		}
	}
	for _, p := range probes {
		check(fmt.Sprintf("At(%d)", p), storage.At(p), firstAt(p))
		if p < math.MaxUint64 {
			check(fmt.Sprintf("After(%d)", p), storage.After(p), firstAt(p+1))
		}
	}

	later := mustAppend(t, l, batchOf("later", 2))
	checkPickUp(t, l, nexts, later)
}

func testReadByTime(t *testing.T, h Harness) {
	f := newFixture(t, h)
	l := f.createLog("by-time", storage.LogOptions{})
	t0 := f.clock.UnixMilli()
	want := mustAppend(t, l, batchOf("a", 2)) // at t0: 0, 1
	f.clock.Advance(5 * time.Millisecond)
	for i := range 4 { // at t0+5: 2..9, several batches with one arrival time
		want = append(want, mustAppend(t, l, batchOf(fmt.Sprintf("b%d", i), 2))...)
	}
	f.clock.Advance(time.Second)
	want = append(want, mustAppend(t, l, batchOf("c", 1))...) // at t0+1005: 10
	for i, r := range want {
		at := t0
		switch {
		case i >= 10:
			at = t0 + 1005
		case i >= 2:
			at = t0 + 5
		}
		if r.ArrivalTime != at {
			t.Fatalf("record %d arrived at %d, want the clock's %d", i, r.ArrivalTime, at)
		}
	}
	last := want[len(want)-1].Position

	cases := []struct {
		time int64
		from int
	}{
		{math.MinInt64, 0},
		{-1, 0},
		{0, 0},
		{t0 - 1, 0},
		{t0, 0},
		{t0 + 1, 2},
		{t0 + 4, 2},
		{t0 + 5, 2},
		{t0 + 6, 10},
		{t0 + 1004, 10},
		{t0 + 1005, 10},
		{t0 + 1006, 11},
		{math.MaxInt64, 11},
	}
	nexts := map[string]uint64{}
	for _, tc := range cases {
		for _, most := range []int{1, 3, 100} {
			what := fmt.Sprintf("AtTime(t0%+d), MaxRecords %d", tc.time-t0, most)
			res := mustRead(t, l, storage.AtTime(tc.time), storage.ReadLimits{MaxRecords: most})
			if tc.from == len(want) {
				checkEmptyRead(t, what, res, last, nexts)
				continue
			}
			checkRecords(t, what, res.Records, want[tc.from:min(tc.from+most, len(want))])
		}
	}

	f.clock.Advance(time.Millisecond)
	later := mustAppend(t, l, batchOf("later", 1))
	checkPickUp(t, l, nexts, later)
	res := mustRead(t, l, storage.AtTime(t0+1006), storage.ReadLimits{MaxRecords: 10})
	checkRecords(t, "AtTime(t0+1006) after a later append", res.Records, later)
}

func testOldestLatest(t *testing.T, h Harness) {
	f := newFixture(t, h)
	l := f.createLog("oldest-latest", storage.LogOptions{})

	nexts := map[string]uint64{}
	for _, start := range []storage.Start{storage.Oldest(), storage.Latest()} {
		what := startString(start) + " on an empty log"
		res := mustRead(t, l, start, storage.ReadLimits{MaxRecords: 10})
		checkEmptyRead(t, what, res, 0, nexts)
		if res.LastPosition != 0 || res.LastArrival != 0 {
			t.Errorf("%s: LastPosition, LastArrival = %d, %d; want 0, 0", what, res.LastPosition, res.LastArrival)
		}
	}
	a := mustAppend(t, l, batchOf("a", 3))
	checkPickUp(t, l, nexts, a)

	res := mustRead(t, l, storage.Oldest(), storage.ReadLimits{MaxRecords: 1})
	checkRecords(t, "Oldest(), MaxRecords 1", res.Records, a[:1])
	res = mustRead(t, l, storage.Oldest(), storage.ReadLimits{MaxRecords: 10})
	checkRecords(t, "Oldest()", res.Records, a)

	nexts = map[string]uint64{}
	res = mustRead(t, l, storage.Latest(), storage.ReadLimits{MaxRecords: 10})
	checkEmptyRead(t, "Latest()", res, a[2].Position, nexts)
	if res.LastPosition != a[2].Position || res.LastArrival != a[2].ArrivalTime {
		t.Errorf("Latest(): LastPosition, LastArrival = %d, %d; want %d, %d", res.LastPosition, res.LastArrival, a[2].Position, a[2].ArrivalTime)
	}
	b := mustAppend(t, l, batchOf("b", 2))
	checkPickUp(t, l, nexts, b)
	res = mustRead(t, l, storage.At(nexts["Latest()"]), storage.ReadLimits{MaxRecords: 10})
	checkRecords(t, "At(Next of Latest()) after one more batch", res.Records, b)
	res = mustRead(t, l, storage.Oldest(), storage.ReadLimits{MaxRecords: 10})
	checkRecords(t, "Oldest() after one more batch", res.Records, concat(a, b))
}

func testReadLimits(t *testing.T, h Harness) {
	f := newFixture(t, h)
	l := f.createLog("limits", storage.LogOptions{})
	// Ten records of 10 counted bytes each: a 2-byte key and 8 bytes of
	// data.
	batch := make([]storage.Record, 10)
	for i := range batch {
		batch[i] = storage.Record{
			Key:  fmt.Sprintf("k%d", i),
			Data: []byte(fmt.Sprintf("data-%03d", i)),
		}
	}
	want := mustAppend(t, l, batch)

	cases := []struct {
		limits storage.ReadLimits
		n      int
	}{
		{storage.ReadLimits{}, 1},
		{storage.ReadLimits{MaxRecords: -3}, 1},
		{storage.ReadLimits{MaxRecords: 1}, 1},
		{storage.ReadLimits{MaxRecords: 4}, 4},
		{storage.ReadLimits{MaxRecords: 10}, 10},
		{storage.ReadLimits{MaxRecords: 1000}, 10},
		{storage.ReadLimits{MaxRecords: 1000, MaxBytes: -1}, 10},
		{storage.ReadLimits{MaxRecords: 1000, MaxBytes: 1}, 1},
		{storage.ReadLimits{MaxRecords: 1000, MaxBytes: 19}, 1},
		{storage.ReadLimits{MaxRecords: 1000, MaxBytes: 20}, 2},
		{storage.ReadLimits{MaxRecords: 1000, MaxBytes: 39}, 3},
		{storage.ReadLimits{MaxRecords: 1000, MaxBytes: 40}, 4},
		{storage.ReadLimits{MaxRecords: 1000, MaxBytes: 99}, 9},
		{storage.ReadLimits{MaxRecords: 1000, MaxBytes: 100}, 10},
		{storage.ReadLimits{MaxRecords: 2, MaxBytes: 1000}, 2},
		{storage.ReadLimits{MaxRecords: 0, MaxBytes: 5}, 1},
	}
	for _, tc := range cases {
		what := fmt.Sprintf("Oldest() with %+v", tc.limits)
		res := mustRead(t, l, storage.Oldest(), tc.limits)
		checkRecords(t, what, res.Records, want[:tc.n])
		if res.Sealed {
			t.Errorf("%s: Sealed on a log that is not sealed", what)
		}
		if res.LastPosition != want[9].Position {
			t.Errorf("%s: LastPosition %d, want %d", what, res.LastPosition, want[9].Position)
		}
	}
	res := mustRead(t, l, storage.At(want[3].Position), storage.ReadLimits{MaxRecords: 1000, MaxBytes: 25})
	checkRecords(t, "from the fourth record with MaxBytes 25", res.Records, want[3:5])

	// A record over the budget comes first: it alone is returned, and the
	// next read goes on after it.
	big := f.createLog("limits-big-first", storage.LogOptions{})
	recs := mustAppend(t, big, []storage.Record{
		{Key: "k0", Data: make([]byte, 1000)},
		{Key: "k1", Data: []byte("data-001")},
		{Key: "k2", Data: []byte("data-002")},
	})
	for _, tc := range []struct {
		maxBytes int
		n        int
	}{{10, 1}, {1011, 1}, {1012, 2}, {1022, 3}} {
		res := mustRead(t, big, storage.Oldest(), storage.ReadLimits{MaxRecords: 10, MaxBytes: tc.maxBytes})
		checkRecords(t, fmt.Sprintf("1002-byte record first, MaxBytes %d", tc.maxBytes), res.Records, recs[:tc.n])
	}
	res = mustRead(t, big, storage.Oldest(), storage.ReadLimits{MaxRecords: 10, MaxBytes: 10})
	res = mustRead(t, big, storage.At(res.Next), storage.ReadLimits{MaxRecords: 10, MaxBytes: 10})
	checkRecords(t, "after the large record, MaxBytes 10", res.Records, recs[1:2])
}

func testReadResultTail(t *testing.T, h Harness) {
	f := newFixture(t, h)
	l := f.createLog("tail", storage.LogOptions{})

	type expect struct {
		n            int
		lastPosition uint64
		lastArrival  int64
		sealed       bool
	}
	check := func(what string, start storage.Start, most int, want expect) {
		t.Helper()
		res := mustRead(t, l, start, storage.ReadLimits{MaxRecords: most})
		got := expect{len(res.Records), res.LastPosition, res.LastArrival, res.Sealed}
		if got != want {
			t.Errorf("%s: (records, LastPosition, LastArrival, Sealed) = %+v, want %+v", what, got, want)
		}
	}
	check("empty log", storage.Oldest(), 10, expect{})

	a := mustAppend(t, l, batchOf("a", 2))
	f.clock.Advance(7 * time.Millisecond)
	b := mustAppend(t, l, batchOf("b", 2))
	all := concat(a, b)
	lastPos, lastArr := b[1].Position, b[1].ArrivalTime
	check("first record", storage.Oldest(), 1, expect{1, lastPos, lastArr, false})
	check("all records", storage.Oldest(), 10, expect{4, lastPos, lastArr, false})
	check("Latest", storage.Latest(), 10, expect{0, lastPos, lastArr, false})

	if got := mustSeal(t, l); got != lastPos {
		t.Fatalf("Seal returned %d, want the last position %d", got, lastPos)
	}
	// Sealed means the read reached the end, not merely that the log is
	// sealed.
	check("sealed: first record", storage.Oldest(), 1, expect{1, lastPos, lastArr, false})
	check("sealed: all but the last", storage.Oldest(), 3, expect{3, lastPos, lastArr, false})
	check("sealed: exactly all records", storage.Oldest(), 4, expect{4, lastPos, lastArr, true})
	check("sealed: more than all records", storage.Oldest(), 10, expect{4, lastPos, lastArr, true})
	check("sealed: the last record", storage.At(lastPos), 10, expect{1, lastPos, lastArr, true})
	check("sealed: past the end", storage.After(lastPos), 10, expect{0, lastPos, lastArr, true})
	check("sealed: Latest", storage.Latest(), 10, expect{0, lastPos, lastArr, true})
	check("sealed: AtTime past the end", storage.AtTime(lastArr+1), 10, expect{0, lastPos, lastArr, true})
	checkRecords(t, "sealed log", readAll(t, l), all)
}

// testFollowWithNext has readers follow a log with At(Next) and Wait while
// it is being appended to; each must see every record exactly once.
func testFollowWithNext(t *testing.T, h Harness) {
	f := newFixture(t, h)
	l := f.createLog("follow", storage.LogOptions{})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	readers := []storage.ReadLimits{
		{MaxRecords: 1},
		{MaxRecords: 3},
		{MaxRecords: 1000},
		{MaxRecords: 1000, MaxBytes: 40},
	}
	got := make([][]storage.StoredRecord, len(readers))
	var wg sync.WaitGroup
	for i, limits := range readers {
		wg.Go(func() {
			var err error
			got[i], err = follow(ctx, t, l, limits)
			if err != nil {
				t.Errorf("reader %d with %+v: %v", i, limits, err)
			}
		})
	}

	const batches = 300
	rng := rand.New(rand.NewPCG(1, 2))
	var want []storage.StoredRecord
	for i := range batches {
		batch := batchOf(fmt.Sprintf("f%d", i), 1+rng.IntN(4))
		app, err := l.Append(ctx, batch)
		if err != nil {
			t.Errorf("append %d: %v", i, err)
			break
		}
		if !checkAppended(t, fmt.Sprintf("append %d", i), app, len(batch)) {
			break
		}
		want = append(want, stored(batch, app)...)
		if i%7 == 0 {
			f.clock.Advance(time.Millisecond)
		}
	}
	if _, err := l.Seal(ctx); err != nil {
		t.Errorf("Seal: %v", err)
		cancel() // the readers would otherwise block until the deadline
	}
	wg.Wait()
	for i := range readers {
		checkRecords(t, fmt.Sprintf("reader %d with %+v", i, readers[i]), got[i], want)
	}
	if t.Failed() {
		t.Logf("positions appended: %s", strings.TrimSpace(positionList(want)))
	}
}

// testReleaseReads checks the lending of read memory (ReadResult.Release):
// a read's records stay intact while other reads are made and released,
// and reads after a Release return what was appended. An engine that
// handed one buffer to two live reads, or reused a buffer before its
// Release, fails here.
func testReleaseReads(t *testing.T, h Harness) {
	f := newFixture(t, h)
	l := f.createLog("release", storage.LogOptions{})
	var want []storage.StoredRecord
	for i := range 8 {
		want = append(want, mustAppend(t, l, batchOf(fmt.Sprintf("r%d", i), 500))...)
	}
	limits := storage.ReadLimits{MaxRecords: 2000}
	held := mustRead(t, l, storage.At(want[0].Position), limits)
	heldCopy := cloneRecords(held.Records)
	checkRecords(t, "the held read", heldCopy, want[:2000])
	for i := range 20 {
		from := (i * 97) % 1900
		res := mustRead(t, l, storage.At(want[from].Position), limits)
		checkRecords(t, fmt.Sprintf("read %d from record %d", i, from), cloneRecords(res.Records), want[from:from+2000])
		if res.Release != nil {
			res.Release()
		}
	}
	checkRecords(t, "the held read after others were released", held.Records, heldCopy)
	if held.Release != nil {
		held.Release()
	}
	res := mustRead(t, l, storage.At(want[1000].Position), limits)
	checkRecords(t, "a read after every Release", res.Records, want[1000:3000])
}

// cloneRecords copies records and what they point to.
func cloneRecords(recs []storage.StoredRecord) []storage.StoredRecord {
	out := make([]storage.StoredRecord, len(recs))
	for i, r := range recs {
		out[i] = r
		out[i].Data = append([]byte(nil), r.Data...)
	}
	return out
}
