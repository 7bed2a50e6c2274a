package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
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

	"github.com/fxamacker/cbor/v2"
)

// TestLargeBodiesMemory sends rounds of 20 concurrent 32 MB request bodies
// to a real server process and checks its resident memory: the peak stays
// within what the body budget allows, and later rounds do not raise it
// (nothing accumulates from round to round).
//
// The server is the real binary, built for the test without the race
// detector, whose shadow memory would swamp what is measured.
//
// It is run with bodies of several kinds: bytes that are not JSON, which
// the protocol layer rejects at once, so that only the front end, which
// holds a whole body before the protocol layer sees it, is measured; and
// well-formed requests whose decoding costs memory of its own (a PutRecord
// whose Data is too large, a CreateStream whose StreamName is, the same
// PutRecord in CBOR, and a PutRecords of one such record).
func TestLargeBodiesMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads the server's memory from /proc")
	}
	const (
		clients  = 20
		rounds   = 4
		bodySize = 32_000_000 // under the 32 MiB limit: every body is read
		budget   = 128 << 20  // --body-budget: one body at once, counted 4 times its size
		// The peak allowed: at most a budget's worth of bodies and their
		// decoding is live at once, but Go's collector (GOGC=100) lets the
		// heap grow to twice what it found live before it collects again,
		// and what it finds live includes bodies received while it runs:
		// three budgets.
		// Plus the process's baseline (about 10 MiB) and the goroutines
		// and buffers of 20 connections, with room to spare. Without a
		// budget, all 20 bodies are live at once: 640 MB, and over 1 GB
		// of RSS.
		maxPeak = 3*budget + 64<<20
		// Growth allowed between the first two rounds and the last two:
		// RSS sampled after a round swings by tens of MiB with the
		// collector's timing, while bodies that stayed behind would add
		// 20 × 32 MB a round.
		maxGrowth = budget
	)
	bin := filepath.Join(t.TempDir(), "tributary")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	blob := func(n int) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, n)) }
	for _, tc := range []struct {
		name, target, contentType string
		body                      []byte
		want                      string // the answer to each body that fits the budget
	}{
		{"not JSON", "PutRecord", jsonType, bytes.Repeat([]byte("a"), bodySize), "400 SerializationException"},
		{"PutRecord JSON", "PutRecord", jsonType,
			[]byte(`{"StreamName":"s","PartitionKey":"k","Data":"` + blob(bodySize/4*3-100) + `"}`), "400 ValidationException"},
		{"CreateStream JSON", "CreateStream", jsonType,
			[]byte(`{"ShardCount":1,"StreamName":"` + strings.Repeat("n", bodySize-100) + `"}`), "400 ValidationException"},
		{"PutRecords JSON", "PutRecords", jsonType,
			[]byte(`{"StreamName":"s","Records":[{"PartitionKey":"k","Data":"` + blob(bodySize/4*3-100) + `"}]}`), "400 ValidationException"},
		{"PutRecord CBOR", "PutRecord", cborType, cborPutRecord(bodySize - 100), "400 ValidationException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.body) > bodySize {
				t.Fatalf("body of %d bytes", len(tc.body))
			}
			p := startCmd(t, exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--storage", "memory",
				"--body-budget", strconv.Itoa(budget)))
			roundsOfLargeBodies(t, p, tc.target, tc.contentType, tc.body, tc.want, clients, rounds, maxPeak, maxGrowth)
		})
	}
}

const (
	jsonType = "application/x-amz-json-1.1"
	cborType = "application/x-amz-cbor-1.1"
)

// cborPutRecord is a CBOR PutRecord whose Data is a byte string of n bytes.
func cborPutRecord(n int) []byte {
	b, err := cbor.Marshal(map[string]any{"StreamName": "s", "PartitionKey": "k", "Data": bytes.Repeat([]byte{0xfb}, n)})
	if err != nil {
		panic(err)
	}
	return b
}

// roundsOfLargeBodies sends the rounds of TestLargeBodiesMemory to p and
// checks its memory.
func roundsOfLargeBodies(t *testing.T, p *serverProcess, target, contentType string, body []byte, want string, clients, rounds int, maxPeak, maxGrowth int64) {
	pid := p.cmd.Process.Pid
	var afterRound []int64
	for round := range rounds {
		roundStart := time.Now()
		outcomes := make(chan string, clients)
		var wg sync.WaitGroup
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				outcomes <- postLarge(p.addr, target, contentType, body)
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
			if o != want && o != "503 ServiceUnavailable" {
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
func postLarge(addr, target, contentType string, body []byte) string {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err.Error()
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute))
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: tributary\r\nContent-Type: %s\r\n"+
		"X-Amz-Target: Kinesis_20131202.%s\r\nX-Amz-Date: 20250101T000000Z\r\n"+
		"Authorization: AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc\r\n"+
		"Content-Length: %d\r\n\r\n", contentType, target, len(body))
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
	if strings.Contains(resp.Header.Get("Content-Type"), "cbor") {
		var e struct {
			Type string `cbor:"__type"`
		}
		cbor.Unmarshal(b, &e)
		typ = e.Type
	}
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
