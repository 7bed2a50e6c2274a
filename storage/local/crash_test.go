package local

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
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

var crashCycles = flag.Int("crash-cycles", envInt("TRIBUTARY_CRASH_CYCLES", 20), "kill -9 cycles in TestCrashRecovery (default from $TRIBUTARY_CRASH_CYCLES, else 20)")

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

const crashChildEnv = "TRIBUTARY_CRASH_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	if dir := os.Getenv(dirSyncChildEnv); dir != "" {
		dirSyncChild(dir)
	}
	os.Exit(m.Run())
}

// crashChild appends to the engine in dir from several goroutines until it
// is killed, printing one line per acknowledged batch:
//
//	ack <log> <first position> <count> <writer> <first seq>
//
// Writers 0..3 each own a log; writers 4..7 share one, so group commit is
// exercised within a log and across logs. Small segments and journal files
// make rolls and checkpoints happen while the kill may land.
func crashChild(dir string) {
	e, err := Open(dir, Options{SegmentBytes: 128 << 10, JournalBytes: 512 << 10, CheckpointInterval: 50 * time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(3)
	}
	cycle := os.Getenv("TRIBUTARY_CRASH_CYCLE")
	ctx := context.Background()
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	logFor := func(w int) storage.ShardLog {
		name := fmt.Sprintf("c%s-w%d", cycle, w)
		if w >= 4 {
			name = fmt.Sprintf("c%s-shared", cycle)
		}
		mu.Lock()
		defer mu.Unlock()
		if l, err := e.Log(ctx, name); err == nil {
			return l
		}
		l, err := e.CreateLog(ctx, name, storage.LogOptions{})
		if err != nil {
			fmt.Fprintln(os.Stderr, "create:", err)
			os.Exit(3)
		}
		return l
	}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := logFor(w)
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for seq := 0; ; {
				n := 1 + rng.IntN(5)
				batch := make([]storage.Record, n)
				for i := range batch {
					pad := strings.Repeat("p", rng.IntN(3000))
					batch[i] = storage.Record{Key: strconv.Itoa(w), Data: []byte(fmt.Sprintf("w%d:%d:%s", w, seq+i, pad))}
				}
				res, err := l.Append(ctx, batch)
				if err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					os.Exit(3)
				}
				mu.Lock()
				fmt.Fprintf(out, "ack %s %d %d %d %d\n", l.Name(), res[0].Position, n, w, seq)
				out.Flush()
				mu.Unlock()
				seq += n
			}
		}()
	}
	wg.Wait()
}

type ackedBatch struct {
	log          string
	pos          uint64
	count        int
	writer, seq0 int
}

// TestCrashRecovery kills a real appending process with SIGKILL at random
// moments and checks, after each kill, that every acknowledged record of
// every cycle so far is present, in order, once.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode; CI runs it in full")
	}
	dir := t.TempDir()
	var acked []ackedBatch
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	for cycle := 0; cycle < *crashCycles; cycle++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, "TRIBUTARY_CRASH_CYCLE="+strconv.Itoa(cycle))
		stdout, _ := cmd.StdoutPipe()
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Let it write for a while, at least until something was
		// acknowledged, then kill it wherever it is.
		deadline := time.After(time.Duration(50+rng.IntN(400)) * time.Millisecond)
		var cycleAcks []ackedBatch
		waiting := true
		for waiting || len(cycleAcks) == 0 {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatalf("cycle %d: child exited early: %s", cycle, stderr.String())
				}
				cycleAcks = append(cycleAcks, parseAck(t, line))
			case <-deadline:
				waiting = false
				deadline = nil
			case <-time.After(20 * time.Second):
				t.Fatalf("cycle %d: no acknowledgement in 20 s: %s", cycle, stderr.String())
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		for line := range lines {
			cycleAcks = append(cycleAcks, parseAck(t, line))
		}
		cmd.Wait()
		acked = append(acked, cycleAcks...)
		verifyCrashState(t, dir, acked)
	}
	t.Logf("%d cycles, %d acknowledged batches verified", *crashCycles, len(acked))
}

func parseAck(t *testing.T, line string) ackedBatch {
	var a ackedBatch
	if _, err := fmt.Sscanf(line, "ack %s %d %d %d %d", &a.log, &a.pos, &a.count, &a.writer, &a.seq0); err != nil {
		t.Fatalf("bad line %q: %v", line, err)
	}
	return a
}

func verifyCrashState(t *testing.T, dir string, acked []ackedBatch) {
	t.Helper()
	e, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer e.Close()
	ctx := context.Background()

	// Every log: positions 1..n without gaps, and each writer's sequence
	// numbers 0, 1, 2, ... without duplicates or holes (a batch the kill
	// interrupted may be there or not, but only as a whole, and last).
	contents := make(map[string]map[uint64]string)
	names, _ := e.ListLogs(ctx)
	for _, name := range names {
		l, _ := e.Log(ctx, name)
		recs := make(map[uint64]string)
		nextSeq := make(map[int]int)
		for next := uint64(1); ; {
			res, err := l.Read(ctx, storage.At(next), storage.ReadLimits{MaxRecords: 1000})
			if err != nil {
				t.Fatalf("%s: read at %d: %v", name, next, err)
			}
			if len(res.Records) == 0 {
				break
			}
			for _, r := range res.Records {
				if r.Position != next {
					t.Fatalf("%s: position %d where %d was expected", name, r.Position, next)
				}
				var w, seq int
				fmt.Sscanf(string(r.Data), "w%d:%d:", &w, &seq)
				if seq != nextSeq[w] {
					t.Fatalf("%s: writer %d seq %d at position %d, expected seq %d", name, w, seq, r.Position, nextSeq[w])
				}
				nextSeq[w]++
				recs[r.Position] = fmt.Sprintf("w%d:%d", w, seq)
				next++
			}
		}
		contents[name] = recs
	}
	for _, a := range acked {
		for i := 0; i < a.count; i++ {
			want := fmt.Sprintf("w%d:%d", a.writer, a.seq0+i)
			if got := contents[a.log][a.pos+uint64(i)]; got != want {
				t.Fatalf("acknowledged record lost: %s position %d holds %q, want %q", a.log, a.pos+uint64(i), got, want)
			}
		}
	}
}
