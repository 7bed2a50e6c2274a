package dynamolease_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tributary-io/tributary/sdkhttp"
)

// The tests run against dynalite, a DynamoDB on memory (npm). test.sh
// installs the version that testdata/dynalite pins into
// $XDG_CACHE_HOME/tributary/dynalite-VERSION (~/.cache when unset) and
// exports TRIBUTARY_DYNALITE, the path of its cli.js; without the variable
// the tests look in that directory. One dynalite serves the package's
// tests, each store on a table of its own; TestMain stops it.
//
// Without node or dynalite the tests skip, saying how to install it, but
// fail with CI=true: the project's rule for tests that need a tool.

func TestMain(m *testing.M) {
	code := m.Run()
	server.stop()
	os.Exit(code)
}

var server dynalite

type dynalite struct {
	once     sync.Once
	endpoint string
	cmd      *exec.Cmd
	exited   chan struct{}  // closed when cmd has exited
	stdin    io.WriteCloser // dynalite's standard input, held open while it should run
	out      output         // its output, for a failure's message
	skip     string         // why there is no dynalite
	err      error
}

// dynaliteCLI finds dynalite's cli.js, or says why it cannot.
func dynaliteCLI() (string, error) {
	if p := os.Getenv("TRIBUTARY_DYNALITE"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("TRIBUTARY_DYNALITE=%s: %w", p, err)
		}
		return p, nil
	}
	pin, err := os.ReadFile(filepath.Join("testdata", "dynalite", "package.json"))
	if err != nil {
		return "", err
	}
	var pkg struct{ Dependencies map[string]string }
	if err := json.Unmarshal(pin, &pkg); err != nil {
		return "", fmt.Errorf("testdata/dynalite/package.json: %w", err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(cache, "tributary", "dynalite-"+pkg.Dependencies["dynalite"], "node_modules", "dynalite", "cli.js")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("dynalite is not installed at %s", p)
	}
	return p, nil
}

func (d *dynalite) start() {
	node, err := exec.LookPath("node")
	if err != nil {
		d.skip = "node not found on PATH (Debian's nodejs package)"
		return
	}
	cli, err := dynaliteCLI()
	if err != nil {
		d.skip = err.Error()
		return
	}
	watch, err := filepath.Abs(filepath.Join("testdata", "exit-with-parent.js"))
	if err != nil {
		d.err = err
		return
	}
	// dynalite takes no port 0: find a free port, and try another if it
	// was taken in between.
	for range 3 {
		var port int
		if port, d.err = freePort(); d.err != nil {
			return
		}
		d.cmd = exec.Command(node, "--require", watch, cli, "--host", "127.0.0.1", "--port", fmt.Sprint(port),
			"--createTableMs", "50", "--deleteTableMs", "50", "--updateTableMs", "50")
		d.cmd.Stdout, d.cmd.Stderr = &d.out, &d.out
		// Its standard input, never written, closes when this process
		// ends, and then dynalite exits (testdata/exit-with-parent.js).
		if d.stdin, d.err = d.cmd.StdinPipe(); d.err != nil {
			return
		}
		if d.err = d.cmd.Start(); d.err != nil {
			return
		}
		exited := make(chan struct{})
		go func(cmd *exec.Cmd) { cmd.Wait(); close(exited) }(d.cmd)
		d.exited = exited
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		if d.err = listening(addr, exited, &d.out); d.err == nil {
			d.endpoint = "http://" + addr
			return
		}
		d.stop()
	}
}

// listening waits until addr takes connections, or until dynalite exits.
func listening(addr string, exited <-chan struct{}, out *output) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("dynalite exited: %s", out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
	}
	return fmt.Errorf("dynalite did not listen on %s in 15s: %s", addr, out.String())
}

// output is a process's output, which a test may read while it runs.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

func (d *dynalite) stop() {
	if d.cmd != nil {
		d.cmd.Process.Kill()
		<-d.exited
		d.cmd = nil
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// client returns a DynamoDB client of the package's dynalite, starting it
// the first time; it skips or fails t when there is none.
func client(t *testing.T) *dynamodb.Client {
	t.Helper()
	server.once.Do(server.start)
	switch {
	case server.skip != "" && os.Getenv("CI") == "true":
		t.Fatalf("dynalite is needed and missing (CI=true: no skipping): %s; ./test.sh installs it", server.skip)
	case server.skip != "":
		t.Skipf("SKIPPING: %s. Install dynalite with ./test.sh (or: npm ci in a copy of testdata/dynalite, and TRIBUTARY_DYNALITE=<it>/node_modules/dynalite/cli.js); with CI=true this fails", server.skip)
	case server.err != nil:
		t.Fatalf("starting dynalite: %v", server.err)
	}
	return dynamodb.New(dynamodb.Options{
		BaseEndpoint: aws.String(server.endpoint),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		HTTPClient:   sdkhttp.New(),
	})
}

var tables atomic.Int64

// newTable returns the name of a table no test used yet.
func newTable() string { return fmt.Sprintf("leases-%d", tables.Add(1)) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}
