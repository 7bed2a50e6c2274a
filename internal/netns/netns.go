// Package netns gives a test a small network of its own on one machine,
// which it can partition and heal: for the cluster's fault tests, where
// nodes of one cluster run as processes on the same host
// (docs/cluster-testing.md). It drives iproute2 (`ip netns`, `ip link`,
// `ip rule`) and needs root; the fault tests use it, and so does the
// cluster-faults benchmark (internal/clusterfaults).
//
// # Topology
//
// Each node is a network namespace with one interface, eth0, holding the
// node's address 10.77.0.(i+1). Its other end is in a hub namespace,
// private to the Net, which routes between the nodes. Partitions are
// policy-routing rules of type blackhole in the hub: a cut link drops
// packets silently in both directions, so that the nodes see what they
// would see of a real partition, timeouts and no error, and the nodes'
// own interfaces stay up. (There is no iptables here and the kernel has
// no netem, so the hub's routing is where packets are dropped.)
//
// Every Net has namespaces of its own, named with a random prefix, so
// concurrent test runs neither collide nor see each other, and may use
// the same addresses. The host's namespace is not touched.
package netns

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// hubAddr is the hub's address, the nodes' gateway to one another. It is
// outside the nodes' /24, so no node can be given it.
const hubAddr = "10.77.255.254"

// Net is a set of node namespaces joined through a hub. Its methods are
// safe for concurrent use.
type Net struct {
	prefix string
	nodes  int

	mu     sync.Mutex
	rules  map[string]bool // the blackhole rules in force, as "from A to B" etc.
	closed bool
}

// New creates a network of n nodes (1 to 253), removed when tb ends. If
// network namespaces cannot be created here (not root, no iproute2, a
// container without the privilege), it skips tb, or fails it when the
// environment variable CI is "true": CI must run the tests that need it.
func New(tb testing.TB, n int) *Net {
	tb.Helper()
	nw, err := Open(context.Background(), n)
	if errors.Is(err, ErrUnavailable) {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%v, and CI must run this test", err)
		}
		tb.Skip(err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := nw.Close(); err != nil {
			tb.Errorf("netns: %v", err)
		}
	})
	return nw
}

// ErrUnavailable is wrapped by Open's error when network namespaces
// cannot be created here: not root, no iproute2, or a container without
// the privilege.
var ErrUnavailable = errors.New("netns: network namespaces are not usable here (they need root and iproute2's ip)")

// Open creates a network of n nodes (1 to 253), for a program rather than
// a test (New is Open for a test). The caller must Close it, after
// stopping the processes it started in it. If the namespaces cannot be
// created, the error wraps ErrUnavailable and nothing is left behind.
func Open(ctx context.Context, n int) (*Net, error) {
	if n < 1 || n > 253 {
		return nil, fmt.Errorf("netns: %d nodes; want 1 to 253", n)
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("netns: %w", err)
	}
	nw := &Net{prefix: "trib" + hex.EncodeToString(b[:]), nodes: n, rules: map[string]bool{}}
	if err := nw.create(ctx); err != nil {
		// Close removes whatever create made before it failed.
		return nil, errors.Join(fmt.Errorf("%w: %w", ErrUnavailable, err), nw.Close())
	}
	return nw, nil
}

// hub is the name of the hub namespace.
func (nw *Net) hub() string { return nw.prefix + "-hub" }

// Name returns the name of node i's namespace, for `ip netns exec`.
func (nw *Net) Name(i int) string { return nw.prefix + "-" + strconv.Itoa(i) }

// Addr returns node i's address.
func (nw *Net) Addr(i int) string { return "10.77.0." + strconv.Itoa(i+1) }

// Nodes returns the number of nodes.
func (nw *Net) Nodes() int { return nw.nodes }

