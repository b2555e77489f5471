package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"kuberpult/deploy"
)

// view is deploy.View on one transaction: the write transaction of an action, or the read
// transaction of a query.
type view struct{ r runner }

var _ deploy.View = (*view)(nil)

// inList selects the rows whose column is in a JSON array given as one argument: one
// statement for any number of names, so it is prepared once.
func inList(col string) string { return col + ` IN (SELECT value FROM json_each(?))` }

// jsonList encodes names as the JSON array inList reads.
func jsonList[T ~string](names []T) string {
	b, _ := json.Marshal(names) // a list of strings always encodes
	return string(b)
}

var (
	// appCols: an app, and whether its newest release is an undeploy version.
	appCols  = `a.app, a.team, a.latest, coalesce((SELECT r.undeploy FROM releases r WHERE r.app = a.app AND r.version = a.latest), 0)`
	qApp     = stmt(`SELECT ` + appCols + ` FROM apps a WHERE a.app = ?`)
	qAllApps = stmt(`SELECT ` + appCols + ` FROM apps a`)
	qApps    = stmt(`SELECT ` + appCols + ` FROM apps a WHERE ` + inList("a.app"))
)

func (v *view) App(ctx context.Context, app deploy.App) (deploy.AppInfo, bool, error) {
	var info deploy.AppInfo
	err := v.r.queryRow(ctx, qApp, string(app)).Scan(&info.App, &info.Team, &info.Latest, &info.Undeploying)
	if errors.Is(err, sql.ErrNoRows) {
		return deploy.AppInfo{}, false, nil
	}
	if err != nil {
		return deploy.AppInfo{}, false, fmt.Errorf("read app %s: %w", app, err)
	}
	return info, true, nil
}

func (v *view) Apps(ctx context.Context) (map[deploy.App]deploy.AppInfo, error) {
	apps := map[deploy.App]deploy.AppInfo{}
	if err := v.readApps(ctx, apps, nil); err != nil {
		return nil, err
	}
	return apps, nil
}

