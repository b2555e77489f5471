package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"kuberpult/deploy"
)

var (
	qSaveCard = stmt(`INSERT INTO cards (action_id, channel, ts, body, at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (action_id) DO UPDATE SET channel = excluded.channel, ts = excluded.ts,
			body = excluded.body, at = excluded.at`)
	qCard         = stmt(`SELECT channel, ts, body, at FROM cards WHERE action_id = ?`)
	qActionCommit = stmt(`SELECT commit_hash FROM audit WHERE id = ?`)
	qRemind       = stmt(`INSERT INTO reminders (reminder, sent_at) VALUES (?, ?) ON CONFLICT (reminder) DO NOTHING`)
)

// SaveCard records (or replaces) the card of an action.
func (db *DB) SaveCard(ctx context.Context, c deploy.Card) error {
	if c.ActionID <= 0 || c.Channel == "" || c.TS == "" {
		return fmt.Errorf("save card: action %d, channel %q, ts %q: all are needed", c.ActionID, c.Channel, c.TS)
	}
	err := db.update(ctx, func(r runner) error {
		_, err := r.exec(ctx, qSaveCard, c.ActionID, c.Channel, c.TS, c.Body, fmtTime(c.At))
		return err
	})
	if err != nil {
		return fmt.Errorf("save card of action %d: %w", c.ActionID, err)
	}
	return nil
}

// Card returns the card of an action; false when it has none.
func (db *DB) Card(ctx context.Context, actionID int64) (deploy.Card, bool, error) {
	c := deploy.Card{ActionID: actionID}
	var at string
	err := db.snapshot(ctx, func(r runner) error {
		return r.queryRow(ctx, qCard, actionID).Scan(&c.Channel, &c.TS, &c.Body, &at)
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return deploy.Card{}, false, nil
	case err != nil:
		return deploy.Card{}, false, fmt.Errorf("read card of action %d: %w", actionID, err)
	}
	if c.At, err = parseTime(at); err != nil {
		return deploy.Card{}, false, err
	}
	return c, true, nil
}

// ActionCommit returns the env-repo commit that carried an action's change; "" while it is
// not pushed (or when the action changed nothing in the env repo or is unknown).
func (db *DB) ActionCommit(ctx context.Context, actionID int64) (string, error) {
	var commit string
	err := db.snapshot(ctx, func(r runner) error {
		return r.queryRow(ctx, qActionCommit, actionID).Scan(&commit)
	})
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("read commit of action %d: %w", actionID, err)
	}
	return commit, nil
}

// Remind claims a reminder: true the first time it is asked for a name, false ever after
// (also from another process or after a restart).
func (db *DB) Remind(ctx context.Context, name string, now time.Time) (bool, error) {
	var first bool
	err := db.update(ctx, func(r runner) error {
		res, err := r.exec(ctx, qRemind, name, fmtTime(now))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		first = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("claim reminder %q: %w", name, err)
	}
	return first, nil
}
