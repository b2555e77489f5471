package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"kuberpult/deploy"
)

// Apply commits everything one accepted action changes, in one transaction: new releases
// with their manifests, the env-repo change for the git outbox, deployments (current and
// history, linked to the outbox entry; each clears the held attempt of its env and app),
// held attempts, deleted and then created locks (with their history) and the audit entry.
// It returns the outbox id, or 0 when c.Repo is nil.
//
// A release that exists already fails the whole change with an error wrapping
// deploy.ErrConflict; nothing of the change is kept. Deleting a lock that is not there
// changes nothing; a deletion is recorded as by c.DeletedBy (c.Audit.Actor when unset) at
// c.Audit.Time. Creating a lock with the key of an existing one replaces it, and the old
// one's history record is closed as deleted by the new lock's author at its creation time.
func (db *DB) Apply(ctx context.Context, c deploy.Change) (int64, error) {
	var outboxID int64
	err := db.update(ctx, func(tx *sql.Tx) error {
		outboxID = 0
		for _, r := range c.Releases {
			if err := insertRelease(ctx, tx, r); err != nil {
				return err
			}
		}
		if c.Repo != nil {
			id, err := insertOutbox(ctx, tx, *c.Repo)
			if err != nil {
				return err
			}
			outboxID = id
		}
		for _, d := range c.Deployments {
			if err := insertDeployment(ctx, tx, d, outboxID); err != nil {
				return err
			}
		}
		for _, h := range c.Held {
			if err := upsertHeld(ctx, tx, h); err != nil {
				return err
			}
		}
		deletedBy := c.DeletedBy
		if deletedBy == (deploy.Actor{}) {
			deletedBy = c.Audit.Actor
		}
		for _, k := range c.DeleteLocks {
			if err := deleteLock(ctx, tx, k, deletedBy, c.Audit.Time); err != nil {
				return err
			}
		}
		for _, l := range c.CreateLocks {
			if err := createLock(ctx, tx, l); err != nil {
				return err
			}
		}
		if _, err := insertAudit(ctx, tx, c.Audit, outboxID); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("apply change: %w", err)
	}
	return outboxID, nil
}

func insertRelease(ctx context.Context, tx *sql.Tx, r deploy.Release) error {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM releases WHERE app = ? AND version = ?`,
		string(r.App), int64(r.Version)).Scan(&n)
	if err != nil {
		return fmt.Errorf("look up release %s of %s: %w", r.Version, r.App, err)
	}
	if n > 0 {
		return deploy.Conflictf("release %s of %s already exists", r.Version, r.App)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO releases (app, version, display_version, team,
		source_commit_id, previous_commit_id, source_author, source_message, ci_link, created_at,
		created_by_kind, created_by_id, created_by_name, created_by_email)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		args(string(r.App), int64(r.Version), r.DisplayVersion, string(r.Team),
			r.SourceCommitID, r.PreviousCommitID, r.SourceAuthor, r.SourceMessage, r.CILink,
			fmtTime(r.CreatedAt), actorArgs(r.CreatedBy))...)
	if err != nil {
		return fmt.Errorf("insert release %s of %s: %w", r.Version, r.App, err)
	}
	for env, content := range r.Manifests {
		_, err := tx.ExecContext(ctx, `INSERT INTO release_manifests (app, version, env, content) VALUES (?, ?, ?, ?)`,
			string(r.App), int64(r.Version), string(env), content)
		if err != nil {
			return fmt.Errorf("insert manifest %s of release %s of %s: %w", env, r.Version, r.App, err)
		}
	}
	return nil
}

func insertOutbox(ctx context.Context, tx *sql.Tx, rc deploy.RepoChange) (int64, error) {
	body, err := json.Marshal(rc)
	if err != nil {
		return 0, fmt.Errorf("encode repo change: %w", err)
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO outbox (repo_change, created_at) VALUES (?, ?) RETURNING id`,
		string(body), fmtTime(rc.Time)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("insert outbox entry: %w", err)
	}
	return id, nil
}

// nullID is NULL for 0, so rows without an outbox entry link to nothing.
func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

