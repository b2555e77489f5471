package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"kuberpult/deploy"
)

var (
	qAddAudit = stmt(`INSERT INTO audit (at, actor_kind, actor_id, actor_name, actor_email,
		via, command, env, app, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`)
	qAddRelease = stmt(`INSERT INTO releases (app, version, display_version, team,
		source_commit_id, previous_commit_id, source_author, source_message, ci_link, created_at,
		created_by_kind, created_by_id, created_by_name, created_by_email, undeploy)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (app, version) DO NOTHING`)
	qAddManifest = stmt(`INSERT INTO release_manifests (app, version, env, content) VALUES (?, ?, ?, ?)`)
	// A release creates its app with the release's team; later ones only raise the latest
	// version: the team of an existing app changes through Change.Owners only.
	qAppRelease = stmt(`INSERT INTO apps (app, team, latest) VALUES (?, ?, ?)
		ON CONFLICT (app) DO UPDATE SET latest = max(latest, excluded.latest)`)
	qAppOwner    = stmt(`UPDATE apps SET team = ? WHERE app = ?`)
	qSetEnv      = stmt(`INSERT INTO env_configs (env, config) VALUES (?, ?) ON CONFLICT (env) DO UPDATE SET config = excluded.config`)
	qAddOutbox   = stmt(`INSERT INTO outbox (id, repo_change, created_at) VALUES (?, ?, ?)`)
	qSetDeployed = stmt(`INSERT INTO deployments (env, app, version, how, actor_kind, actor_id,
		actor_name, actor_email, deployed_at, reason, commit_hash, action_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?)
		ON CONFLICT (env, app) DO UPDATE SET version = excluded.version, how = excluded.how,
			actor_kind = excluded.actor_kind, actor_id = excluded.actor_id,
			actor_name = excluded.actor_name, actor_email = excluded.actor_email,
			deployed_at = excluded.deployed_at, reason = excluded.reason,
			commit_hash = '', action_id = excluded.action_id`)
	qAddHistory = stmt(`INSERT INTO deployment_history (env, app, version, how, actor_kind,
		actor_id, actor_name, actor_email, deployed_at, reason, commit_hash, action_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?)`)
	qClearHeld        = stmt(`DELETE FROM held WHERE env = ? AND app = ?`)
	qRemoveDeployment = stmt(`DELETE FROM deployments WHERE env = ? AND app = ?`)
	qDropManifests    = stmt(`DELETE FROM release_manifests WHERE env = ? AND app = ?`)
	qSetHeld          = stmt(`INSERT INTO held (env, app, version, how, reason, held_by, held_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (env, app) DO UPDATE SET version = excluded.version, how = excluded.how,
			reason = excluded.reason, held_by = excluded.held_by, held_at = excluded.held_at`)
	qDeleteLock       = stmt(`DELETE FROM locks WHERE ` + keyWhere)
	qCloseLockHistory = stmt(`UPDATE lock_history SET deleted_by_kind = ?, deleted_by_id = ?,
		deleted_by_name = ?, deleted_by_email = ?, deleted_at = ?
		WHERE ` + keyWhere + ` AND deleted_at IS NULL`)
	qSetLock = stmt(`INSERT INTO locks (` + lockCols + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (kind, env, lock_id, app, team) DO UPDATE SET message = excluded.message,
			suggested_lifetime = excluded.suggested_lifetime, author_kind = excluded.author_kind,
			author_id = excluded.author_id, author_name = excluded.author_name,
			author_email = excluded.author_email, created_at = excluded.created_at`)
	qAddLockHistory = stmt(`INSERT INTO lock_history (` + lockCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
)

// apply writes everything one accepted action changes and returns its action id: the audit
// entry first (its id is the action id), then releases with their manifests and apps, app
// owners, environment configs, the outbox entry (id = action id), deployments (current and
// history; each clears the held attempt of its env and app), held attempts, deleted and then
// created locks with their history.
//
// A release that exists already fails the whole change with a user error wrapping
// deploy.ErrConflict. Deleting a lock that is not there changes nothing; a deletion is
// recorded as by c.DeletedBy (c.Audit.Actor when unset) at c.Audit.Time. Creating a lock with
// the key of an existing one replaces it, and the old one's history record is closed as
// deleted by the new lock's author at its creation time. An owner change of an app that has
// no release changes nothing. Commits on the change's deployments and audit entry are
// ignored: only MarkPushed records commits. With c.Fence set, nothing is written unless that
// lease is in force (an error wrapping deploy.ErrLeaseLost).
func apply(ctx context.Context, r runner, c deploy.Change) (int64, error) {
	if c.Fence != nil {
		if err := fence(ctx, r, *c.Fence); err != nil {
			return 0, err
		}
	}
	id, err := insertAudit(ctx, r, c.Audit)
	if err != nil {
		return 0, err
	}
	for _, rel := range c.Releases {
		if err := insertRelease(ctx, r, rel); err != nil {
			return 0, err
		}
	}
	for _, o := range c.Owners {
		if _, err := r.exec(ctx, qAppOwner, string(o.Team), string(o.App)); err != nil {
			return 0, fmt.Errorf("set team of %s: %w", o.App, err)
		}
	}
	for _, e := range c.EnvConfigs {
		body, err := json.Marshal(e.Config)
		if err != nil {
			return 0, fmt.Errorf("encode config of %s: %w", e.Env, err)
		}
		if _, err := r.exec(ctx, qSetEnv, string(e.Env), string(body)); err != nil {
			return 0, fmt.Errorf("record config of %s: %w", e.Env, err)
		}
	}
	if c.Repo != nil {
		if err := insertOutbox(ctx, r, id, *c.Repo, c.Audit.Time); err != nil {
			return 0, err
		}
	}
	if r.postgres && len(c.Deployments) > 1 && distinctTargets(c.Deployments) {
		if err := insertDeploymentsPostgres(ctx, r, c.Deployments, id); err != nil {
			return 0, err
		}
	} else {
		for _, d := range c.Deployments {
			if err := insertDeployment(ctx, r, d, id); err != nil {
				return 0, err
			}
		}
	}
	for _, h := range c.Held {
		if err := upsertHeld(ctx, r, h); err != nil {
			return 0, err
		}
	}
	for _, ea := range c.DropManifests {
		if _, err := r.exec(ctx, qDropManifests, string(ea.Env), string(ea.App)); err != nil {
			return 0, fmt.Errorf("drop the manifests of %s on %s: %w", ea.App, ea.Env, err)
		}
	}
	for _, ea := range c.RemoveDeployments {
		for _, q := range []string{qRemoveDeployment, qClearHeld} {
			if _, err := r.exec(ctx, q, string(ea.Env), string(ea.App)); err != nil {
				return 0, fmt.Errorf("remove %s from %s: %w", ea.App, ea.Env, err)
			}
		}
	}
	deletedBy := c.DeletedBy
	if deletedBy == (deploy.Actor{}) {
		deletedBy = c.Audit.Actor
	}
	for _, k := range c.DeleteLocks {
		if err := deleteLock(ctx, r, k, deletedBy, c.Audit.Time); err != nil {
			return 0, err
		}
	}
	for _, l := range c.CreateLocks {
		if err := createLock(ctx, r, l); err != nil {
			return 0, err
		}
	}
	for _, d := range c.Departures {
		if err := saveDeparture(ctx, r, d, id); err != nil {
			return 0, err
		}
	}
	for _, a := range c.Approvals {
		if err := saveApproval(ctx, r, a, id); err != nil {
			return 0, err
		}
	}
	return id, nil
}

func insertAudit(ctx context.Context, r runner, e deploy.AuditEntry) (int64, error) {
	var id int64
	err := r.queryRow(ctx, qAddAudit, args(fmtTime(e.Time), actorArgs(e.Actor), string(e.Via), e.Command,
		string(e.Env), string(e.App), string(e.Outcome), e.Detail)...).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("insert audit entry: %w", err)
	}
	return id, nil
}

func insertRelease(ctx context.Context, r runner, rel deploy.Release) error {
	v, err := versionArg(rel.Version, "release of "+string(rel.App))
	if err != nil {
		return err
	}
	res, err := r.exec(ctx, qAddRelease, args(string(rel.App), v, rel.DisplayVersion, string(rel.Team),
		rel.SourceCommitID, rel.PreviousCommitID, rel.SourceAuthor, rel.SourceMessage, rel.CILink,
		fmtTime(rel.CreatedAt), actorArgs(rel.CreatedBy), rel.Undeploy)...)
	if err != nil {
		return fmt.Errorf("insert release %s of %s: %w", rel.Version, rel.App, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("insert release %s of %s: %w", rel.Version, rel.App, err)
	} else if n == 0 {
		return deploy.Conflictf("release %s of %s already exists", rel.Version, rel.App)
	}
	if r.postgres && len(rel.Manifests) > 1 { // one statement, not one round trip per manifest
		var envs, contents []string
		for env, content := range rel.Manifests {
			envs, contents = append(envs, string(env)), append(contents, content)
		}
		if _, err := r.tx.ExecContext(ctx, `INSERT INTO release_manifests (app, version, env, content)
			SELECT $1, $2, e, c FROM unnest($3::text[], $4::text[]) AS t(e, c)`, string(rel.App), v, envs, contents); err != nil {
			return fmt.Errorf("insert manifests of release %s of %s: %w", rel.Version, rel.App, err)
		}
	} else {
		for env, content := range rel.Manifests {
			if _, err := r.exec(ctx, qAddManifest, string(rel.App), v, string(env), content); err != nil {
				return fmt.Errorf("insert manifest %s of release %s of %s: %w", env, rel.Version, rel.App, err)
			}
		}
	}
	if _, err := r.exec(ctx, qAppRelease, string(rel.App), string(rel.Team), v); err != nil {
		return fmt.Errorf("record app %s: %w", rel.App, err)
	}
	return nil
}

func insertOutbox(ctx context.Context, r runner, id int64, rc deploy.RepoChange, auditTime time.Time) error {
	body, err := json.Marshal(rc)
	if err != nil {
		return fmt.Errorf("encode repo change: %w", err)
	}
	created := rc.Time
	if created.IsZero() {
		created = auditTime
	}
	if _, err := r.exec(ctx, qAddOutbox, id, string(body), fmtTime(created)); err != nil {
		return fmt.Errorf("insert outbox entry: %w", err)
	}
	return nil
}

func insertDeployment(ctx context.Context, r runner, d deploy.Deployment, actionID int64) error {
	v, err := versionArg(d.Version, fmt.Sprintf("deployment of %s to %s", d.App, d.Env))
	if err != nil {
		return err
	}
	vals := args(string(d.Env), string(d.App), v, string(d.How), actorArgs(d.Actor),
		fmtTime(d.Time), d.Reason, actionID)
	if _, err := r.exec(ctx, qSetDeployed, vals...); err != nil {
		return fmt.Errorf("deploy %s %s to %s: %w", d.App, d.Version, d.Env, err)
	}
	if _, err := r.exec(ctx, qAddHistory, vals...); err != nil {
		return fmt.Errorf("record deployment of %s %s to %s: %w", d.App, d.Version, d.Env, err)
	}
	if _, err := r.exec(ctx, qClearHeld, string(d.Env), string(d.App)); err != nil {
		return fmt.Errorf("clear held %s on %s: %w", d.App, d.Env, err)
	}
	return nil
}

func upsertHeld(ctx context.Context, r runner, h deploy.Held) error {
	v, err := versionArg(h.Version, fmt.Sprintf("held attempt of %s on %s", h.App, h.Env))
	if err != nil {
		return err
	}
	by, err := json.Marshal(h.By)
	if err != nil {
		return fmt.Errorf("encode what holds %s on %s: %w", h.App, h.Env, err)
	}
	_, err = r.exec(ctx, qSetHeld, string(h.Env), string(h.App), v, string(h.How), h.Reason, string(by), fmtTime(h.Time))
	if err != nil {
		return fmt.Errorf("record held %s %s on %s: %w", h.App, h.Version, h.Env, err)
	}
	return nil
}

// keyWhere matches a lock key in the locks and lock_history tables.
const keyWhere = `kind = ? AND env = ? AND lock_id = ? AND app = ? AND team = ?`

// lockCols are the columns of a lock, in the locks and lock_history tables.
const lockCols = `kind, lock_id, env, app, team, message, suggested_lifetime,
	author_kind, author_id, author_name, author_email, created_at`

func keyArgs(k deploy.LockKey) []any {
	return []any{string(k.Kind), string(k.Env), k.ID, string(k.App), string(k.Team)}
}

// closeLockHistory marks the open history record of a lock key as deleted.
func closeLockHistory(ctx context.Context, r runner, k deploy.LockKey, by deploy.Actor, at string) error {
	if _, err := r.exec(ctx, qCloseLockHistory, args(actorArgs(by), at, keyArgs(k))...); err != nil {
		return fmt.Errorf("record deletion of lock %s: %w", k.ID, err)
	}
	return nil
}

func deleteLock(ctx context.Context, r runner, k deploy.LockKey, by deploy.Actor, at time.Time) error {
	res, err := r.exec(ctx, qDeleteLock, keyArgs(k)...)
	if err != nil {
		return fmt.Errorf("delete lock %s on %s: %w", k.ID, k.Env, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete lock %s on %s: %w", k.ID, k.Env, err)
	} else if n == 0 {
		return nil // deleting a lock that is not there changes nothing
	}
	return closeLockHistory(ctx, r, k, by, fmtTime(at))
}

// createLock creates a lock or replaces the one with the same key. The replaced lock's
// history record is closed as deleted by the new lock's author at its creation time.
func createLock(ctx context.Context, r runner, l deploy.Lock) error {
	if err := closeLockHistory(ctx, r, l.Key(), l.Author, fmtTime(l.CreatedAt)); err != nil {
		return err
	}
	vals := args(string(l.Kind), l.ID, string(l.Env), string(l.App), string(l.Team), l.Message,
		l.SuggestedLifetime, actorArgs(l.Author), fmtTime(l.CreatedAt))
	if _, err := r.exec(ctx, qSetLock, vals...); err != nil {
		return fmt.Errorf("create lock %s on %s: %w", l.ID, l.Env, err)
	}
	if _, err := r.exec(ctx, qAddLockHistory, vals...); err != nil {
		return fmt.Errorf("record lock %s on %s: %w", l.ID, l.Env, err)
	}
	return nil
}

// distinctTargets reports whether no two deployments are of the same (env, app).
func distinctTargets(ds []deploy.Deployment) bool {
	seen := make(map[deploy.EnvApp]bool, len(ds))
	for _, d := range ds {
		k := deploy.EnvApp{Env: d.Env, App: d.App}
		if seen[k] {
			return false
		}
		seen[k] = true
	}
	return true
}

// insertDeploymentsPostgres is insertDeployment for several deployments of distinct (env,
// app) in three statements over arrays, on PostgreSQL, where every statement is a round
// trip: the history rows keep the order of ds.
func insertDeploymentsPostgres(ctx context.Context, r runner, ds []deploy.Deployment, actionID int64) error {
	var env, app, how, kind, actorID, name, email, at, reason []string
	var ver []int64
	for _, d := range ds {
		v, err := versionArg(d.Version, fmt.Sprintf("deployment of %s to %s", d.App, d.Env))
		if err != nil {
			return err
		}
		env, app, ver, how = append(env, string(d.Env)), append(app, string(d.App)), append(ver, v), append(how, string(d.How))
		kind, actorID, name, email = append(kind, string(d.Actor.Kind)), append(actorID, d.Actor.ID), append(name, d.Actor.Name), append(email, d.Actor.Email)
		at, reason = append(at, fmtTime(d.Time)), append(reason, d.Reason)
	}
	const rows = ` FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
		WITH ORDINALITY AS t(env, app, version, how, ak, ai, an, ae, at, reason, n)`
	vals := []any{env, app, ver, how, kind, actorID, name, email, at, reason, actionID}
	if _, err := r.tx.ExecContext(ctx, `INSERT INTO deployments (env, app, version, how, actor_kind, actor_id,
		actor_name, actor_email, deployed_at, reason, commit_hash, action_id)
		SELECT env, app, version, how, ak, ai, an, ae, at, reason, '', $11`+rows+`
		ON CONFLICT (env, app) DO UPDATE SET version = excluded.version, how = excluded.how,
			actor_kind = excluded.actor_kind, actor_id = excluded.actor_id,
			actor_name = excluded.actor_name, actor_email = excluded.actor_email,
			deployed_at = excluded.deployed_at, reason = excluded.reason,
			commit_hash = '', action_id = excluded.action_id`, vals...); err != nil {
		return fmt.Errorf("deploy %d deployments: %w", len(ds), err)
	}
	if _, err := r.tx.ExecContext(ctx, `INSERT INTO deployment_history (env, app, version, how, actor_kind,
		actor_id, actor_name, actor_email, deployed_at, reason, commit_hash, action_id)
		SELECT env, app, version, how, ak, ai, an, ae, at, reason, '', $11`+rows+` ORDER BY n`, vals...); err != nil {
		return fmt.Errorf("record %d deployments: %w", len(ds), err)
	}
	if _, err := r.tx.ExecContext(ctx, `DELETE FROM held h USING unnest($1::text[], $2::text[]) AS t(env, app)
		WHERE h.env = t.env AND h.app = t.app`, env, app); err != nil {
		return fmt.Errorf("clear held: %w", err)
	}
	return nil
}
