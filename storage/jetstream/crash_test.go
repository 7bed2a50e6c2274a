package jetstream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tributary-io/tributary/storage"
)

// The kill -9 test runs the engine in a child process: this test binary,
// started again with crashDirEnv set, which TestMain sends to crashWriter.
const (
	crashDirEnv   = "TRIBUTARY_JETSTREAM_CRASH_DIR"
	crashCycleEnv = "TRIBUTARY_JETSTREAM_CRASH_CYCLE"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashWriter(dir, os.Getenv(crashCycleEnv))
		return
	}
	os.Exit(m.Run())
}

// crashWriter appends from six goroutines until it is killed: writers 0-2
// each have a log of their own, writers 3-5 share one, and each cycle
// appends to the logs of all cycles before it too, so that a log is
// written across several kills. After each acknowledged batch it prints
//
//	ack <log> <writer> <first record number> <count> <first position> <arrival>
//
// where record r of writer w in cycle c holds "c<c>-w<w>-<r>".
func crashWriter(dir, cycle string) {
	e, err := Open(context.Background(), Options{Dir: dir, Placements: 2})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(3)
	}
	ctx := context.Background()
	var out sync.Mutex
	var wg sync.WaitGroup
	for w := range 6 {
		name := fmt.Sprintf("w%d", w)
		if w >= 3 {
			name = "shared"
		}
		wg.Go(func() {
			l, err := e.Log(ctx, name)
			if err != nil {
				l, err = e.CreateLog(ctx, name, storage.LogOptions{})
			}
			if err != nil {
				// Two writers of the shared log race to create it.
				if l, err = e.Log(ctx, name); err != nil {
					fmt.Fprintln(os.Stderr, "log:", err)
					os.Exit(3)
				}
			}
			for r := 0; ; {
				n := 1 + r%7
				batch := make([]storage.Record, n)
				for i := range batch {
					batch[i] = storage.Record{Key: strconv.Itoa(w), Data: fmt.Appendf(nil, "c%s-w%d-%d-%s", cycle, w, r+i, strings.Repeat("x", (r+i)%500))}
				}
				app, err := l.Append(ctx, batch)
				if err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					os.Exit(3)
				}
				out.Lock()
				fmt.Printf("ack %s %d %d %d %d %d\n", name, w, r, n, app[0].Position, app[0].ArrivalTime)
				out.Unlock()
				r += n
			}
		})
	}
	wg.Wait()
}

type crashAck struct {
	cycle          int
	log            string
	writer, record int
	count          int
	pos            uint64
	arrival        int64
}

// TestKill9 kills a process appending through the engine with SIGKILL at
// moments spread over its run, reopens the directory and checks that every
// acknowledged record is there, once, at the position and arrival time its
// Append returned, and that each writer's records are in order with no
// hole: a batch the kill interrupted is there whole or not at all, and
// only as the writer's last.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 test skipped in -short mode")
	}
	cycles := 4
	if n, err := strconv.Atoi(os.Getenv("TRIBUTARY_JETSTREAM_CRASH_CYCLES")); err == nil && n > 0 {
		cycles = n
	}
	dir := t.TempDir()
	var acked []crashAck
	for cycle := range cycles {
		acked = append(acked, runAndKill(t, dir, cycle, time.Duration(100+cycle*150)*time.Millisecond)...)
		checkAfterKill(t, dir, cycle, acked)
	}
}

// runAndKill runs crashWriter on dir until it has acknowledged something
// and after for at least d, then kills it and returns what it acknowledged.
func runAndKill(t *testing.T, dir string, cycle int, d time.Duration) []crashAck {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashCycleEnv+"="+strconv.Itoa(cycle))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 4096)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var acks []crashAck
	parse := func(line string) {
		a := crashAck{cycle: cycle}
		if _, err := fmt.Sscanf(line, "ack %s %d %d %d %d %d", &a.log, &a.writer, &a.record, &a.count, &a.pos, &a.arrival); err != nil {
			t.Fatalf("cycle %d: bad line %q: %v", cycle, line, err)
		}
		acks = append(acks, a)
	}
	killAt := time.After(d)
	giveUp := time.After(time.Minute)
	for killAt != nil || len(acks) == 0 {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("cycle %d: the child exited: %s", cycle, stderr.String())
			}
			parse(line)
		case <-killAt:
			killAt = nil
		case <-giveUp:
			_ = cmd.Process.Kill()
			t.Fatalf("cycle %d: nothing acknowledged in a minute: %s", cycle, stderr.String())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for line := range lines {
		parse(line)
	}
	_ = cmd.Wait()
	return acks
}

func checkAfterKill(t *testing.T, dir string, cycle int, acked []crashAck) {
	t.Helper()
	e := openTest(t, dir, time.Now)
	defer e.Close()
	ctx := t.Context()

	// What each log holds, by position, and that each writer's records of
	// each cycle run 0, 1, 2... without hole or repeat.
	held := map[string]map[uint64]storage.StoredRecord{}
	for _, name := range []string{"w0", "w1", "w2", "shared"} {
		l, err := e.Log(ctx, name)
		if errors.Is(err, storage.ErrNotFound) {
			continue // killed before it was created; then nothing was acknowledged in it
		}
		if err != nil {
			t.Fatalf("after kill %d: Log(%q): %v", cycle, name, err)
		}
		recs := readEverything(t, l)
		held[name] = map[uint64]storage.StoredRecord{}
		next := map[string]int{}
		for _, r := range recs {
			var c, w, n int
			if _, err := fmt.Sscanf(string(r.Data), "c%d-w%d-%d-", &c, &w, &n); err != nil {
				t.Fatalf("after kill %d: %s holds %q at %d", cycle, name, r.Data, r.Position)
			}
			k := fmt.Sprintf("c%d-w%d", c, w)
			if n != next[k] {
				t.Fatalf("after kill %d: %s: record %d of %s at %d, want record %d", cycle, name, n, k, r.Position, next[k])
			}
			next[k]++
			held[name][r.Position] = r
		}
	}
	for _, a := range acked {
		for i := range a.count {
			r, ok := held[a.log][a.pos+uint64(i)]
			wantPrefix := fmt.Sprintf("c%d-w%d-%d-", a.cycle, a.writer, a.record+i)
			if !ok || !strings.HasPrefix(string(r.Data), wantPrefix) || r.ArrivalTime != a.arrival {
				t.Fatalf("after kill %d: acknowledged record %s (cycle %d) at %d of %s: found %v %q arrived %d, want arrival %d",
					cycle, wantPrefix, a.cycle, a.pos+uint64(i), a.log, ok, brief(r.Data), r.ArrivalTime, a.arrival)
			}
		}
	}
	t.Logf("after kill %d: %d acknowledged batches in all, every one there", cycle, len(acked))
}

func brief(b []byte) string {
	if len(b) > 32 {
		return string(b[:32]) + "..."
	}
	return string(b)
}
