// Package clusterfaults runs a Tributary cluster of real node processes,
// each in a network namespace of its own, through a seeded random
// schedule of faults (kill -9 and restart, SIGSTOP and SIGCONT, a
// partition and its healing, the whole cluster killed and restarted)
// while writers and readers record what they do and see; then it checks
// the history with internal/history. The short schedule is a test of
// cmd/tributary, the long one `tributary bench --workload
// cluster-faults`; docs/cluster-testing.md explains both.
package clusterfaults

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/tributary-io/tributary/internal/netns"
	"github.com/tributary-io/tributary/sdkhttp"
)

// Program says how to run one node: the command that runs `tributary
// serve` with serveArgs (after "serve"), and the environment to add to
// the process's own. The tributary binary itself gives "serve" then
// serveArgs; a test binary acting as tributary passes them otherwise.
type Program func(serveArgs []string) (path string, args []string, env []string)

// ClusterConfig describes a cluster to start.
type ClusterConfig struct {
	Program Program
	// Nodes is the number of nodes, 1 to 9; every stream has
	// min(Nodes, 3) replicas.
	Nodes int
	// Dir holds the nodes' data directories, Dir/n1, Dir/n2, ...: they
	// outlive restarts.
	Dir string
	// ServeArgs are more serve arguments for every node, such as
	// "--keyring FILE".
	ServeArgs []string
	// Placements is every node's --placements; 0 means 4, not serve's
	// default (one for 3 to 5 nodes): a fault then stops some shards'
	// writes while others carry on, and a reshard's parent and children
	// may sit in different Raft groups with different leaders, the case
	// with more to get wrong.
	Placements int
}

// Cluster is the running nodes of a ClusterConfig. Its methods are safe
// for concurrent use, except Close.
type Cluster struct {
	cfg   ClusterConfig
	nw    *netns.Net
	addrs []string   // each node's Kinesis endpoint, host:port, fixed across restarts
	args  [][]string // each node's serve arguments

	mu    sync.Mutex
	nodes []*process // nil while a node is down
}

// ErrNoNamespaces is wrapped by StartCluster's error when the nodes'
// network namespaces cannot be created (the process is not root, or
// iproute2's ip is missing).
var ErrNoNamespaces = netns.ErrUnavailable

// startPatience is how long a node may take to listen: a node listens only
// once a majority of the nodes are up, and JetStream recovers its streams
// before that.
const startPatience = 2 * time.Minute

// StartCluster starts the nodes at once (each waits for a majority before
// it listens) and returns when all of them serve. Close stops them.
func StartCluster(ctx context.Context, cfg ClusterConfig) (*Cluster, error) {
	if cfg.Nodes < 1 || cfg.Nodes > 9 {
		return nil, fmt.Errorf("clusterfaults: %d nodes; want 1 to 9", cfg.Nodes)
	}
	c := &Cluster{cfg: cfg, nodes: make([]*process, cfg.Nodes)}
	nw, err := netns.Open(ctx, cfg.Nodes)
	if err != nil {
		return nil, fmt.Errorf("clusterfaults: %w", err)
	}
	c.nw = nw
	var routes []string
	for i := range cfg.Nodes {
		// A node's addresses are the same across its restarts, so that
		// its peers and the workload's clients find it again.
		c.addrs = append(c.addrs, net.JoinHostPort(nw.Addr(i), "4567"))
		routes = append(routes, net.JoinHostPort(nw.Addr(i), "6222"))
	}
	replicas := min(cfg.Nodes, 3)
	placements := cfg.Placements
	if placements == 0 {
		placements = 4
	}
	for i := range cfg.Nodes {
		c.args = append(c.args, []string{"--listen", c.addrs[i],
			"--data-dir", filepath.Join(cfg.Dir, fmt.Sprintf("n%d", i+1)),
			"--create-delay", "0", "--delete-delay", "0", "--update-delay", "0", "--limits", "off",
			"--cluster", "faults", "--node", fmt.Sprintf("n%d", i+1), "--peers", strings.Join(routes, ","),
			"--cluster-listen", routes[i], "--replicas", strconv.Itoa(replicas),
			"--placements", strconv.Itoa(placements)})
		c.args[i] = append(c.args[i], cfg.ServeArgs...)
	}
	all := make([]int, cfg.Nodes)
	for i := range all {
		all[i] = i
	}
	if err := c.Start(ctx, all...); err != nil {
		return nil, errors.Join(err, c.Close())
	}
	return c, nil
}

// Nodes returns the number of nodes.
func (c *Cluster) Nodes() int { return c.cfg.Nodes }

// Addr returns node i's Kinesis endpoint, host:port.
func (c *Cluster) Addr(i int) string { return c.addrs[i] }

// Net returns the nodes' network.
func (c *Cluster) Net() *netns.Net { return c.nw }

