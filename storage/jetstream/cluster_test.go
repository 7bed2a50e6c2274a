package jetstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
	"github.com/tributary-io/tributary/storage/storagetest"
)

// freeAddrs returns n loopback addresses with ports free a moment ago,
// for routes. They are drawn below Linux's ephemeral range (32768 and
// up): a port the kernel hands out for ":0" is also one it hands to
// outgoing connections' local ends, and under a full test run one such
// connection took a route port between this check and the node's
// listen, so that the node never started.
func freeAddrs(t testing.TB, n int) []string {
	t.Helper()
	var out []string
	for len(out) < n {
		addr := fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12000))
		if slices.Contains(out, addr) {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue // taken: draw again
		}
		out = append(out, addr)
		ln.Close()
	}
	return out
}

// openCluster opens a cluster of n in-process engines, each on its own
// directory and route port, all at once (each Open waits for a quorum).
func openCluster(t testing.TB, n int) []*Engine {
	t.Helper()
	return openClusterClock(t, n, nil)
}

// openClusterClock is openCluster with every node's clock now (nil:
// time.Now).
func openClusterClock(t testing.TB, n int, now func() time.Time) []*Engine {
	t.Helper()
	return openClusterWith(t, n, now, nil)
}

// openClusterWith is openClusterClock with every node's KeyProvider keys.
func openClusterWith(t testing.TB, n int, now func() time.Time, keys storage.KeyProvider) []*Engine {
	t.Helper()
	addrs := freeAddrs(t, n)
	engines := make([]*Engine, n)
	errs := make([]error, n)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			engines[i], errs[i] = Open(ctx, Options{
				Dir:          t.TempDir(),
				Now:          now,
				ServerName:   fmt.Sprintf("n%d", i+1),
				TrimInterval: -1,
				Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
				Cluster:      &Cluster{Name: "test", Listen: addrs[i], Peers: addrs, Replicas: n},
				Keys:         keys,
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open node %d: %v", i+1, err)
		}
	}
	t.Cleanup(func() {
		for _, e := range engines {
			e.Close()
		}
	})
	return engines
}

// TestClusterAnyNode creates a log through one node, appends through
// another and reads through the third at once, many times: each read must
// hold every append acknowledged before it began, though the third node's
// replica may lag the leader (cluster.go). Then the fences: a seal through
// one node stops appends through the others, and the catalogue's
// compare-and-set refuses a stale revision from another node.
func TestClusterAnyNode(t *testing.T) {
	start := time.Now()
	es := openCluster(t, 3)
	t.Logf("3 nodes open in %v", time.Since(start))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	if _, err := es[0].CreateLog(ctx, "l", storage.LogOptions{}); err != nil {
		t.Fatal(err)
	}
	w, err := es[1].Log(ctx, "l")
	if err != nil {
		t.Fatalf("the log created through node 1, through node 2: %v", err)
	}
	r, err := es[2].Log(ctx, "l")
	if err != nil {
		t.Fatalf("through node 3: %v", err)
	}
	var want []uint64
	for i := range 200 {
		app, err := w.Append(ctx, []storage.Record{{Key: "k", Data: fmt.Appendf(nil, "r%d", i)}})
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		want = append(want, app[0].Position)
		res, err := r.Read(ctx, storage.Start{Kind: storage.FromOldest}, storage.ReadLimits{MaxRecords: 10000})
		if err != nil {
			t.Fatalf("read after append %d: %v", i, err)
		}
		if len(res.Records) != len(want) {
			t.Fatalf("read through node 3 after append %d through node 2: %d records, want %d", i, len(res.Records), len(want))
		}
		for j, rec := range res.Records {
			if rec.Position != want[j] || string(rec.Data) != fmt.Sprintf("r%d", j) {
				t.Fatalf("record %d: %d %q, want %d r%d", j, rec.Position, rec.Data, want[j], j)
			}
		}
	}

	t.Logf("200 appends and reads after %v", time.Since(start))
	// Wait through node 3 is woken by an append through node 1.
	waited := make(chan error, 1)
	next := want[len(want)-1] + 1
	go func() { waited <- r.Wait(ctx, next) }()
	l1, err := es[0].Log(ctx, "l")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l1.Append(ctx, []storage.Record{{Data: []byte("wake")}}); err != nil {
		t.Fatal(err)
	}
	if err := <-waited; err != nil {
		t.Fatalf("Wait through node 3: %v", err)
	}

	sealed, err := l1.Seal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append(ctx, []storage.Record{{Data: []byte("late")}}); !errors.Is(err, storage.ErrSealed) {
		t.Fatalf("append through node 2 after a seal through node 1: %v, want ErrSealed", err)
	}
	info, err := r.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !info.Sealed || info.SealedAt != sealed {
		t.Fatalf("node 3's info: sealed %v at %d, want at %d", info.Sealed, info.SealedAt, sealed)
	}

	rev, err := es[0].Meta().CompareAndSwap(ctx, "k", []byte("v1"), 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := es[2].Meta().Get(ctx, "k")
	if err != nil || string(got.Value) != "v1" || got.Revision != rev {
		t.Fatalf("node 3 reads %q rev %d, %v; want v1 rev %d", got.Value, got.Revision, err, rev)
	}
	if _, err := es[1].Meta().CompareAndSwap(ctx, "k", []byte("v2"), rev); err != nil {
		t.Fatal(err)
	}
	if _, err := es[2].Meta().CompareAndSwap(ctx, "k", []byte("v3"), rev); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("a stale revision through node 3: %v, want ErrConflict", err)
	}
	list, err := es[2].Meta().List(ctx, "")
	if err != nil || len(list) != 1 || string(list[0].Value) != "v2" {
		t.Fatalf("node 3 lists %v, %v; want k=v2", list, err)
	}
}

