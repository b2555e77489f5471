package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"kuberpult/deploy"
)

// Pending returns up to limit outbox entries that have not been pushed yet, oldest first
// (0 for all). The git writer applies them in this order.
func (db *DB) Pending(ctx context.Context, limit int) ([]deploy.OutboxEntry, error) {
	var out []deploy.OutboxEntry
	err := db.view(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, repo_change FROM outbox WHERE done = 0 ORDER BY id`+limitClause(limit))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				e    deploy.OutboxEntry
				body string
			)
			if err := rows.Scan(&e.ID, &body); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(body), &e.Change); err != nil {
				return fmt.Errorf("decode outbox entry %d: %w", e.ID, err)
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read pending outbox: %w", err)
	}
	return out, nil
}

// MarkPushed marks outbox entries as done with the commits that carried them, and records
// each commit on the deployments (current and history) of its entry, in one transaction.
// Marking an entry that is done already changes nothing; an unknown id is an error
// wrapping deploy.ErrNotFound, and then nothing is marked.
func (db *DB) MarkPushed(ctx context.Context, pushed []deploy.Pushed) error {
	err := db.update(ctx, func(tx *sql.Tx) error {
		for _, p := range pushed {
			if err := markPushed(ctx, tx, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mark pushed: %w", err)
	}
	return nil
}

func markPushed(ctx context.Context, tx *sql.Tx, p deploy.Pushed) error {
	var done int64
	err := tx.QueryRowContext(ctx, `SELECT done FROM outbox WHERE id = ?`, p.ID).Scan(&done)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("outbox entry %d: %w", p.ID, deploy.ErrNotFound)
	case err != nil:
		return fmt.Errorf("outbox entry %d: %w", p.ID, err)
	case done != 0:
		return nil
	}
	stmts := []string{
		`UPDATE outbox SET done = 1, commit_hash = ? WHERE id = ?`,
		`UPDATE deployments SET commit_hash = ? WHERE outbox_id = ?`,
		`UPDATE deployment_history SET commit_hash = ? WHERE outbox_id = ?`,
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s, p.Commit, p.ID); err != nil {
			return fmt.Errorf("outbox entry %d: %w", p.ID, err)
		}
	}
	return nil
}

// OutboxLen returns how many outbox entries wait to be pushed.
func (db *DB) OutboxLen(ctx context.Context) (int, error) {
	var n int
	err := db.view(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE done = 0`).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("count pending outbox: %w", err)
	}
	return n, nil
}