// Start starts the given nodes, which must be down, at once, and returns
// when they all listen. A node listens once it sees a majority of the
// cluster, so the nodes of a whole-cluster restart must start together.
func (c *Cluster) Start(ctx context.Context, nodes ...int) error {
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for k, i := range nodes {
		wg.Go(func() {
			p, err := c.spawn(ctx, i)
			if err != nil {
				errs[k] = fmt.Errorf("node %d: %w", i+1, err)
				return
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			c.nodes[i] = p
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (c *Cluster) spawn(ctx context.Context, i int) (*process, error) {
	c.mu.Lock()
	running := c.nodes[i] != nil
	c.mu.Unlock()
	if running {
		return nil, errors.New("already running")
	}
	path, args, env := c.cfg.Program(c.args[i])
	// Not exec.CommandContext: a node outlives the call that starts it.
	cmd := c.nw.Command(context.Background(), i, path, args...)
	cmd.Env = append(cmd.Environ(), env...)
	return startProcess(ctx, cmd, c.addrs[i])
}

// Kill kills node i with SIGKILL (a paused node too) and waits for it to
// exit. A node already down stays so.
func (c *Cluster) Kill(i int) {
	c.mu.Lock()
	p := c.nodes[i]
	c.nodes[i] = nil
	c.mu.Unlock()
	if p != nil {
		p.kill()
	}
}

// Signal sends sig to node i's process: SIGSTOP pauses it, SIGCONT
// resumes it.
func (c *Cluster) Signal(i int, sig syscall.Signal) error {
	c.mu.Lock()
	p := c.nodes[i]
	c.mu.Unlock()
	if p == nil {
		return fmt.Errorf("clusterfaults: node %d is down", i+1)
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("clusterfaults: node %d: %w", i+1, err)
	}
	return nil
}

// Up reports whether node i's process runs (it may be paused).
func (c *Cluster) Up(i int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i] != nil
}

// Log returns the end of node i's standard error, for a post-mortem.
func (c *Cluster) Log(i int) string {
	c.mu.Lock()
	p := c.nodes[i]
	c.mu.Unlock()
	if p == nil {
		return ""
	}
	return p.log.String()
}

// Close kills every node and removes the namespaces (a process keeps its
// namespace alive, so the nodes go first).
func (c *Cluster) Close() error {
	for i := range c.cfg.Nodes {
		c.Kill(i)
	}
	return c.nw.Close()
}

// HTTPClient returns an HTTP client that reaches node i: from inside its
// namespace, where the node's address is. timeout bounds each request
// (zero: no bound, for subscriptions).
func (c *Cluster) HTTPClient(i int, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return c.nw.DialContext(ctx, i, network, addr)
		},
		MaxIdleConnsPerHost: 64,
	}}
}

// Client returns an SDK client of node i that retries nothing (the
// workload records every call's outcome), each call bounded by timeout
// (zero: no bound).
func (c *Cluster) Client(i int, timeout time.Duration) *kinesis.Client {
	return c.client(i, timeout, aws.NopRetryer{})
}

func (c *Cluster) client(i int, timeout time.Duration, retryer aws.Retryer) *kinesis.Client {
	return kinesis.New(kinesis.Options{
		BaseEndpoint: aws.String("http://" + c.addrs[i]),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:   sdkhttp.Wrap(c.HTTPClient(i, timeout)),
		Retryer:      retryer,
	})
}

// process is one running node.
type process struct {
	cmd  *exec.Cmd
	log  *tail
	done chan struct{} // closed when its standard error ends
}

// startProcess starts cmd and returns once the node logs that it listens
// on addr.
func startProcess(ctx context.Context, cmd *exec.Cmd, addr string) (*process, error) {
	p := &process{cmd: cmd, log: &tail{max: 64 << 10}, done: make(chan struct{})}
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	listening := make(chan struct{})
	want := regexp.MustCompile(`listening on ` + regexp.QuoteMeta(addr) + `\b`)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(pipe)
		sc.Buffer(nil, 1<<20)
		found := false
		for sc.Scan() {
			line := sc.Text()
			p.log.write(line)
			if !found && want.MatchString(line) {
				found = true
				close(listening)
			}
		}
		// Drain what a too-long line left, so the node never blocks on
		// a full pipe.
		_, _ = io.Copy(io.Discard, pipe)
	}()
	timer := time.NewTimer(startPatience)
	defer timer.Stop()
	select {
	case <-listening:
		return p, nil
	case <-p.done:
		_ = cmd.Wait()
		return nil, fmt.Errorf("exited at start (%v): %s", cmd.ProcessState, p.log.String())
	case <-timer.C:
		p.kill()
		return nil, fmt.Errorf("did not listen within %v: %s", startPatience, p.log.String())
	case <-ctx.Done():
		p.kill()
		return nil, ctx.Err()
	}
}

// kill kills the process with SIGKILL and waits for it.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
	_ = p.cmd.Wait()
}

// tail keeps the last max bytes of the lines written to it, whole lines.
type tail struct {
	max int

	mu    sync.Mutex
	lines []string
	size  int
}

func (t *tail) write(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	t.size += len(line) + 1
	for t.size > t.max && len(t.lines) > 1 {
		t.size -= len(t.lines[0]) + 1
		t.lines = t.lines[1:]
	}
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}
