package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"kuberpult/deploy"
)

// Outbox states. A pushed entry is deleted, with its builds: the commit lives on in the
// deployments and the audit entry of its action.
const (
	statePending = "pending"
	stateFailed  = "failed"
)

var (
	qPending = stmt(`SELECT id, repo_change FROM outbox WHERE state = 'pending' ORDER BY id LIMIT ?`)
	qBuilds  = stmt(`SELECT outbox_id, commit_hash, base, epoch FROM outbox_builds
		WHERE outbox_id BETWEEN ? AND ? ORDER BY id`)
	qAddBuild = stmt(`INSERT INTO outbox_builds (outbox_id, commit_hash, base, epoch)
		SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM outbox WHERE id = ?1 AND state = 'pending')`)
	qDropOutbox         = stmt(`DELETE FROM outbox WHERE id = ?`)
	qDropBuilds         = stmt(`DELETE FROM outbox_builds WHERE outbox_id = ?`)
	qPushedDeployments  = stmt(`UPDATE deployments SET commit_hash = ? WHERE action_id = ?`)
	qPushedHistory      = stmt(`UPDATE deployment_history SET commit_hash = ? WHERE action_id = ?`)
	qPushedAudit        = stmt(`UPDATE audit SET commit_hash = ? WHERE id = ?`)
	qFail               = stmt(`UPDATE outbox SET state = 'failed', failed_reason = ?, failed_at = ? WHERE id = ? AND state = 'pending'`)
	qRenderTeams        = stmt(`SELECT app, team FROM apps`)
	qRenderEnvironments = stmt(`SELECT env, config FROM env_configs`)
)

// Pending returns up to limit (0: all) entries that are neither pushed nor failed, in id
// order, each with the commits built for it (oldest first). An entry whose stored change
// cannot be read (not JSON, or fields this version does not know) comes with Broken set to
// the reason and an empty Change, instead of failing the call: the writer sets it aside.
func (db *DB) Pending(ctx context.Context, limit int) ([]deploy.OutboxEntry, error) {
	var out []deploy.OutboxEntry
	err := db.snapshot(ctx, func(r runner) error {
		out = nil
		rows, err := r.query(ctx, qPending, limitArg(limit))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				e    deploy.OutboxEntry
				body []byte
			)
			if err := rows.Scan(&e.ID, &body); err != nil {
				return err
			}
			if err := decodeChange(body, &e.Change); err != nil {
				e.Change = deploy.RepoChange{}
				e.Broken = fmt.Sprintf("outbox entry %d cannot be read: %v", e.ID, err)
			}
			out = append(out, e)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		if len(out) == 0 {
			return nil
		}
		return readBuilds(ctx, r, out)
	})
	if err != nil {
		return nil, fmt.Errorf("read pending outbox: %w", err)
	}
	return out, nil
}

// decodeChange reads a stored change strictly: an entry with fields this version does not
// know is not applied half.
func decodeChange(body []byte, c *deploy.RepoChange) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the change")
	}
	return nil
}

// readBuilds adds the builds of entries (in id order) to them.
func readBuilds(ctx context.Context, r runner, entries []deploy.OutboxEntry) error {
	index := make(map[int64]int, len(entries))
	for i, e := range entries {
		index[e.ID] = i
	}
	rows, err := r.query(ctx, qBuilds, entries[0].ID, entries[len(entries)-1].ID)
	if err != nil {
		return fmt.Errorf("builds: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id int64
			b  deploy.Build
		)
		if err := rows.Scan(&id, &b.Commit, &b.Base, &b.Epoch); err != nil {
			return fmt.Errorf("builds: %w", err)
		}
		if i, ok := index[id]; ok {
			entries[i].Builds = append(entries[i].Builds, b)
		}
	}
	return rows.Err()
}

// RenderState returns the team of every app and every recorded environment config.
func (db *DB) RenderState(ctx context.Context) (deploy.RenderState, error) {
	rs := deploy.RenderState{Teams: map[deploy.App]deploy.Team{}, Envs: deploy.Environments{}}
	err := db.snapshot(ctx, func(r runner) error {
		rows, err := r.query(ctx, qRenderTeams)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				app  deploy.App
				team deploy.Team
			)
			if err := rows.Scan(&app, &team); err != nil {
				return err
			}
			rs.Teams[app] = team
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		rows, err = r.query(ctx, qRenderEnvironments)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				env  deploy.Env
				body []byte
				cfg  deploy.EnvConfig
			)
			if err := rows.Scan(&env, &body); err != nil {
				return err
			}
			if err := json.Unmarshal(body, &cfg); err != nil {
				return fmt.Errorf("config of %s: %w", env, err)
			}
			rs.Envs[env] = cfg
		}
		return rows.Err()
	})
	if err != nil {
		return deploy.RenderState{}, fmt.Errorf("read render state: %w", err)
	}
	return rs, nil
}

// RecordBuilds appends build records to pending entries (a build of an entry that is not
// pending any more is dropped: it was pushed or set aside meanwhile). It is fenced: if l is
// not the lease in force it returns an error wrapping deploy.ErrLeaseLost and records
// nothing.
func (db *DB) RecordBuilds(ctx context.Context, l deploy.Lease, builds []deploy.BuildRecord) error {
	err := db.update(ctx, func(r runner) error {
		if err := fence(ctx, r, l); err != nil {
			return err
		}
		for _, b := range builds {
			if _, err := r.exec(ctx, qAddBuild, b.ID, b.Build.Commit, b.Build.Base, b.Build.Epoch); err != nil {
				return fmt.Errorf("entry %d: %w", b.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record builds: %w", err)
	}
	return nil
}

// MarkPushed records, in one transaction, for each entry: its commit on the deployments
// (current and history) and the audit entry of its action; then it deletes the entry and its
// builds. Marking an entry that is not in the outbox any more (pushed and pruned, or unknown)
// changes nothing and is not an error. An entry set aside as failed is marked too: a push
// that landed is a fact, so this is not fenced either. An empty commit is refused.
func (db *DB) MarkPushed(ctx context.Context, pushed []deploy.Pushed) error {
	err := db.update(ctx, func(r runner) error {
		for _, p := range pushed {
			if p.Commit == "" {
				return fmt.Errorf("entry %d: no commit given", p.ID)
			}
			res, err := r.exec(ctx, qDropOutbox, p.ID)
			if err != nil {
				return fmt.Errorf("entry %d: %w", p.ID, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("entry %d: %w", p.ID, err)
			} else if n == 0 {
				continue
			}
			for _, q := range []string{qPushedDeployments, qPushedHistory, qPushedAudit} {
				if _, err := r.exec(ctx, q, p.Commit, p.ID); err != nil {
					return fmt.Errorf("entry %d: %w", p.ID, err)
				}
			}
			if _, err := r.exec(ctx, qDropBuilds, p.ID); err != nil {
				return fmt.Errorf("entry %d: %w", p.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mark pushed: %w", err)
	}
	return nil
}

// MarkFailed sets a pending entry aside as failed with a reason; it is fenced like
// RecordBuilds. A failed entry is no longer pending: it shows in View.Outbox().Failed, and
// the deployments of its action report Failed. Marking an entry that is not pending changes
// nothing. now is when it failed.
func (db *DB) MarkFailed(ctx context.Context, l deploy.Lease, id int64, reason string, now time.Time) error {
	err := db.update(ctx, func(r runner) error {
		if err := fence(ctx, r, l); err != nil {
			return err
		}
		_, err := r.exec(ctx, qFail, reason, fmtTime(now), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("mark outbox entry %d failed: %w", id, err)
	}
	return nil
}
