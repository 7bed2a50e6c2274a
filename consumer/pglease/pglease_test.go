package pglease_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tributary-io/tributary/consumer"
	"github.com/tributary-io/tributary/consumer/leasetest"
	"github.com/tributary-io/tributary/consumer/pglease"
)

var tables atomic.Int64

// newTable returns a name no test has used.
func newTable(prefix string) string {
	return fmt.Sprintf("%s_%d", prefix, tables.Add(1))
}

func TestLeaseStore(t *testing.T) {
	p := pool(t)
	leasetest.Run(t, func(t *testing.T) consumer.LeaseStore {
		return pglease.New(p, newTable("leases"))
	})
}

// ownerIndexed reports whether table has an index on lease_owner.
func ownerIndexed(t *testing.T, p *pgxpool.Pool, table string) bool {
	t.Helper()
	var n int
	err := p.QueryRow(context.Background(), `SELECT count(*) FROM pg_index i
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
WHERE i.indrelid = $1::regclass AND a.attname = 'lease_owner'`,
		pgx.Identifier{table}.Sanitize()).Scan(&n)
	if err != nil {
		t.Fatalf("looking for the index of %q: %v", table, err)
	}
	return n == 1
}

// Workers starting together each Init the same new table: none fails.
// (Without Init's lock, CREATE TABLE IF NOT EXISTS fails here on
// pg_type's unique index.)
func TestConcurrentInit(t *testing.T) {
	p := pool(t)
	ctx := context.Background()
	for range 5 {
		table := newTable("init")
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			errs  = make([]error, 8)
		)
		for w := range errs {
			wg.Go(func() {
				s := pglease.New(p, table)
				<-start
				errs[w] = s.Init(ctx)
			})
		}
		close(start)
		wg.Wait()
		for w, err := range errs {
			if err != nil {
				t.Errorf("%s: worker %d's Init: %v", table, w, err)
			}
		}
		if t.Failed() {
			return
		}
		s := pglease.New(p, table)
		if err := s.Create(ctx, consumer.Lease{Key: "shardId-000000000000"}); err != nil {
			t.Fatalf("Create after the Inits: %v", err)
		}
		if !ownerIndexed(t, p, table) {
			t.Errorf("%s has no index on lease_owner", table)
		}
	}
}

// Table names are quoted: each of these names its own table, and none is
// read as SQL.
func TestTableNames(t *testing.T) {
	p := pool(t)
	ctx := context.Background()
	names := []string{
		"MixedCase", "mixedcase", "with space", "select", "semi;colon",
		`quo"te`, "it's", "a.b", "dash-ed", "ünïcödé", "$1",
		`victim"; DROP TABLE victim; --`,
		`x" (a int); DROP TABLE victim; CREATE TABLE "y`,
		strings.Repeat("x", 63),       // the longest name
		strings.Repeat("x", 62) + "y", // its owner index's name is cut short and hashed
		strings.Repeat("é", 31) + "x", // cut short on a character's boundary
	}
	// The names are fixed, so the tables of an earlier run (go test
	// -count 2) go first, and these go at the end.
	drop := func() {
		for _, name := range append([]string{"victim"}, names...) {
			if _, err := p.Exec(ctx, "DROP TABLE IF EXISTS "+pgx.Identifier{name}.Sanitize()); err != nil {
				t.Fatalf("dropping %q: %v", name, err)
			}
		}
	}
	drop()
	t.Cleanup(drop)
	if _, err := p.Exec(ctx, "CREATE TABLE victim (x int)"); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		s := pglease.New(p, name)
		if err := s.Init(ctx); err != nil {
			t.Fatalf("Init(%q): %v", name, err)
		}
		if err := s.Create(ctx, consumer.Lease{Key: name}); err != nil {
			t.Fatalf("Create in %q: %v", name, err)
		}
		if !ownerIndexed(t, p, name) {
			t.Errorf("%q has no index on lease_owner", name)
		}
	}
	for _, name := range names {
		leases, err := pglease.New(p, name).List(ctx)
		if err != nil {
			t.Fatalf("List(%q): %v", name, err)
		}
		if len(leases) != 1 || leases[0].Key != name {
			t.Errorf("table %q holds %+v, want its own lease alone", name, leases)
		}
	}
	if _, err := p.Exec(ctx, "SELECT x FROM victim"); err != nil {
		t.Errorf("a table name was run as SQL: %v", err)
	}
}

