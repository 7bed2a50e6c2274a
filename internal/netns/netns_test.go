package netns_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/netns"
)

// echo serves ln until it is closed, echoing one line per connection.
func echo(t *testing.T, ln net.Listener) {
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
}

// reach dials addr from node i and reports whether a byte made the round
// trip. A dropped SYN is never answered, so within wait the dial either
// succeeds or times out; wait only bounds the test's time.
func reach(t *testing.T, nw *netns.Net, i int, addr string, wait time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := nw.DialContext(ctx, i, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write([]byte{42}); err != nil {
		return err
	}
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return err
	}
	if b[0] != 42 {
		t.Fatalf("echoed %d, want 42", b[0])
	}
	return nil
}

func mustReach(t *testing.T, nw *netns.Net, i int, addr, when string) {
	t.Helper()
	if err := reach(t, nw, i, addr, 10*time.Second); err != nil {
		t.Fatalf("%s: node %d cannot reach %s: %v", when, i, addr, err)
	}
}

// mustTimeOut checks that node i's connection to addr fails by timing
// out, as across a real partition, not with a refusal or an unreachable
// network.
func mustTimeOut(t *testing.T, nw *netns.Net, i int, addr, when string) {
	t.Helper()
	err := reach(t, nw, i, addr, 300*time.Millisecond)
	var ne net.Error
	if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("%s: node %d dialling %s: %v, want a timeout", when, i, addr, err)
	}
}

func TestPartition(t *testing.T) {
	nw := netns.New(t, 3)
	ctx := context.Background()
	ln, err := nw.Listen(1, "tcp", nw.Addr(1)+":0")
	if err != nil {
		t.Fatal(err)
	}
	echo(t, ln)
	addr := ln.Addr().String()
	if !strings.HasPrefix(addr, "10.77.0.2:") {
		t.Fatalf("listening on %s, want node 1's address", addr)
	}
	// The listener is in node 1's namespace only: the host's does not
	// have the address.
	if c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond); err == nil {
		c.Close()
		t.Fatal("the host reached a node's listener")
	}

	mustReach(t, nw, 0, addr, "before any cut")
	mustReach(t, nw, 2, addr, "before any cut")

	for range 2 { // cutting twice is cutting once
		if err := nw.Cut(ctx, 0, 1); err != nil {
			t.Fatal(err)
		}
	}
	mustTimeOut(t, nw, 0, addr, "after Cut(0, 1)")
	mustReach(t, nw, 2, addr, "after Cut(0, 1)") // a partial partition
	for range 2 {
		if err := nw.Heal(ctx, 0, 1); err != nil {
			t.Fatal(err)
		}
	}
	mustReach(t, nw, 0, addr, "after Heal(0, 1)")

	if err := nw.Isolate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	mustTimeOut(t, nw, 0, addr, "after Isolate(1)")
	mustTimeOut(t, nw, 2, addr, "after Isolate(1)")
	if err := nw.Rejoin(ctx, 1); err != nil {
		t.Fatal(err)
	}
	mustReach(t, nw, 0, addr, "after Rejoin(1)")

	if err := nw.Cut(ctx, 2, 1); err != nil {
		t.Fatal(err)
	}
	if err := nw.Isolate(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := nw.HealAll(ctx); err != nil {
		t.Fatal(err)
	}
	mustReach(t, nw, 0, addr, "after HealAll")
	mustReach(t, nw, 2, addr, "after HealAll")
}

// TestCommand runs programs in a node: they see the node's address, and
// the process started is the program itself, so signals reach it.
func TestCommand(t *testing.T) {
	nw := netns.New(t, 2)
	out, err := nw.Command(context.Background(), 1, "ip", "-4", "-o", "addr", "show", "dev", "eth0").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "inet 10.77.0.2/32") {
		t.Errorf("node 1's eth0: %s", out)
	}
	cmd := nw.Command(context.Background(), 0, "sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	// ip execs the program once it has entered the namespace; wait for
	// that (comm is "ip" until then), then check the program's namespace.
	deadline := time.Now().Add(10 * time.Second)
	for {
		comm, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/comm")
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(string(comm)) == "sleep" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d is still %q", cmd.Process.Pid, comm)
		}
		time.Sleep(5 * time.Millisecond)
	}
	got, err := os.Readlink("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat("/var/run/netns/" + nw.Name(0))
	if err != nil {
		t.Fatal(err)
	}
	// A namespace's link reads "net:[inode]", the inode of the file
	// that names it.
	if want := fmt.Sprintf("net:[%d]", fi.Sys().(*syscall.Stat_t).Ino); got != want {
		t.Errorf("the process's namespace is %s, want node 0's, %s", got, want)
	}
}

// TestClose checks that Close removes every namespace, may be called
// again, and that a closed network refuses cuts; and that two networks
// do not share names.
func TestClose(t *testing.T) {
	a, b := netns.New(t, 2), netns.New(t, 2)
	if a.Name(0) == b.Name(0) {
		t.Fatalf("two networks both named their node 0 %s", a.Name(0))
	}
	for _, name := range []string{a.Name(0), a.Name(1)} {
		if _, err := os.Stat("/var/run/netns/" + name); err != nil {
			t.Fatalf("namespace %s: %v", name, err)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("closing again: %v", err)
	}
	entries, err := os.ReadDir("/var/run/netns")
	if err != nil {
		t.Fatal(err)
	}
	prefix, _, _ := strings.Cut(a.Name(0), "-")
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			t.Errorf("namespace %s left after Close", e.Name())
		}
	}
	if err := a.Cut(context.Background(), 0, 1); err == nil {
		t.Error("Cut on a closed network succeeded")
	}
	if _, err := os.Stat("/var/run/netns/" + b.Name(0)); err != nil {
		t.Errorf("closing one network removed the other's namespace: %v", err)
	}
}

// TestOpenClose: Open, for programs, creates the namespaces and Close
// removes every one of them, once; a bad size is refused as such, not
// as namespaces being unusable.
func TestOpenClose(t *testing.T) {
	if _, err := netns.Open(context.Background(), 0); err == nil || errors.Is(err, netns.ErrUnavailable) {
		t.Fatalf("Open of 0 nodes: %v, want an error of its own", err)
	}
	nw, err := netns.Open(context.Background(), 2)
	if errors.Is(err, netns.ErrUnavailable) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	names := []string{nw.Name(0), nw.Name(1)}
	for _, n := range names {
		if _, err := os.Stat("/var/run/netns/" + n); err != nil {
			nw.Close()
			t.Fatalf("after Open: %v", err)
		}
	}
	for range 2 {
		if err := nw.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	for _, n := range names {
		if _, err := os.Stat("/var/run/netns/" + n); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after Close: %v, want it gone", n, err)
		}
	}
	if err := nw.Isolate(context.Background(), 0); err == nil {
		t.Error("Isolate after Close succeeded")
	}
}
