package store

import (
	"context"
	"fmt"

	"time"

	"kuberpult/deploy"
)

var (
	// Pushed deployments of a release with a source commit that no GitHub deployment row
	// covers yet (none of that action or a later one).
	qGitHubNew = stmt(`SELECT d.env, d.app, d.version, d.commit_hash, d.action_id, r.source_commit_id
		FROM deployments d JOIN releases r ON r.app = d.app AND r.version = d.version
		WHERE d.commit_hash <> '' AND d.deployed_at >= ? AND r.source_commit_id <> ''
		  AND NOT EXISTS (SELECT 1 FROM github_deployments g WHERE g.env = d.env AND g.app = d.app AND g.action_id >= d.action_id)
		ORDER BY d.action_id, d.env, d.app`)
	qGitHubAdd = stmt(`INSERT INTO github_deployments (action_id, env, app, version, source_commit, env_commit, want, next_try)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`)
	qGitHubReplaced = stmt(`UPDATE github_deployments SET want = 'inactive', next_try = ?
		WHERE env = ? AND app = ? AND action_id < ? AND want <> 'inactive'`)
	// An ended rollout decides what a deployment in progress shows.
	qGitHubRolledOut = stmt(`UPDATE github_deployments SET next_try = ?, want = CASE
			(SELECT ro.state FROM rollouts ro WHERE ro.env = github_deployments.env AND ro.app = github_deployments.app AND ro.action_id = github_deployments.action_id)
			WHEN 'successful' THEN 'success' ELSE 'failure' END
		WHERE want = 'in_progress' AND EXISTS (SELECT 1 FROM rollouts ro WHERE ro.env = github_deployments.env AND ro.app = github_deployments.app
			AND ro.action_id = github_deployments.action_id AND ro.state IN ('successful', 'error', 'unhealthy', 'timeout'))`)
	// Whether a sync has anything to do: a new pushed deployment, or (rollouts followed) a
	// row in progress whose rollout ended.
	qGitHubWork = stmt(`SELECT EXISTS (SELECT 1 FROM deployments d JOIN releases r ON r.app = d.app AND r.version = d.version
			WHERE d.commit_hash <> '' AND d.deployed_at >= ?1 AND r.source_commit_id <> ''
			  AND NOT EXISTS (SELECT 1 FROM github_deployments g WHERE g.env = d.env AND g.app = d.app AND g.action_id >= d.action_id))
		OR (?2 <> 0 AND EXISTS (SELECT 1 FROM github_deployments g JOIN rollouts ro ON ro.env = g.env AND ro.app = g.app AND ro.action_id = g.action_id
			WHERE g.want = 'in_progress' AND ro.state IN ('successful', 'error', 'unhealthy', 'timeout')))`)
	qGitHubDue = stmt(`SELECT action_id, env, app, version, source_commit, env_commit, github_id, want, shown, attempts, next_try, error
		FROM github_deployments WHERE want <> shown AND next_try <= ? ORDER BY action_id, env, app LIMIT ?`)
	qGitHubSave = stmt(`UPDATE github_deployments SET github_id = ?, shown = ?, attempts = ?, next_try = ?, error = ?
		WHERE env = ? AND app = ? AND action_id = ?`)
)

// SyncGitHubDeployments brings the GitHub deployment rows up to date in one transaction: a
// row for every deployment pushed since since (of a release with a source commit) that has
// none, wanting in_progress while rollouts decides (followRollouts) and success otherwise;
// the row it replaces wants inactive; a row in progress whose rollout ended wants success or
// failure. It returns how many rows it added.
func (db *DB) SyncGitHubDeployments(ctx context.Context, since, now time.Time, followRollouts bool) (int, error) {
	first := deploy.GitHubSuccess
	if followRollouts {
		first = deploy.GitHubInProgress
	}
	// Most calls find nothing to do: ask first without taking the write lock.
	idle := true
	err := db.snapshot(ctx, func(rn runner) error {
		var work bool
		if err := rn.queryRow(ctx, qGitHubWork, fmtTime(since), followRollouts).Scan(&work); err != nil {
			return err
		}
		idle = !work
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sync github deployments: %w", err)
	}
	if idle {
		return 0, nil
	}
	added := 0
	err = db.update(ctx, func(rn runner) error {
		rows, err := rn.query(ctx, qGitHubNew, fmtTime(since))
		if err != nil {
			return err
		}
		var news []deploy.GitHubDeployment
		for rows.Next() {
			var d deploy.GitHubDeployment
			var version uint64
			if err := rows.Scan(&d.Env, &d.App, &version, &d.EnvCommit, &d.ActionID, &d.SourceCommit); err != nil {
				rows.Close()
				return err
			}
			d.Version = deploy.Version(version)
			news = append(news, d)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		at := fmtTime(now)
		for _, d := range news {
			if _, err := rn.exec(ctx, qGitHubAdd, d.ActionID, string(d.Env), string(d.App), uint64(d.Version), d.SourceCommit, d.EnvCommit, string(first), at); err != nil {
				return err
			}
			if _, err := rn.exec(ctx, qGitHubReplaced, at, string(d.Env), string(d.App), d.ActionID); err != nil {
				return err
			}
		}
		added = len(news)
		if followRollouts {
			if _, err := rn.exec(ctx, qGitHubRolledOut, at); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sync github deployments: %w", err)
	}
	return added, nil
}

// GitHubDeploymentsDue returns up to limit rows whose GitHub state is not what it should be
// and whose next try is due at now, oldest action first.
func (db *DB) GitHubDeploymentsDue(ctx context.Context, now time.Time, limit int) ([]deploy.GitHubDeployment, error) {
	var out []deploy.GitHubDeployment
	err := db.snapshot(ctx, func(rn runner) error {
		rows, err := rn.query(ctx, qGitHubDue, fmtTime(now), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d deploy.GitHubDeployment
			var version uint64
			var want, shown, next string
			if err := rows.Scan(&d.ActionID, &d.Env, &d.App, &version, &d.SourceCommit, &d.EnvCommit, &d.GitHubID, &want, &shown, &d.Attempts, &next, &d.Error); err != nil {
				return err
			}
			d.Version, d.Want, d.Shown = deploy.Version(version), deploy.GitHubState(want), deploy.GitHubState(shown)
			if d.NextTry, err = parseTime(next); err != nil {
				return err
			}
			out = append(out, d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("github deployments due: %w", err)
	}
	return out, nil
}

// SaveGitHubDeployment records what the reporter did with a row: its GitHub id, the state
// shown, the attempts, the next try and the last error. Want is never changed here (the
// sync may have moved it meanwhile).
func (db *DB) SaveGitHubDeployment(ctx context.Context, d deploy.GitHubDeployment) error {
	err := db.update(ctx, func(rn runner) error {
		_, err := rn.exec(ctx, qGitHubSave, d.GitHubID, string(d.Shown), d.Attempts, fmtTime(d.NextTry), d.Error,
			string(d.Env), string(d.App), d.ActionID)
		return err
	})
	if err != nil {
		return fmt.Errorf("save github deployment of %s on %s: %w", d.App, d.Env, err)
	}
	return nil
}