// Names PostgreSQL cannot hold as they are are refused, by every method.
func TestTableNamesRefused(t *testing.T) {
	p := pool(t)
	ctx := context.Background()
	for name, why := range map[string]string{
		"":                      "empty",
		strings.Repeat("x", 64): "64 bytes long",
		"a\x00b":                "zero byte",
		"a\xffb":                "not UTF-8",
	} {
		s := pglease.New(p, name)
		l := consumer.Lease{Key: "shardId-000000000000"}
		_, getErr := s.Get(ctx, l.Key)
		_, listErr := s.List(ctx)
		_, updateErr := s.Update(ctx, l)
		for op, err := range map[string]error{
			"Init": s.Init(ctx), "Create": s.Create(ctx, l), "Get": getErr,
			"List": listErr, "Update": updateErr, "Delete": s.Delete(ctx, l),
		} {
			if err == nil || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), why) {
				t.Errorf("%s on table %q = %v, want it refused as %s", op, name, err, why)
			}
		}
	}
}

// The columns of what a lease does not have are NULL, and read back as
// nothing; a pending checkpoint at an empty sequence number is not none.
func TestNulls(t *testing.T) {
	p := pool(t)
	ctx := context.Background()
	table := newTable("nulls")
	s := pglease.New(p, table)
	if err := s.Init(ctx); err != nil {
		t.Fatal(err)
	}
	empty := consumer.Lease{Key: "empty", ParentShardIDs: []string{}, PendingCheckpointState: []byte{}}
	if err := s.Create(ctx, empty); err != nil {
		t.Fatal(err)
	}
	var nulls []bool
	err := p.QueryRow(ctx, fmt.Sprintf(`SELECT lease_owner IS NULL, checkpoint IS NULL,
pending_checkpoint IS NULL, pending_checkpoint_sub_sequence_number IS NULL,
pending_checkpoint_state IS NULL, parent_shard_ids IS NULL, child_shard_ids IS NULL,
starting_hash_key IS NULL, ending_hash_key IS NULL, checkpoint_owner IS NULL
FROM %s WHERE lease_key = 'empty'`, pgx.Identifier{table}.Sanitize())).Scan(
		anyOf(&nulls, 10)...)
	if err != nil {
		t.Fatal(err)
	}
	for i, null := range nulls {
		if !null {
			t.Errorf("column %d of an empty lease is not NULL", i)
		}
	}
	got, err := s.Get(ctx, "empty")
	if err != nil {
		t.Fatal(err)
	}
	if got.ParentShardIDs != nil || got.ChildShardIDs != nil || got.PendingCheckpointState != nil || got.PendingCheckpoint != nil {
		t.Errorf("an empty lease reads back as %+v", got)
	}

	got.PendingCheckpoint = &consumer.Checkpoint{}
	got, err = s.Update(ctx, got)
	if err != nil {
		t.Fatal(err)
	}
	if got.PendingCheckpoint == nil || *got.PendingCheckpoint != (consumer.Checkpoint{}) {
		t.Errorf("a pending checkpoint at an empty sequence number reads back as %+v", got.PendingCheckpoint)
	}
}

// anyOf makes n bools to scan into and returns pointers to them.
func anyOf(b *[]bool, n int) []any {
	*b = make([]bool, n)
	out := make([]any, n)
	for i := range out {
		out[i] = &(*b)[i]
	}
	return out
}

// Errors say which lease and table, and keep PostgreSQL's error.
func TestErrors(t *testing.T) {
	p := pool(t)
	ctx := context.Background()
	table := newTable("errors")
	s := pglease.New(p, table)
	if err := s.Init(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := s.Get(ctx, "shardId-000000000042")
	if !errors.Is(err, consumer.ErrLeaseNotFound) || !strings.Contains(err.Error(), "shardId-000000000042") || !strings.Contains(err.Error(), table) {
		t.Errorf("Get of a missing lease = %v", err)
	}

	if _, err := p.Exec(ctx, "DROP TABLE "+pgx.Identifier{table}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	_, err = s.Get(ctx, "shardId-000000000042")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42P01" || !strings.Contains(err.Error(), table) {
		t.Errorf("Get from a dropped table = %v, want PostgreSQL's undefined_table wrapped", err)
	}
}
