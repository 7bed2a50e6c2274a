package jetstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
	"github.com/tributary-io/tributary/storage/storagetest"
)

// clusterConformanceEnv, set to anything, runs the whole conformance suite
// against a cluster; without it, CI runs clusterConformanceCI only.
const clusterConformanceEnv = "TRIBUTARY_CLUSTER_CONFORMANCE"

// clusterConformanceCI are the subtests CI runs against a cluster. Each
// subtest (and each of Wait's eight) opens a cluster of its own, and
// opening one, three embedded servers routing to each other and electing
// a metadata leader, takes 2 to 13 s here, mostly waiting for the
// election: the whole suite took 6 to 8 minutes of wall time for 17 s of
// CPU, these seven about 100 s (docs/benchmarks.md, "Cluster"). The
// whole is too long for CI. These are the ones
// whose outcome depends most on which node answers: appends and reads
// through different nodes (AppendRead), the fence (SealRacingAppends),
// deletion seen through another node's handle (DeletedHandle), a
// retention changed through one node and applied by the others
// (SetRetention), concurrent writers through every node
// (ConcurrentAppendsOneLog, MetaConcurrentCAS), and a full-cluster
// restart (Reopen).
var clusterConformanceCI = map[string]bool{
	"AppendRead":              true,
	"SealRacingAppends":       true,
	"DeletedHandle":           true,
	"SetRetention":            true,
	"ConcurrentAppendsOneLog": true,
	"MetaConcurrentCAS":       true,
	"Reopen":                  true,
}

// TestClusterConformance runs the unchanged conformance suite against a
// three-node in-process cluster with three replicas. The engine the suite
// sees is a spread: every call goes through the next node in turn, so
// that a log created through one node is appended to through another and
// read through the third, and a handle's successive calls visit them all.
// Closing it closes the three nodes; opening it again on the same
// directory restarts all three on their data (the Reopen subtest is a
// full-cluster restart).
func TestClusterConformance(t *testing.T) {
	all := os.Getenv(clusterConformanceEnv) != ""
	h := storagetest.Harness{
		Open: func(t testing.TB, dir string, now func() time.Time) storage.Engine {
			if !all && !clusterConformanceCI[subtestName(t)] {
				t.Skipf("runs against a cluster only with %s=1 (each subtest starts a cluster)", clusterConformanceEnv)
			}
			return openSpread(t, dir, now)
		},
		Durable: true,
	}
	storagetest.Run(t, h)
}

// subtestName is the last element of t's name: the suite's subtest.
func subtestName(t testing.TB) string { return filepath.Base(t.Name()) }

