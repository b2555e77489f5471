package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"kuberpult/deploy"
)

var (
	qSaveRollout = stmt(`INSERT INTO rollouts (env, app, state, body, action_id) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (env, app) DO UPDATE SET state = excluded.state, body = excluded.body, action_id = excluded.action_id`)
	qRollouts      = stmt(`SELECT body FROM rollouts ORDER BY env, app`)
	qRolloutsOfApp = stmt(`SELECT body FROM rollouts WHERE app = ? ORDER BY env`)
	// The states that are not final (deploy.RolloutState.Final).
	qRolloutsInFlight = stmt(`SELECT body FROM rollouts WHERE state IN ('pending', 'progressing', 'unknown') ORDER BY env, app`)
	// Undeploy versions are not rolled out: they remove the app.
	qPushedSince = stmt(`SELECT d.env, d.app, d.version, d.commit_hash, d.action_id, d.deployed_at FROM deployments d
		WHERE d.commit_hash <> '' AND d.deployed_at >= ?
		  AND NOT EXISTS (SELECT 1 FROM releases rl WHERE rl.app = d.app AND rl.version = d.version AND rl.undeploy <> 0)
		ORDER BY d.action_id, d.env, d.app`)
	// Commit hashes are lowercase hex: [rev, rev~) holds rev and the hashes it abbreviates.
	qLastActionOfCommit = stmt(`SELECT max(id) FROM audit WHERE commit_hash >= ? AND commit_hash < ? AND commit_hash <> ''`)
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

// SaveRollouts records rollouts in one transaction, each replacing the one of its (Env,
// App) before: only the latest deployment of an app on an environment is followed. A
// rollout without env, app or state is refused, and then none is saved.
func (db *DB) SaveRollouts(ctx context.Context, rs ...deploy.Rollout) error {
	bodies := make([][]byte, len(rs))
	for i, r := range rs {
		if r.Env == "" || r.App == "" || r.State == "" {
			return fmt.Errorf("save rollout: env %q, app %q, state %q: all are needed", r.Env, r.App, r.State)
		}
		body, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("encode rollout: %w", err)
		}
		bodies[i] = body
	}
	if len(rs) == 0 {
		return nil
	}
	err := db.update(ctx, func(rn runner) error {
		for i, r := range rs {
			if _, err := rn.exec(ctx, qSaveRollout, string(r.Env), string(r.App), string(r.State), bodies[i], r.ActionID); err != nil {
				return fmt.Errorf("%s on %s: %w", r.App, r.Env, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save rollouts: %w", err)
	}
	return nil
}

// RolloutsInFlight returns the rollouts that are not over yet.
func (db *DB) RolloutsInFlight(ctx context.Context) ([]deploy.Rollout, error) {
	var out []deploy.Rollout
	err := db.snapshot(ctx, func(rn runner) error {
		rows, err := rn.query(ctx, qRolloutsInFlight)
		if err != nil {
			return err
		}
		out, err = scanRollouts(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read rollouts in flight: %w", err)
	}
	return out, nil
}

// UntrackedPushes returns, as push events, the current deployments pushed since since that no
// rollout follows: their (env, app) has no rollout of that action or a later one. They are
// what a tracker missed when it stopped between a push and hearing of it.
func (db *DB) UntrackedPushes(ctx context.Context, since time.Time) ([]deploy.PushEvent, error) {
	var out []deploy.PushEvent
	err := db.snapshot(ctx, func(rn runner) error {
		rows, err := rn.query(ctx, qRollouts)
		if err != nil {
			return err
		}
		rs, err := scanRollouts(rows)
		if err != nil {
			return err
		}
		tracked := map[[2]string]int64{}
		for _, r := range rs {
			tracked[[2]string{string(r.Env), string(r.App)}] = r.ActionID
		}
		rows, err = rn.query(ctx, qPushedSince, fmtTime(since))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var env, app, commit, at string
			var version uint64
			var action int64
			if err := rows.Scan(&env, &app, &version, &commit, &action, &at); err != nil {
				return err
			}
			if id, ok := tracked[[2]string{env, app}]; ok && id >= action {
				continue
			}
			when, err := parseTime(at)
			if err != nil {
				return err
			}
			if len(out) == 0 || out[len(out)-1].ActionID != action {
				out = append(out, deploy.PushEvent{ActionID: action, Commit: commit, Time: when})
			}
			ev := &out[len(out)-1]
			ev.Carried = append(ev.Carried, deploy.Carried{Env: deploy.Env(env), App: deploy.App(app), Version: deploy.Version(version)})
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("untracked pushes: %w", err)
	}
	return out, nil
}

// LastActionOfCommit returns the newest action that the env-repo commit rev (or a commit
// whose hash starts with rev) carried, and false when none did: Kuberpult pushes actions
// in order, so a commit whose last action is at least a rollout's action holds it.
func (db *DB) LastActionOfCommit(ctx context.Context, rev string) (int64, bool, error) {
	rev = strings.ToLower(rev)
	var id sql.NullInt64
	if rev != "" {
		err := db.snapshot(ctx, func(rn runner) error {
			return rn.queryRow(ctx, qLastActionOfCommit, rev, rev+"~").Scan(&id)
		})
		if err != nil {
			return 0, false, fmt.Errorf("actions of commit %s: %w", rev, err)
		}
	}
	return id.Int64, id.Valid, nil
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
