// Package dynalite starts dynalite, a DynamoDB in memory (npm), for tests:
// those of consumer/dynamolease and consumer/e2e.
//
// test.sh installs the version that npm/package.json pins (with
// npm/package-lock.json) into $XDG_CACHE_HOME/tributary/dynalite-VERSION
// (~/.cache when unset) and exports TRIBUTARY_DYNALITE, the path of its
// cli.js; without the variable the package looks in that directory.
//
// Without node or dynalite a test skips, saying how to install it, but
// fails with CI=true: the project's rule for tests that need a tool.
package dynalite

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// pin is npm/package.json, which names the dynalite version.
//
//go:embed npm/package.json
var pin []byte

// exitWithParent is loaded into dynalite (node --require): it makes
// dynalite exit when its standard input closes, that is when the process
// that started it ends, however it ends.
//
//go:embed exit-with-parent.js
var exitWithParent []byte

// Start starts a dynalite of its own for tb and returns its endpoint
// (http://127.0.0.1:PORT) and a function that stops it, which may be
// called more than once. Without node or dynalite it skips tb, or fails
// it when CI=true.
func Start(tb testing.TB) (endpoint string, stop func()) {
	tb.Helper()
	s, missing, err := launch()
	require(tb, missing, err)
	return s.endpoint, s.stop
}

// Shared is one dynalite for a package's tests: the first test that asks
// for its Endpoint starts it, and TestMain calls Stop once the tests are
// done. Tests share it by using a table each.
type Shared struct {
	once    sync.Once
	s       *server
	missing string
	err     error
}

// Endpoint returns the shared dynalite's endpoint, starting it the first
// time; without node or dynalite it skips tb, or fails it when CI=true.
func (sh *Shared) Endpoint(tb testing.TB) string {
	tb.Helper()
	sh.once.Do(func() { sh.s, sh.missing, sh.err = launch() })
	require(tb, sh.missing, sh.err)
	return sh.s.endpoint
}

// Stop stops the shared dynalite, if it was started.
func (sh *Shared) Stop() {
	if sh.s != nil {
		sh.s.stop()
	}
}

// require skips or fails tb when there is no dynalite.
func require(tb testing.TB, missing string, err error) {
	tb.Helper()
	switch {
	case missing != "" && os.Getenv("CI") == "true":
		tb.Fatalf("dynalite is needed and missing (CI=true: no skipping): %s; ./test.sh installs it", missing)
	case missing != "":
		tb.Skipf("SKIPPING: %s. Install dynalite with ./test.sh (or: npm ci in a copy of internal/testsvc/dynalite/npm, and TRIBUTARY_DYNALITE=<it>/node_modules/dynalite/cli.js); with CI=true this fails", missing)
	case err != nil:
		tb.Fatalf("starting dynalite: %v", err)
	}
}

// CLI finds dynalite's cli.js, or says why it cannot.
func CLI() (string, error) {
	if p := os.Getenv("TRIBUTARY_DYNALITE"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("TRIBUTARY_DYNALITE=%s: %w", p, err)
		}
		return p, nil
	}
	var pkg struct{ Dependencies map[string]string }
	if err := json.Unmarshal(pin, &pkg); err != nil {
		return "", fmt.Errorf("internal/testsvc/dynalite/npm/package.json: %w", err)
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

// server is a running dynalite.
type server struct {
	endpoint string
	dir      string // holds exit-with-parent.js
	cmd      *exec.Cmd
	exited   chan struct{}  // closed when cmd has exited
	stdin    io.WriteCloser // dynalite's standard input, held open while it should run
	out      output         // its output, for a failure's message
	stopOnce sync.Once
}

// launch starts a dynalite; missing says why there is none to start.
func launch() (*server, string, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, "node not found on PATH (Debian's nodejs package)", nil
	}
	cli, err := CLI()
	if err != nil {
		return nil, err.Error(), nil
	}
	dir, err := os.MkdirTemp("", "tributary-dynalite-")
	if err != nil {
		return nil, "", err
	}
	watch := filepath.Join(dir, "exit-with-parent.js")
	if err := os.WriteFile(watch, exitWithParent, 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	// dynalite takes no port 0: find a free port, and try another if it
	// was taken in between.
	for range 3 {
		var port int
		if port, err = freePort(); err != nil {
			break
		}
		srv := &server{dir: dir, exited: make(chan struct{})}
		srv.cmd = exec.Command(node, "--require", watch, cli, "--host", "127.0.0.1", "--port", fmt.Sprint(port),
			"--createTableMs", "50", "--deleteTableMs", "50", "--updateTableMs", "50")
		srv.cmd.Stdout, srv.cmd.Stderr = &srv.out, &srv.out
		// Its standard input, never written, closes when this process
		// ends, and then dynalite exits (exit-with-parent.js).
		if srv.stdin, err = srv.cmd.StdinPipe(); err != nil {
			break
		}
		if err = srv.cmd.Start(); err != nil {
			break
		}
		go func() { srv.cmd.Wait(); close(srv.exited) }()
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		if err = listening(addr, srv.exited, &srv.out); err == nil {
			srv.endpoint = "http://" + addr
			return srv, "", nil
		}
		srv.kill()
	}
	os.RemoveAll(dir)
	return nil, "", err
}

// stop kills dynalite, waits for it and removes its directory.
func (s *server) stop() {
	s.stopOnce.Do(func() {
		s.kill()
		os.RemoveAll(s.dir)
	})
}

func (s *server) kill() {
	s.cmd.Process.Kill()
	<-s.exited
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

// output is a process's output, which may be read while it runs.
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

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