func insertDeployment(ctx context.Context, tx *sql.Tx, d deploy.Deployment, outboxID int64) error {
	vals := args(string(d.Env), string(d.App), int64(d.Version), string(d.How), actorArgs(d.Actor),
		fmtTime(d.Time), d.Reason, d.Commit, nullID(outboxID))
	const cols = `env, app, version, how, actor_kind, actor_id, actor_name, actor_email,
		deployed_at, reason, commit_hash, outbox_id`
	_, err := tx.ExecContext(ctx, `INSERT INTO deployments (`+cols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (env, app) DO UPDATE SET version = excluded.version, how = excluded.how,
			actor_kind = excluded.actor_kind, actor_id = excluded.actor_id,
			actor_name = excluded.actor_name, actor_email = excluded.actor_email,
			deployed_at = excluded.deployed_at, reason = excluded.reason,
			commit_hash = excluded.commit_hash, outbox_id = excluded.outbox_id`, vals...)
	if err != nil {
		return fmt.Errorf("deploy %s %s to %s: %w", d.App, d.Version, d.Env, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO deployment_history (`+cols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, vals...)
	if err != nil {
		return fmt.Errorf("record deployment of %s %s to %s: %w", d.App, d.Version, d.Env, err)
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM held WHERE env = ? AND app = ?`, string(d.Env), string(d.App))
	if err != nil {
		return fmt.Errorf("clear held %s on %s: %w", d.App, d.Env, err)
	}
	return nil
}

func upsertHeld(ctx context.Context, tx *sql.Tx, h deploy.Held) error {
	ids := ""
	if len(h.LockIDs) > 0 {
		b, err := json.Marshal(h.LockIDs)
		if err != nil {
			return fmt.Errorf("encode lock ids: %w", err)
		}
		ids = string(b)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO held (env, app, version, how, reason, lock_ids, held_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (env, app) DO UPDATE SET version = excluded.version, how = excluded.how,
			reason = excluded.reason, lock_ids = excluded.lock_ids, held_at = excluded.held_at`,
		string(h.Env), string(h.App), int64(h.Version), string(h.How), h.Reason, ids, fmtTime(h.Time))
	if err != nil {
		return fmt.Errorf("record held %s %s on %s: %w", h.App, h.Version, h.Env, err)
	}
	return nil
}

// keyWhere matches a lock key in the locks and lock_history tables.
const keyWhere = `kind = ? AND env = ? AND lock_id = ? AND app = ? AND team = ?`

func keyArgs(k deploy.LockKey) []any {
	return []any{string(k.Kind), string(k.Env), k.ID, string(k.App), string(k.Team)}
}

// closeLockHistory marks the open history record of a lock key as deleted.
func closeLockHistory(ctx context.Context, tx *sql.Tx, k deploy.LockKey, by deploy.Actor, at string) error {
	_, err := tx.ExecContext(ctx, `UPDATE lock_history SET deleted_by_kind = ?, deleted_by_id = ?,
		deleted_by_name = ?, deleted_by_email = ?, deleted_at = ?
		WHERE `+keyWhere+` AND deleted_at IS NULL`,
		args(actorArgs(by), at, keyArgs(k))...)
	if err != nil {
		return fmt.Errorf("record deletion of lock %s: %w", k.ID, err)
	}
	return nil
}

func deleteLock(ctx context.Context, tx *sql.Tx, k deploy.LockKey, by deploy.Actor, at time.Time) error {
	res, err := tx.ExecContext(ctx, `DELETE FROM locks WHERE `+keyWhere, keyArgs(k)...)
	if err != nil {
		return fmt.Errorf("delete lock %s on %s: %w", k.ID, k.Env, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete lock %s on %s: %w", k.ID, k.Env, err)
	} else if n == 0 {
		return nil // deleting a lock that is not there changes nothing
	}
	return closeLockHistory(ctx, tx, k, by, fmtTime(at))
}

// createLock creates a lock or replaces the one with the same key. The replaced lock's
// history record is closed as deleted by the new lock's author at its creation time.
func createLock(ctx context.Context, tx *sql.Tx, l deploy.Lock) error {
	k := l.Key()
	if err := closeLockHistory(ctx, tx, k, l.Author, fmtTime(l.CreatedAt)); err != nil {
		return err
	}
	vals := args(string(l.Kind), l.ID, string(l.Env), string(l.App), string(l.Team), l.Message,
		l.SuggestedLifetime, actorArgs(l.Author), fmtTime(l.CreatedAt))
	const cols = `kind, lock_id, env, app, team, message, suggested_lifetime,
		author_kind, author_id, author_name, author_email, created_at`
	_, err := tx.ExecContext(ctx, `INSERT INTO locks (`+cols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (kind, env, lock_id, app, team) DO UPDATE SET message = excluded.message,
			suggested_lifetime = excluded.suggested_lifetime, author_kind = excluded.author_kind,
			author_id = excluded.author_id, author_name = excluded.author_name,
			author_email = excluded.author_email, created_at = excluded.created_at`, vals...)
	if err != nil {
		return fmt.Errorf("create lock %s on %s: %w", l.ID, l.Env, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO lock_history (`+cols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, vals...)
	if err != nil {
		return fmt.Errorf("record lock %s on %s: %w", l.ID, l.Env, err)
	}
	return nil
}
