package commands_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/store"
)

// BenchmarkCreateRelease measures the release endpoint's work (validate, compare, decide,
// commit with its outbox entry) on a state of 2,000 apps deployed on 10 environments.
// Run: go test ./commands -run '^$' -bench CreateRelease -benchtime 200x
func BenchmarkCreateRelease(b *testing.B) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "k.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	envs := deploy.Environments{}
	var names []deploy.Env
	for i := 0; i < 10; i++ {
		e := deploy.Env(fmt.Sprintf("env-%d", i))
		envs[e] = deploy.EnvConfig{Upstream: &deploy.Upstream{Latest: i == 0}}
		names = append(names, e)
	}
	const apps = 2000
	manifest := "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  replicas: 2\n"
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for a := 0; a < apps; a++ {
		app := deploy.App(fmt.Sprintf("app-%d", a))
		rel := deploy.Release{App: app, Version: 1, Team: "team", Manifests: map[deploy.Env]string{}, CreatedAt: now}
		var ds []deploy.Deployment
		for _, e := range names {
			rel.Manifests[e] = manifest
			ds = append(ds, deploy.Deployment{Env: e, App: app, Version: 1, How: deploy.HowManual, Time: now})
		}
		if _, err := db.Apply(ctx, deploy.Change{Releases: []deploy.Release{rel}, Deployments: ds, Audit: deploy.AuditEntry{Time: now, Outcome: deploy.OutcomeDone}}); err != nil {
			b.Fatal(err)
		}
	}
	h := commands.New(commands.Options{Store: db, Environments: envs})
	ci := deploy.Actor{Kind: deploy.ActorAPI, ID: "token:ci", Name: "CI"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := commands.ReleaseRequest{Application: fmt.Sprintf("app-%d", i%apps), Version: fmt.Sprint(2 + i/apps), Manifests: map[string]string{}}
		for _, e := range names {
			req.Manifests[string(e)] = manifest
		}
		if _, err := h.CreateRelease(ctx, ci, deploy.ViaAPI, req); err != nil {
			b.Fatal(err)
		}
	}
}
