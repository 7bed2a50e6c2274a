package jetstream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tributary-io/tributary/storage"
)

// openNode opens node name of a cluster of replicas whose route
// addresses are addrs, listening on addrs[i]. With four placements, not
// the default one per replica set: more streams to move, their leaders
// on different nodes.
func openNode(ctx context.Context, t *testing.T, name string, addrs []string, i, replicas int) (*Engine, error) {
	return Open(ctx, Options{
		Dir:          t.TempDir(),
		ServerName:   name,
		TrimInterval: -1,
		Placements:   4,
		Cluster:      &Cluster{Name: "test", Listen: addrs[i], Peers: addrs, Replicas: replicas},
	})
}

// openNodes opens nodes n1..nN of an RN cluster whose route addresses are
// addrs, all at once (each Open waits for a quorum).
func openNodes(t *testing.T, n int, addrs []string, replicas int) []*Engine {
	t.Helper()
	engines := make([]*Engine, n)
	errs := make([]error, n)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { engines[i], errs[i] = openNode(ctx, t, fmt.Sprintf("n%d", i+1), addrs, i, replicas) })
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

// appendLoad appends to logs through engines until stop is closed, one
// writer per log, and keeps what every append answered: the records
// whose Append returned, at their positions, and those whose Append
// failed (stored once or not at all).
type appendLoad struct {
	mu      sync.Mutex
	acked   map[string]map[string]uint64 // log -> data -> position
	unknown map[string]map[string]bool   // log -> data
	errs    []error
}

func runAppends(ctx context.Context, t *testing.T, stop <-chan struct{}, engines []*Engine, logs []string) (*appendLoad, *sync.WaitGroup) {
	t.Helper()
	load := &appendLoad{acked: map[string]map[string]uint64{}, unknown: map[string]map[string]bool{}}
	var wg sync.WaitGroup
	for i, name := range logs {
		// The goroutines keep their own log's maps: the outer maps are
		// still being filled while the first writers run.
		acked, unknown := map[string]uint64{}, map[string]bool{}
		load.acked[name], load.unknown[name] = acked, unknown
		l, err := engines[i%len(engines)].Log(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				data := fmt.Sprintf("%s-%d", name, n)
				actx, cancel := context.WithTimeout(ctx, 20*time.Second)
				app, err := l.Append(actx, []storage.Record{{Key: "k", Data: []byte(data)}})
				cancel()
				load.mu.Lock()
				if err != nil {
					unknown[data] = true
					load.errs = append(load.errs, err)
				} else {
					acked[data] = app[0].Position
				}
				load.mu.Unlock()
			}
		})
	}
	return load, &wg
}

