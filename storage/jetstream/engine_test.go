package jetstream

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
)

// otherNode returns a handle on the log name with a tail cache of its own,
// as another node of a cluster would hold: appends through it and through
// the engine's own handles only learn of each other from the stream, by
// the expected-last-sequence checks failing.
func otherNode(t *testing.T, e *Engine, name string) *shardLog {
	t.Helper()
	kve, err := e.logsKV.Get(t.Context(), logKey(name))
	if err != nil {
		t.Fatalf("entry of %q: %v", name, err)
	}
	var entry logEntry
	if err := json.Unmarshal(kve.Value(), &entry); err != nil {
		t.Fatal(err)
	}
	return &shardLog{st: newLogState(e, name, entry, kve.Revision())}
}

type ack struct {
	view, writer, batch int
	app                 []storage.Appended
}

// TestSealFenceAcrossViews races writers on three views of one log (the
// engine's and two with their own tail caches) against a Seal through one
// of the others. The fence must hold in the stream itself, not just in
// one engine's memory: no acknowledged append lands after the sealed
// position, every append begun after Seal returned fails with ErrSealed on
// every view, and the log holds exactly the acknowledged batches, whole.
func TestSealFenceAcrossViews(t *testing.T) {
	for round := range 3 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			e := openTest(t, t.TempDir(), time.Now)
			defer e.Close()
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			own, err := e.CreateLog(ctx, "fence", storage.LogOptions{})
			if err != nil {
				t.Fatal(err)
			}
			views := []storage.ShardLog{own, otherNode(t, e, "fence"), otherNode(t, e, "fence")}

			const writersPerView = 3
			var (
				mu           sync.Mutex
				acks         []ack
				sealReturned atomic.Bool
				enough       = make(chan struct{})
				count        atomic.Int64
				wg           sync.WaitGroup
			)
			for v, l := range views {
				for w := range writersPerView {
					wg.Go(func() {
						for b := 0; ; b++ {
							late := sealReturned.Load()
							batch := []storage.Record{
								{Key: fmt.Sprintf("v%d-w%d", v, w), Data: fmt.Appendf(nil, "v%d-w%d-b%d-r0", v, w, b)},
								{Key: fmt.Sprintf("v%d-w%d", v, w), Data: fmt.Appendf(nil, "v%d-w%d-b%d-r1", v, w, b)},
							}
							app, err := l.Append(ctx, batch)
							if errors.Is(err, storage.ErrSealed) {
								return
							}
							if err != nil {
								t.Errorf("view %d writer %d: %v", v, w, err)
								return
							}
							if late {
								t.Errorf("view %d writer %d: an append begun after Seal returned landed at %d", v, w, app[0].Position)
								return
							}
							mu.Lock()
							acks = append(acks, ack{v, w, b, app})
							mu.Unlock()
							if count.Add(1) == 60 {
								close(enough)
							}
						}
					})
				}
			}
			select {
			case <-enough:
			case <-ctx.Done():
				t.Fatal("the writers did not append 60 batches")
			}
			sealer := views[1+round%2]
			sealedAt, err := sealer.Seal(ctx)
			if err != nil {
				t.Fatalf("Seal: %v", err)
			}
			sealReturned.Store(true)
			wg.Wait()

			// Every view refuses, whatever its cache held.
			for v, l := range views {
				if _, err := l.Append(ctx, []storage.Record{{Key: "late", Data: []byte("late")}}); !errors.Is(err, storage.ErrSealed) {
					t.Errorf("view %d: Append after the seal: %v, want ErrSealed", v, err)
				}
				if p, err := l.Seal(ctx); err != nil || p != sealedAt {
					t.Errorf("view %d: Seal again = %d, %v; want %d", v, p, err, sealedAt)
				}
			}

			var want []storage.StoredRecord
			for _, a := range acks {
				for i, p := range a.app {
					if p.Position > sealedAt {
						t.Errorf("view %d writer %d batch %d: acknowledged at %d, past the sealed position %d", a.view, a.writer, a.batch, p.Position, sealedAt)
					}
					want = append(want, storage.StoredRecord{
						Record:   storage.Record{Key: fmt.Sprintf("v%d-w%d", a.view, a.writer), Data: fmt.Appendf(nil, "v%d-w%d-b%d-r%d", a.view, a.writer, a.batch, i)},
						Position: p.Position, ArrivalTime: p.ArrivalTime,
					})
				}
			}
			slices.SortFunc(want, func(a, b storage.StoredRecord) int { return cmp.Compare(a.Position, b.Position) })
			if n := len(want); n == 0 || want[n-1].Position != sealedAt {
				t.Errorf("Seal returned %d, the last acknowledged record is at %v", sealedAt, lastPosition(want))
			}
			got := readEverything(t, own)
			if !sameRecords(got, want) {
				t.Errorf("the sealed log holds %d records, %d were acknowledged (first difference at %d)", len(got), len(want), firstDifference(got, want))
			}
		})
	}
}

