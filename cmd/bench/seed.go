package main

import (
	"context"
	"fmt"
	"hash/crc32"
	"time"

	"kuberpult/deploy"
	"kuberpult/store"
)

// ci is the actor the seeded releases and deployments are recorded for.
var ci = deploy.Actor{Kind: deploy.ActorAPI, ID: "token:anonymous", Name: "Jane Doe", Email: "jane@example.com"}

// appsPerTx bounds one seeding transaction: 100 apps of 51 releases are 5,100 releases with
// 51,000 manifests.
const appsPerTx = 100

// seed writes into a new database at path what the generated env repo holds: releases
// 1..w.newest(history) of every app, each with a manifest per environment, and on every
// environment the version w.runs there deployed by commit (a store that takes commits only
// from its git writer leaves them empty): the newest on the upstream-latest environments,
// history on the group's. It goes through the store, the source of truth, in big
// transactions.
func seed(ctx context.Context, path string, w world, history int, commit string) error {
	db, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	return seedDB(ctx, db, w, history, commit)
}

// seedDB is seed on an open store (the PostgreSQL one, -postgres).
func seedDB(ctx context.Context, db *store.DB, w world, history int, commit string) error {
	for from := 0; from < len(w.apps); from += appsPerTx {
		apps := w.apps[from:min(from+appsPerTx, len(w.apps))]
		if err := apply(ctx, db, seedChange(apps, w, deploy.Version(history), commit)); err != nil {
			return fmt.Errorf("seed %s..%s: %w", apps[0], apps[len(apps)-1], err)
		}
	}
	return nil
}

// apply is the one call that depends on the store's API: one action whose decision is the
// seed itself.
func apply(ctx context.Context, db *store.DB, c deploy.Change) error {
	_, _, err := db.Act(ctx, deploy.RequestKey{}, func(context.Context, deploy.View) (deploy.Decided, error) {
		return deploy.Decided{Change: c}, nil
	})
	return err
}

func seedChange(apps []deploy.App, w world, history deploy.Version, commit string) deploy.Change {
	c := deploy.Change{Audit: deploy.AuditEntry{Time: epoch, Actor: ci, Via: deploy.ViaAPI,
		Command: fmt.Sprintf("bench seed %s..%s", apps[0], apps[len(apps)-1]), Outcome: deploy.OutcomeDone}}
	for _, app := range apps {
		for v := deploy.Version(1); v <= w.newest(history); v++ {
			c.Releases = append(c.Releases, seedRelease(app, v, w.envs))
		}
		for _, env := range w.envs {
			v, how := w.runs(env, history), deploy.HowAuto
			if w.config(env).Upstream.Environment != "" {
				how = deploy.HowTrain
			}
			c.Deployments = append(c.Deployments, deploy.Deployment{Env: env, App: app, Version: v,
				How: how, Actor: ci, Time: releaseTime(v), Commit: commit})
		}
	}
	return c
}

func releaseTime(v deploy.Version) time.Time { return epoch.Add(time.Duration(v) * time.Hour) }

// seedRelease is release v of app as CI would have sent it.
func seedRelease(app deploy.App, v deploy.Version, envs []deploy.Env) deploy.Release {
	r := deploy.Release{App: app, Version: v, DisplayVersion: fmt.Sprintf("1.%d", v), Team: teamOf(app),
		SourceCommitID: sourceCommit(app, v), SourceAuthor: "Jane Doe <jane@example.com>",
		SourceMessage: "faster checkout", Manifests: make(map[deploy.Env]string, len(envs)),
		CreatedAt: releaseTime(v), CreatedBy: ci}
	for _, env := range envs {
		r.Manifests[env] = manifest(app, env, v, "release")
	}
	return r
}

// sourceCommit is a stable 40-hex source commit id for a release.
func sourceCommit(app deploy.App, v deploy.Version) string {
	return fmt.Sprintf("%08x%032x", crc32.ChecksumIEEE([]byte(app)), uint64(v))
}