// openSpread starts three cluster nodes on dir/n1, dir/n2 and dir/n3, all
// at once since each waits for a quorum, and returns them as a spread.
func openSpread(t testing.TB, dir string, now func() time.Time) *spread {
	t.Helper()
	const n = 3
	addrs := make([]string, n)
	for i := range n {
		addrs[i] = freeAddr(t)
	}
	// Generous: on a busy machine a cluster has taken over a minute to
	// form.
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	nodes := make([]*Engine, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			nodes[i], errs[i] = Open(ctx, Options{
				Dir:        filepath.Join(dir, fmt.Sprintf("n%d", i+1)),
				Now:        now,
				ServerName: fmt.Sprintf("n%d", i+1),
				// The embedded servers warn at every metadata snapshot;
				// the suite's failures say what went wrong.
				Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
				Cluster: &Cluster{Name: "conformance", Listen: addrs[i], Peers: addrs, Replicas: n},
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, e := range nodes {
			if e != nil {
				e.Close()
			}
		}
		t.Fatalf("open a 3-node cluster on %s: %v", dir, err)
	}
	return &spread{nodes: nodes}
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// spread is a storage.Engine made of the nodes of one cluster: each call
// goes through the next node in turn. Its logs hold a handle from every
// node, taken when the spread handle is made, so that a handle keeps
// naming the log it was made for even after that log is deleted and
// another is created under its name (a handle taken later from another
// node would name the new one).
type spread struct {
	nodes []*Engine
	turn  atomic.Uint64
}

var _ storage.Engine = (*spread)(nil)

// node returns the node the next call goes through.
func (s *spread) node() *Engine {
	return s.nodes[int(s.turn.Add(1)%uint64(len(s.nodes)))]
}

func (s *spread) CreateLog(ctx context.Context, name string, opts storage.LogOptions) (storage.ShardLog, error) {
	if _, err := s.node().CreateLog(ctx, name, opts); err != nil {
		return nil, err
	}
	return s.handles(ctx, name)
}

func (s *spread) Log(ctx context.Context, name string) (storage.ShardLog, error) {
	return s.handles(ctx, name)
}

// handles takes name's handle from every node, starting with the next.
func (s *spread) handles(ctx context.Context, name string) (storage.ShardLog, error) {
	l := &spreadLog{name: name, logs: make([]storage.ShardLog, len(s.nodes))}
	first := int(s.turn.Add(1))
	for i := range s.nodes {
		j := (first + i) % len(s.nodes)
		h, err := s.nodes[j].Log(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("log %q through node %d: %w", name, j+1, err)
		}
		l.logs[j] = h
	}
	return l, nil
}

func (s *spread) ListLogs(ctx context.Context) ([]string, error) { return s.node().ListLogs(ctx) }

func (s *spread) DeleteLog(ctx context.Context, name string) error {
	return s.node().DeleteLog(ctx, name)
}

func (s *spread) Meta() storage.MetaStore { return spreadMeta{s} }

// Close closes every node. The last two close without a quorum once the
// first has gone; what they have acknowledged is on disk already.
func (s *spread) Close() error {
	var errs []error
	for _, e := range s.nodes {
		errs = append(errs, e.Close())
	}
	return errors.Join(errs...)
}

// spreadLog is one log's handles, one per node, used in turn.
type spreadLog struct {
	name string
	logs []storage.ShardLog
	turn atomic.Uint64
}

func (l *spreadLog) log() storage.ShardLog {
	return l.logs[int(l.turn.Add(1)%uint64(len(l.logs)))]
}

func (l *spreadLog) Name() string { return l.name }

func (l *spreadLog) Append(ctx context.Context, batch []storage.Record) ([]storage.Appended, error) {
	return l.log().Append(ctx, batch)
}

func (l *spreadLog) Read(ctx context.Context, start storage.Start, limits storage.ReadLimits) (storage.ReadResult, error) {
	return l.log().Read(ctx, start, limits)
}

func (l *spreadLog) Wait(ctx context.Context, p uint64) error { return l.log().Wait(ctx, p) }

func (l *spreadLog) Seal(ctx context.Context) (uint64, error) { return l.log().Seal(ctx) }

func (l *spreadLog) Info(ctx context.Context) (storage.LogInfo, error) { return l.log().Info(ctx) }

func (l *spreadLog) SetRetention(ctx context.Context, d time.Duration) error {
	return l.log().SetRetention(ctx, d)
}

func (l *spreadLog) SetEncryption(ctx context.Context, keyID string) error {
	return l.log().SetEncryption(ctx, keyID)
}

// spreadMeta is the catalogue, each call through the next node.
type spreadMeta struct{ s *spread }

func (m spreadMeta) Get(ctx context.Context, key string) (storage.MetaEntry, error) {
	return m.s.node().Meta().Get(ctx, key)
}

func (m spreadMeta) Revision(ctx context.Context, key string) (uint64, error) {
	return m.s.node().Meta().Revision(ctx, key)
}

func (m spreadMeta) List(ctx context.Context, prefix string) ([]storage.MetaEntry, error) {
	return m.s.node().Meta().List(ctx, prefix)
}

func (m spreadMeta) CompareAndSwap(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	return m.s.node().Meta().CompareAndSwap(ctx, key, value, rev)
}

func (m spreadMeta) Delete(ctx context.Context, key string, rev uint64) error {
	return m.s.node().Meta().Delete(ctx, key, rev)
}
