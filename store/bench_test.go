package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"kuberpult/deploy"
)

const (
	benchApps = 2000
	benchEnvs = 10
)

// BenchmarkAct measures the action CI causes most: a new release of an app with 10 manifests
// that auto-deploys to 10 environments. It reads the app, the release (to see whether it
// exists) and the state of that app on the 10 environments, and writes the release with its
// manifests, the outbox entry, 10 deployments, 10 history rows and the audit entry. It runs
// on 2,000 apps with 1 and with 50 releases each (2,000 and 100,000 releases; as many
// deployment history rows per environment and audit entries), once with synchronous=FULL
// (what Open uses) and once with NORMAL.
//
//	go test ./store -run '^$' -bench Act -benchtime 2000x
func BenchmarkAct(b *testing.B) {
	envs := make([]deploy.Env, benchEnvs)
	for i := range envs {
		envs[i] = deploy.Env(fmt.Sprintf("env-%d", i))
	}
	manifest := strings.Repeat("# a manifest of about one kilobyte\n", 30)
	for _, history := range []int{1, 50} {
		db := openTemp(b)
		seedBench(b, db, benchApps, history)
		next := map[deploy.App]deploy.Version{}
		for _, sync := range []string{"FULL", "NORMAL"} {
			b.Run(fmt.Sprintf("releases=%d/sync=%s", benchApps*history, sync), func(b *testing.B) {
				if _, err := db.write.Exec(`PRAGMA synchronous = ` + sync); err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				i := 0
				for b.Loop() {
					app := deploy.App(fmt.Sprintf("app-%04d", i%benchApps))
					i++
					if next[app] == 0 {
						next[app] = deploy.Version(history + 1)
					}
					v := next[app]
					next[app]++
					_, _, err := db.Act(ctx, deploy.RequestKey{}, func(ctx context.Context, view deploy.View) (deploy.Decided, error) {
						return releaseAction(ctx, view, app, v, envs, manifest)
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// releaseAction decides a release of app version v that auto-deploys to envs.
func releaseAction(ctx context.Context, view deploy.View, app deploy.App, v deploy.Version, envs []deploy.Env, manifest string) (deploy.Decided, error) {
	info, ok, err := view.App(ctx, app)
	if err != nil || !ok {
		return deploy.Decided{}, fmt.Errorf("app %s: %v %w", app, ok, err)
	}
	if _, err := view.Release(ctx, app, v); !errors.Is(err, deploy.ErrNotFound) {
		return deploy.Decided{}, fmt.Errorf("release %s of %s: %w", v, app, err)
	}
	st, err := view.State(ctx, deploy.Query{Envs: envs, Apps: []deploy.App{app}})
	if err != nil {
		return deploy.Decided{}, err
	}
	now := at(int(v % 1000))
	rel := deploy.Release{App: app, Version: v, Team: info.Team, SourceCommitID: strings.Repeat("ab", 20),
		SourceMessage: "change", Manifests: map[deploy.Env]string{}, CreatedAt: now, CreatedBy: alice}
	rc := &deploy.RepoChange{Message: fmt.Sprintf("release %s %s", app, v), Author: alice, Time: now}
	c := deploy.Change{Releases: []deploy.Release{rel}, Repo: rc,
		Audit: deploy.AuditEntry{Time: now, Actor: alice, Via: deploy.ViaAPI, Command: "POST /api/release", App: app, Outcome: deploy.OutcomeDone}}
	for _, env := range envs {
		if len(st.LocksFor(env, app)) > 0 {
			continue
		}
		rel.Manifests[env] = manifest
		c.Deployments = append(c.Deployments, deploy.Deployment{Env: env, App: app, Version: v, How: deploy.HowAuto, Actor: deploy.System, Time: now})
		rc.Manifests = append(rc.Manifests, deploy.ManifestChange{Env: env, App: app, Version: v, Manifest: manifest})
	}
	if len(st.Deployments) != len(envs) {
		return deploy.Decided{}, fmt.Errorf("%s is deployed on %d envs, want %d", app, len(st.Deployments), len(envs))
	}
	return deploy.Decided{Change: c, Result: []byte(`{"created":true}`)}, nil
}

// seedBench fills db with apps × history releases of 10 small manifests each, every release
// deployed to the 10 environments in turn (history rows) with one audit entry, and the newest
// one current. It writes with SQL, in one transaction, so that seeding takes seconds.
func seedBench(b *testing.B, db *DB, apps, history int) {
	b.Helper()
	const gen = `WITH RECURSIVE a(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM a WHERE n + 1 < ?1),
		v(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM v WHERE n + 1 <= ?2),
		e(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM e WHERE n + 1 < 10) `
	const actor = `'system', 'kuberpult', 'kuberpult', 'kuberpult@localhost'`
	// The action of release v of app a has audit id (v-1)*apps + a + 1: releases come in rounds.
	stmts := []string{
		gen + `INSERT INTO audit (id, at, actor_kind, actor_id, actor_name, actor_email, via, command, app, outcome)
			SELECT (v.n - 1) * ?1 + a.n + 1, ?3, ` + actor + `, 'api', 'POST /api/release', printf('app-%04d', a.n), 'done'
			FROM v, a ORDER BY 1`,
		gen + `INSERT INTO releases (app, version, team, source_commit_id, created_at,
			created_by_kind, created_by_id, created_by_name, created_by_email)
			SELECT printf('app-%04d', a.n), v.n, printf('team-%d', a.n % 50), hex(randomblob(20)), ?3, ` + actor + ` FROM a, v`,
		gen + `INSERT INTO release_manifests (app, version, env, content)
			SELECT printf('app-%04d', a.n), v.n, 'env-' || e.n, printf('image: app-%04d:%d # %s', a.n, v.n, hex(randomblob(32))) FROM a, v, e`,
		gen + `INSERT INTO apps (app, team, latest) SELECT printf('app-%04d', a.n), printf('team-%d', a.n % 50), ?2 FROM a`,
		gen + `INSERT INTO deployment_history (env, app, version, how, actor_kind, actor_id, actor_name, actor_email,
			deployed_at, commit_hash, action_id)
			SELECT 'env-' || e.n, printf('app-%04d', a.n), v.n, 'auto', ` + actor + `, ?3, hex(randomblob(20)), (v.n - 1) * ?1 + a.n + 1
			FROM v, a, e ORDER BY v.n, a.n, e.n`,
		`INSERT INTO deployments (env, app, version, how, actor_kind, actor_id, actor_name, actor_email, deployed_at, commit_hash, action_id)
			SELECT env, app, version, how, actor_kind, actor_id, actor_name, actor_email, deployed_at, commit_hash, action_id
			FROM deployment_history WHERE version = ?2`,
	}
	tx, err := db.write.Begin()
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	for _, q := range stmts {
		if _, err := tx.Exec(q, apps, history, fmtTime(t0)); err != nil {
			b.Fatalf("seed: %v\n%s", err, q)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
