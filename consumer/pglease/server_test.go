package pglease_test

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tributary-io/tributary/internal/testsvc/postgres"
)

// The tests share one PostgreSQL server (package internal/testsvc/postgres),
// started by the first test that asks for it (pool) and stopped by
// TestMain once they are done. The tests use a table each. Without
// PostgreSQL they skip, loudly, but fail with CI=true.
var (
	server   postgres.Shared
	poolOnce sync.Once
	shared   *pgxpool.Pool
	poolErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Close()
	}
	server.Stop()
	os.Exit(code)
}

// pool returns a pool of connections to the tests' server, starting it
// the first time.
func pool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	dsn := server.DSN(t)
	poolOnce.Do(func() {
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			poolErr = err
			return
		}
		cfg.MaxConns = 20 // the concurrent tests use 8 at once
		shared, poolErr = pgxpool.NewWithConfig(context.Background(), cfg)
	})
	if poolErr != nil {
		t.Fatalf("connecting to PostgreSQL: %v", poolErr)
	}
	return shared
}
