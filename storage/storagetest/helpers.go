package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
)

// startTime is where every fixture's clock starts. Its sub-millisecond part
// checks that arrival times are the clock truncated to milliseconds, as
// time.Time.UnixMilli gives them.
func startTime() time.Time {
	return time.Date(2024, time.March, 1, 12, 0, 0, 123_456_789, time.UTC)
}

// noWait bounds calls that must not block, so that a hanging engine fails
// the test instead of stalling the whole run.
const noWait = 10 * time.Second

// fixture is one subtest's engine, its directory and its clock.
type fixture struct {
	t     *testing.T
	h     Harness
	dir   string
	clock *Clock
	e     storage.Engine
}

func newFixture(t *testing.T, h Harness) *fixture {
	t.Helper()
	f := &fixture{t: t, h: h, dir: t.TempDir(), clock: NewClock(startTime())}
	f.open()
	return f
}

func (f *fixture) open() {
	f.t.Helper()
	e := f.h.Open(f.t, f.dir, f.clock.Now)
	if e == nil {
		f.t.Fatal("Harness.Open returned a nil engine")
	}
	// Close is idempotent, so a test that closes the engine itself does not
	// clash with this.
	f.t.Cleanup(func() { _ = e.Close() })
	f.e = e
}

// reopen closes the engine and opens it again on the same directory.
func (f *fixture) reopen() {
	f.t.Helper()
	if err := f.e.Close(); err != nil {
		f.t.Fatalf("Close before reopening: %v", err)
	}
	f.open()
}

func (f *fixture) createLog(name string, opts storage.LogOptions) storage.ShardLog {
	f.t.Helper()
	l, err := f.e.CreateLog(f.t.Context(), name, opts)
	if err != nil {
		f.t.Fatalf("CreateLog(%q, %+v): %v", name, opts, err)
	}
	if got := l.Name(); got != name {
		f.t.Errorf("CreateLog(%q) returned a log named %q", name, got)
	}
	return l
}

func (f *fixture) log(name string) storage.ShardLog {
	f.t.Helper()
	l, err := f.e.Log(f.t.Context(), name)
	if err != nil {
		f.t.Fatalf("Log(%q): %v", name, err)
	}
	if got := l.Name(); got != name {
		f.t.Errorf("Log(%q) returned a log named %q", name, got)
	}
	return l
}

// batchOf returns n records whose keys and data name tag and their index.
func batchOf(tag string, n int) []storage.Record {
	batch := make([]storage.Record, n)
	for i := range batch {
		batch[i] = storage.Record{
			Key:  fmt.Sprintf("%s-key-%d", tag, i),
			Data: []byte(fmt.Sprintf("%s-data-%d", tag, i)),
		}
	}
	return batch
}

// stored pairs a batch with what Append returned for it.
func stored(batch []storage.Record, app []storage.Appended) []storage.StoredRecord {
	out := make([]storage.StoredRecord, len(batch))
	for i := range batch {
		out[i] = storage.StoredRecord{
			Record:      batch[i],
			Position:    app[i].Position,
			ArrivalTime: app[i].ArrivalTime,
		}
	}
	return out
}

// checkAppended checks what Append returned for a batch of n records.
func checkAppended(t testing.TB, what string, app []storage.Appended, n int) bool {
	t.Helper()
	if len(app) != n {
		t.Errorf("%s: Append returned %d results for %d records", what, len(app), n)
		return false
	}
	for i, a := range app {
		if a.Position == 0 {
			t.Errorf("%s: record %d got position 0", what, i)
			return false
		}
		if i > 0 && a.Position <= app[i-1].Position {
			t.Errorf("%s: record %d got position %d after %d", what, i, a.Position, app[i-1].Position)
			return false
		}
		if i > 0 && a.ArrivalTime < app[i-1].ArrivalTime {
			t.Errorf("%s: record %d arrived at %d, before the record ahead of it (%d)", what, i, a.ArrivalTime, app[i-1].ArrivalTime)
			return false
		}
	}
	return true
}

// mustAppend appends batch and returns the records as stored.
func mustAppend(t testing.TB, l storage.ShardLog, batch []storage.Record) []storage.StoredRecord {
	t.Helper()
	app, err := l.Append(t.Context(), batch)
	if err != nil {
		t.Fatalf("Append of %d records to %q: %v", len(batch), l.Name(), err)
	}
	if !checkAppended(t, "Append to "+l.Name(), app, len(batch)) {
		t.FailNow()
	}
	return stored(batch, app)
}

func mustRead(t testing.TB, l storage.ShardLog, start storage.Start, limits storage.ReadLimits) storage.ReadResult {
	t.Helper()
	res, err := l.Read(t.Context(), start, limits)
	what := fmt.Sprintf("Read(%s, %+v) on %q", startString(start), limits, l.Name())
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	checkReadShape(t, what, res, limits)
	return res
}

