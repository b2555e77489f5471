package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"kuberpult/deploy"
)

// AuditFilter selects audit entries (see deploy.AuditFilter).
type AuditFilter = deploy.AuditFilter

// Audit records a standalone audit entry: a query, a refusal, anything that changes nothing.
func (db *DB) Audit(ctx context.Context, e deploy.AuditEntry) error {
	err := db.update(ctx, func(tx *sql.Tx) error {
		_, err := insertAudit(ctx, tx, e, 0)
		return err
	})
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

func insertAudit(ctx context.Context, tx *sql.Tx, e deploy.AuditEntry, outboxID int64) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO audit (at, actor_kind, actor_id, actor_name, actor_email,
		via, command, env, app, outcome, detail, commit_hash, outbox_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		args(fmtTime(e.Time), actorArgs(e.Actor), string(e.Via), e.Command, string(e.Env),
			string(e.App), string(e.Outcome), e.Detail, e.Commit, nullID(outboxID))...).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("insert audit entry: %w", err)
	}
	return id, nil
}

// AuditLog returns the audit entries f selects, newest first. An entry whose change has
// been pushed carries the commit.
func (db *DB) AuditLog(ctx context.Context, f AuditFilter) ([]deploy.AuditEntry, error) {
	var where []string
	var vals []any
	if !f.Since.IsZero() {
		where = append(where, "a.at >= ?")
		vals = append(vals, fmtTime(f.Since))
	}
	if f.Actor != "" {
		where = append(where, "(a.actor_id = ? OR lower(a.actor_name) = lower(?) OR lower(a.actor_email) = lower(?))")
		vals = append(vals, f.Actor, f.Actor, f.Actor)
	}
	if f.Env != "" {
		where = append(where, "a.env = ?")
		vals = append(vals, string(f.Env))
	}
	q := `SELECT a.id, a.at, a.actor_kind, a.actor_id, a.actor_name, a.actor_email, a.via, a.command,
		a.env, a.app, a.outcome, a.detail, a.commit_hash, o.done, o.commit_hash
		FROM audit a LEFT JOIN outbox o ON o.id = a.outbox_id`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY a.id DESC" + limitClause(f.Limit)

	var out []deploy.AuditEntry
	err := db.view(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, q, vals...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				e          deploy.AuditEntry
				at         string
				done       sql.NullInt64
				pushedHash sql.NullString
			)
			dest := args(&e.ID, &at, actorDest(&e.Actor), &e.Via, &e.Command, &e.Env, &e.App,
				&e.Outcome, &e.Detail, &e.Commit, &done, &pushedHash)
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			if e.Time, err = parseTime(at); err != nil {
				return err
			}
			if done.Valid && done.Int64 != 0 {
				e.Commit = pushedHash.String
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return out, nil
}
