package store

import (
	"context"
	"encoding/json"
	"fmt"

	"kuberpult/deploy"
)

var (
	qSaveRollout = stmt(`INSERT INTO rollouts (env, app, state, body) VALUES (?, ?, ?, ?)
		ON CONFLICT (env, app) DO UPDATE SET state = excluded.state, body = excluded.body`)
	qRollouts = stmt(`SELECT body FROM rollouts ORDER BY env, app`)
)

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
		defer rows.Close()
		for rows.Next() {
			var body []byte
			if err := rows.Scan(&body); err != nil {
				return err
			}
			var r deploy.Rollout
			if err := json.Unmarshal(body, &r); err != nil {
				return fmt.Errorf("decode rollout: %w", err)
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read rollouts: %w", err)
	}
	return out, nil
}