// readApps reads the apps of list (every app for nil) into apps.
func (v *view) readApps(ctx context.Context, apps map[deploy.App]deploy.AppInfo, list []deploy.App) error {
	var (
		rows *sql.Rows
		err  error
	)
	if list == nil {
		rows, err = v.r.query(ctx, qAllApps)
	} else {
		rows, err = v.r.query(ctx, qApps, jsonList(list))
	}
	if err != nil {
		return fmt.Errorf("read apps: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var info deploy.AppInfo
		if err := rows.Scan(&info.App, &info.Team, &info.Latest, &info.Undeploying); err != nil {
			return fmt.Errorf("read apps: %w", err)
		}
		apps[info.App] = info
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read apps: %w", err)
	}
	return nil
}

const releaseCols = `app, version, display_version, team, source_commit_id, previous_commit_id,
	source_author, source_message, ci_link, created_at,
	created_by_kind, created_by_id, created_by_name, created_by_email, undeploy`

var (
	qRelease   = stmt(`SELECT ` + releaseCols + ` FROM releases WHERE app = ? AND version = ?`)
	qManifests = stmt(`SELECT env, content FROM release_manifests WHERE app = ? AND version = ?`)
	qReleases  = stmt(`SELECT ` + releaseCols + ` FROM releases WHERE app = ? ORDER BY version DESC LIMIT ?`)
	// A full commit id, or a prefix of one (7 or more hex digits, lowercase as stored).
	qReleasesOfCommit = stmt(`SELECT ` + releaseCols + ` FROM releases WHERE source_commit_id >= ? AND source_commit_id < ? ORDER BY app, version`)
)

func scanRelease(row interface{ Scan(...any) error }) (deploy.Release, error) {
	var (
		r  deploy.Release
		at string
	)
	dest := args(&r.App, &r.Version, &r.DisplayVersion, &r.Team, &r.SourceCommitID, &r.PreviousCommitID,
		&r.SourceAuthor, &r.SourceMessage, &r.CILink, &at, actorDest(&r.CreatedBy), &r.Undeploy)
	if err := row.Scan(dest...); err != nil {
		return deploy.Release{}, err
	}
	var err error
	r.CreatedAt, err = parseTime(at)
	return r, err
}

func (v *view) Release(ctx context.Context, app deploy.App, ver deploy.Version) (deploy.Release, error) {
	if !ver.Valid() {
		return deploy.Release{}, deploy.NotFoundf("no release %s of %s", ver, app)
	}
	r, err := v.release(ctx, app, ver)
	if err != nil {
		return deploy.Release{}, fmt.Errorf("read release %s of %s: %w", ver, app, err)
	}
	return r, nil
}

func (v *view) release(ctx context.Context, app deploy.App, ver deploy.Version) (deploy.Release, error) {
	r, err := scanRelease(v.r.queryRow(ctx, qRelease, string(app), int64(ver)))
	if errors.Is(err, sql.ErrNoRows) {
		return deploy.Release{}, deploy.NotFoundf("no release %s of %s", ver, app)
	}
	if err != nil {
		return deploy.Release{}, err
	}
	rows, err := v.r.query(ctx, qManifests, string(app), int64(ver))
	if err != nil {
		return deploy.Release{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			env     deploy.Env
			content string
		)
		if err := rows.Scan(&env, &content); err != nil {
			return deploy.Release{}, err
		}
		if r.Manifests == nil {
			r.Manifests = map[deploy.Env]string{}
		}
		r.Manifests[env] = content
	}
	return r, rows.Err()
}

func (v *view) Releases(ctx context.Context, app deploy.App, limit int) ([]deploy.Release, error) {
	rows, err := v.r.query(ctx, qReleases, string(app), limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("read releases of %s: %w", app, err)
	}
	defer rows.Close()
	var out []deploy.Release
	for rows.Next() {
		r, err := scanRelease(rows)
		if err != nil {
			return nil, fmt.Errorf("read releases of %s: %w", app, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read releases of %s: %w", app, err)
	}
	return out, nil
}

func (v *view) ReleasesOfCommit(ctx context.Context, commit string) ([]deploy.Release, error) {
	commit = strings.ToLower(commit)
	if commit == "" {
		return nil, nil
	}
	// every id that starts with commit sorts in [commit, commit + "~")
	rows, err := v.r.query(ctx, qReleasesOfCommit, commit, commit+"~")
	if err != nil {
		return nil, fmt.Errorf("read releases of commit %s: %w", commit, err)
	}
	defer rows.Close()
	var out []deploy.Release
	for rows.Next() {
		r, err := scanRelease(rows)
		if err != nil {
			return nil, fmt.Errorf("read releases of commit %s: %w", commit, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// filtered returns the four variants of a query selecting rows by env and app: [0] no
// filter, [1] by env, [2] by app, [3] both; each is "base WHERE … tail".
func filtered(base, envCol, appCol, tail string) [4]string {
	where := func(conds ...string) string {
		s := ""
		for i, c := range conds {
			if i == 0 {
				s = " WHERE " + c
			} else {
				s += " AND " + c
			}
		}
		return s
	}
	return [4]string{
		stmt(base + tail),
		stmt(base + where(inList(envCol)) + tail),
		stmt(base + where(inList(appCol)) + tail),
		stmt(base + where(inList(envCol), inList(appCol)) + tail),
	}
}

// pick chooses the variant of a filtered query for q, with its arguments; false when q selects
// nothing.
func pick(qs [4]string, q deploy.Query) (string, []any, bool) {
	if (q.Envs != nil && len(q.Envs) == 0) || (q.Apps != nil && len(q.Apps) == 0) {
		return "", nil, false
	}
	i, vals := 0, []any{}
	if q.Envs != nil {
		i, vals = i+1, append(vals, jsonList(q.Envs))
	}
	if q.Apps != nil {
		i, vals = i+2, append(vals, jsonList(q.Apps))
	}
	return qs[i], vals, true
}

// deploymentCols are the columns scanDeployments reads, from a deployments or
// deployment_history table "d" joined with the outbox as "o" on the action id.
const deploymentCols = `d.env, d.app, d.version, d.how, d.actor_kind, d.actor_id, d.actor_name,
	d.actor_email, d.deployed_at, d.reason, d.commit_hash, d.action_id, o.state,
	coalesce((SELECT rl.undeploy FROM releases rl WHERE rl.app = d.app AND rl.version = d.version), 0)`

var (
	qDeployments = filtered(`SELECT `+deploymentCols+`
		FROM deployments d LEFT JOIN outbox o ON o.id = d.action_id`, "d.env", "d.app", "")
	qLocks   = stmt(`SELECT ` + lockCols + `, NULL, NULL, NULL, NULL, NULL FROM locks`)
	qLocksOn = stmt(`SELECT ` + lockCols + `, NULL, NULL, NULL, NULL, NULL FROM locks WHERE ` + inList("env"))
	qHeld    = filtered(`SELECT env, app, version, how, reason, held_by, held_at FROM held`, "env", "app", ` ORDER BY env, app`)
)

func (v *view) State(ctx context.Context, q deploy.Query) (deploy.State, error) {
	st := deploy.State{
		Apps:        map[deploy.App]deploy.AppInfo{},
		Deployments: map[deploy.Env]map[deploy.App]deploy.Deployment{},
	}
	if q.Apps == nil || len(q.Apps) > 0 {
		if err := v.readApps(ctx, st.Apps, q.Apps); err != nil {
			return deploy.State{}, fmt.Errorf("read state: %w", err)
		}
	}
	if text, vals, ok := pick(qDeployments, q); ok {
		ds, err := scanDeployments(v.r.query(ctx, text, vals...))
		if err != nil {
			return deploy.State{}, fmt.Errorf("read state: deployments: %w", err)
		}
		for _, d := range ds {
			if st.Deployments[d.Env] == nil {
				st.Deployments[d.Env] = map[deploy.App]deploy.Deployment{}
			}
			st.Deployments[d.Env][d.App] = d
		}
	}
	if q.Envs == nil || len(q.Envs) > 0 {
		text, vals := qLocks, []any(nil)
		if q.Envs != nil {
			text, vals = qLocksOn, []any{jsonList(q.Envs)}
		}
		recs, err := scanLocks(v.r.query(ctx, text, vals...))
		if err != nil {
			return deploy.State{}, fmt.Errorf("read state: locks: %w", err)
		}
		for _, r := range recs {
			st.Locks = append(st.Locks, r.Lock)
		}
		deploy.SortLocks(st.Locks)
	}
	if text, vals, ok := pick(qHeld, q); ok {
		var err error
		if st.Held, err = scanHeld(v.r.query(ctx, text, vals...)); err != nil {
			return deploy.State{}, fmt.Errorf("read state: held: %w", err)
		}
	}
	return st, nil
}

func scanHeld(rows *sql.Rows, err error) ([]deploy.Held, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []deploy.Held
	for rows.Next() {
		var (
			h       deploy.Held
			by, at  string
			version int64
		)
		if err := rows.Scan(&h.Env, &h.App, &version, &h.How, &h.Reason, &by, &at); err != nil {
			return nil, err
		}
		h.Version = deploy.Version(version)
		if err := json.Unmarshal([]byte(by), &h.By); err != nil {
			return nil, fmt.Errorf("%s on %s: what holds it: %w", h.App, h.Env, err)
		}
		if h.Time, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("%s on %s: %w", h.App, h.Env, err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// scanDeployments reads rows of deploymentCols. A deployment is pending while its action's
// outbox entry waits, and failed when the entry was set aside.
func scanDeployments(rows *sql.Rows, err error) ([]deploy.Deployment, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []deploy.Deployment
	for rows.Next() {
		var (
			d       deploy.Deployment
			at      string
			state   sql.NullString
			version int64
		)
		dest := args(&d.Env, &d.App, &version, &d.How, actorDest(&d.Actor), &at, &d.Reason, &d.Commit, &d.ActionID, &state, &d.Undeploy)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		d.Version = deploy.Version(version)
		if d.Time, err = parseTime(at); err != nil {
			return nil, err
		}
		d.Pending = state.String == statePending
		d.Failed = state.String == stateFailed
		out = append(out, d)
	}
	return out, rows.Err()
}

func scanLocks(rows *sql.Rows, err error) ([]deploy.LockRecord, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []deploy.LockRecord
	for rows.Next() {
		var (
			r                                deploy.LockRecord
			created                          string
			delKind, delID, delName, delMail sql.NullString
			deletedAt                        sql.NullString
		)
		dest := args(&r.Kind, &r.ID, &r.Env, &r.App, &r.Team, &r.Message, &r.SuggestedLifetime,
			actorDest(&r.Author), &created, &delKind, &delID, &delName, &delMail, &deletedAt)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if r.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		if deletedAt.Valid {
			r.DeletedBy = &deploy.Actor{Kind: deploy.ActorKind(delKind.String), ID: delID.String,
				Name: delName.String, Email: delMail.String}
			if r.DeletedAt, err = parseTime(deletedAt.String); err != nil {
				return nil, err
			}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
