package jetstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
)

// freeAddrs returns n loopback addresses with ports free a moment ago.
func freeAddrs(t testing.TB, n int) []string {
	t.Helper()
	var out []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ln.Addr().String())
		ln.Close()
	}
	return out
}

// openCluster opens a cluster of n in-process engines, each on its own
// directory and route port, all at once (each Open waits for a quorum).
func openCluster(t testing.TB, n int) []*Engine {
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
				ServerName:   fmt.Sprintf("n%d", i+1),
				TrimInterval: -1,
				Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
				Cluster:      &Cluster{Name: "test", Listen: addrs[i], Peers: addrs, Replicas: n},
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