func (nw *Net) create(ctx context.Context) error {
	hub := nw.hub()
	if err := ip(ctx, "netns", "add", hub); err != nil {
		return err
	}
	steps := [][]string{
		{"-n", hub, "link", "set", "lo", "up"},
		{"-n", hub, "addr", "add", hubAddr + "/32", "dev", "lo"},
		// Forwarding is per namespace; the hub is the nodes' router.
		{"netns", "exec", hub, "sysctl", "-qw", "net.ipv4.ip_forward=1"},
	}
	for i := range nw.nodes {
		node, port := nw.Name(i), "v"+strconv.Itoa(i)
		steps = append(steps,
			[]string{"netns", "add", node},
			[]string{"-n", hub, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", node},
			[]string{"-n", hub, "link", "set", port, "up"},
			[]string{"-n", hub, "route", "add", nw.Addr(i) + "/32", "dev", port},
			[]string{"-n", node, "link", "set", "lo", "up"},
			[]string{"-n", node, "link", "set", "eth0", "up"},
			[]string{"-n", node, "addr", "add", nw.Addr(i) + "/32", "dev", "eth0"},
			// The hub answers ARP for its address on every port (it
			// is local to it), so the nodes need no proxy ARP.
			[]string{"-n", node, "route", "add", "10.77.0.0/24", "via", hubAddr, "dev", "eth0", "onlink"},
		)
	}
	for _, s := range steps {
		if err := ip(ctx, s...); err != nil {
			return err
		}
	}
	return nil
}

// ip runs iproute2's ip with args.
func ip(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Close removes the namespaces, and with them their interfaces and
// rules. It is idempotent, and New arranges for it to run when the test
// ends; Open's caller calls it. A process still running in a node's namespace keeps that
// namespace alive, unnamed, until it exits: stop the nodes first.
func (nw *Net) Close() error {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	if nw.closed {
		return nil
	}
	nw.closed = true
	var errs []error
	for _, name := range append([]string{nw.hub()}, nw.names()...) {
		if _, err := os.Stat("/var/run/netns/" + name); errors.Is(err, os.ErrNotExist) {
			continue // never created
		}
		if err := ip(context.Background(), "netns", "del", name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (nw *Net) names() []string {
	out := make([]string, nw.nodes)
	for i := range out {
		out[i] = nw.Name(i)
	}
	return out
}

// Command returns a command that runs name with args in node i's
// namespace. `ip netns exec` executes the command in its own place, so
// the command's process is the program itself: signals sent to it (kill
// -9, SIGSTOP, SIGCONT) reach the program. The context kills it as
// exec.CommandContext does.
func (nw *Net) Command(ctx context.Context, i int, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", nw.Name(i), name}, args...)...)
}

// Cut drops every packet between nodes i and j, both ways, until Heal.
// Cutting a cut link does nothing.
func (nw *Net) Cut(ctx context.Context, i, j int) error {
	return nw.setRules(ctx, true, nw.pairRules(i, j))
}

// Heal undoes Cut. Healing a link that is not cut does nothing.
func (nw *Net) Heal(ctx context.Context, i, j int) error {
	return nw.setRules(ctx, false, nw.pairRules(i, j))
}

// Isolate drops every packet from or to node i until Rejoin, as if its
// cable were pulled: the node's own interface stays up.
func (nw *Net) Isolate(ctx context.Context, i int) error {
	return nw.setRules(ctx, true, nw.nodeRules(i))
}

// Rejoin undoes Isolate.
func (nw *Net) Rejoin(ctx context.Context, i int) error {
	return nw.setRules(ctx, false, nw.nodeRules(i))
}

// HealAll undoes every Cut and Isolate.
func (nw *Net) HealAll(ctx context.Context) error {
	nw.mu.Lock()
	var rules []string
	for r := range nw.rules {
		rules = append(rules, r)
	}
	nw.mu.Unlock()
	return nw.setRules(ctx, false, rules)
}

func (nw *Net) pairRules(i, j int) []string {
	a, b := nw.Addr(i), nw.Addr(j)
	return []string{"from " + a + " to " + b, "from " + b + " to " + a}
}

func (nw *Net) nodeRules(i int) []string {
	return []string{"from " + nw.Addr(i), "to " + nw.Addr(i)}
}

// setRules adds (on) or deletes the hub's blackhole rules given as
// selectors, skipping those already so: the rules in force are the
// Net's record, so cuts and heals may be repeated.
func (nw *Net) setRules(ctx context.Context, on bool, rules []string) error {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	if nw.closed {
		return errors.New("netns: the network is closed")
	}
	verb := "del"
	if on {
		verb = "add"
	}
	for _, r := range rules {
		if nw.rules[r] == on {
			continue
		}
		args := append([]string{"-n", nw.hub(), "rule", verb}, strings.Fields(r)...)
		if err := ip(ctx, append(args, "blackhole")...); err != nil {
			return err
		}
		if on {
			nw.rules[r] = true
		} else {
			delete(nw.rules, r)
		}
	}
	return nil
}

// Listen listens on address in node i's namespace (net.Listen's network
// and address; the port may be 0): for a test's own server on a node.
func (nw *Net) Listen(i int, network, address string) (net.Listener, error) {
	var ln net.Listener
	err := nw.do(i, func() error {
		var err error
		ln, err = net.Listen(network, address)
		return err
	})
	return ln, err
}

// DialContext dials address from node i's namespace, as net.Dialer
// does: for a test's own client on a node.
func (nw *Net) DialContext(ctx context.Context, i int, network, address string) (net.Conn, error) {
	var c net.Conn
	err := nw.do(i, func() error {
		var err error
		c, err = new(net.Dialer).DialContext(ctx, network, address)
		return err
	})
	return c, err
}