// TestClusterTrimsOnce: of a cluster's nodes, one trims a log (the
// leader of its placement), and one alone; its pass purges what
// retention no longer keeps.
func TestClusterTrimsOnce(t *testing.T) {
	clock := storagetest.NewClock(time.Date(2026, time.January, 2, 3, 4, 5, 0, time.UTC))
	es := openClusterClock(t, 3, clock.Now)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := es[0].CreateLog(ctx, "l", storage.LogOptions{Retention: time.Hour}); err != nil {
		t.Fatal(err)
	}
	var trimmers []int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		trimmers = trimmers[:0]
		for i, e := range es {
			l, err := e.Log(ctx, "l")
			if err != nil {
				t.Fatalf("node %d: %v", i+1, err)
			}
			if e.trims(l.(*shardLog).st.stream) {
				trimmers = append(trimmers, i+1)
			}
		}
		if len(trimmers) == 1 || time.Now().After(deadline) {
			break
		}
	}
	if len(trimmers) != 1 {
		t.Fatalf("nodes %v trim the log, want one", trimmers)
	}

	// Two records two hours apart: the first expires, and the trimmer's
	// pass purges it (the last message stays, whatever its age).
	l, err := es[0].Log(ctx, "l")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := l.Append(ctx, []storage.Record{{Data: []byte("r")}}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(2 * time.Hour)
	}
	st := l.(*shardLog).st
	first := func() uint64 {
		t.Helper()
		d, ok, err := st.next(ctx, 0, st.upTo(st.snapshot()))
		if err != nil || !ok {
			t.Fatalf("the subject's first message: %v, %v", ok, err)
		}
		return d.seq
	}
	before := first()
	// A node's tail follows the appends made through another a moment
	// later: a read brings every node's up to date, as the minute
	// between passes would.
	for i, e := range es {
		l, err := e.Log(ctx, "l")
		if err == nil {
			_, err = l.Read(ctx, storage.Oldest(), storage.ReadLimits{MaxRecords: 10})
		}
		if err != nil {
			t.Fatalf("read through node %d: %v", i+1, err)
		}
	}
	for i, e := range es {
		if err := e.trimAll(ctx); err != nil {
			t.Fatalf("node %d's trimmer: %v", i+1, err)
		}
	}
	// The purge is acknowledged once the leader applied it: the replica
	// that answers a read may apply it a moment later.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		after := first()
		if after > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("5 s after every node's pass the first message is still %d: nothing purged", after)
		}
	}
}

