package pglease_test

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

	"github.com/jackc/pgx/v5/pgxpool"
)

// The tests share one PostgreSQL server, started by the first test that
// asks for it (pool) and stopped by TestMain once they are done: initdb
// in a new directory under /tmp, postgres listening only on a unix
// socket in that directory, fsync off. The tests use a table each.
var srv struct {
	once    sync.Once
	pool    *pgxpool.Pool
	missing string // why there is no server to start: skipped, or fatal in CI
	err     error  // why the server did not start
	version string
	took    time.Duration
	stop    func() // nil until started
	logOnce sync.Once
}

func TestMain(m *testing.M) {
	code := m.Run()
	if srv.stop != nil {
		srv.stop()
	}
	os.Exit(code)
}

// pool returns a pool of connections to the tests' server, starting it
// the first time. Without PostgreSQL the test fails when CI=true and is
// skipped, loudly, elsewhere.
func pool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	srv.once.Do(startServer)
	switch {
	case srv.missing != "" && os.Getenv("CI") == "true":
		t.Fatal(srv.missing)
	case srv.missing != "":
		t.Skip("SKIPPING (this fails with CI=true): " + srv.missing)
	case srv.err != nil:
		t.Fatalf("starting PostgreSQL: %v", srv.err)
	}
	srv.logOnce.Do(func() {
		t.Logf("PostgreSQL %s started (initdb and postgres) in %v", srv.version, srv.took.Round(time.Millisecond))
	})
	return srv.pool
}

// pgBin is the directory of PostgreSQL's initdb and postgres: on PATH,
// or Debian's /usr/lib/postgresql/VERSION/bin (the newest), which is not.
func pgBin() (string, bool) {
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

func startServer() {
	bin, ok := pgBin()
	if !ok {
		srv.missing = "PostgreSQL's server is not installed (no postgres and initdb on PATH or in /usr/lib/postgresql/*/bin): " +
			"install Debian's package postgresql (apt-get install postgresql), as test.sh does"
		return
	}
	start := time.Now()
	srv.err = func() error {
		// PostgreSQL refuses to run as root: as root, run it as the
		// postgres user that Debian's package makes (or nobody), in a
		// directory of its own under /tmp, which every user can reach.
		var cred *syscall.Credential
		base := os.TempDir()
		if os.Geteuid() == 0 {
			u, err := user.Lookup("postgres")
			if err != nil {
				if u, err = user.Lookup("nobody"); err != nil {
					return fmt.Errorf("running as root, and there is neither a postgres nor a nobody user to run PostgreSQL as")
				}
			}
			uid, _ := strconv.ParseUint(u.Uid, 10, 32)
			gid, _ := strconv.ParseUint(u.Gid, 10, 32)
			cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
			base = "/tmp"
		}
		dir, err := os.MkdirTemp(base, "tributary-pglease-")
		if err != nil {
			return err
		}
		removeDir := func() { os.RemoveAll(dir) }
		if cred != nil {
			if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
				removeDir()
				return err
			}
		}
		data := filepath.Join(dir, "data")
		command := func(name string, arg ...string) *exec.Cmd {
			cmd := exec.Command(filepath.Join(bin, name), arg...)
			cmd.Dir = dir
			cmd.Env = []string{"LC_ALL=C", "PATH=" + os.Getenv("PATH")} // no PG* variables of ours
			// Pdeathsig: the server ends with the test binary even if
			// TestMain does not get to stop it (a panic, a time-out).
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
			return cmd
		}

		initdb := command("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
		if out, err := initdb.CombinedOutput(); err != nil {
			removeDir()
			return fmt.Errorf("%s: %v\n%s", initdb, err, out)
		}

		logPath := filepath.Join(dir, "postgres.log")
		logFile, err := os.Create(logPath)
		if err != nil {
			removeDir()
			return err
		}
		defer logFile.Close() // the server has its own copy
		server := command("postgres", "-D", data,
			"-c", "listen_addresses=", // the unix socket alone
			"-c", "unix_socket_directories="+dir,
			"-c", "port=5432",
			"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
			"-c", "max_connections=50")
		server.Stdout, server.Stderr = logFile, logFile
		if err := server.Start(); err != nil {
			removeDir()
			return err
		}
		exited := make(chan error, 1)
		go func() { exited <- server.Wait() }()
		stop := func() {
			server.Process.Signal(syscall.SIGINT) // fast shutdown
			select {
			case <-exited:
			case <-time.After(30 * time.Second):
				server.Process.Kill()
				<-exited
			}
			removeDir()
		}
		failed := func(err error) error {
			log, _ := os.ReadFile(logPath)
			stop()
			return fmt.Errorf("%v; the server's log:\n%s", err, log)
		}

		cfg, err := pgxpool.ParseConfig(fmt.Sprintf("host=%s port=5432 user=postgres dbname=postgres", dir))
		if err != nil {
			return failed(err)
		}
		cfg.MaxConns = 20 // the concurrent tests use 8 at once
		ctx := context.Background()
		p, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return failed(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			err := p.Ping(ctx)
			if err == nil {
				break
			}
			select {
			case werr := <-exited:
				exited <- werr
				p.Close()
				return failed(fmt.Errorf("postgres exited (%v) before accepting connections", werr))
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				p.Close()
				return failed(fmt.Errorf("postgres accepted no connection in a minute: %w", err))
			}
		}
		if err := p.QueryRow(ctx, "SHOW server_version").Scan(&srv.version); err != nil {
			p.Close()
			return failed(err)
		}
		srv.pool = p
		srv.stop = func() {
			p.Close()
			stop()
		}
		return nil
	}()
	srv.took = time.Since(start)
}