func lastPosition(recs []storage.StoredRecord) any {
	if len(recs) == 0 {
		return "none"
	}
	return recs[len(recs)-1].Position
}

// readEverything reads l from its oldest record to its end.
func readEverything(t testing.TB, l storage.ShardLog) []storage.StoredRecord {
	t.Helper()
	var all []storage.StoredRecord
	for start := storage.Oldest(); ; {
		res, err := l.Read(t.Context(), start, storage.ReadLimits{MaxRecords: 1000})
		if err != nil {
			t.Fatalf("Read of %q: %v", l.Name(), err)
		}
		if len(res.Records) == 0 {
			return all
		}
		all = append(all, res.Records...)
		start = storage.At(res.Next)
	}
}

func sameRecords(got, want []storage.StoredRecord) bool {
	return firstDifference(got, want) < 0
}

// firstDifference is the index of the first record that differs, or -1.
func firstDifference(got, want []storage.StoredRecord) int {
	for i := range max(len(got), len(want)) {
		if i >= len(got) || i >= len(want) {
			return i
		}
		g, w := got[i], want[i]
		if g.Position != w.Position || g.ArrivalTime != w.ArrivalTime || g.Key != w.Key || !bytes.Equal(g.Data, w.Data) {
			return i
		}
	}
	return -1
}

