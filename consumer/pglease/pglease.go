// Package pglease keeps a consumer's leases in a PostgreSQL table, for
// who runs workers without DynamoDB. It is a consumer.LeaseStore on
// jackc/pgx: one row a lease, the columns named after KCL's attributes
// in snake_case, every write conditional on the lease counter.
//
// The table is created by Init if it does not exist, with an index on
// lease_owner (what KCL's LeaseOwnerToLeaseKeyIndex serves). Its name is
// one identifier, quoted, so any name PostgreSQL allows works as it is
// written (case and all); it is looked up on the connection's
// search_path.
package pglease

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tributary-io/tributary/consumer"
)

// DB is what a Store uses of its database: a *pgxpool.Pool has it. It
// must be safe for concurrent use (a single *pgx.Conn is not).
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Store is a consumer.LeaseStore on one PostgreSQL table.
type Store struct {
	db    DB
	table string // as given
	err   error  // why the table name is refused, or nil

	create, createIndex, get, list, update, exists, insert, remove string // SQL
}

var _ consumer.LeaseStore = (*Store)(nil)

// maxIdentifier is PostgreSQL's longest identifier, in bytes
// (NAMEDATALEN-1); a longer one is cut silently by the server, so two
// long names could name one table.
const maxIdentifier = 63

// New returns a store of the leases in table, through db (a
// *pgxpool.Pool). A name PostgreSQL cannot hold as it is (empty, over 63
// bytes, not UTF-8, with a zero byte) is refused: every method of the
// store then returns the reason.
func New(db DB, table string) *Store {
	s := &Store{db: db, table: table}
	if s.err = checkName(table); s.err != nil {
		return s
	}
	t := pgx.Identifier{table}.Sanitize()
	s.create = fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
	lease_key text PRIMARY KEY,
	lease_owner text,
	lease_counter bigint NOT NULL,
	checkpoint text,
	checkpoint_sub_sequence_number bigint NOT NULL DEFAULT 0,
	pending_checkpoint text,
	pending_checkpoint_sub_sequence_number bigint,
	pending_checkpoint_state bytea,
	owner_switches_since_checkpoint bigint NOT NULL DEFAULT 0,
	parent_shard_ids text[],
	child_shard_ids text[],
	starting_hash_key text,
	ending_hash_key text,
	throughput_kbps double precision NOT NULL DEFAULT 0,
	checkpoint_owner text
)`, t)
	s.createIndex = fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s (lease_owner)`,
		pgx.Identifier{indexName(table)}.Sanitize(), t)
	s.get = fmt.Sprintf(`SELECT %s FROM %s WHERE lease_key = $1`, columns, t)
	s.list = fmt.Sprintf(`SELECT %s FROM %s`, columns, t)
	s.insert = fmt.Sprintf(`INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (lease_key) DO NOTHING`,
		t, columns, placeholders(1, len(columnList)))
	var set []string
	for i, c := range columnList[2:] { // all but lease_key and lease_counter
		set = append(set, fmt.Sprintf("%s = $%d", c, i+3))
	}
	s.update = fmt.Sprintf(`UPDATE %s SET %s, lease_counter = lease_counter + 1
WHERE lease_key = $1 AND lease_counter = $2 RETURNING %s`, t, strings.Join(set, ", "), columns)
	s.exists = fmt.Sprintf(`SELECT EXISTS (SELECT 1 FROM %s WHERE lease_key = $1)`, t)
	s.remove = fmt.Sprintf(`DELETE FROM %s WHERE lease_key = $1 AND lease_counter = $2`, t)
	return s
}

func checkName(table string) error {
	why := ""
	switch {
	case table == "":
		why = "it is empty"
	case len(table) > maxIdentifier:
		why = fmt.Sprintf("it is %d bytes long, and PostgreSQL cuts names to %d", len(table), maxIdentifier)
	case !utf8.ValidString(table):
		why = "it is not UTF-8"
	case strings.IndexByte(table, 0) >= 0:
		why = "it has a zero byte"
	}
	if why != "" {
		return fmt.Errorf("pglease: table name %q refused: %s", table, why)
	}
	return nil
}