// TestClusterEntryThroughOtherNodes: a log's entry (its retention) changed
// through one node is the one the other nodes read with, update and
// delete from, and trim by, though they loaded it before the change.
// Each node once kept the entry it loaded: a second change through
// another node was refused as "wrong last sequence", DeleteLog through it
// too, and its trimmer purged by the old retention records a raised one
// keeps.
func TestClusterEntryThroughOtherNodes(t *testing.T) {
	clock := storagetest.NewClock(time.Date(2026, time.January, 2, 3, 4, 5, 0, time.UTC))
	es := openClusterClock(t, 3, clock.Now)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	if _, err := es[0].CreateLog(ctx, "l", storage.LogOptions{}); err != nil {
		t.Fatal(err)
	}
	logs := make([]storage.ShardLog, len(es))
	for i, e := range es {
		l, err := e.Log(ctx, "l")
		if err != nil {
			t.Fatalf("node %d: %v", i+1, err)
		}
		logs[i] = l
	}
	var want []uint64
	for i := range 2 {
		app, err := logs[i].Append(ctx, []storage.Record{{Data: fmt.Appendf(nil, "r%d", i)}})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, app[0].Position)
	}
	retentions := []struct {
		node int
		d    time.Duration
	}{
		{1, time.Hour},     // node 2 now holds 1h
		{0, 3 * time.Hour}, // raised through node 1
		{2, 4 * time.Hour}, // node 3 still held no retention
		{1, 3 * time.Hour}, // node 2 still held 1h
	}
	for _, r := range retentions {
		if err := logs[r.node].SetRetention(ctx, r.d); err != nil {
			t.Fatalf("SetRetention(%v) through node %d: %v", r.d, r.node+1, err)
		}
		for i, l := range logs {
			info, err := l.Info(ctx)
			if err != nil || info.Retention != r.d {
				t.Fatalf("after SetRetention(%v) through node %d, node %d's Info: retention %v, %v", r.d, r.node+1, i+1, info.Retention, err)
			}
		}
	}

	// Node 2 holds 1h, then the retention is raised through node 1 with
	// nothing asked of node 2 since. Two hours on, past the 1h, within
	// the 3h: no node's trimmer purges a record, and every node reads both.
	if err := logs[1].SetRetention(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	st2 := logs[1].(*shardLog).st
	st2.tmu.Lock()
	oldEntry, oldRev := st2.entry, st2.rev
	st2.tmu.Unlock()
	if err := logs[0].SetRetention(ctx, 3*time.Hour); err != nil {
		t.Fatal(err)
	}
	// As if node 2's watch had not delivered the raise: its trimmer sees
	// records expired under its own 1h, and must ask the bucket's leader
	// before it purges. (Put back once the watch has delivered the
	// raise, so that the delivery does not undo it.)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		st2.tmu.Lock()
		got := st2.entry.Retention
		if got == 3*time.Hour {
			st2.entry, st2.rev = oldEntry, oldRev
		}
		st2.tmu.Unlock()
		if got == 3*time.Hour {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("5 s after the raise through node 1, node 2's entry holds %v", got)
		}
	}
	clock.Advance(2 * time.Hour)
	// Every node trims, leader of the placement or not (trimAll would
	// skip the others): a node that believes it leads may hold an old
	// entry too.
	for i, l := range logs {
		if err := l.(*shardLog).st.trim(ctx); err != nil {
			t.Fatalf("node %d's trim: %v", i+1, err)
		}
	}
	for i, l := range logs {
		res, err := l.Read(ctx, storage.Oldest(), storage.ReadLimits{MaxRecords: 10})
		if err != nil {
			t.Fatalf("read through node %d: %v", i+1, err)
		}
		var got []uint64
		for _, rec := range res.Records {
			got = append(got, rec.Position)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("read through node %d after the trimmers: positions %v, want %v", i+1, got, want)
		}
	}

	// Lowered through node 1 to 1h: every node's reads skip both at once.
	if err := logs[0].SetRetention(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	for i, l := range logs {
		res, err := l.Read(ctx, storage.Oldest(), storage.ReadLimits{MaxRecords: 10})
		if err != nil || len(res.Records) != 0 {
			t.Fatalf("read through node %d under 1h: %d records, %v; want none", i+1, len(res.Records), err)
		}
	}

	// Deleted through node 3, which loaded the entry before four changes.
	if err := es[2].DeleteLog(ctx, "l"); err != nil {
		t.Fatalf("DeleteLog through node 3: %v", err)
	}
	for i, e := range es {
		if _, err := e.Log(ctx, "l"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("Log through node %d after the delete: %v, want ErrNotFound", i+1, err)
		}
	}

	// Created again through node 1, deleted through node 2, whose state
	// may still name the first log.
	if _, err := es[0].CreateLog(ctx, "l", storage.LogOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := logs[1].SetRetention(ctx, time.Hour); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("SetRetention through node 2's handle on the deleted log: %v, want ErrNotFound", err)
	}
	if err := es[1].DeleteLog(ctx, "l"); err != nil {
		t.Fatalf("DeleteLog of the new log through node 2: %v", err)
	}
	if names, err := es[2].ListLogs(ctx); err != nil || len(names) != 0 {
		t.Fatalf("ListLogs through node 3: %q, %v; want none", names, err)
	}
}