// TestRestartKeepsPositions appends from concurrent writers to several
// logs, seals one, closes the engine and reopens it on the same directory
// twice: every acknowledged record is there at the position and arrival
// time Append returned, and appends go on after them.
func TestRestartKeepsPositions(t *testing.T) {
	dir := t.TempDir()
	e := openTest(t, dir, time.Now)
	ctx := t.Context()
	const logs, writers, batches = 4, 6, 30
	want := make([][]storage.StoredRecord, logs)
	var mu sync.Mutex
	var wg sync.WaitGroup
	ls := make([]storage.ShardLog, logs)
	for i := range ls {
		var err error
		if ls[i], err = e.CreateLog(ctx, fmt.Sprintf("restart-%d", i), storage.LogOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				i := (w + b) % logs
				batch := make([]storage.Record, 1+b%5)
				for r := range batch {
					batch[r] = storage.Record{Key: fmt.Sprint(w), Data: fmt.Appendf(nil, "w%d-b%d-r%d", w, b, r)}
				}
				app, err := ls[i].Append(ctx, batch)
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				mu.Lock()
				for r := range batch {
					want[i] = append(want[i], storage.StoredRecord{Record: batch[r], Position: app[r].Position, ArrivalTime: app[r].ArrivalTime})
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	sealedAt, err := ls[0].Seal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		slices.SortFunc(want[i], func(a, b storage.StoredRecord) int { return cmp.Compare(a.Position, b.Position) })
	}

	for round := range 2 {
		if err := e.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		e = openTest(t, dir, time.Now)
		for i := range logs {
			l, err := e.Log(ctx, fmt.Sprintf("restart-%d", i))
			if err != nil {
				t.Fatalf("round %d: Log: %v", round, err)
			}
			if got := readEverything(t, l); !sameRecords(got, want[i]) {
				t.Errorf("round %d: log %d holds %d records, %d were acknowledged (first difference at %d)", round, i, len(got), len(want[i]), firstDifference(got, want[i]))
			}
			info, err := l.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				if !info.Sealed || info.SealedAt != sealedAt {
					t.Errorf("round %d: the sealed log's Info has Sealed %v at %d, want at %d", round, info.Sealed, info.SealedAt, sealedAt)
				}
				continue
			}
			app, err := l.Append(ctx, []storage.Record{{Key: "after", Data: fmt.Appendf(nil, "round %d", round)}})
			if err != nil {
				t.Fatalf("round %d: Append after reopening: %v", round, err)
			}
			if last := want[i][len(want[i])-1]; app[0].Position <= last.Position {
				t.Errorf("round %d: log %d appended at %d after reopening, not after %d", round, i, app[0].Position, last.Position)
			}
			want[i] = append(want[i], storage.StoredRecord{Record: storage.Record{Key: "after", Data: fmt.Appendf(nil, "round %d", round)}, Position: app[0].Position, ArrivalTime: app[0].ArrivalTime})
		}
	}
	_ = e.Close()
}

// TestDirectoryLock: a second engine on a directory in use fails to open,
// rather than run a second server over the same store.
func TestDirectoryLock(t *testing.T) {
	dir := t.TempDir()
	e := openTest(t, dir, time.Now)
	if e2, err := Open(t.Context(), Options{Dir: dir}); err == nil {
		_ = e2.Close()
		t.Fatal("a second engine opened a directory in use")
	}
	_ = e.Close()
	e = openTest(t, dir, time.Now) // free again once closed
	_ = e.Close()
}

// TestBatchLimits: batches too large for one message fail whole with
// ErrTooLarge, and the log is unchanged.
func TestBatchLimits(t *testing.T) {
	e := openTest(t, t.TempDir(), time.Now)
	defer e.Close()
	l, err := e.CreateLog(t.Context(), "limits", storage.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, storage.MaxRecordData)
	cases := []struct {
		name  string
		batch []storage.Record
	}{
		{"more records than an index holds", make([]storage.Record, maxBatch+1)},
		// Seven records of 10 MiB share one array: 70 MiB to encode,
		// over the 64 MiB a message may hold.
		{"more bytes than a message holds", []storage.Record{{Data: big}, {Data: big}, {Data: big}, {Data: big}, {Data: big}, {Data: big}, {Data: big}}},
	}
	for _, tc := range cases {
		if _, err := l.Append(t.Context(), tc.batch); !errors.Is(err, storage.ErrTooLarge) {
			t.Errorf("%s: Append: %v, want ErrTooLarge", tc.name, err)
		}
	}
	// The largest batch that fits goes through whole.
	app, err := l.Append(t.Context(), make([]storage.Record, maxBatch))
	if err != nil {
		t.Fatalf("Append of %d records: %v", maxBatch, err)
	}
	if first, last := app[0].Position, app[maxBatch-1].Position; last-first != maxBatch-1 || seqOf(first) != seqOf(last) {
		t.Errorf("a batch of %d records got positions %d..%d, want one message's", maxBatch, first, last)
	}
	if got := readEverything(t, l); len(got) != maxBatch {
		t.Errorf("the log holds %d records, want %d", len(got), maxBatch)
	}
}

// TestOtherWritersMoveTheTail: appends, a seal and a delete made through
// a view with its own tail cache (as another node would make them) reach
// the engine's own handles through the stream's republished headers:
// waiters wake, Info sees the new tail, and a deleted log is gone.
func TestOtherWritersMoveTheTail(t *testing.T) {
	e := openTest(t, t.TempDir(), time.Now)
	defer e.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	own, err := e.CreateLog(ctx, "tail", storage.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	other := otherNode(t, e, "tail")

	woken := make(chan error, 1)
	go func() { woken <- own.Wait(ctx, 1) }()
	app, err := other.Append(ctx, []storage.Record{{Key: "k", Data: []byte("from the other writer")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-woken; err != nil {
		t.Fatalf("Wait on the engine's handle, for another writer's append: %v", err)
	}
	info, err := own.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.LastPosition != app[0].Position || info.LastArrival != app[0].ArrivalTime {
		t.Errorf("Info after another writer's append: last %d at %d, want %d at %d", info.LastPosition, info.LastArrival, app[0].Position, app[0].ArrivalTime)
	}
	// The engine's next append expects the other writer's message.
	mine, err := own.Append(ctx, []storage.Record{{Key: "k", Data: []byte("mine")}})
	if err != nil || mine[0].Position <= app[0].Position {
		t.Fatalf("Append after another writer's: %v, %v", mine, err)
	}

	go func() { woken <- own.Wait(ctx, mine[0].Position+1) }()
	sealedAt, err := other.Seal(ctx)
	if err != nil || sealedAt != mine[0].Position {
		t.Fatalf("Seal through the other writer = %d, %v; want %d", sealedAt, err, mine[0].Position)
	}
	if err := <-woken; !errors.Is(err, storage.ErrSealed) {
		t.Errorf("Wait past the end while another writer sealed: %v, want ErrSealed", err)
	}

	// A sealed log can be deleted (a tombstone may follow a seal).
	if err := e.DeleteLog(ctx, "tail"); err != nil {
		t.Fatalf("DeleteLog of a sealed log: %v", err)
	}

	// Deleted elsewhere: the entry first, then the tombstone, as
	// DeleteLog does. The engine's waiter learns it from the tombstone.
	gone, err := e.CreateLog(ctx, "gone", storage.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	elsewhere := otherNode(t, e, "gone")
	go func() { woken <- gone.Wait(ctx, 1) }()
	if err := e.logsKV.Delete(ctx, logKey("gone")); err != nil {
		t.Fatal(err)
	}
	elsewhere.st.mu.Lock()
	err = elsewhere.st.writeTombstone(ctx)
	elsewhere.st.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if err := <-woken; !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Wait on a log another writer deleted: %v, want ErrNotFound", err)
	}
	if _, err := e.Log(ctx, "gone"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Log of a log another writer deleted: %v, want ErrNotFound", err)
	}
	fresh, err := e.CreateLog(ctx, "gone", storage.LogOptions{})
	if err != nil {
		t.Fatalf("CreateLog of the name another writer deleted: %v", err)
	}
	if got := readEverything(t, fresh); len(got) != 0 {
		t.Errorf("the re-created log holds %d records", len(got))
	}
	for _, l := range []storage.ShardLog{gone, elsewhere} {
		if _, err := l.Append(ctx, []storage.Record{{Key: "k", Data: []byte("late")}}); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Append through a handle on the deleted log: %v, want ErrNotFound", err)
		}
	}
}

// TestClusterPlacements: a cluster's default is one placement for every
// replicas nodes, its own route address counted once whether or not its
// peers name it.
func TestClusterPlacements(t *testing.T) {
	for _, tc := range []struct {
		listen   string
		peers    []string
		replicas int
		want     int
	}{
		{"a:1", []string{"a:1", "b:1", "c:1"}, 3, 1},
		{"a:1", []string{"b:1", "c:1"}, 3, 1},
		{"a:1", []string{"a:1", "b:1", "c:1", "d:1", "e:1", "f:1"}, 3, 2},
		{"a:1", []string{"b:1", "c:1", "d:1", "e:1", "f:1"}, 3, 2},
		{"a:1", []string{"a:1", "b:1", "c:1"}, 1, 3},
		{"a:1", []string{"a:1", "b:1", "c:1"}, 2, 1},
		{"a:1", []string{"b:1", "c:1"}, 5, 1},
	} {
		c := &Cluster{Listen: tc.listen, Peers: tc.peers, Replicas: tc.replicas}
		if got := clusterPlacements(c, tc.replicas); got != tc.want {
			t.Errorf("%s with peers %v, R%d: %d placements, want %d", tc.listen, tc.peers, tc.replicas, got, tc.want)
		}
	}
}

// TestFewerPlacements: an engine opened with fewer placements than an
// earlier run keeps the logs of the others readable and writable, puts new
// logs in its own, and names every placement stream that holds logs, for
// a drain to move (streamNames).
func TestFewerPlacements(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	open := func(placements int) *Engine {
		e, err := Open(ctx, Options{Dir: dir, Placements: placements})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	e := open(4)
	for i := range 4 {
		l, err := e.CreateLog(ctx, fmt.Sprintf("old-%d", i), storage.LogOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(ctx, []storage.Record{{Key: "k", Data: []byte("before")}}); err != nil {
			t.Fatal(err)
		}
	}
	placementsOf := func(e *Engine) []string {
		return slices.DeleteFunc(e.streamNames(), func(s string) bool { return !strings.HasPrefix(s, logStreamPrefix) })
	}
	want := []string{"TRIBUTARY_LOGS_0", "TRIBUTARY_LOGS_1", "TRIBUTARY_LOGS_2", "TRIBUTARY_LOGS_3"}
	if got := placementsOf(e); !slices.Equal(got, want) {
		t.Fatalf("placement streams %v, want %v", got, want)
	}
	e.Close()

	e = open(1)
	defer e.Close()
	if got := placementsOf(e); !slices.Equal(got, want) {
		t.Errorf("reopened with 1 placement: placement streams %v, want %v", got, want)
	}
	for i := range 4 {
		l, err := e.Log(ctx, fmt.Sprintf("old-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(ctx, []storage.Record{{Key: "k", Data: []byte("after")}}); err != nil {
			t.Fatal(err)
		}
		if got := readEverything(t, l); len(got) != 2 || string(got[0].Data) != "before" || string(got[1].Data) != "after" {
			t.Errorf("old-%d holds %d records after reopening, want before and after", i, len(got))
		}
	}
	for i := range 3 {
		if _, err := e.CreateLog(ctx, fmt.Sprintf("new-%d", i), storage.LogOptions{}); err != nil {
			t.Fatal(err)
		}
		if st := e.logs[fmt.Sprintf("new-%d", i)]; st == nil || st.stream != "TRIBUTARY_LOGS_0" {
			t.Errorf("new-%d is not in TRIBUTARY_LOGS_0, the only placement", i)
		}
	}
}