// checkReadShape checks what every ReadResult must satisfy whatever the
// log holds. It only reports errors, so goroutines may call it.
func checkReadShape(t testing.TB, what string, res storage.ReadResult, limits storage.ReadLimits) {
	t.Helper()
	if n, most := len(res.Records), max(limits.MaxRecords, 1); n > most {
		t.Errorf("%s: %d records, more than the %d allowed", what, n, most)
	}
	size := 0
	for i, r := range res.Records {
		size += len(r.Data) + len(r.Key)
		if r.Position == 0 {
			t.Errorf("%s: record %d has position 0", what, i)
		}
		if i > 0 && r.Position <= res.Records[i-1].Position {
			t.Errorf("%s: record %d at position %d follows position %d", what, i, r.Position, res.Records[i-1].Position)
		}
		if i > 0 && r.ArrivalTime < res.Records[i-1].ArrivalTime {
			t.Errorf("%s: record %d arrived at %d, before the record ahead of it (%d)", what, i, r.ArrivalTime, res.Records[i-1].ArrivalTime)
		}
	}
	if limits.MaxBytes > 0 && len(res.Records) > 1 && size > limits.MaxBytes {
		t.Errorf("%s: %d records of %d bytes exceed MaxBytes", what, len(res.Records), size)
	}
	if n := len(res.Records); n > 0 {
		last := res.Records[n-1]
		if res.Next != last.Position+1 {
			t.Errorf("%s: Next is %d, want one past the last record returned, %d", what, res.Next, last.Position+1)
		}
		if res.LastPosition < last.Position {
			t.Errorf("%s: LastPosition %d is before the returned record at %d", what, res.LastPosition, last.Position)
		}
		if res.LastArrival < last.ArrivalTime {
			t.Errorf("%s: LastArrival %d is before the returned record's arrival %d", what, res.LastArrival, last.ArrivalTime)
		}
	}
	if res.Next <= res.LastPosition && res.Sealed {
		t.Errorf("%s: Sealed is set but Next %d has not passed LastPosition %d", what, res.Next, res.LastPosition)
	}
}

// readAll reads the whole log page by page, following Next.
func readAll(t testing.TB, l storage.ShardLog) []storage.StoredRecord {
	t.Helper()
	var all []storage.StoredRecord
	start := storage.Oldest()
	for {
		res := mustRead(t, l, start, storage.ReadLimits{MaxRecords: 500})
		if len(res.Records) == 0 {
			return all
		}
		if len(all) > 0 && res.Records[0].Position <= all[len(all)-1].Position {
			t.Fatalf("reading %q: page starts at %d, not after %d", l.Name(), res.Records[0].Position, all[len(all)-1].Position)
		}
		all = append(all, res.Records...)
		start = storage.At(res.Next)
	}
}

// follow reads l from the oldest record to the end of the sealed log,
// waiting at the tip, as a push reader would.
func follow(ctx context.Context, t testing.TB, l storage.ShardLog, limits storage.ReadLimits) ([]storage.StoredRecord, error) {
	var got []storage.StoredRecord
	start := storage.Oldest()
	for {
		res, err := l.Read(ctx, start, limits)
		if err != nil {
			return got, err
		}
		checkReadShape(t, fmt.Sprintf("following %q with %+v", l.Name(), limits), res, limits)
		got = append(got, res.Records...)
		if res.Sealed {
			return got, nil
		}
		start = storage.At(res.Next)
		if len(res.Records) == 0 {
			// ErrSealed just means the next read reports the end.
			if err := l.Wait(ctx, res.Next); err != nil && !errors.Is(err, storage.ErrSealed) {
				return got, err
			}
		}
	}
}

func checkRecords(t testing.TB, what string, got, want []storage.StoredRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d records at %s, want %d at %s", what, len(got), positionList(got), len(want), positionList(want))
		return
	}
	shown := 0
	for i := range got {
		if d := diffRecord(got[i], want[i]); d != "" {
			if shown == 5 {
				t.Errorf("%s: more differing records not shown", what)
				return
			}
			shown++
			t.Errorf("%s: record %d: %s", what, i, d)
		}
	}
}

func diffRecord(got, want storage.StoredRecord) string {
	var d []string
	if got.Position != want.Position {
		d = append(d, fmt.Sprintf("position %d, want %d", got.Position, want.Position))
	}
	if got.ArrivalTime != want.ArrivalTime {
		d = append(d, fmt.Sprintf("arrival time %d, want %d", got.ArrivalTime, want.ArrivalTime))
	}
	if got.Key != want.Key {
		d = append(d, fmt.Sprintf("key %s, want %s", brief([]byte(got.Key)), brief([]byte(want.Key))))
	}
	if !bytes.Equal(got.Data, want.Data) {
		d = append(d, fmt.Sprintf("data %s, want %s", brief(got.Data), brief(want.Data)))
	}
	return strings.Join(d, "; ")
}

