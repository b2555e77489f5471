package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
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

// Column kinds, as the PostgreSQL schema declares them.
type colKind int

const (
	colInt colKind = iota
	colText
	colBytes
)

type column struct {
	name     string
	kind     colKind
	identity bool // GENERATED … AS IDENTITY
}

// targetColumns reads the columns of table in the target's schema (the one its unqualified
// name resolves to, as the store's queries do).
func targetColumns(ctx context.Context, tx *sql.Tx, table string) (map[string]column, error) {
	rows, err := tx.QueryContext(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attidentity::text
		FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`, quoteIdent(table))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols := map[string]column{}
	for rows.Next() {
		var name, typ, identity string
		if err := rows.Scan(&name, &typ, &identity); err != nil {
			return nil, err
		}
		c := column{name: name, identity: identity != ""}
		switch typ {
		case "bigint", "integer", "smallint":
			c.kind = colInt
		case "text":
			c.kind = colText
		case "bytea":
			c.kind = colBytes
		default:
			return nil, fmt.Errorf("column %s has type %s in PostgreSQL, which the copy does not know", name, typ)
		}
		cols[name] = c
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(cols) == 0 {
		return nil, errors.New("not in the PostgreSQL schema")
	}
	return cols, nil
}

// sourceColumns reads the columns of table in the source, in their order.
func sourceColumns(ctx context.Context, src *sql.Tx, table string) ([]string, error) {
	rows, err := src.QueryContext(ctx, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		cols = append(cols, name)
	}
	return cols, rows.Err()
}

// sequence is an identity column of the target whose sequence is set after the copy.
type sequence struct {
	table, column string
	max           int64 // the highest id copied
}

// set moves the sequence past the highest id copied and the highest SQLite ever handed out
// (sqlite_sequence: AUTOINCREMENT never reuses an id, also of a deleted row), so the next
// id is the one SQLite would have given.
func (s sequence) set(ctx context.Context, src, tx *sql.Tx) error {
	last := s.max
	var seq sql.NullInt64
	err := src.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = ?`, s.table).Scan(&seq)
	if err != nil && !errors.Is(err, sql.ErrNoRows) && !strings.Contains(err.Error(), "no such table") {
		return fmt.Errorf("table %s: read its SQLite counter: %w", s.table, err)
	}
	if seq.Valid && seq.Int64 > last {
		last = seq.Int64
	}
	if last <= 0 {
		return nil // nothing was ever inserted: the sequence starts at 1
	}
	if _, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence($1, $2), $3)`, quoteIdent(s.table), s.column, last); err != nil {
		return fmt.Errorf("table %s: set the sequence of %s: %w", s.table, s.column, err)
	}
	return nil
}

// copyTable copies every row of table and returns how many, and the sequences to set.
func copyTable(ctx context.Context, src, tx *sql.Tx, table string) (int64, []sequence, error) {
	names, err := sourceColumns(ctx, src, table)
	if err != nil {
		return 0, nil, fmt.Errorf("source columns: %w", err)
	}
	target, err := targetColumns(ctx, tx, table)
	if err != nil {
		return 0, nil, fmt.Errorf("target columns: %w", err)
	}
	cols := make([]column, len(names))
	for i, n := range names {
		c, ok := target[n]
		if !ok {
			return 0, nil, fmt.Errorf("column %s is in the SQLite schema but not in PostgreSQL's", n)
		}
		cols[i] = c
		delete(target, n)
	}
	if len(target) > 0 {
		var extra []string
		for n := range target {
			extra = append(extra, n)
		}
		sort.Strings(extra)
		return 0, nil, fmt.Errorf("columns %s are in the PostgreSQL schema but not in SQLite's", strings.Join(extra, ", "))
	}
	quotedCols := make([]string, len(cols))
	identity := false
	for i, c := range cols {
		quotedCols[i] = quoteIdent(c.name)
		identity = identity || c.identity
	}
	rows, err := src.QueryContext(ctx, `SELECT rowid, `+strings.Join(quotedCols, ", ")+` FROM `+quoteIdent(table)+` ORDER BY rowid`)
	if err != nil {
		return 0, nil, fmt.Errorf("read: %w", err)
	}
	defer rows.Close()

	b := batch{tx: tx, head: `INSERT INTO ` + quoteIdent(table) + ` (` + strings.Join(quotedCols, ", ") + `)`, width: len(cols)}
	if identity {
		b.head += ` OVERRIDING SYSTEM VALUE` // explicit ids, also into GENERATED ALWAYS columns
	}
	maxRows := copyBatchRows
	if m := copyBatchParams / len(cols); m < maxRows {
		maxRows = m
	}
	seqs := make([]sequence, 0, 1)
	for _, c := range cols {
		if c.identity {
			seqs = append(seqs, sequence{table: table, column: c.name})
		}
	}
	var n int64
	raw := make([]any, len(cols)+1)
	dest := make([]any, len(raw))
	for i := range raw {
		dest[i] = &raw[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return 0, nil, fmt.Errorf("read: %w", err)
		}
		rowid := raw[0]
		for i, c := range cols {
			v, size, err := convert(raw[i+1], c.kind)
			if err != nil {
				return 0, nil, fmt.Errorf("row %v, column %s: %w", rowid, c.name, err)
			}
			if table == "leases" {
				if r, ok := releasedLease[c.name]; ok {
					v = r
				}
			}
			for j := range seqs {
				if seqs[j].column == c.name {
					if id, ok := v.(int64); ok && id > seqs[j].max {
						seqs[j].max = id
					}
				}
			}
			b.add(v, size)
		}
		b.rows++
		n++
		if b.rows >= maxRows || b.bytes >= copyBatchBytes {
			if err := b.flush(ctx); err != nil {
				return 0, nil, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return 0, nil, fmt.Errorf("read: %w", err)
	}
	if err := b.flush(ctx); err != nil {
		return 0, nil, err
	}
	return n, seqs, nil
}

// convert turns a value as SQLite's driver reads it into the kind the target column has,
// and returns its size. A value of another kind than the column's is an error: a copy does
// not guess.
func convert(v any, kind colKind) (any, int, error) {
	switch x := v.(type) {
	case nil:
		return nil, 1, nil
	case int64:
		if kind == colInt {
			return x, 8, nil
		}
	case bool: // not written by the store, but the driver may read an integer so
		if kind == colInt {
			if x {
				return int64(1), 8, nil
			}
			return int64(0), 8, nil
		}
	case string:
		switch kind {
		case colText:
			return x, len(x), nil
		case colBytes:
			return []byte(x), len(x), nil
		}
	case []byte:
		switch kind {
		case colBytes:
			return x, len(x), nil
		case colText:
			if utf8.Valid(x) {
				return string(x), len(x), nil
			}
			return nil, 0, errors.New("a blob that is not UTF-8 text, where PostgreSQL has a text column")
		}
	}
	want := map[colKind]string{colInt: "an integer", colText: "text", colBytes: "bytes"}[kind]
	return nil, 0, fmt.Errorf("a value of type %T (%s) where PostgreSQL wants %s", v, brief(v), want)
}

func brief(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strconv.Quote(s)
}

// batch collects the rows of one multi-row INSERT.
type batch struct {
	tx          *sql.Tx
	head        string
	width, rows int
	bytes       int
	args        []any
}

func (b *batch) add(v any, size int) {
	b.args = append(b.args, v)
	b.bytes += size
}

func (b *batch) flush(ctx context.Context) error {
	if b.rows == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString(b.head)
	q.WriteString(" VALUES ")
	p := 0
	for r := 0; r < b.rows; r++ {
		if r > 0 {
			q.WriteString(", ")
		}
		q.WriteByte('(')
		for c := 0; c < b.width; c++ {
			if c > 0 {
				q.WriteString(", ")
			}
			p++
			q.WriteString("$" + strconv.Itoa(p))
		}
		q.WriteByte(')')
	}
	if _, err := b.tx.ExecContext(ctx, q.String(), b.args...); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	b.rows, b.bytes, b.args = 0, 0, b.args[:0]
	return nil
}

// quoteIdent quotes a table or column name for both SQLite and PostgreSQL.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
