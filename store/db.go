// Package store keeps Kuberpult's state in SQLite, the source of truth: releases and
// their manifests, deployments and their history, held attempts, locks and their
// history, the git outbox and the audit log. Every method is one transaction; a
// deploy.Change commits all its rows, its outbox entry and its audit entry at once.
//
// Writes go through a single connection with immediate transactions; reads use a
// separate pool of read-only connections and see a consistent snapshot (WAL).
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
	name := escapePath(path)
	write, err := sql.Open("sqlite3", "file:"+name+"?_journal_mode=WAL&_busy_timeout=5000&_txlock=immediate&_foreign_keys=1")
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := migrate(ctx, write, migrations); err != nil {
		write.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// The journal mode is a property of the file, set by the writer above.
	read, err := sql.Open("sqlite3", "file:"+name+"?_busy_timeout=5000&_txlock=deferred&_foreign_keys=1&_query_only=1")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open store %s for reading: %w", path, err)
	}
	read.SetMaxOpenConns(maxReaders)
	read.SetMaxIdleConns(maxReaders)
	if err := read.PingContext(ctx); err != nil {
		read.Close()
		write.Close()
		return nil, fmt.Errorf("open store %s for reading: %w", path, err)
	}
	return &DB{write: write, read: read}, nil
}

// Close closes the database.
func (db *DB) Close() error {
	return errors.Join(db.read.Close(), db.write.Close())
}

// escapePath makes a file path safe to use in a file: URI.
func escapePath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}

// update runs fn in one immediate write transaction and commits it if fn succeeds.
func (db *DB) update(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// view runs fn in one read transaction: every query in it sees the same snapshot.
func (db *DB) view(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	return fn(tx)
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

// limitClause returns " LIMIT n" for a positive limit, and nothing otherwise (no limit).
func limitClause(limit int) string {
	if limit <= 0 {
		return ""
	}
	return fmt.Sprintf(" LIMIT %d", limit)
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