// brief shows a value short enough for an error message.
func brief(b []byte) string {
	if len(b) <= 48 {
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("%q... (%d bytes)", b[:48], len(b))
}

func positionList(recs []storage.StoredRecord) string {
	var sb strings.Builder
	sb.WriteByte('[')
	for i, r := range recs {
		if i == 8 && len(recs) > 10 {
			fmt.Fprintf(&sb, " ... %d", recs[len(recs)-1].Position)
			break
		}
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprint(&sb, r.Position)
	}
	sb.WriteByte(']')
	return sb.String()
}

func startString(s storage.Start) string {
	switch s.Kind {
	case storage.FromOldest:
		return "Oldest()"
	case storage.FromPosition:
		return fmt.Sprintf("At(%d)", s.Position)
	case storage.FromTime:
		return fmt.Sprintf("AtTime(%d)", s.Time)
	case storage.FromLatest:
		return "Latest()"
	}
	return fmt.Sprintf("%+v", s)
}

func wantErr(t testing.TB, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want %v", what, err, target)
	}
}

func mustInfo(t testing.TB, l storage.ShardLog) storage.LogInfo {
	t.Helper()
	info, err := l.Info(t.Context())
	if err != nil {
		t.Fatalf("Info on %q: %v", l.Name(), err)
	}
	return info
}

func mustSeal(t testing.TB, l storage.ShardLog) uint64 {
	t.Helper()
	p, err := l.Seal(t.Context())
	if err != nil {
		t.Fatalf("Seal of %q: %v", l.Name(), err)
	}
	return p
}

// checkBounds checks Info's FirstPosition and LastPosition against the
// records the log should hold.
func checkBounds(t testing.TB, what string, info storage.LogInfo, held []storage.StoredRecord) {
	t.Helper()
	var first, last uint64
	if n := len(held); n > 0 {
		first, last = held[0].Position, held[n-1].Position
	}
	if info.FirstPosition != first || info.LastPosition != last {
		t.Errorf("%s: Info has positions %d..%d, want %d..%d", what, info.FirstPosition, info.LastPosition, first, last)
	}
}

// checkGone checks that every method of l fails with target, as the
// methods of a deleted log or of a closed engine's log must.
func checkGone(t testing.TB, l storage.ShardLog, target error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), noWait)
	defer cancel()
	_, err := l.Append(ctx, batchOf("gone", 1))
	wantErr(t, "Append", err, target)
	_, err = l.Read(ctx, storage.Oldest(), storage.ReadLimits{MaxRecords: 10})
	wantErr(t, "Read", err, target)
	wantErr(t, "Wait", l.Wait(ctx, 1), target)
	_, err = l.Seal(ctx)
	wantErr(t, "Seal", err, target)
	_, err = l.Info(ctx)
	wantErr(t, "Info", err, target)
	wantErr(t, "SetRetention", l.SetRetention(ctx, time.Hour), target)
}

func concat(parts ...[]storage.StoredRecord) []storage.StoredRecord {
	var out []storage.StoredRecord
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// tagged builds the b-th batch writer w sends: n records whose data name
// them, so that a read can be traced back to its batch by checkBatches.
func tagged(w, b, n int) []storage.Record {
	batch := make([]storage.Record, n)
	for r := range batch {
		batch[r] = storage.Record{
			Key:  fmt.Sprintf("writer-%d", w),
			Data: []byte(fmt.Sprintf("w%d-b%d-r%d", w, b, r)),
		}
	}
	return batch
}

// checkBatches checks that recs consist of whole batches built by tagged,
// each contiguous, and each writer's batches in the order it sent them.
// size gives the length of each batch.
func checkBatches(t testing.TB, what string, recs []storage.StoredRecord, size func(w, b int) int) {
	t.Helper()
	lastBatch := map[int]int{}
	inBatch := false
	var w, b, r, n int
	for i, rec := range recs {
		var rw, rb, rr int
		if _, err := fmt.Sscanf(string(rec.Data), "w%d-b%d-r%d", &rw, &rb, &rr); err != nil {
			t.Errorf("%s: record %d holds data %s that no writer sent", what, i, brief(rec.Data))
			return
		}
		if !inBatch {
			if rr != 0 {
				t.Errorf("%s: record %d (w%d-b%d-r%d) starts in the middle of its batch", what, i, rw, rb, rr)
				return
			}
			if last, ok := lastBatch[rw]; ok && rb <= last {
				t.Errorf("%s: record %d: writer %d's batch %d comes after its batch %d", what, i, rw, rb, last)
				return
			}
			w, b, r, n, inBatch = rw, rb, -1, size(rw, rb), true
		}
		if rw != w || rb != b || rr != r+1 {
			t.Errorf("%s: record %d (w%d-b%d-r%d) interrupts batch w%d-b%d after %d of its %d records", what, i, rw, rb, rr, w, b, r+1, n)
			return
		}
		r = rr
		if r == n-1 {
			inBatch = false
			lastBatch[w] = b
		}
	}
	if inBatch {
		t.Errorf("%s: the last batch, w%d-b%d, stops after %d of its %d records", what, w, b, r+1, n)
	}
}
