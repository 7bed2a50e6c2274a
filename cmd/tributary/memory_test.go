package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLargeBodiesMemory sends rounds of 20 concurrent 32 MB request bodies
// to a real server process and checks its resident memory: the peak stays
// within what the body budget allows, and later rounds do not raise it
// (nothing accumulates from round to round).
//
// The server is the real binary, built for the test without the race
// detector, whose shadow memory would swamp what is measured.
//
// The bodies are not JSON, so the protocol layer rejects each at once
// (SerializationException): what is measured is the front end, which holds
// a whole body before the protocol layer sees it. Decoding a large valid
// body costs memory of its own, which the budget does not count.
func TestLargeBodiesMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads the server's memory from /proc")
	}
	const (
		clients  = 20
		rounds   = 4
		bodySize = 32_000_000 // under the 32 MiB limit: every body is read
		budget   = 128 << 20  // --body-budget: 4 bodies at once
		// The peak allowed: at most a budget's worth of bodies is live at
		// once, but Go's collector (GOGC=100) lets the heap grow to twice
		// what it found live before it collects again, and what it finds
		// live includes bodies received while it runs: three budgets.
		// Plus the process's baseline (about 10 MiB) and the goroutines
		// and buffers of 20 connections, with room to spare. Without a
		// budget, all 20 bodies are live at once: 640 MB, and over 1 GB
		// of RSS.
		maxPeak = 3*budget + 64<<20
		// Growth allowed between the first two rounds and the last two.
		maxGrowth = 64 << 20
	)
	bin := filepath.Join(t.TempDir(), "tributary")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	p := startCmd(t, exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--storage", "memory",
		"--body-budget", strconv.Itoa(budget)))
	pid := p.cmd.Process.Pid

	body := bytes.Repeat([]byte("a"), bodySize)
	var afterRound []int64
	for round := range rounds {
		roundStart := time.Now()
		outcomes := make(chan string, clients)
		var wg sync.WaitGroup
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				outcomes <- postLarge(p.addr, body)
			}()
		}
		wg.Wait()
		close(outcomes)
		counts := make(map[string]int)
		for o := range outcomes {
			counts[o]++
		}
		rss := procStatus(t, pid, "VmRSS")
		afterRound = append(afterRound, rss)
		t.Logf("round %d: VmRSS %d MiB; answers %v in %v", round+1, rss>>20, counts, time.Since(roundStart).Round(time.Millisecond))
		for o := range counts {
			// 503 when a body waited more than 2 s for room, which a
			// slow machine may see.
			if o != "400 SerializationException" && o != "503 ServiceUnavailable" {
				t.Errorf("round %d: unexpected answer %q", round+1, o)
			}
		}
	}

	peak := procStatus(t, pid, "VmHWM")
	t.Logf("peak VmHWM %d MiB (bound %d MiB)", peak>>20, maxPeak>>20)
	if peak > maxPeak {
		t.Errorf("peak resident memory %d MiB, want at most %d MiB", peak>>20, maxPeak>>20)
	}
	early := max(afterRound[0], afterRound[1])
	late := max(afterRound[rounds-2], afterRound[rounds-1])
	if late > early+maxGrowth {
		t.Errorf("resident memory grew from %d MiB after the first rounds to %d MiB after the last", early>>20, late>>20)
	}
}

// postLarge sends body as a PutRecord on a connection of its own and
// returns the status and error type of the answer, or the error met. It
// writes the body in one call, sparing the race detector's instrumented
// copies in the test process.
func postLarge(addr string, body []byte) string {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err.Error()
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute))
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: tributary\r\nContent-Type: application/x-amz-json-1.1\r\n"+
		"X-Amz-Target: Kinesis_20131202.PutRecord\r\nX-Amz-Date: 20250101T000000Z\r\n"+
		"Authorization: AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc\r\n"+
		"Content-Length: %d\r\n\r\n", len(body))
	// A refused body is answered without being read, and the write may
	// then fail; the answer is read all the same.
	conn.Write(body)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	typ, _, _ := strings.Cut(strings.TrimPrefix(string(b), `{"__type":"`), `"`)
	return fmt.Sprintf("%d %s", resp.StatusCode, typ)
}

// procStatus returns a memory field of /proc/<pid>/status, such as VmRSS,
// in bytes.
func procStatus(t *testing.T, pid int, field string) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), field+":")
		if !ok {
			continue
		}
		// The kernel writes "VmRSS:	   12345 kB", in KiB.
		kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			t.Fatalf("%s line %q: %v", field, sc.Text(), err)
		}
		return kib << 10
	}
	t.Fatalf("no %s in /proc/%d/status (%v)", field, pid, sc.Err())
	return 0
}
