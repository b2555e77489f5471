// Package store keeps Kuberpult's state in SQLite, the source of truth: releases and their
// manifests, apps and their teams, deployments and their history, held attempts, locks and
// their history, environment configs, the git outbox with the commits built for it, the
// writer lease, idempotency records and the audit log.
//
// There is one way to change the state: Act runs an action in one write transaction (BEGIN
// IMMEDIATE) in which the action reads the view it decides on and its change is written, with
// its outbox entry, audit entry and idempotency record. Correctness does not rest on an
// in-process mutex: two processes on one file serialise on SQLite's write lock, and a decision
// never rests on a snapshot read before that lock was taken. Writes go through a single
// connection; View reads a consistent snapshot on a pool of read-only connections (WAL), so
// queries never block writers.
//
// The git writer's side (Pending, RecordBuilds, MarkPushed, MarkFailed and the lease) is
// fenced by the lease epoch where a stale writer could do harm.
//
// Times are stored as fixed-width UTC text, so they sort as text; versions as INTEGER (int64),
// which holds every deploy.Version up to deploy.MaxVersion. Every method reads only what it is
// asked for, so the cost of an action does not grow with the release history.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver

	"kuberpult/deploy"
)

// maxReaders is the size of the read pool. Readers never block each other or the writer.
const maxReaders = 4

// DB is the state store.
type DB struct {
	write *sql.DB // one connection: every write transaction is serialised here
	read  *sql.DB // read-only connections for queries
	// Statements prepared once, so an action does not pay for parsing its SQL.
	writeStmts, readStmts map[string]*sql.Stmt
	// postgres: the database is PostgreSQL (OpenPostgres); the SQL is translated.
	postgres bool
	dsn      string // PostgreSQL's, for the tests that open it again
}

// Open opens (creating it if needed) the SQLite database at path and migrates its schema.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("open store: empty path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("open store: create directory: %w", err)
		}
	}
	db := &DB{}
	if err := db.open(ctx, escapePath(path)); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return db, nil
}

func (db *DB) open(ctx context.Context, name string) error {
	// synchronous=FULL (SQLite's default in WAL mode, said explicitly): an acknowledged action
	// survives a power loss, not only a crash of the process.
	write, err := sql.Open("sqlite3", "file:"+name+"?_journal_mode=WAL&_busy_timeout=5000&_txlock=immediate&_foreign_keys=1&_synchronous=FULL")
	if err != nil {
		return err
	}
	db.write = write
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	if err := write.PingContext(ctx); err != nil {
		return err
	}
	if err := migrate(ctx, write, migrations); err != nil {
		return err
	}
	// The journal mode is a property of the file, set by the writer above.
	read, err := sql.Open("sqlite3", "file:"+name+"?_busy_timeout=5000&_txlock=deferred&_foreign_keys=1&_query_only=1")
	if err != nil {
		return fmt.Errorf("for reading: %w", err)
	}
	db.read = read
	read.SetMaxOpenConns(maxReaders)
	read.SetMaxIdleConns(maxReaders)
	if err := read.PingContext(ctx); err != nil {
		return fmt.Errorf("for reading: %w", err)
	}
	if db.writeStmts, err = prepare(ctx, write); err != nil {
		return err
	}
	if db.readStmts, err = prepare(ctx, read); err != nil {
		return err
	}
	return nil
}

// Close closes the database.
func (db *DB) Close() error {
	var errs []error
	closed := map[any]bool{}
	for _, m := range []map[string]*sql.Stmt{db.writeStmts, db.readStmts} {
		for _, s := range m {
			if !closed[s] {
				closed[s] = true
				errs = append(errs, s.Close())
			}
		}
	}
	for _, d := range []*sql.DB{db.read, db.write} {
		if d != nil && !closed[d] {
			closed[d] = true
			errs = append(errs, d.Close())
		}
	}
	return errors.Join(errs...)
}

// Ping checks that the database file can be read, for /readyz.
func (db *DB) Ping(ctx context.Context) error {
	var v int
	if err := db.read.QueryRowContext(ctx, `SELECT max(version) FROM schema_version`).Scan(&v); err != nil {
		return fmt.Errorf("ping store: %w", err)
	}
	return nil
}

// escapePath makes a file path safe to use in a file: URI.
func escapePath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}

// queries lists the SQL the store runs, so that Open prepares each once per connection.
var queries []string

// stmt registers a query for preparing and returns it.
func stmt(q string) string {
	queries = append(queries, q)
	return q
}