// indexName names the lease_owner index of table: table_lease_owner_idx,
// or, when that would be over 63 bytes, table cut short and a hash of
// the whole name, so that two long names sharing a prefix get two
// indexes.
func indexName(table string) string {
	const suffix = "_lease_owner_idx"
	if len(table)+len(suffix) <= maxIdentifier {
		return table + suffix
	}
	h := fnv.New32a()
	h.Write([]byte(table))
	tag := fmt.Sprintf("_%08x", h.Sum32())
	prefix := table[:maxIdentifier-len(suffix)-len(tag)]
	for !utf8.ValidString(prefix) { // cut on a character's boundary
		prefix = prefix[:len(prefix)-1]
	}
	return prefix + tag + suffix
}

// lockKey is the advisory lock Init holds while it creates the table,
// the same for every process that uses this table name.
func lockKey(table string) int64 {
	h := fnv.New64a()
	h.Write([]byte("tributary/consumer/pglease\x00" + table))
	return int64(h.Sum64())
}

// columnList is the table's columns in the order of the SQL's
// parameters and of scan's.
var columnList = []string{
	"lease_key",
	"lease_counter",
	"lease_owner",
	"checkpoint",
	"checkpoint_sub_sequence_number",
	"pending_checkpoint",
	"pending_checkpoint_sub_sequence_number",
	"pending_checkpoint_state",
	"owner_switches_since_checkpoint",
	"parent_shard_ids",
	"child_shard_ids",
	"starting_hash_key",
	"ending_hash_key",
	"throughput_kbps",
	"checkpoint_owner",
}

var columns = strings.Join(columnList, ", ")

func placeholders(from, n int) string {
	p := make([]string, n)
	for i := range p {
		p[i] = fmt.Sprintf("$%d", from+i)
	}
	return strings.Join(p, ", ")
}

// args returns l's columns in columnList's order. Empty strings, slices
// and byte strings are NULL, and so is a nil PendingCheckpoint (both of
// its columns; a PendingCheckpoint with an empty sequence number is
// stored as an empty string), so that a lease reads back as it was
// written.
func args(l consumer.Lease) []any {
	var pending, pendingSub any
	if p := l.PendingCheckpoint; p != nil {
		pending, pendingSub = p.SequenceNumber, p.SubSequenceNumber
	}
	return []any{
		l.Key,
		l.Counter,
		nullString(l.Owner),
		nullString(l.Checkpoint.SequenceNumber),
		l.Checkpoint.SubSequenceNumber,
		pending,
		pendingSub,
		nullBytes(l.PendingCheckpointState),
		l.OwnerSwitchesSinceCheckpoint,
		nullStrings(l.ParentShardIDs),
		nullStrings(l.ChildShardIDs),
		nullString(l.StartingHashKey),
		nullString(l.EndingHashKey),
		l.ThroughputKBps,
		nullString(l.CheckpointOwner),
	}
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullStrings(s []string) any {
	if len(s) == 0 {
		return nil
	}
	return s
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// scan reads a row of columnList's columns. NULL reads as the zero value
// in every column, so that rows written by hand or by an older version
// read too.
func scan(row pgx.Row) (consumer.Lease, error) {
	var (
		l                                             consumer.Lease
		key                                           string
		counter, sub, pendingSub, switches            *int64
		owner, checkpoint, pending, start, end, cpOwn *string
		throughput                                    *float64
	)
	err := row.Scan(&key, &counter, &owner, &checkpoint, &sub, &pending, &pendingSub,
		&l.PendingCheckpointState, &switches, &l.ParentShardIDs, &l.ChildShardIDs,
		&start, &end, &throughput, &cpOwn)
	if err != nil {
		return consumer.Lease{}, err
	}
	l.Key = key
	l.Counter = deref(counter)
	l.Owner = deref(owner)
	l.Checkpoint = consumer.Checkpoint{SequenceNumber: deref(checkpoint), SubSequenceNumber: deref(sub)}
	if pending != nil {
		l.PendingCheckpoint = &consumer.Checkpoint{SequenceNumber: *pending, SubSequenceNumber: deref(pendingSub)}
	}
	if len(l.PendingCheckpointState) == 0 {
		l.PendingCheckpointState = nil
	}
	l.OwnerSwitchesSinceCheckpoint = deref(switches)
	l.StartingHashKey = deref(start)
	l.EndingHashKey = deref(end)
	l.ThroughputKBps = deref(throughput)
	l.CheckpointOwner = deref(cpOwn)
	return l, nil
}

func deref[T any](p *T) T {
	var v T
	if p != nil {
		v = *p
	}
	return v
}

// Init creates the table and its index if they do not exist. Workers may
// call it at once: a transaction-scoped advisory lock on the table's name
// puts their CREATE statements one after the other, since two concurrent
// CREATE TABLE IF NOT EXISTS can both miss the table and one then fails
// on the catalog's unique index.
func (s *Store) Init(ctx context.Context) error {
	if s.err != nil {
		return s.err
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey(s.table)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, s.create); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, s.createIndex)
		return err
	})
	if err != nil {
		return fmt.Errorf("pglease: creating table %q: %w", s.table, err)
	}
	return nil
}

