package storagetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
)

func checkList(t testing.TB, what string, e storage.Engine, want []string) {
	t.Helper()
	got, err := e.ListLogs(t.Context())
	if err != nil {
		t.Fatalf("%s: ListLogs: %v", what, err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: ListLogs = %q, want %q", what, got, want)
	}
}

func testLogLifecycle(t *testing.T, h Harness) {
	f := newFixture(t, h)
	ctx := t.Context()
	checkList(t, "new engine", f.e, nil)
	_, err := f.e.Log(ctx, "missing")
	wantErr(t, "Log of a missing log", err, storage.ErrNotFound)

	alpha := f.createLog("alpha", storage.LogOptions{})
	recs := mustAppend(t, alpha, batchOf("alpha", 2))
	_, err = f.e.CreateLog(ctx, "alpha", storage.LogOptions{Retention: time.Hour})
	wantErr(t, "CreateLog of an existing log", err, storage.ErrExists)
	// The failed create left the log as it was.
	if got := mustInfo(t, alpha).Retention; got != 0 {
		t.Errorf("the existing log's retention became %v", got)
	}
	again := f.log("alpha")
	checkRecords(t, "the existing log through a new handle", readAll(t, again), recs)
	more := mustAppend(t, again, batchOf("again", 1))
	checkRecords(t, "appends through either handle", readAll(t, alpha), concat(recs, more))

	for _, name := range []string{"beta", "Gamma", "alpha-2"} {
		f.createLog(name, storage.LogOptions{})
	}
	// Byte order: upper case sorts before lower case.
	checkList(t, "four logs", f.e, []string{"Gamma", "alpha", "alpha-2", "beta"})

	if err := f.e.DeleteLog(ctx, "alpha"); err != nil {
		t.Fatalf("DeleteLog: %v", err)
	}
	wantErr(t, "DeleteLog of a deleted log", f.e.DeleteLog(ctx, "alpha"), storage.ErrNotFound)
	wantErr(t, "DeleteLog of a log never created", f.e.DeleteLog(ctx, "never"), storage.ErrNotFound)
	_, err = f.e.Log(ctx, "alpha")
	wantErr(t, "Log of a deleted log", err, storage.ErrNotFound)
	checkList(t, "after DeleteLog", f.e, []string{"Gamma", "alpha-2", "beta"})
	checkGone(t, alpha, storage.ErrNotFound)
	checkGone(t, again, storage.ErrNotFound)
	// Neighbours, one of them sharing a prefix, are untouched.
	for _, name := range []string{"alpha-2", "beta"} {
		if info := mustInfo(t, f.log(name)); info.Name != name || info.Sealed {
			t.Errorf("after deleting alpha, Info of %q = %+v", name, info)
		}
	}
}

func testLogNames(t *testing.T, h Harness) {
	f := newFixture(t, h)
	ctx := t.Context()
	cases := []struct {
		name  string
		valid bool
	}{
		{"", false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{"/abs", false},
		{`a\b`, false},
		{"a b", false},
		{"tab\tname", false},
		{"nul\x00", false},
		{"del\x7f", false},
		{"caf\u00e9", false},
		{strings.Repeat("x", 256), false},
		{"x", true},
		{strings.Repeat("y", 255), true},
		{"...", true},
		{".hidden", true},
		{"a.b-c_d~e!f", true},
		{`q?*<>"|:`, true},
		{"CaseName", true},
		{"casename", true},
		{"stream/0", false},
		{"stream:0|shard-000000000001", true},
	}
	var valid []string
	for _, tc := range cases {
		if storage.ValidLogName(tc.name) != tc.valid {
			t.Fatalf("the test takes %q to be valid=%v, storage.ValidLogName does not", tc.name, tc.valid)
		}
		_, err := f.e.CreateLog(ctx, tc.name, storage.LogOptions{})
		switch {
		case tc.valid && err != nil:
			t.Errorf("CreateLog(%q): %v", tc.name, err)
		case !tc.valid && err == nil:
			t.Errorf("CreateLog(%q) accepted an invalid name", tc.name)
		case tc.valid:
			valid = append(valid, tc.name)
		}
	}
	slices.Sort(valid)
	checkList(t, "after creating valid and invalid names", f.e, valid)
	for _, name := range valid {
		l := f.log(name)
		recs := mustAppend(t, l, batchOf("n", 1))
		checkRecords(t, fmt.Sprintf("log %q", name), readAll(t, l), recs)
	}
}

func testDeletedHandle(t *testing.T, h Harness) {
	f := newFixture(t, h)
	old := f.createLog("recycled", storage.LogOptions{Retention: time.Hour})
	mustAppend(t, old, batchOf("old", 3))
	if err := f.e.DeleteLog(t.Context(), "recycled"); err != nil {
		t.Fatalf("DeleteLog: %v", err)
	}
	checkGone(t, old, storage.ErrNotFound)

	fresh := f.createLog("recycled", storage.LogOptions{})
	info := mustInfo(t, fresh)
	if info.FirstPosition != 0 || info.LastPosition != 0 || info.LastArrival != 0 || info.Sealed || info.Retention != 0 {
		t.Errorf("a log re-created under a deleted name starts with Info %+v", info)
	}
	checkRecords(t, "re-created log", readAll(t, fresh), nil)
	// The old handle stays dead: it does not reach the new log of the same
	// name, neither to read nor to append or seal.
	checkGone(t, old, storage.ErrNotFound)
	recs := mustAppend(t, fresh, batchOf("new", 2))
	checkRecords(t, "re-created log after appending", readAll(t, f.log("recycled")), recs)
	if info := mustInfo(t, fresh); info.Sealed {
		t.Error("sealing through the old handle sealed the new log")
	}
}

func testManyLogs(t *testing.T, h Harness) {
	f := newFixture(t, h)
	const n = 2000
	// "log-10" sorts before "log-9", so the listing is checked for byte
	// order, not creation order or numeric order.
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("log-%d", i)
	}
	want := make(map[string][]storage.StoredRecord, n)
	for _, i := range rand.New(rand.NewPCG(3, 4)).Perm(n) {
		name := names[i]
		want[name] = mustAppend(t, f.createLog(name, storage.LogOptions{}), batchOf(name, 1+i%3))
	}
	sorted := slices.Sorted(slices.Values(names))
	check := func(stage string) {
		t.Helper()
		checkList(t, stage, f.e, sorted)
		for _, name := range names {
			checkRecords(t, fmt.Sprintf("%s: log %q", stage, name), readAll(t, f.log(name)), want[name])
			if t.Failed() {
				return
			}
		}
	}
	check("created")
	if h.Durable {
		f.reopen()
		check("reopened")
	}
}

func testInfo(t *testing.T, h Harness) {
	f := newFixture(t, h)
	created := f.clock.Now()
	l := f.createLog("info", storage.LogOptions{Retention: 90 * time.Minute})
	info := mustInfo(t, l)
	if info.Created.UnixMilli() != created.UnixMilli() {
		t.Errorf("Info.Created = %v, want the clock's %v", info.Created, created)
	}
	info.Created, info.Bytes = time.Time{}, 0
	if want := (storage.LogInfo{Name: "info", Retention: 90 * time.Minute}); info != want {
		t.Errorf("Info of a new log = %+v, want %+v", info, want)
	}

	f.clock.Advance(time.Second)
	batch := []storage.Record{
		{Key: "a", Data: make([]byte, 1024)},
		{Key: "b", Data: make([]byte, 1024)},
	}
	recs := mustAppend(t, l, batch)
	// Another log's records are no part of this one's Info.
	mustAppend(t, f.createLog("info-other", storage.LogOptions{}), batchOf("other", 5))
	info = mustInfo(t, l)
	if info.Bytes <= 0 {
		t.Errorf("Info.Bytes = %d after appending 2 KiB", info.Bytes)
	}
	if info.Created.UnixMilli() != created.UnixMilli() {
		t.Errorf("Info.Created changed to %v", info.Created)
	}
	info.Created, info.Bytes = time.Time{}, 0
	want := storage.LogInfo{
		Name:          "info",
		Retention:     90 * time.Minute,
		FirstPosition: recs[0].Position,
		LastPosition:  recs[1].Position,
		LastArrival:   recs[1].ArrivalTime,
	}
	if info != want {
		t.Errorf("Info after appending = %+v, want %+v", info, want)
	}
}

func testClosed(t *testing.T, h Harness) {
	f := newFixture(t, h)
	ctx := t.Context()
	l := f.createLog("closed", storage.LogOptions{})
	mustAppend(t, l, batchOf("a", 2))
	m := f.e.Meta()
	rev, err := m.CompareAndSwap(ctx, "key", []byte("value"), 0)
	if err != nil {
		t.Fatalf("CompareAndSwap: %v", err)
	}

	for i := range 2 {
		if err := f.e.Close(); err != nil {
			t.Errorf("Close #%d: %v", i+1, err)
		}
	}
	_, err = f.e.CreateLog(ctx, "new", storage.LogOptions{})
	wantErr(t, "CreateLog", err, storage.ErrClosed)
	_, err = f.e.Log(ctx, "closed")
	wantErr(t, "Log", err, storage.ErrClosed)
	_, err = f.e.ListLogs(ctx)
	wantErr(t, "ListLogs", err, storage.ErrClosed)
	wantErr(t, "DeleteLog", f.e.DeleteLog(ctx, "closed"), storage.ErrClosed)
	for what, m := range map[string]storage.MetaStore{"Meta taken before Close": m, "Meta taken after Close": f.e.Meta()} {
		_, err = m.Get(ctx, "key")
		wantErr(t, what+": Get", err, storage.ErrClosed)
		_, err = m.List(ctx, "")
		wantErr(t, what+": List", err, storage.ErrClosed)
		_, err = m.CompareAndSwap(ctx, "key", []byte("other"), rev)
		wantErr(t, what+": CompareAndSwap", err, storage.ErrClosed)
		wantErr(t, what+": Delete", m.Delete(ctx, "key", rev), storage.ErrClosed)
	}
	checkGone(t, l, storage.ErrClosed)
	if got := l.Name(); got != "closed" {
		t.Errorf("Name() after Close = %q", got)
	}
}
