package storagetest

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tributary-io/tributary/storage"
)

// metaModel is what the catalogue should hold, kept by the test alongside
// the engine's.
type metaModel map[string]storage.MetaEntry

func (mm metaModel) cas(t testing.TB, m storage.MetaStore, key string, value []byte, rev uint64) uint64 {
	t.Helper()
	got, err := m.CompareAndSwap(t.Context(), key, value, rev)
	if err != nil {
		t.Fatalf("CompareAndSwap(%q, rev %d): %v", key, rev, err)
	}
	if got <= rev {
		t.Errorf("CompareAndSwap(%q, rev %d) returned revision %d, not an increase", key, rev, got)
	}
	mm[key] = storage.MetaEntry{Key: key, Value: value, Revision: got}
	return got
}

func (mm metaModel) del(t testing.TB, m storage.MetaStore, key string, rev uint64) {
	t.Helper()
	if err := m.Delete(t.Context(), key, rev); err != nil {
		t.Fatalf("Delete(%q, rev %d): %v", key, rev, err)
	}
	delete(mm, key)
}

// checkGet checks Get of key, and Revision of it, against the model.
func (mm metaModel) checkGet(t testing.TB, m storage.MetaStore, key string) {
	t.Helper()
	got, err := m.Get(t.Context(), key)
	rev, rerr := m.Revision(t.Context(), key)
	want, ok := mm[key]
	if !ok {
		wantErr(t, fmt.Sprintf("Get(%q) of a missing key", key), err, storage.ErrNotFound)
		wantErr(t, fmt.Sprintf("Revision(%q) of a missing key", key), rerr, storage.ErrNotFound)
		return
	}
	if rerr != nil || rev != want.Revision {
		t.Errorf("Revision(%q) = %d, %v; want %d", key, rev, rerr, want.Revision)
	}
	if err != nil {
		t.Errorf("Get(%q): %v", key, err)
		return
	}
	if d := diffEntry(got, want); d != "" {
		t.Errorf("Get(%q): %s", key, d)
	}
}

func (mm metaModel) checkList(t testing.TB, m storage.MetaStore, prefix string) {
	t.Helper()
	got, err := m.List(t.Context(), prefix)
	if err != nil {
		t.Errorf("List(%q): %v", prefix, err)
		return
	}
	var want []storage.MetaEntry
	for _, k := range slices.Sorted(maps.Keys(mm)) {
		if strings.HasPrefix(k, prefix) {
			want = append(want, mm[k])
		}
	}
	if len(got) != len(want) {
		t.Errorf("List(%q) returned keys %q, want %q", prefix, entryKeys(got), entryKeys(want))
		return
	}
	for i := range got {
		if d := diffEntry(got[i], want[i]); d != "" {
			t.Errorf("List(%q) entry %d: %s", prefix, i, d)
		}
	}
}

func diffEntry(got, want storage.MetaEntry) string {
	if got.Key != want.Key || got.Revision != want.Revision || !bytes.Equal(got.Value, want.Value) {
		return fmt.Sprintf("got key %q rev %d value %s, want key %q rev %d value %s",
			got.Key, got.Revision, brief(got.Value), want.Key, want.Revision, brief(want.Value))
	}
	return ""
}

func entryKeys(es []storage.MetaEntry) []string {
	keys := make([]string, len(es))
	for i, e := range es {
		keys[i] = e.Key
	}
	return keys
}