func (s *Store) Create(ctx context.Context, l consumer.Lease) error {
	if s.err != nil {
		return s.err
	}
	tag, err := s.db.Exec(ctx, s.insert, args(l)...)
	switch {
	case err != nil:
		return fmt.Errorf("pglease: creating lease %q in %q: %w", l.Key, s.table, err)
	case tag.RowsAffected() == 0:
		return fmt.Errorf("%w: %q in %q", consumer.ErrLeaseExists, l.Key, s.table)
	}
	return nil
}

func (s *Store) Get(ctx context.Context, key string) (consumer.Lease, error) {
	if s.err != nil {
		return consumer.Lease{}, s.err
	}
	l, err := scan(s.db.QueryRow(ctx, s.get, key))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return consumer.Lease{}, fmt.Errorf("%w: %q in %q", consumer.ErrLeaseNotFound, key, s.table)
	case err != nil:
		return consumer.Lease{}, fmt.Errorf("pglease: reading lease %q in %q: %w", key, s.table, err)
	}
	return l, nil
}

func (s *Store) List(ctx context.Context) ([]consumer.Lease, error) {
	if s.err != nil {
		return nil, s.err
	}
	rows, err := s.db.Query(ctx, s.list)
	if err == nil {
		var leases []consumer.Lease
		leases, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (consumer.Lease, error) { return scan(r) })
		if err == nil {
			return leases, nil
		}
	}
	return nil, fmt.Errorf("pglease: listing the leases in %q: %w", s.table, err)
}

func (s *Store) Update(ctx context.Context, l consumer.Lease) (consumer.Lease, error) {
	if s.err != nil {
		return consumer.Lease{}, s.err
	}
	got, err := scan(s.db.QueryRow(ctx, s.update, args(l)...))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return consumer.Lease{}, s.missed(ctx, "updating", l)
	case err != nil:
		return consumer.Lease{}, fmt.Errorf("pglease: updating lease %q in %q: %w", l.Key, s.table, err)
	}
	return got, nil
}

func (s *Store) Delete(ctx context.Context, l consumer.Lease) error {
	if s.err != nil {
		return s.err
	}
	tag, err := s.db.Exec(ctx, s.remove, l.Key, l.Counter)
	switch {
	case err != nil:
		return fmt.Errorf("pglease: deleting lease %q in %q: %w", l.Key, s.table, err)
	case tag.RowsAffected() == 0:
		return s.missed(ctx, "deleting", l)
	}
	return nil
}

// missed tells why a write conditional on l's counter changed no row:
// ErrLeaseChanged if the lease is there, ErrLeaseNotFound if not. (A
// lease deleted between the write and this look is not found, which is
// also true.)
func (s *Store) missed(ctx context.Context, doing string, l consumer.Lease) error {
	var exists bool
	if err := s.db.QueryRow(ctx, s.exists, l.Key).Scan(&exists); err != nil {
		return fmt.Errorf("pglease: %s lease %q in %q changed no row, and reading it failed: %w", doing, l.Key, s.table, err)
	}
	if exists {
		return fmt.Errorf("%w: %q in %q (counter %d)", consumer.ErrLeaseChanged, l.Key, s.table, l.Counter)
	}
	return fmt.Errorf("%w: %q in %q", consumer.ErrLeaseNotFound, l.Key, s.table)
}
