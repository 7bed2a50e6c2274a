package storagetest

import (
	"slices"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
)

// checkInfoSame compares Info across a reopen. Bytes is an approximate
// footprint that compaction may change, and Created is compared to the
// millisecond.
func checkInfoSame(t testing.TB, what string, got, want storage.LogInfo) {
	t.Helper()
	if got.Created.UnixMilli() != want.Created.UnixMilli() {
		t.Errorf("%s: Created %v, want %v", what, got.Created, want.Created)
	}
	got.Created, want.Created = time.Time{}, time.Time{}
	got.Bytes, want.Bytes = 0, 0
	if got != want {
		t.Errorf("%s: Info %+v, want %+v", what, got, want)
	}
}

func testReopen(t *testing.T, h Harness) {
	f := newFixture(t, h)
	ctx := t.Context()
	names := []string{"kept", "plain", "sealed", "sealed-empty"}
	want := map[string][]storage.StoredRecord{}

	plain := f.createLog("plain", storage.LogOptions{})
	kept := f.createLog("kept", storage.LogOptions{Retention: 2 * time.Hour})
	sealed := f.createLog("sealed", storage.LogOptions{})
	sealedEmpty := f.createLog("sealed-empty", storage.LogOptions{})
	gone := f.createLog("gone", storage.LogOptions{})
	want["plain"] = concat(mustAppend(t, plain, batchOf("p1", 2)), mustAppend(t, plain, batchOf("p2", 3)))
	f.clock.Advance(time.Minute)
	want["kept"] = mustAppend(t, kept, batchOf("k", 2))
	want["sealed"] = mustAppend(t, sealed, batchOf("s", 2))
	mustAppend(t, gone, batchOf("g", 1))
	sealedAt := mustSeal(t, sealed)
	mustSeal(t, sealedEmpty)
	if err := f.e.DeleteLog(ctx, "gone"); err != nil {
		t.Fatalf("DeleteLog: %v", err)
	}
	if err := plain.SetRetention(ctx, 30*24*time.Hour); err != nil {
		t.Fatalf("SetRetention: %v", err)
	}

	m := f.e.Meta()
	mm := metaModel{}
	ra := mm.cas(t, m, "a", []byte("one"), 0)
	ra = mm.cas(t, m, "a", []byte("one, changed"), ra)
	mm.cas(t, m, "b", []byte("two"), 0)
	rc := mm.cas(t, m, "c", []byte("three"), 0)
	mm.del(t, m, "c", rc)

	infos := map[string]storage.LogInfo{}
	snapshot := func() {
		for _, name := range names {
			infos[name] = mustInfo(t, f.log(name))
		}
	}
	check := func(stage string) {
		t.Helper()
		checkList(t, stage, f.e, names)
		for _, name := range names {
			l := f.log(name)
			checkRecords(t, stage+": "+name, readAll(t, l), want[name])
			checkInfoSame(t, stage+": "+name, mustInfo(t, l), infos[name])
		}
		_, err := f.e.Log(ctx, "gone")
		wantErr(t, stage+": Log of the deleted log", err, storage.ErrNotFound)
		m := f.e.Meta()
		for _, k := range []string{"a", "b", "c"} {
			mm.checkGet(t, m, k)
		}
		mm.checkList(t, m, "")
	}
	snapshot()
	f.reopen()
	check("reopened")
	_, err := plain.Info(ctx)
	wantErr(t, "Info through a handle from before the reopen", err, storage.ErrClosed)

	// Appends continue past the old positions.
	plain = f.log("plain")
	more := mustAppend(t, plain, batchOf("p3", 2))
	if old := want["plain"]; more[0].Position <= old[len(old)-1].Position {
		t.Errorf("after reopening, the next position is %d, not after %d", more[0].Position, old[len(old)-1].Position)
	}
	want["plain"] = append(want["plain"], more...)
	// Sealed logs stay sealed.
	for _, name := range []string{"sealed", "sealed-empty"} {
		_, err := f.log(name).Append(ctx, batchOf("late", 1))
		wantErr(t, "Append to "+name+" after reopening", err, storage.ErrSealed)
	}
	if got := mustSeal(t, f.log("sealed")); got != sealedAt {
		t.Errorf("Seal after reopening returned %d, want %d", got, sealedAt)
	}
	if res := mustRead(t, f.log("sealed"), storage.Oldest(), storage.ReadLimits{MaxRecords: 100}); !res.Sealed {
		t.Error("after reopening, a read to the end of the sealed log does not report Sealed")
	}
	// Revisions go on increasing, even for a key deleted before the reopen.
	m = f.e.Meta()
	mm.cas(t, m, "a", []byte("one, changed again"), ra)
	if r := mm.cas(t, m, "c", []byte("three again"), 0); r <= rc {
		t.Errorf("a key re-created after reopening got revision %d, not above its old %d", r, rc)
	}
	snapshot()
	f.reopen()
	check("reopened twice")

	// Retention survives too: the kept log's records expire once the clock
	// passes its two hours, the plain log's thirty days keep them.
	f.clock.Advance(3 * time.Hour)
	f.reopen()
	checkRecords(t, "kept log 3h later", readAll(t, f.log("kept")), nil)
	checkRecords(t, "plain log 3h later", readAll(t, f.log("plain")), want["plain"])
	if got, err := f.e.ListLogs(ctx); err != nil || !slices.Equal(got, names) {
		t.Errorf("ListLogs 3h later = %q, %v; want %q", got, err, names)
	}
}