func testMeta(t *testing.T, h Harness) {
	f := newFixture(t, h)
	ctx := t.Context()
	m := f.e.Meta()
	mm := metaModel{}
	const key = "streams/orders"

	mm.checkGet(t, m, key)
	_, err := m.CompareAndSwap(ctx, key, []byte("v0"), 7)
	wantErr(t, "CompareAndSwap of a missing key with revision 7", err, storage.ErrConflict)
	r1 := mm.cas(t, m, key, []byte("v1"), 0)
	mm.checkGet(t, m, key)

	for _, rev := range []uint64{0, r1 + 1} {
		_, err = m.CompareAndSwap(ctx, key, []byte("v2"), rev)
		wantErr(t, fmt.Sprintf("CompareAndSwap at revision %d of a key at %d", rev, r1), err, storage.ErrConflict)
	}
	mm.checkGet(t, m, key)
	r2 := mm.cas(t, m, key, []byte("v2"), r1)
	_, err = m.CompareAndSwap(ctx, key, []byte("v3"), r1)
	wantErr(t, "CompareAndSwap with a stale revision", err, storage.ErrConflict)
	mm.checkGet(t, m, key)

	for _, rev := range []uint64{0, r1, r2 + 1} {
		wantErr(t, fmt.Sprintf("Delete at revision %d of a key at %d", rev, r2), m.Delete(ctx, key, rev), storage.ErrConflict)
	}
	mm.checkGet(t, m, key)
	wantErr(t, "Delete of a missing key", m.Delete(ctx, "missing", 1), storage.ErrNotFound)
	mm.del(t, m, key, r2)
	mm.checkGet(t, m, key)
	wantErr(t, "Delete of a deleted key", m.Delete(ctx, key, r2), storage.ErrNotFound)
	_, err = m.CompareAndSwap(ctx, key, []byte("v3"), r2)
	wantErr(t, "CompareAndSwap of a deleted key at its old revision", err, storage.ErrConflict)
	// "Revision increases on every change to the key": deleting and
	// re-creating are changes, so a revision read before the delete can
	// never match again.
	if r3 := mm.cas(t, m, key, []byte("v3"), 0); r3 <= r2 {
		t.Errorf("re-created key got revision %d, not above the deleted one's %d", r3, r2)
	}
	mm.checkGet(t, m, key)

	big := make([]byte, 1<<20)
	rand.NewChaCha8([32]byte{2}).Read(big)
	mm.cas(t, m, "values/largest", big, 0)
	mm.cas(t, m, "values/empty", []byte{}, 0)
	mm.cas(t, m, "values/nil", nil, 0)
	for _, k := range []string{"values/largest", "values/empty", "values/nil"} {
		mm.checkGet(t, m, k)
	}

	for _, k := range []string{"streams/b", "consumers/z", "streams/a/x", "streams", "streams/a", "streamsX", "streams/", "a", "z\xff"} {
		mm.cas(t, m, k, []byte("value of "+k), 0)
	}
	for _, prefix := range []string{"", "streams/", "streams", "streams/a", "values/", "nothing/", "z", "streams/orders/"} {
		mm.checkList(t, m, prefix)
	}
}

// testMetaConcurrentCAS has goroutines increment one counter with
// read-modify-CompareAndSwap loops: every increment lands exactly once.
func testMetaConcurrentCAS(t *testing.T, h Harness) {
	f := newFixture(t, h)
	ctx := t.Context()
	m := f.e.Meta()
	const workers, increments, key = 16, 25, "counters/shared"
	type win struct {
		value int
		rev   uint64
	}
	wins := make([][]win, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range increments {
				for {
					var cur int
					var rev uint64
					e, err := m.Get(ctx, key)
					switch {
					case errors.Is(err, storage.ErrNotFound):
					case err != nil:
						t.Errorf("worker %d: Get: %v", w, err)
						return
					default:
						if cur, err = strconv.Atoi(string(e.Value)); err != nil {
							t.Errorf("worker %d: counter holds %q", w, e.Value)
							return
						}
						rev = e.Revision
					}
					nr, err := m.CompareAndSwap(ctx, key, []byte(strconv.Itoa(cur+1)), rev)
					if errors.Is(err, storage.ErrConflict) {
						continue
					}
					if err != nil {
						t.Errorf("worker %d: CompareAndSwap: %v", w, err)
						return
					}
					wins[w] = append(wins[w], win{cur + 1, nr})
					break
				}
			}
		})
	}
	wg.Wait()

	all := slices.Concat(wins...)
	slices.SortFunc(all, func(a, b win) int { return cmp.Compare(a.value, b.value) })
	const total = workers * increments
	if len(all) != total {
		t.Fatalf("%d increments succeeded, want %d", len(all), total)
	}
	for i, w := range all {
		if w.value != i+1 {
			t.Fatalf("the successful increments wrote %d where %d was due: two increments read the same value", w.value, i+1)
		}
		if i > 0 && w.rev <= all[i-1].rev {
			t.Fatalf("value %d got revision %d, not above value %d's %d", w.value, w.rev, all[i-1].value, all[i-1].rev)
		}
	}
	e, err := m.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if string(e.Value) != strconv.Itoa(total) || e.Revision != all[total-1].rev {
		t.Errorf("the counter ends at %q rev %d, want %q rev %d", e.Value, e.Revision, strconv.Itoa(total), all[total-1].rev)
	}
}
