// Package postgres starts a PostgreSQL server for tests: those of
// consumer/pglease and consumer/e2e. It runs Debian's initdb in a new
// directory under /tmp and postgres listening only on a unix socket in
// that directory, fsync off; the server ends with the test process even
// if that process does not get to stop it.
//
// Without PostgreSQL (Debian's package postgresql, which test.sh
// installs) a test skips, loudly, but fails with CI=true: the project's
// rule for tests that need a tool.
package postgres

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Start starts a PostgreSQL server of its own for tb and returns a DSN
// of its database postgres (user postgres, no password, over the unix
// socket: "host=/tmp/... port=5432 user=postgres dbname=postgres"), and
// a function that stops it and removes its files, which may be called
// more than once. Without PostgreSQL it skips tb, or fails it when
// CI=true.
func Start(tb testing.TB) (dsn string, stop func()) {
	tb.Helper()
	s, missing, err := launch()
	require(tb, missing, err)
	tb.Logf("PostgreSQL %s started (initdb and postgres) in %v", s.version, s.took.Round(time.Millisecond))
	return s.dsn, s.stop
}

// Shared is one server for a package's tests: the first test that asks
// for its DSN starts it, and TestMain calls Stop once the tests are done.
// Tests share it by using a table each.
type Shared struct {
	once    sync.Once
	s       *server
	missing string
	err     error
	logOnce sync.Once
}

// DSN returns the shared server's DSN (see Start), starting it the first
// time; without PostgreSQL it skips tb, or fails it when CI=true.
func (sh *Shared) DSN(tb testing.TB) string {
	tb.Helper()
	sh.once.Do(func() { sh.s, sh.missing, sh.err = launch() })
	require(tb, sh.missing, sh.err)
	first := false
	sh.logOnce.Do(func() { first = true })
	if first {
		tb.Logf("PostgreSQL %s started (initdb and postgres) in %v", sh.s.version, sh.s.took.Round(time.Millisecond))
	}
	return sh.s.dsn
}

// Stop stops the shared server, if it was started.
func (sh *Shared) Stop() {
	if sh.s != nil {
		sh.s.stop()
	}
}

func require(tb testing.TB, missing string, err error) {
	tb.Helper()
	switch {
	case missing != "" && os.Getenv("CI") == "true":
		tb.Fatal(missing)
	case missing != "":
		tb.Skip("SKIPPING (this fails with CI=true): " + missing)
	case err != nil:
		tb.Fatalf("starting PostgreSQL: %v", err)
	}
}

// Bin is the directory of PostgreSQL's initdb and postgres: on PATH, or
// Debian's /usr/lib/postgresql/VERSION/bin (the newest), which is not.
func Bin() (string, bool) {
	if p, err := exec.LookPath("postgres"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), true
		}
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	version := func(p string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(filepath.Dir(p))), 64)
		return v
	}
	slices.SortFunc(found, func(a, b string) int { return cmp.Compare(version(a), version(b)) })
	for _, p := range slices.Backward(found) {
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, true
		}
	}
	return "", false
}

// server is a running PostgreSQL.
type server struct {
	dsn      string
	version  string
	took     time.Duration
	stopOnce sync.Once
	halt     func()
}

func (s *server) stop() { s.stopOnce.Do(s.halt) }

// launch starts a server; missing says why there is none to start.
func launch() (*server, string, error) {
	bin, ok := Bin()
	if !ok {
		return nil, "PostgreSQL's server is not installed (no postgres and initdb on PATH or in /usr/lib/postgresql/*/bin): " +
			"install Debian's package postgresql (apt-get install postgresql), as test.sh does", nil
	}
	start := time.Now()
	// PostgreSQL refuses to run as root: as root, run it as the postgres
	// user that Debian's package makes (or nobody), in a directory of its
	// own under /tmp, which every user can reach.
	var cred *syscall.Credential
	base := os.TempDir()
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			if u, err = user.Lookup("nobody"); err != nil {
				return nil, "", fmt.Errorf("running as root, and there is neither a postgres nor a nobody user to run PostgreSQL as")
			}
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "tributary-postgres-")
	if err != nil {
		return nil, "", err
	}
	removeDir := func() { os.RemoveAll(dir) }
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			removeDir()
			return nil, "", err
		}
	}
	data := filepath.Join(dir, "data")
	command := func(name string, arg ...string) *exec.Cmd {
		cmd := exec.Command(filepath.Join(bin, name), arg...)
		cmd.Dir = dir
		cmd.Env = []string{"LC_ALL=C", "PATH=" + os.Getenv("PATH")} // no PG* variables of ours
		// Pdeathsig: the server ends with the test binary even if it
		// does not get to stop it (a panic, a time-out).
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
		return cmd
	}

	initdb := command("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		removeDir()
		return nil, "", fmt.Errorf("%s: %v\n%s", initdb, err, out)
	}

	logPath := filepath.Join(dir, "postgres.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		removeDir()
		return nil, "", err
	}
	defer logFile.Close() // the server has its own copy
	pg := command("postgres", "-D", data,
		"-c", "listen_addresses=", // the unix socket alone
		"-c", "unix_socket_directories="+dir,
		"-c", "port=5432",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=50")
	pg.Stdout, pg.Stderr = logFile, logFile
	if err := pg.Start(); err != nil {
		removeDir()
		return nil, "", err
	}
	exited := make(chan error, 1)
	go func() { exited <- pg.Wait() }()
	halt := func() {
		pg.Process.Signal(syscall.SIGINT) // fast shutdown
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			pg.Process.Kill()
			<-exited
		}
		removeDir()
	}
	failed := func(err error) (*server, string, error) {
		log, _ := os.ReadFile(logPath)
		halt()
		return nil, "", fmt.Errorf("%v; the server's log:\n%s", err, log)
	}

	s := &server{dsn: fmt.Sprintf("host=%s port=5432 user=postgres dbname=postgres", dir), halt: halt}
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, s.dsn)
		if err == nil {
			err = conn.QueryRow(ctx, "SHOW server_version").Scan(&s.version)
			conn.Close(ctx)
			if err != nil {
				return failed(err)
			}
			break
		}
		select {
		case werr := <-exited:
			exited <- werr
			return failed(fmt.Errorf("postgres exited (%v) before accepting connections", werr))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return failed(fmt.Errorf("postgres accepted no connection in a minute: %w", err))
		}
	}
	s.took = time.Since(start)
	return s, "", nil
}
