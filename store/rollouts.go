package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"kuberpult/deploy"
)

var (
	qSaveRollout = stmt(`INSERT INTO rollouts (env, app, state, body) VALUES (?, ?, ?, ?)
		ON CONFLICT (env, app) DO UPDATE SET state = excluded.state, body = excluded.body`)
	qRollouts      = stmt(`SELECT body FROM rollouts ORDER BY env, app`)
	qRolloutsOfApp = stmt(`SELECT body FROM rollouts WHERE app = ? ORDER BY env`)
)

func (v *view) Rollouts(ctx context.Context, app deploy.App) ([]deploy.Rollout, error) {
	var rows *sql.Rows
	var err error
	if app == "" {
		rows, err = v.r.query(ctx, qRollouts)
	} else {
		rows, err = v.r.query(ctx, qRolloutsOfApp, string(app))
	}
	if err != nil {
		return nil, fmt.Errorf("read rollouts: %w", err)
	}
	return scanRollouts(rows)
}

func scanRollouts(rows *sql.Rows) ([]deploy.Rollout, error) {
	defer rows.Close()
	var out []deploy.Rollout
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return nil, err
		}
		var r deploy.Rollout
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, fmt.Errorf("decode rollout: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SaveRollout records the rollout of (r.Env, r.App), replacing the one before: only the
// latest deployment of an app on an environment is followed.
func (db *DB) SaveRollout(ctx context.Context, r deploy.Rollout) error {
	if r.Env == "" || r.App == "" || r.State == "" {
		return fmt.Errorf("save rollout: env %q, app %q, state %q: all are needed", r.Env, r.App, r.State)
	}
	body, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode rollout: %w", err)
	}
	err = db.update(ctx, func(rn runner) error {
		_, err := rn.exec(ctx, qSaveRollout, string(r.Env), string(r.App), string(r.State), body)
		return err
	})
	if err != nil {
		return fmt.Errorf("save rollout of %s on %s: %w", r.App, r.Env, err)
	}
	return nil
}

// Rollouts returns the latest rollout of every (environment, app) that has one.
func (db *DB) Rollouts(ctx context.Context) ([]deploy.Rollout, error) {
	var out []deploy.Rollout
	err := db.snapshot(ctx, func(rn runner) error {
		rows, err := rn.query(ctx, qRollouts)
		if err != nil {
			return err
		}
		out, err = scanRollouts(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read rollouts: %w", err)
	}
	return out, nil
}