// TestClusterFollowAcrossNodes: readers follow a log, each read through
// the next node, while writers append through all three: every reader
// reads each record once, in position order, and all of them. A follower
// may apply a committed message before the leader does; reads once
// returned it, and the next read's Next, from the leader's older tail,
// went back before it, so the reader read it again (about one run in two
// here).
func TestClusterFollowAcrossNodes(t *testing.T) {
	es := openCluster(t, 3)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := es[0].CreateLog(ctx, "f", storage.LogOptions{}); err != nil {
		t.Fatal(err)
	}
	handles := func() []storage.ShardLog {
		hs := make([]storage.ShardLog, len(es))
		for i, e := range es {
			l, err := e.Log(ctx, "f")
			if err != nil {
				t.Fatalf("node %d: %v", i+1, err)
			}
			hs[i] = l
		}
		return hs
	}

	const writers, batches = 8, 150
	var want int
	for w := range writers {
		for b := range batches {
			want += 1 + (w+b)%4
		}
	}
	readers := []storage.ReadLimits{{MaxRecords: 7}, {MaxRecords: 1000, MaxBytes: 100}}
	got := make([][]uint64, len(readers))
	var rg sync.WaitGroup
	for r, limits := range readers {
		hs := handles()
		rg.Go(func() {
			start := storage.Oldest()
			for k := 0; ; k++ {
				l := hs[k%len(hs)]
				res, err := l.Read(ctx, start, limits)
				if err != nil {
					t.Errorf("reader %d, read %d: %v", r, k, err)
					return
				}
				for _, rec := range res.Records {
					if n := len(got[r]); n > 0 && rec.Position <= got[r][n-1] {
						t.Errorf("reader %d, read %d through node %d from %d: position %d after %d", r, k, k%len(hs)+1, start.Position, rec.Position, got[r][n-1])
						return
					}
					got[r] = append(got[r], rec.Position)
				}
				if res.Sealed {
					return
				}
				start = storage.At(res.Next)
				if len(res.Records) == 0 {
					if err := l.Wait(ctx, res.Next); err != nil && !errors.Is(err, storage.ErrSealed) {
						t.Errorf("reader %d: Wait: %v", r, err)
						return
					}
				}
			}
		})
	}
	var wg sync.WaitGroup
	for w := range writers {
		l := handles()[w%len(es)]
		wg.Go(func() {
			for b := range batches {
				batch := make([]storage.Record, 1+(w+b)%4)
				for i := range batch {
					batch[i] = storage.Record{Data: fmt.Appendf(nil, "w%d b%d %d", w, b, i)}
				}
				if _, err := l.Append(ctx, batch); err != nil {
					t.Errorf("writer %d, batch %d: %v", w, b, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if _, err := handles()[0].Seal(ctx); err != nil {
		t.Fatal(err)
	}
	rg.Wait()
	for r := range readers {
		if len(got[r]) != want {
			t.Errorf("reader %d read %d records, want %d", r, len(got[r]), want)
		}
	}
}
