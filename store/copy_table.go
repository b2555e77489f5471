package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Copying one table of CopyState: the columns on both sides, the values, the batches.

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
