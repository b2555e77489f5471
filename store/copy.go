package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// stateTables are the tables of the state, in the order CopyState copies them: a table
// before those whose foreign keys reference it (release_manifests references releases).
// Every table the migrations create is here or in notState; TestCopyStateCoversEveryTable
// checks that against both schemas, and CopyState refuses a source with a table it does not
// know, so that no table is left behind unnoticed.
var stateTables = []string{
	"releases", "release_manifests", "apps", "env_configs",
	"deployments", "deployment_history", "held",
	"locks", "lock_history",
	"outbox", "outbox_builds",
	"audit", "requests",
	"cards", "reminders",
	"departures", "approvals",
	"rollouts", "github_deployments",
	"leases",
}

// notState tells the tables of a store that are not copied: each backend's own record of
// its migrations, and SQLite's AUTOINCREMENT counters (carried into PostgreSQL's sequences).
func notState(table string) bool {
	return table == "schema_version" || strings.HasPrefix(table, "sqlite_")
}

// StateTables returns the tables CopyState copies, in the order it copies them.
func StateTables() []string { return append([]string(nil), stateTables...) }

// releasedLease is what a lease row becomes in the copy: as ReleaseLease leaves it (no
// holder, priority 0, expired), keeping its name and epoch, so that no process looks like it
// holds the lease and the next holder's epoch is above every epoch before.
var releasedLease = map[string]any{
	"holder":     "",
	"priority":   int64(0),
	"expires_at": fmtTime(time.Time{}),
}

// copyBatch bounds one multi-row INSERT: rows, bind parameters (PostgreSQL takes 65535) and
// bytes of values held in memory. A variable for the tests, which copy in small batches too.
var copyBatchRows = 500

const (
	copyBatchParams = 60000
	copyBatchBytes  = 4 << 20
)

// CopyState copies the whole state from a SQLite store (from) into an empty PostgreSQL
// store (to) and returns the number of rows of every table (StateTables).
//
// Both stores must be open, that is migrated to this version's schema (Open and
// OpenPostgres do that); a store of another schema version is refused. The source is read
// in one read snapshot; the target is written in one transaction that holds the store's
// write lock and locks every table against other writers. A target with a row in any table
// is refused with an error naming the tables that have rows, before anything is written.
// Every value keeps its meaning: ids are kept (also of identity columns, whose sequences
// are then set past the highest id the source used, so that later inserts continue where
// SQLite would), blobs become BYTEA, integers (booleans too) stay integers, times stay
// text. Lease rows keep their name and epoch but lose their holder. Before the commit, the
// row count of every table in the target is checked against the source's; on any error
// nothing is committed.
func CopyState(ctx context.Context, from, to *DB) (map[string]int64, error) {
	switch {
	case from == nil || to == nil:
		return nil, errors.New("copy state: a source and a target store are needed")
	case from.postgres:
		return nil, errors.New("copy state: the source must be a SQLite store")
	case !to.postgres:
		return nil, errors.New("copy state: the target must be a PostgreSQL store")
	}
	var counts map[string]int64
	err := from.snapshot(ctx, func(src runner) error {
		var err error
		counts, err = copyState(ctx, src.tx, to)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("copy state: %w", err)
	}
	return counts, nil
}

func copyState(ctx context.Context, src *sql.Tx, to *DB) (map[string]int64, error) {
	want, err := latestVersion()
	if err != nil {
		return nil, err
	}
	if err := checkVersion(ctx, src, "the SQLite source", want); err != nil {
		return nil, err
	}
	if err := checkSourceTables(ctx, src); err != nil {
		return nil, err
	}
	tx, err := to.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("target: begin: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, writeLock); err != nil {
		return nil, fmt.Errorf("target: take the write lock: %w", err)
	}
	if err := checkVersion(ctx, tx, "the PostgreSQL target", want); err != nil {
		return nil, err
	}
	quoted := make([]string, len(stateTables))
	for i, t := range stateTables {
		quoted[i] = quoteIdent(t)
	}
	if _, err := tx.ExecContext(ctx, `LOCK TABLE `+strings.Join(quoted, ", ")+` IN EXCLUSIVE MODE`); err != nil {
		return nil, fmt.Errorf("target: lock the tables: %w", err)
	}
	var full []string
	for _, t := range stateTables {
		var has bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+quoteIdent(t)+`)`).Scan(&has); err != nil {
			return nil, fmt.Errorf("target: table %s: %w", t, err)
		}
		if has {
			full = append(full, t)
		}
	}
	if len(full) > 0 {
		which := "table " + full[0] + " has rows"
		if len(full) > 1 {
			which = "tables " + strings.Join(full, ", ") + " have rows"
		}
		return nil, fmt.Errorf("the PostgreSQL target is not empty (%s): the state is copied into an empty database only; nothing was written", which)
	}

	counts := make(map[string]int64, len(stateTables))
	var seqs []sequence
	for _, t := range stateTables {
		n, s, err := copyTable(ctx, src, tx, t)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", t, err)
		}
		counts[t] = n
		seqs = append(seqs, s...)
	}
	for _, t := range stateTables {
		var inSource, inTarget int64
		if err := src.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(t)).Scan(&inSource); err != nil {
			return nil, fmt.Errorf("verify table %s: source: %w", t, err)
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(t)).Scan(&inTarget); err != nil {
			return nil, fmt.Errorf("verify table %s: target: %w", t, err)
		}
		if inSource != counts[t] || inTarget != counts[t] {
			return nil, fmt.Errorf("verify table %s: %d rows in the source, %d copied, %d in the target: nothing was committed",
				t, inSource, counts[t], inTarget)
		}
	}
	// Sequences are not transactional: they are set last, when nothing but the commit can
	// fail (should it, an empty target keeps a sequence that starts later, which is harmless).
	for _, s := range seqs {
		if err := s.set(ctx, src, tx); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("target: commit: %w", err)
	}
	return counts, nil
}

// latestVersion is the schema version this build migrates to.
func latestVersion() (int, error) {
	ms, err := loadMigrations(migrations)
	if err != nil {
		return 0, err
	}
	if len(ms) == 0 {
		return 0, errors.New("no migrations")
	}
	return ms[len(ms)-1].version, nil
}

// querier is a transaction on either side.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func checkVersion(ctx context.Context, q querier, what string, want int) error {
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT max(version) FROM schema_version`).Scan(&v); err != nil {
		return fmt.Errorf("%s: schema version: %w", what, err)
	}
	if !v.Valid || int(v.Int64) != want {
		return fmt.Errorf("%s has schema version %d, this Kuberpult's is %d: copy with the Kuberpult that matches both", what, v.Int64, want)
	}
	return nil
}

// checkSourceTables refuses a source with a table that is neither state nor known to be
// none, or without one of the state's tables.
func checkSourceTables(ctx context.Context, src *sql.Tx) error {
	rows, err := src.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		return fmt.Errorf("source: list tables: %w", err)
	}
	defer rows.Close()
	known := map[string]bool{}
	for _, t := range stateTables {
		known[t] = false
	}
	var unknown []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return fmt.Errorf("source: list tables: %w", err)
		}
		if _, ok := known[name]; ok {
			known[name] = true
		} else if !notState(name) {
			unknown = append(unknown, name)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("source: list tables: %w", err)
	}
	if len(unknown) > 0 {
		return fmt.Errorf("the SQLite source has tables this Kuberpult does not copy (%s): nothing was written", strings.Join(unknown, ", "))
	}
	for _, t := range stateTables {
		if !known[t] {
			return fmt.Errorf("the SQLite source has no table %s", t)
		}
	}
	return nil
}
