package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"kuberpult/deploy"
)

// State returns a consistent snapshot: every app with its team and newest version, the
// current deployments, the locks in force and the held attempts.
func (db *DB) State(ctx context.Context) (deploy.State, error) { return db.state(ctx, nil, true) }

// StateOf is State with the deployments and held attempts of the given environments only
// (none for an empty list): an action needs those of the environments it touches, which in
// a large installation is much less than all of them.
func (db *DB) StateOf(ctx context.Context, envs []deploy.Env) (deploy.State, error) {
	return db.state(ctx, envs, false)
}

func (db *DB) state(ctx context.Context, envs []deploy.Env, all bool) (deploy.State, error) {
	st := deploy.State{
		Apps:        map[deploy.App]deploy.AppInfo{},
		Deployments: map[deploy.Env]map[deploy.App]deploy.Deployment{},
	}
	err := db.view(ctx, func(tx *sql.Tx) error {
		if err := readApps(ctx, tx, st.Apps); err != nil {
			return err
		}
		where, vals := envFilter("d.env", envs, all)
		ds, err := queryDeployments(ctx, tx, `FROM deployments d LEFT JOIN outbox o ON o.id = d.outbox_id`+where+` ORDER BY d.env, d.app`, vals...)
		if err != nil {
			return fmt.Errorf("deployments: %w", err)
		}
		for _, d := range ds {
			if st.Deployments[d.Env] == nil {
				st.Deployments[d.Env] = map[deploy.App]deploy.Deployment{}
			}
			st.Deployments[d.Env][d.App] = d
		}
		recs, err := queryLocks(ctx, tx, `SELECT `+lockCols+`, NULL, NULL, NULL, NULL, NULL FROM locks`)
		if err != nil {
			return fmt.Errorf("locks: %w", err)
		}
		for _, r := range recs {
			st.Locks = append(st.Locks, r.Lock)
		}
		deploy.SortLocks(st.Locks)
		st.Held, err = readHeld(ctx, tx, envs, all)
		return err
	})
	if err != nil {
		return deploy.State{}, fmt.Errorf("read state: %w", err)
	}
	return st, nil
}

func readApps(ctx context.Context, tx *sql.Tx, apps map[deploy.App]deploy.AppInfo) error {
	rows, err := tx.QueryContext(ctx, `SELECT app, MAX(version) FROM releases GROUP BY app`)
	if err != nil {
		return fmt.Errorf("apps: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var info deploy.AppInfo
		if err := rows.Scan(&info.App, &info.Latest); err != nil {
			return fmt.Errorf("apps: %w", err)
		}
		apps[info.App] = info
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("apps: %w", err)
	}
	rows.Close()

	rows, err = tx.QueryContext(ctx, `SELECT r.app, r.team FROM releases r
		WHERE r.team <> '' AND r.version = (
			SELECT MAX(n.version) FROM releases n WHERE n.app = r.app AND n.team <> '')`)
	if err != nil {
		return fmt.Errorf("app teams: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			app  deploy.App
			team deploy.Team
		)
		if err := rows.Scan(&app, &team); err != nil {
			return fmt.Errorf("app teams: %w", err)
		}
		info := apps[app]
		info.Team = team
		apps[app] = info
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("app teams: %w", err)
	}
	return nil
}

// envFilter is a WHERE clause selecting rows of the given environments, or all rows.
func envFilter(col string, envs []deploy.Env, all bool) (string, []any) {
	if all {
		return "", nil
	}
	if len(envs) == 0 {
		return " WHERE 0", nil
	}
	marks := make([]string, len(envs))
	vals := make([]any, len(envs))
	for i, e := range envs {
		marks[i], vals[i] = "?", string(e)
	}
	return " WHERE " + col + " IN (" + strings.Join(marks, ", ") + ")", vals
}

func readHeld(ctx context.Context, tx *sql.Tx, envs []deploy.Env, all bool) ([]deploy.Held, error) {
	where, vals := envFilter("env", envs, all)
	rows, err := tx.QueryContext(ctx, `SELECT env, app, version, how, reason, lock_ids, held_at
		FROM held`+where+` ORDER BY env, app`, vals...)
	if err != nil {
		return nil, fmt.Errorf("held: %w", err)
	}
	defer rows.Close()
	var out []deploy.Held
	for rows.Next() {
		var (
			h       deploy.Held
			ids, at string
		)
		if err := rows.Scan(&h.Env, &h.App, &h.Version, &h.How, &h.Reason, &ids, &at); err != nil {
			return nil, fmt.Errorf("held: %w", err)
		}
		if ids != "" {
			if err := json.Unmarshal([]byte(ids), &h.LockIDs); err != nil {
				return nil, fmt.Errorf("held %s on %s: lock ids: %w", h.App, h.Env, err)
			}
		}
		if h.Time, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("held %s on %s: %w", h.App, h.Env, err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("held: %w", err)
	}
	return out, nil
}

// deploymentCols are the columns queryDeployments scans, from a deployments or
// deployment_history table "d" joined with the outbox as "o".
const deploymentCols = `d.env, d.app, d.version, d.how, d.actor_kind, d.actor_id, d.actor_name,
	d.actor_email, d.deployed_at, d.reason, d.commit_hash, o.done`

// queryDeployments runs "SELECT deploymentCols " + from. A deployment is pending while its
// outbox entry is not done.
func queryDeployments(ctx context.Context, tx *sql.Tx, from string, vals ...any) ([]deploy.Deployment, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+deploymentCols+` `+from, vals...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []deploy.Deployment
	for rows.Next() {
		var (
			d    deploy.Deployment
			at   string
			done sql.NullInt64
		)
		dest := args(&d.Env, &d.App, &d.Version, &d.How, actorDest(&d.Actor), &at, &d.Reason, &d.Commit, &done)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if d.Time, err = parseTime(at); err != nil {
			return nil, err
		}
		d.Pending = done.Valid && done.Int64 == 0
		out = append(out, d)
	}
	return out, rows.Err()
}

// lockCols are the lock columns queryLocks scans first, followed by the five deleted_*
// columns of the lock history (NULL for locks in force).
const lockCols = `kind, lock_id, env, app, team, message, suggested_lifetime,
	author_kind, author_id, author_name, author_email, created_at`

func queryLocks(ctx context.Context, tx *sql.Tx, q string, vals ...any) ([]deploy.LockRecord, error) {
	rows, err := tx.QueryContext(ctx, q, vals...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []deploy.LockRecord
	for rows.Next() {
		var (
			r         deploy.LockRecord
			created   string
			delKind   sql.NullString
			delID     sql.NullString
			delName   sql.NullString
			delEmail  sql.NullString
			deletedAt sql.NullString
		)
		dest := args(&r.Kind, &r.ID, &r.Env, &r.App, &r.Team, &r.Message, &r.SuggestedLifetime,
			actorDest(&r.Author), &created, &delKind, &delID, &delName, &delEmail, &deletedAt)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if r.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		if deletedAt.Valid {
			r.DeletedBy = &deploy.Actor{Kind: deploy.ActorKind(delKind.String), ID: delID.String,
				Name: delName.String, Email: delEmail.String}
			if r.DeletedAt, err = parseTime(deletedAt.String); err != nil {
				return nil, err
			}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
