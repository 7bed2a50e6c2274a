package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/tributary-io/tributary/internal/history"
	jsengine "github.com/tributary-io/tributary/storage/jetstream"
)

// TestClusterDrainAndAdd runs four real server processes (R3), drains
// one (the metadata leader, unless that is node 1; else node 4) with
// `tributary cluster drain` through node 1 while writers put through the
// three others and readers read, stops it, writes on, tries
// to drain a second node (refused: two would be left for R3), then
// starts a new node 5 and spreads replicas onto it with `tributary
// cluster add`, writers still running. The history of every call must
// pass history.Check (nothing acknowledged lost, duplicated or moved, no
// stale read); after the drain no stream has a replica on the drained
// node and the metadata group does not count it; after the add node 5
// holds its share.
func TestClusterDrainAndAdd(t *testing.T) {
	const token = "drain-test-admin-token-0123"
	t.Setenv(adminTokenEnv, token) // the nodes' --admin-token
	cl := startCluster(t, 4)
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	const stream, shards = "s", 4
	if _, err := cl.client(0).CreateStream(ctx, &sdk.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(shards)}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, ctx, cl.client(1), stream)
	before := clusterStatusOf(t, ctx, cl.nodes[1].addr)
	// The node drained is the metadata leader when it is not n1, through
	// which the drain is asked: then the drain moves the leadership off
	// it before removing it, the step after which a removal went
	// unanswered; else n4.
	victim := 3
	if i := slices.Index([]string{"n1", "n2", "n3", "n4"}, before.MetaLeader); i > 0 {
		victim = i
	}
	name := fmt.Sprintf("n%d", victim+1)
	var others []int // the nodes other than n1 and the victim
	for i := 1; i < 4; i++ {
		if i != victim {
			others = append(others, i)
		}
	}
	if held := replicasOn(before, name); held == 0 {
		t.Fatalf("%s holds no replica before the drain: %+v", name, before.Streams)
	}
	t.Logf("draining %s; the metadata leader is %s", name, before.MetaLeader)

	rec := history.NewRecorder()
	clients := []*sdk.Client{cl.client(0), cl.client(others[0]), cl.client(others[1])}
	stopWriting := runPuts(ctx, rec, clients, stream, shards)
	stopReading := runReads(ctx, t, rec, clients, stream, shards)
	time.Sleep(time.Second) // records for the new replicas to catch up

	out := runCluster(t, ctx, "drain", name, cl.nodes[0].addr, 0)
	want := []string{"replica moved from " + name + " to n", name + " removed from the metadata group", "drained " + name + " in "}
	if before.MetaLeader == name {
		want = append(want, "metadata leader now n")
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("drain printed no %q:\n%s", w, out)
		}
	}
	after := clusterStatusOf(t, ctx, cl.nodes[others[0]].addr)
	if held := replicasOn(after, name); held != 0 || slices.ContainsFunc(after.Peers, func(p jsengine.Peer) bool { return p.Name == name }) {
		t.Fatalf("after the drain %s holds %d replicas, peers %+v", name, held, after.Peers)
	}
	cl.nodes[victim].kill()
	t.Logf("%s stopped", name)
	time.Sleep(2 * time.Second) // writes with the victim gone

	// Three nodes of R3 left: draining one more would leave two.
	other := fmt.Sprintf("n%d", others[1]+1)
	out = runCluster(t, ctx, "drain", other, cl.nodes[0].addr, 1)
	if !strings.Contains(out, "409") || !strings.Contains(out, "too few nodes: 2 other nodes are up") {
		t.Errorf("drain %s of three R3 nodes printed:\n%s", other, out)
	}

	// A new node, on a new directory, beside the three left.
	n5 := cl.addNode(t, "n5")
	out = runCluster(t, ctx, "add", "n5", cl.nodes[others[0]].addr, 0)
	if !strings.Contains(out, "n5 is a member of the cluster") || !strings.Contains(out, "to n5, current there") || !strings.Contains(out, "added n5 in ") {
		t.Errorf("add printed:\n%s", out)
	}
	st := clusterStatusOf(t, ctx, cl.nodes[n5].addr)
	if held := replicasOn(st, "n5"); held != 4 { // 18 replicas over 4 nodes
		t.Errorf("after the add n5 holds %d replicas, want 4: %+v", held, st.Streams)
	}
	time.Sleep(time.Second)
	stopWriting()
	stopReading()

	if err := rec.FinalRead(ctx, cl.client(n5), stream); err != nil {
		t.Fatal(err)
	}
	res, err := history.Check(rec.History())
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() || res.Stats.Acknowledged == 0 {
		t.Fatalf("%s", res)
	}
	t.Log(res)
}

// runCluster runs `tributary cluster SUB NODE` against addr and returns
// what it printed, failing t unless it exits with want.
func runCluster(t *testing.T, ctx context.Context, sub, node, addr string, want int) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runMain(ctx, []string{"cluster", sub, node, "--endpoint", "http://" + addr}, nil, &stdout, &stderr, env(map[string]string{adminTokenEnv: "drain-test-admin-token-0123"}))
	t.Logf("cluster %s %s: exit %d\n%s%s", sub, node, code, stdout.String(), stderr.String())
	if code != want {
		t.Fatalf("cluster %s %s: exit %d, want %d", sub, node, code, want)
	}
	return stdout.String() + stderr.String()
}