func prepare(ctx context.Context, d *sql.DB) (map[string]*sql.Stmt, error) {
	return prepareWith(ctx, d, func(q string) string { return q })
}

// prepareWith prepares every query, as the dialect writes it, keyed by the store's text.
func prepareWith(ctx context.Context, d *sql.DB, dialect func(string) string) (map[string]*sql.Stmt, error) {
	m := make(map[string]*sql.Stmt, len(queries))
	for _, q := range queries {
		if _, ok := m[q]; ok {
			continue
		}
		s, err := d.PrepareContext(ctx, dialect(q))
		if err != nil {
			for _, s := range m {
				s.Close()
			}
			return nil, fmt.Errorf("prepare %q: %w", q, err)
		}
		m[q] = s
	}
	return m, nil
}

// runner runs the store's queries in one transaction, with their prepared statements.
type runner struct {
	tx       *sql.Tx
	stmts    map[string]*sql.Stmt
	postgres bool
}

// text is q as the database speaks it (a query that was not prepared).
func (r runner) text(q string) string {
	if r.postgres {
		return postgresSQL(q)
	}
	return q
}

// args turns the values a dialect stores differently: booleans are integers in both
// schemas (SQLite's driver converts them, pgx does not).
func (r runner) args(vals []any) []any {
	if !r.postgres {
		return vals
	}
	for i, v := range vals {
		if b, ok := v.(bool); ok {
			n := 0
			if b {
				n = 1
			}
			vals[i] = n
		}
	}
	return vals
}

func (r runner) exec(ctx context.Context, q string, vals ...any) (sql.Result, error) {
	vals = r.args(vals)
	if s, ok := r.stmts[q]; ok {
		return r.tx.StmtContext(ctx, s).ExecContext(ctx, vals...)
	}
	return r.tx.ExecContext(ctx, r.text(q), vals...)
}

func (r runner) query(ctx context.Context, q string, vals ...any) (*sql.Rows, error) {
	vals = r.args(vals)
	if s, ok := r.stmts[q]; ok {
		return r.tx.StmtContext(ctx, s).QueryContext(ctx, vals...)
	}
	return r.tx.QueryContext(ctx, r.text(q), vals...)
}

func (r runner) queryRow(ctx context.Context, q string, vals ...any) *sql.Row {
	vals = r.args(vals)
	if s, ok := r.stmts[q]; ok {
		return r.tx.StmtContext(ctx, s).QueryRowContext(ctx, vals...)
	}
	return r.tx.QueryRowContext(ctx, r.text(q), vals...)
}

// update runs fn in one immediate write transaction and commits it if fn succeeds.
func (db *DB) update(ctx context.Context, fn func(r runner) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if db.postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, writeLock); err != nil {
			return fmt.Errorf("take the write lock: %w", err)
		}
	}
	if err := fn(runner{tx, db.writeStmts, db.postgres}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// snapshot runs fn in one read transaction: every query in it sees the same snapshot.
func (db *DB) snapshot(ctx context.Context, fn func(r runner) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.postgres {
		opts.Isolation = sql.LevelRepeatableRead // one snapshot for every query of fn
	}
	tx, err := db.read.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	return fn(runner{tx, db.readStmts, db.postgres})
}

// timeLayout is RFC 3339 with a fixed-width fraction, so stored times sort as text.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t, nil
}

// limitArg is the LIMIT of a query: a positive limit, or -1 (no limit) for 0 and below.
func limitArg(limit int) int {
	if limit <= 0 {
		return -1
	}
	return limit
}

// versionArg is a version as stored. Beyond deploy.MaxVersion it would wrap to a negative
// int64 and break every later read of the row, so it is refused before anything is written.
func versionArg(v deploy.Version, what string) (int64, error) {
	if !v.Valid() {
		return 0, deploy.Invalidf("%s has version %s: versions go from 1 to %d (2^63-1)", what, v, deploy.MaxVersion)
	}
	return int64(v), nil
}

// actorArgs returns the four actor columns.
func actorArgs(a deploy.Actor) []any {
	return []any{string(a.Kind), a.ID, a.Name, a.Email}
}

// actorDest returns scan destinations for the four actor columns.
func actorDest(a *deploy.Actor) []any {
	return []any{&a.Kind, &a.ID, &a.Name, &a.Email}
}

// args concatenates argument lists.
func args(parts ...any) []any {
	var out []any
	for _, p := range parts {
		if list, ok := p.([]any); ok {
			out = append(out, list...)
		} else {
			out = append(out, p)
		}
	}
	return out
}
