package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// migrationsPostgres is the schema for PostgreSQL, numbered as the SQLite one.
//
//go:embed migrations_postgres/*.sql
var migrationsPostgres embed.FS

// writeLock is the transaction-level advisory lock every write transaction on PostgreSQL
// takes first: actions are serialised as on SQLite's single writer, so a decision never
// rests on a state another transaction is changing, whichever process runs it.
const writeLock = 0x6b7562 // "kub"

// postgresPool is the size of the connection pool to PostgreSQL.
const postgresPool = 8

// OpenPostgres opens the PostgreSQL database of dsn (a URL or key=value string, as pgx takes
// it) and migrates its schema. The same store, the same transactions: every write
// transaction takes one advisory lock first, and reads see one snapshot (repeatable read).
func OpenPostgres(ctx context.Context, dsn string) (*DB, error) {
	if dsn == "" {
		return nil, errors.New("open store: empty PostgreSQL DSN")
	}
	db := &DB{postgres: true, dsn: dsn}
	if err := db.openPostgres(ctx, dsn); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store (postgres): %w", err)
	}
	return db, nil
}

// idleInTransaction is the session's idle_in_transaction_session_timeout, unless the DSN
// sets one: the server ends the session of a process that stops in the middle of a
// transaction (paused, cut off the network), so that the write lock it holds is freed and
// another replica can take over, rather than every write waiting for it.
const idleInTransaction = "10s"

func (db *DB) openPostgres(ctx context.Context, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return err
	}
	if _, ok := cfg.RuntimeParams["idle_in_transaction_session_timeout"]; !ok {
		cfg.RuntimeParams["idle_in_transaction_session_timeout"] = idleInTransaction
	}
	pool := stdlib.OpenDB(*cfg)
	db.write, db.read = pool, pool
	pool.SetMaxOpenConns(postgresPool)
	pool.SetMaxIdleConns(postgresPool)
	if err := pool.PingContext(ctx); err != nil {
		return err
	}
	// Two processes migrating at once: the first one does it.
	if err := db.withLock(ctx, func(tx *sql.Tx) error { return nil }); err != nil {
		return err
	}
	if err := migrateWith(ctx, pool, migrationsPostgres, postgresSQL); err != nil {
		return err
	}
	if db.writeStmts, err = prepareWith(ctx, pool, postgresSQL); err != nil {
		return err
	}
	db.readStmts = db.writeStmts
	return nil
}

// withLock runs fn in a transaction that holds the write lock.
func (db *DB) withLock(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, writeLock); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// postgresSQL turns the store's SQL (written for SQLite) into PostgreSQL's: placeholders
// ? and ?N become $n and $N, a json_each list becomes = ANY of a jsonb_array_elements_text array, and the
// two-argument max becomes GREATEST. Nothing else differs.
func postgresSQL(q string) string {
	// IN (SELECT …) would be planned as a semi-join over a scan of the whole table; = ANY of
	// an array is an index scan.
	q = jsonEach.ReplaceAllString(q, "= ANY(ARRAY(SELECT jsonb_array_elements_text(CAST($1 AS jsonb))))")
	q = strings.ReplaceAll(q, "max(latest, excluded.latest)", "GREATEST(apps.latest, excluded.latest)")
	q = limit.ReplaceAllString(q, "LIMIT NULLIF($1, -1)") // SQLite's LIMIT -1 is no limit
	var b strings.Builder
	n, quoted := 0, false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			if j > i+1 {
				b.WriteString("$" + q[i+1:j])
				i = j - 1
				continue
			}
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

var limit = regexp.MustCompile(`LIMIT (\?\d*)`)

var jsonEach = regexp.MustCompile(`IN \(SELECT value FROM json_each\((\?\d*)\)\)`)

var _ fs.FS = migrationsPostgres