func clusterStatusOf(t *testing.T, ctx context.Context, addr string) jsengine.Status {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := runMain(ctx, []string{"cluster", "status", "--json", "--endpoint", "http://" + addr}, nil, &stdout, &stderr, env(nil)); code != 0 {
		t.Fatalf("cluster status of %s: exit %d: %s", addr, code, stderr.String())
	}
	var st jsengine.Status
	if err := json.Unmarshal(stdout.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// replicasOn counts the streams of st with a replica (the leader's
// included) on node.
func replicasOn(st jsengine.Status, node string) int {
	n := 0
	for _, s := range st.Streams {
		if s.Leader == node || slices.ContainsFunc(s.Replicas, func(p jsengine.Peer) bool { return p.Name == node }) {
			n++
		}
	}
	return n
}

// runPuts puts single records through clients, one writer per client and
// shard, until the returned function is called, which waits for them.
func runPuts(ctx context.Context, rec *history.Recorder, clients []*sdk.Client, stream string, shards int) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range len(clients) * shards {
		c, shard := clients[w%len(clients)], w/len(clients)
		hashKey := new(big.Int).Lsh(big.NewInt(int64(shard)), 126) // 2^128 / 4 * shard
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-done:
					return
				default:
				}
				in := &sdk.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String("k"),
					ExplicitHashKey: aws.String(hashKey.String()), Data: fmt.Appendf(nil, "w%d-%d", w, n)}
				cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				rec.PutRecord(cctx, c, in)
				cancel()
			}
		})
	}
	return func() { close(done); wg.Wait() }
}

// runReads follows every shard through clients until the returned
// function is called, which waits for the readers.
func runReads(ctx context.Context, t *testing.T, rec *history.Recorder, clients []*sdk.Client, stream string, shards int) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := range shards {
		c := clients[i%len(clients)]
		wg.Go(func() {
			_, err := rec.ReadShard(ctx, c, stream, fmt.Sprintf("shardId-%012d", i), history.ReadOptions{Limit: 50, Poll: 20 * time.Millisecond})
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("reader of shard %d: %v", i, err)
			}
		})
	}
	return func() { cancel(); wg.Wait() }
}

// testCluster is n `tributary serve --cluster` processes on loopback,
// each with its own data directory and route port: what the drain and
// add test needs, where no link is ever cut (internal/clusterfaults runs
// nodes in network namespaces for the fault schedule).
type testCluster struct {
	t     *testing.T
	args  [][]string // each node's command line
	nodes []*serverProcess
}

// startCluster starts n nodes at once (each waits for a majority before
// it listens) and returns when all of them serve.
func startCluster(t *testing.T, n int) *testCluster {
	t.Helper()
	var routes []string
	for range n {
		routes = append(routes, routeAddr(t, routes))
	}
	c := &testCluster{t: t, args: make([][]string, n), nodes: make([]*serverProcess, n)}
	for i := range n {
		c.args[i] = []string{"--listen", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "data"),
			"--create-delay", "0", "--delete-delay", "0", "--update-delay", "0", "--limits", "off",
			"--cluster", "test", "--node", fmt.Sprintf("n%d", i+1), "--peers", strings.Join(routes, ","),
			"--cluster-listen", routes[i],
			// Four placements rather than the default one for 3 or 4
			// nodes: more streams to move, their leaders on different nodes.
			"--placements", "4"}
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { c.nodes[i], errs[i] = c.spawn(i) })
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, p := range c.nodes {
			if p != nil {
				p.kill()
			}
		}
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i+1, err)
		}
	}
	return c
}

// routeAddr returns a loopback address free a moment ago and not in
// taken, for a node's routes: below Linux's ephemeral range (32768 and
// up), which outgoing connections' local ends are drawn from, so that
// none of the test run's connections takes it before the node listens.
func routeAddr(t *testing.T, taken []string) string {
	t.Helper()
	for range 1000 {
		addr := fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12000))
		if slices.Contains(taken, addr) {
			continue
		}
		if ln, err := net.Listen("tcp", addr); err == nil {
			ln.Close()
			return addr
		}
	}
	t.Fatal("no free route port below 32000")
	return ""
}

func (c *testCluster) spawn(i int) (*serverProcess, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serveChildEnv+"="+strings.Join(append([]string{"serve"}, c.args[i]...), "\n"))
	return startServeCmdWithin(cmd, time.Minute)
}

// client is an SDK client of node i.
func (c *testCluster) client(i int) *sdk.Client { return c.nodes[i].client() }

// addNode starts one more node named name beside c's, on a new directory
// and route port, and returns its index in c.nodes.
func (c *testCluster) addNode(t *testing.T, name string) int {
	t.Helper()
	route := routeAddr(t, nil)
	args := slices.Clone(c.args[0])
	set := func(flag, value string) {
		i := slices.Index(args, flag)
		args[i+1] = value
	}
	peers := args[slices.Index(args, "--peers")+1]
	set("--peers", peers+","+route)
	set("--cluster-listen", route)
	set("--node", name)
	set("--data-dir", filepath.Join(t.TempDir(), "data"))
	c.args = append(c.args, args)
	c.nodes = append(c.nodes, nil)
	i := len(c.nodes) - 1
	p, err := c.spawn(i)
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	c.nodes[i] = p
	return i
}
