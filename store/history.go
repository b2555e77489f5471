package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"kuberpult/deploy"
)

var (
	qHistory = stmt(`SELECT ` + deploymentCols + ` FROM deployment_history d
		LEFT JOIN outbox o ON o.id = d.action_id WHERE d.app = ? ORDER BY d.id DESC LIMIT ?`)
	qHistoryOn = stmt(`SELECT ` + deploymentCols + ` FROM deployment_history d
		LEFT JOIN outbox o ON o.id = d.action_id WHERE d.app = ? AND d.env = ? ORDER BY d.id DESC LIMIT ?`)
	qLockHistory = stmt(`SELECT ` + lockCols + `, deleted_by_kind, deleted_by_id, deleted_by_name,
		deleted_by_email, deleted_at FROM lock_history ORDER BY id DESC LIMIT ?`)
	qLockHistoryOn = stmt(`SELECT ` + lockCols + `, deleted_by_kind, deleted_by_id, deleted_by_name,
		deleted_by_email, deleted_at FROM lock_history WHERE env = ? ORDER BY id DESC LIMIT ?`)
)

func (v *view) History(ctx context.Context, app deploy.App, env deploy.Env, limit int) ([]deploy.Deployment, error) {
	var (
		out []deploy.Deployment
		err error
	)
	if env == "" {
		out, err = scanDeployments(v.r.query(ctx, qHistory, string(app), limitArg(limit)))
	} else {
		out, err = scanDeployments(v.r.query(ctx, qHistoryOn, string(app), string(env), limitArg(limit)))
	}
	if err != nil {
		return nil, fmt.Errorf("read deployment history of %s: %w", app, err)
	}
	return out, nil
}

func (v *view) LockHistory(ctx context.Context, env deploy.Env, limit int) ([]deploy.LockRecord, error) {
	var (
		out []deploy.LockRecord
		err error
	)
	if env == "" {
		out, err = scanLocks(v.r.query(ctx, qLockHistory, limitArg(limit)))
	} else {
		out, err = scanLocks(v.r.query(ctx, qLockHistoryOn, string(env), limitArg(limit)))
	}
	if err != nil {
		return nil, fmt.Errorf("read lock history: %w", err)
	}
	return out, nil
}

// The audit log is filtered by time and actor with arguments that select everything when
// unset (an empty since sorts before every time; an empty actor matches all), so that there
// are two statements only.
const auditQuery = `SELECT id, at, actor_kind, actor_id, actor_name, actor_email, via, command,
	env, app, outcome, detail, commit_hash FROM audit
	WHERE at >= ?1 AND (?2 = '' OR actor_id = ?2 OR lower(actor_name) = lower(?2) OR lower(actor_email) = lower(?2))`

var (
	qAudit   = stmt(auditQuery + ` ORDER BY id DESC LIMIT ?3`)
	qAuditOn = stmt(auditQuery + ` AND ` + strings.Replace(inList("env"), "?", "?4", 1) + ` ORDER BY id DESC LIMIT ?3`)
)

// AuditLog returns the entries f selects, newest first. f.Envs selects like a Query's lists:
// nil for every entry, an empty list for none.
func (v *view) AuditLog(ctx context.Context, f deploy.AuditFilter) ([]deploy.AuditEntry, error) {
	if f.Envs != nil && len(f.Envs) == 0 {
		return nil, nil
	}
	since := ""
	if !f.Since.IsZero() {
		since = fmtTime(f.Since)
	}
	var (
		rows *sql.Rows
		err  error
	)
	if f.Envs == nil {
		rows, err = v.r.query(ctx, qAudit, since, f.Actor, limitArg(f.Limit))
	} else {
		rows, err = v.r.query(ctx, qAuditOn, since, f.Actor, limitArg(f.Limit), jsonList(f.Envs))
	}
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	var out []deploy.AuditEntry
	for rows.Next() {
		var (
			e  deploy.AuditEntry
			at string
		)
		dest := args(&e.ID, &at, actorDest(&e.Actor), &e.Via, &e.Command, &e.Env, &e.App,
			&e.Outcome, &e.Detail, &e.Commit)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		if e.Time, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("read audit log: entry %d: %w", e.ID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return out, nil
}

var (
	qOutboxPending = stmt(`SELECT count(*) FROM outbox WHERE state = 'pending'`)
	qOutboxOldest  = stmt(`SELECT created_at FROM outbox WHERE state = 'pending' ORDER BY id LIMIT 1`)
	qOutboxAfter   = stmt(`SELECT created_at FROM outbox WHERE state = 'pending' AND id > ? ORDER BY id LIMIT 1`)
	qOutboxFailed  = stmt(`SELECT id, repo_change, failed_reason, failed_at FROM outbox WHERE state = 'failed' ORDER BY id`)
)

func (v *view) Outbox(ctx context.Context) (deploy.OutboxSummary, error) {
	var (
		sum    deploy.OutboxSummary
		oldest string
	)
	if err := v.r.queryRow(ctx, qOutboxPending).Scan(&sum.Pending); err != nil {
		return deploy.OutboxSummary{}, fmt.Errorf("read outbox: %w", err)
	}
	if sum.Pending > 0 {
		err := v.r.queryRow(ctx, qOutboxOldest).Scan(&oldest)
		if err == nil {
			sum.Oldest, err = parseTime(oldest)
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return deploy.OutboxSummary{}, fmt.Errorf("read outbox: %w", err)
		}
	}
	rows, err := v.r.query(ctx, qOutboxFailed)
	if err != nil {
		return deploy.OutboxSummary{}, fmt.Errorf("read failed outbox entries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			f        deploy.FailedEntry
			body, at string
		)
		if err := rows.Scan(&f.ID, &body, &f.Reason, &at); err != nil {
			return deploy.OutboxSummary{}, fmt.Errorf("read failed outbox entries: %w", err)
		}
		f.Message = subject(body)
		if f.Time, err = parseTime(at); err != nil {
			return deploy.OutboxSummary{}, fmt.Errorf("read failed outbox entry %d: %w", f.ID, err)
		}
		sum.Failed = append(sum.Failed, f)
	}
	if err := rows.Err(); err != nil {
		return deploy.OutboxSummary{}, fmt.Errorf("read failed outbox entries: %w", err)
	}
	return sum, nil
}

// subject is the first line of the commit message of a stored change; "" when the entry
// cannot be read (which may be why it failed).
func subject(body string) string {
	var c struct{ Message string }
	if json.Unmarshal([]byte(body), &c) != nil {
		return ""
	}
	first, _, _ := strings.Cut(c.Message, "\n")
	return first
}

// Waiting returns when the first pending entry after the id after was accepted; zero when
// there is none. It reads only the index of pending entries.
func (db *DB) Waiting(ctx context.Context, after int64) (time.Time, error) {
	var t time.Time
	err := db.snapshot(ctx, func(r runner) error {
		var at string
		err := r.queryRow(ctx, qOutboxAfter, after).Scan(&at)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil
		case err != nil:
			return err
		}
		t, err = parseTime(at)
		return err
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("read waiting outbox entries: %w", err)
	}
	return t, nil
}