// check reads every log through e and fails t unless every acknowledged
// record is there once at its position, and every other once at most.
func (load *appendLoad) check(ctx context.Context, t *testing.T, e *Engine) (acked int) {
	t.Helper()
	for name, want := range load.acked {
		l, err := e.Log(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		start := storage.Start{Kind: storage.FromOldest}
		for {
			res, err := l.Read(ctx, start, storage.ReadLimits{MaxRecords: 10000})
			if err != nil {
				t.Fatalf("read %s: %v", name, err)
			}
			for _, r := range res.Records {
				d := string(r.Data)
				seen[d]++
				if pos, ok := want[d]; ok && pos != r.Position {
					t.Errorf("%s: %s at %d, acknowledged at %d", name, d, r.Position, pos)
				}
				if _, ok := want[d]; !ok && !load.unknown[name][d] {
					t.Errorf("%s: %s read, never written", name, d)
				}
			}
			if len(res.Records) == 0 {
				break
			}
			start = storage.At(res.Next)
		}
		for d := range want {
			if seen[d] != 1 {
				t.Errorf("%s: acknowledged %s read %d times, want 1", name, d, seen[d])
			}
		}
		for d := range load.unknown[name] {
			if seen[d] > 1 {
				t.Errorf("%s: %s, whose append failed, read %d times", name, d, seen[d])
			}
		}
		acked += len(want)
	}
	return acked
}

// holders counts, in st, the replicas (leaders included) and the
// leaderships each node holds.
func holders(st Status) (replicas, leads map[string]int) {
	replicas, leads = map[string]int{}, map[string]int{}
	for _, s := range st.Streams {
		replicas[s.Leader]++
		leads[s.Leader]++
		for _, p := range s.Replicas {
			replicas[p.Name]++
		}
	}
	return replicas, leads
}

// TestClusterDrain drains node n4 of a four-node R3 cluster, through n1,
// while one writer per log appends through n1, n2 and n3: every append
// acknowledged during the drain must then be read once, at its
// position, through n3 once n4 is closed; n4 must hold no replica, no
// leadership and no place in the metadata group; and the three nodes
// left must go on taking appends. Then the refusals: draining another
// node would leave two nodes for R3, a node that does not exist, and
// the node asked itself.
func TestClusterDrain(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	es := openNodes(t, 4, freeAddrs(t, 4), 3)

	var logs []string
	for i := range 8 {
		name := fmt.Sprintf("log%d", i)
		if _, err := es[0].CreateLog(ctx, name, storage.LogOptions{}); err != nil {
			t.Fatal(err)
		}
		logs = append(logs, name)
	}
	// n4 must hold something for the drain to move: with 18 replicas on
	// four nodes it does.
	st, err := es[0].Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := holders(st)
	if before["n4"] == 0 {
		t.Fatalf("n4 holds no replica before the drain: %v", before)
	}

	stop := make(chan struct{})
	load, writers := runAppends(ctx, t, stop, es[:3], logs)
	// Some appends before the drain, so that the replicas moved have
	// records to catch up.
	if err := sleep(ctx, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	var moves []Move
	err = es[0].Drain(ctx, "n4", func(m Move) {
		t.Logf("%+v", m)
		moves = append(moves, m)
	})
	close(stop)
	writers.Wait()
	if err != nil {
		t.Fatalf("drain: %v", err)
	}
	var replicaMoves int
	for _, m := range moves {
		if m.What == MoveReplica {
			replicaMoves++
			if m.From != "n4" || m.To == "" || m.To == "n4" {
				t.Errorf("move %+v: want from n4 to another node", m)
			}
		}
	}
	if replicaMoves != before["n4"] {
		t.Errorf("%d replicas moved, n4 held %d", replicaMoves, before["n4"])
	}
	if last := moves[len(moves)-1]; last.What != MoveMetaRemove || last.From != "n4" {
		t.Errorf("last step %+v, want n4's removal from the metadata group", last)
	}

	st, err = es[2].Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	after, leads := holders(st)
	if after["n4"] != 0 || leads["n4"] != 0 {
		t.Errorf("after the drain n4 holds %d replicas and leads %d streams", after["n4"], leads["n4"])
	}
	for _, n := range []string{"n1", "n2", "n3"} {
		if after[n] != 6 {
			t.Errorf("after the drain %s holds %d replicas, want all 6 streams' (%v)", n, after[n], after)
		}
	}
	for _, p := range st.Peers {
		if p.Name == "n4" {
			t.Errorf("n4 still a member of the metadata group as n3 sees it: %+v", st.Peers)
		}
	}
	es[3].Close()

	l, err := es[1].Log(ctx, logs[0])
	if err != nil {
		t.Fatal(err)
	}
	app, err := l.Append(ctx, []storage.Record{{Data: []byte("after")}})
	if err != nil {
		t.Fatalf("append through n2 with n4 stopped: %v", err)
	}
	load.acked[logs[0]]["after"] = app[0].Position
	acked := load.check(ctx, t, es[2])
	t.Logf("%d appends acknowledged, %d failed (%v)", acked, len(load.errs), firstErr(load.errs))
	if acked < len(logs) {
		t.Fatalf("only %d appends acknowledged", acked)
	}

	for _, c := range []struct {
		node string
		want error
	}{
		{"n3", ErrTooFewNodes},
		{"n9", ErrUnknownNode},
	} {
		if err := es[0].Drain(ctx, c.node, nil); !errors.Is(err, c.want) {
			t.Errorf("drain %s of three R3 nodes: %v, want %v", c.node, err, c.want)
		}
	}
	if err := es[0].Drain(ctx, "n1", nil); !errors.Is(err, ErrSelf) {
		t.Errorf("n1 drains itself: %v, want ErrSelf", err)
	}
}

func firstErr(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return errs[0]
}

// TestClusterAdd starts a fourth node beside an R3 cluster of three and
// adds it through n1 while writers append through n1, n2 and n3: the new
// node must then hold its share of the 18 replicas (4, taken from the
// others, which keep 4 or 5 each) and lead at least one stream, every
// acknowledged append must be read once at its position, and running
// Add again must move nothing.
func TestClusterAdd(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	addrs := freeAddrs(t, 4)
	es := openNodes(t, 3, addrs[:3], 3)
	var logs []string
	for i := range 4 {
		name := fmt.Sprintf("log%d", i)
		if _, err := es[0].CreateLog(ctx, name, storage.LogOptions{}); err != nil {
			t.Fatal(err)
		}
		logs = append(logs, name)
	}
	stop := make(chan struct{})
	load, writers := runAppends(ctx, t, stop, es, logs)

	n4, err := openNode(ctx, t, "n4", addrs, 3, 3)
	if err != nil {
		t.Fatalf("open n4: %v", err)
	}
	t.Cleanup(func() { n4.Close() })
	var moves []Move
	err = es[0].Add(ctx, "n4", func(m Move) {
		t.Logf("%+v", m)
		moves = append(moves, m)
	})
	close(stop)
	writers.Wait()
	if err != nil {
		t.Fatalf("add: %v", err)
	}
	if len(moves) == 0 || moves[0].What != MoveJoined {
		t.Errorf("first step %v, want n4 joined", moves)
	}
	st, err := n4.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	count, leads := holders(st)
	if count["n4"] != 4 {
		t.Errorf("n4 holds %d replicas, want 4 of 18 (%v)", count["n4"], count)
	}
	for _, n := range []string{"n1", "n2", "n3"} {
		if count[n] < 4 || count[n] > 5 {
			t.Errorf("%s holds %d replicas, want 4 or 5 (%v)", n, count[n], count)
		}
	}
	if leads["n4"] < 1 {
		t.Errorf("n4 leads no stream (%v)", leads)
	}
	acked := load.check(ctx, t, n4)
	t.Logf("%d appends acknowledged, %d failed (%v)", acked, len(load.errs), firstErr(load.errs))

	moves = nil
	if err := es[1].Add(ctx, "n4", func(m Move) { moves = append(moves, m) }); err != nil {
		t.Fatal(err)
	}
	if len(moves) != 1 || moves[0].What != MoveJoined {
		t.Errorf("a second add moved %v, want nothing", moves)
	}
	if !slices.ContainsFunc(st.Streams, func(s StreamStatus) bool { return s.Leader == "n4" }) {
		t.Errorf("status lists no stream led by n4")
	}
}

// TestRemovalResent: a removal request that is lost (as when it reaches
// no metadata leader, one elected a moment ago not yet listening) is sent
// again while the node is still a member, until it leaves. Without the
// resend the wait would last until ctx ends.
func TestRemovalResent(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	es := openNodes(t, 4, freeAddrs(t, 4), 3)
	es[3].Close()
	var calls int
	remove := func() error {
		calls++
		if calls == 1 {
			return nats.ErrTimeout // lost: never sent
		}
		return es[0].request(ctx, es[0].sysConn, "$JS.API.SERVER.REMOVE", struct {
			Server string `json:"peer"`
		}{"n4"}, true)
	}
	var moves []Move
	start := time.Now()
	if err := es[0].awaitRemoval(ctx, "n4", func(m Move) { moves = append(moves, m) }, remove, 500*time.Millisecond); err != nil {
		t.Fatalf("removal with its first request lost: %v (after %d requests)", err, calls)
	}
	t.Logf("n4 removed after %v and %d requests", time.Since(start), calls)
	if calls < 2 {
		t.Errorf("n4 left after %d requests, the first of which was never sent", calls)
	}
	if members, _ := es[0].members(); memberNamed(members, "n4") {
		t.Errorf("n4 still a member: %v", members)
	}
	if len(moves) != 1 || moves[0].What != MoveMetaRemove || moves[0].From != "n4" {
		t.Errorf("progress %+v, want n4's removal", moves)
	}
}
