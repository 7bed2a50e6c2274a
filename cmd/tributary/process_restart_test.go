package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// serveChildEnv makes the test binary act as `tributary serve` with the
// arguments in it (one per line), so the restart test can SIGTERM and
// SIGKILL a real server process without building the binary first.
const serveChildEnv = "TRIBUTARY_TEST_SERVE_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(serveChildEnv); args != "" {
		os.Exit(runMain(context.Background(), strings.Split(args, "\n"), os.Stdin, os.Stdout, os.Stderr, os.LookupEnv))
	}
	os.Exit(m.Run())
}

type serverProcess struct {
	cmd    *exec.Cmd
	addr   string
	stderr *syncBuffer
	done   chan struct{}
}

var listeningRE = regexp.MustCompile(`listening on (\d+\.\d+\.\d+\.\d+:\d+)`)

// startProcess starts `tributary serve` over dir in a child process, with
// extra arguments after its own.
func startProcess(t *testing.T, dir string, extra ...string) *serverProcess {
	t.Helper()
	// Limits off: the tests write and read back as fast as they can.
	args := []string{"--listen", "127.0.0.1:0", "--data-dir", dir,
		"--create-delay", "0", "--delete-delay", "0", "--update-delay", "0", "--limits", "off"}
	p, err := startServe(append(args, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.kill)
	return p
}

// startCmd starts cmd, a `tributary serve` listening on a free port, and
// waits until it logs its address. It is killed when the test ends.
func startCmd(t *testing.T, cmd *exec.Cmd) *serverProcess {
	t.Helper()
	p, err := startServeCmd(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.kill)
	return p
}

// startServe starts `tributary serve args...` in a child process (this test
// binary, see TestMain) and returns once it listens. The caller must kill
// it.
func startServe(args ...string) (*serverProcess, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serveChildEnv+"="+strings.Join(append([]string{"serve"}, args...), "\n"))
	return startServeCmd(cmd)
}

// startServeCmd starts cmd, a `tributary serve`, and returns once it logs
// the address it listens on. The caller must kill it.
func startServeCmd(cmd *exec.Cmd) (*serverProcess, error) {
	return startServeCmdWithin(cmd, 15*time.Second)
}

// startServeCmdWithin is startServeCmd waiting at most patience: a
// cluster node listens only once a majority of the nodes are up.
func startServeCmdWithin(cmd *exec.Cmd, patience time.Duration) (*serverProcess, error) {
	p := &serverProcess{cmd: cmd, stderr: &syncBuffer{}, done: make(chan struct{})}
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	found := make(chan string, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			p.stderr.Write([]byte(line + "\n"))
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case p.addr = <-found:
	case <-p.done:
		cmd.Wait()
		return nil, fmt.Errorf("server exited at start: %s", p.stderr.String())
	case <-time.After(patience):
		p.kill()
		return nil, fmt.Errorf("server did not start: %s", p.stderr.String())
	}
	return p, nil
}

// kill kills the process with SIGKILL and waits for it.
func (p *serverProcess) kill() {
	p.cmd.Process.Kill()
	<-p.done
	p.cmd.Wait()
}

// stop signals the process and returns its exit code.
func (p *serverProcess) stop(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("server did not exit after %v", sig)
	}
	p.cmd.Wait()
	return p.cmd.ProcessState.ExitCode()
}

func (p *serverProcess) client() *sdk.Client {
	return testClient(p.addr)
}

type ackedRecord struct {
	shard, seq, data string
}

