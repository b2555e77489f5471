package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"kuberpult/deploy"
)

const releaseCols = `app, version, display_version, team, source_commit_id, previous_commit_id,
	source_author, source_message, ci_link, created_at,
	created_by_kind, created_by_id, created_by_name, created_by_email`

func scanRelease(row interface{ Scan(...any) error }) (deploy.Release, error) {
	var (
		r  deploy.Release
		at string
	)
	dest := args(&r.App, &r.Version, &r.DisplayVersion, &r.Team, &r.SourceCommitID, &r.PreviousCommitID,
		&r.SourceAuthor, &r.SourceMessage, &r.CILink, &at, actorDest(&r.CreatedBy))
	if err := row.Scan(dest...); err != nil {
		return deploy.Release{}, err
	}
	var err error
	r.CreatedAt, err = parseTime(at)
	return r, err
}

// Release returns one release with its manifests. A missing release is an error wrapping
// deploy.ErrNotFound.
func (db *DB) Release(ctx context.Context, app deploy.App, v deploy.Version) (deploy.Release, error) {
	var r deploy.Release
	err := db.view(ctx, func(tx *sql.Tx) error {
		var err error
		r, err = scanRelease(tx.QueryRowContext(ctx, `SELECT `+releaseCols+` FROM releases WHERE app = ? AND version = ?`,
			string(app), int64(v)))
		if errors.Is(err, sql.ErrNoRows) {
			return deploy.NotFoundf("no release %s of %s", v, app)
		}
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT env, content FROM release_manifests WHERE app = ? AND version = ?`,
			string(app), int64(v))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				env     deploy.Env
				content string
			)
			if err := rows.Scan(&env, &content); err != nil {
				return err
			}
			if r.Manifests == nil {
				r.Manifests = map[deploy.Env]string{}
			}
			r.Manifests[env] = content
		}
		return rows.Err()
	})
	if err != nil {
		return deploy.Release{}, fmt.Errorf("read release %s of %s: %w", v, app, err)
	}
	return r, nil
}

// Releases returns the releases of app, newest first, without their manifests.
func (db *DB) Releases(ctx context.Context, app deploy.App) ([]deploy.Release, error) {
	var out []deploy.Release
	err := db.view(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+releaseCols+` FROM releases WHERE app = ? ORDER BY version DESC`, string(app))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanRelease(rows)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read releases of %s: %w", app, err)
	}
	return out, nil
}

// History returns up to limit deployments of app (0 for all), newest first, on env or on
// every environment when env is "".
func (db *DB) History(ctx context.Context, app deploy.App, env deploy.Env, limit int) ([]deploy.Deployment, error) {
	from := `FROM deployment_history d LEFT JOIN outbox o ON o.id = d.outbox_id WHERE d.app = ?`
	vals := []any{string(app)}
	if env != "" {
		from += ` AND d.env = ?`
		vals = append(vals, string(env))
	}
	from += ` ORDER BY d.id DESC` + limitClause(limit)
	var out []deploy.Deployment
	err := db.view(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = queryDeployments(ctx, tx, from, vals...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read deployment history of %s: %w", app, err)
	}
	return out, nil
}

// LockHistory returns up to limit locks created on env (every environment when env is ""),
// newest first, each with who deleted or replaced it and when.
func (db *DB) LockHistory(ctx context.Context, env deploy.Env, limit int) ([]deploy.LockRecord, error) {
	q := `SELECT ` + lockCols + `, deleted_by_kind, deleted_by_id, deleted_by_name, deleted_by_email, deleted_at
		FROM lock_history`
	var vals []any
	if env != "" {
		q += ` WHERE env = ?`
		vals = append(vals, string(env))
	}
	q += ` ORDER BY id DESC` + limitClause(limit)
	var out []deploy.LockRecord
	err := db.view(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = queryLocks(ctx, tx, q, vals...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read lock history: %w", err)
	}
	return out, nil
}