// putBatch makes one PutRecords call of 20 records from writer, whose
// records are numbered from n, and returns those acknowledged.
func putBatch(ctx context.Context, c *sdk.Client, stream string, writer, n int) ([]ackedRecord, error) {
	entries := make([]types.PutRecordsRequestEntry, 20)
	for i := range entries {
		entries[i] = types.PutRecordsRequestEntry{
			PartitionKey: aws.String(fmt.Sprintf("key-%d-%d", writer, i%4)),
			Data:         []byte(fmt.Sprintf("w%d-%d", writer, n+i)),
		}
	}
	out, err := c.PutRecords(ctx, &sdk.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
	if err != nil {
		return nil, err
	}
	var acked []ackedRecord
	for i, r := range out.Records {
		if r.ErrorCode == nil {
			acked = append(acked, ackedRecord{shard: *r.ShardId, seq: *r.SequenceNumber, data: string(entries[i].Data)})
		}
	}
	return acked, nil
}

// putUntil writes batches until halt is closed or a call fails (as calls
// do once the server is killed), and returns what was acknowledged.
func putUntil(ctx context.Context, c *sdk.Client, stream string, writer int, halt <-chan struct{}) []ackedRecord {
	var acked []ackedRecord
	for n := 0; ; n += 20 {
		select {
		case <-halt:
			return acked
		default:
		}
		got, err := putBatch(ctx, c, stream, writer, n)
		if err != nil {
			return acked
		}
		acked = append(acked, got...)
	}
}

// readStream reads every shard of a stream from TRIM_HORIZON and returns
// the records by sequence number, checking order within each shard.
func readStream(t *testing.T, ctx context.Context, c *sdk.Client, stream string) map[string]ackedRecord {
	t.Helper()
	shards, err := c.ListShards(ctx, &sdk.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatalf("ListShards: %v", err)
	}
	got := make(map[string]ackedRecord)
	for _, sh := range shards.Shards {
		it, err := c.GetShardIterator(ctx, &sdk.GetShardIteratorInput{
			StreamName: aws.String(stream), ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatalf("GetShardIterator: %v", err)
		}
		recs, _ := readAll(t, ctx, c, it.ShardIterator)
		prev := ""
		for _, r := range recs {
			if prev != "" && !seqLess(prev, *r.SequenceNumber) {
				t.Fatalf("shard %s: sequence %s after %s", *sh.ShardId, *r.SequenceNumber, prev)
			}
			prev = *r.SequenceNumber
			got[*r.SequenceNumber] = ackedRecord{shard: *sh.ShardId, seq: *r.SequenceNumber, data: string(r.Data)}
		}
	}
	return got
}

// seqLess compares decimal sequence numbers as integers.
func seqLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func checkAcked(t *testing.T, got map[string]ackedRecord, acked []ackedRecord) {
	t.Helper()
	for _, a := range acked {
		if g, ok := got[a.seq]; !ok || g != a {
			t.Fatalf("acknowledged record %+v lost or changed after restart (found %+v)", a, g)
		}
	}
}

// TestProcessRestart writes to a real server process, stops it with
// SIGTERM and then with SIGKILL under load, and after each restart reads
// back every acknowledged record in order.
func TestProcessRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	const stream = "restart"

	p := startProcess(t, dir)
	c := p.client()
	if _, err := c.CreateStream(ctx, &sdk.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, ctx, c, stream)
	// A bounded first load: 10 calls of 20 records, all acknowledged.
	var acked []ackedRecord
	for i := 0; i < 10; i++ {
		got, err := putBatch(ctx, c, stream, 0, i*20)
		if err != nil || len(got) != 20 {
			t.Fatalf("PutRecords: %v, %d of 20 acknowledged", err, len(got))
		}
		acked = append(acked, got...)
	}

	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM: %s", code, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "stopped") {
		t.Fatalf("no 'stopped' in the log after SIGTERM: %s", p.stderr.String())
	}

	p = startProcess(t, dir)
	c = p.client()
	checkAcked(t, readStream(t, ctx, c, stream), acked)

	// Now kill it under load from four writers.
	halt := make(chan struct{})
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := putUntil(ctx, c, stream, 100+w, halt)
			mu.Lock()
			acked = append(acked, got...)
			mu.Unlock()
		}()
	}
	time.Sleep(300 * time.Millisecond)
	p.stop(t, syscall.SIGKILL)
	close(halt)
	wg.Wait()

	p = startProcess(t, dir)
	c = p.client()
	got := readStream(t, ctx, c, stream)
	checkAcked(t, got, acked)
	if len(acked) < 300 {
		t.Fatalf("only %d records acknowledged: the test did not load the server", len(acked))
	}
	t.Logf("%d acknowledged records survived SIGTERM and SIGKILL restarts", len(acked))
}
