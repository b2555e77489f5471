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
	for a := 0; a < apps; a += 100 {
		var c deploy.Change
		for i := a; i < a+100; i++ {
			app := deploy.App(fmt.Sprintf("app-%d", i))
			rel := deploy.Release{App: app, Version: 1, Team: "team", Manifests: map[deploy.Env]string{}, CreatedAt: now}
			for _, e := range names {
				rel.Manifests[e] = manifest
				c.Deployments = append(c.Deployments, deploy.Deployment{Env: e, App: app, Version: 1, How: deploy.HowManual, Time: now})
			}
			c.Releases = append(c.Releases, rel)
		}
		c.Audit = deploy.AuditEntry{Time: now, Outcome: deploy.OutcomeDone}
		_, _, err := db.Act(ctx, deploy.RequestKey{}, func(context.Context, deploy.View) (deploy.Decided, error) {
			return deploy.Decided{Change: c}, nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	h := commands.New(commands.Options{Store: db, Environments: envs})
	r := commands.Request{Actor: deploy.Actor{Kind: deploy.ActorAPI, ID: "token:ci", Name: "CI"}, Via: deploy.ViaAPI}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := commands.ReleaseRequest{Application: fmt.Sprintf("app-%d", i%apps), Version: fmt.Sprint(2 + i/apps), Manifests: map[string]string{}}
		for _, e := range names {
			req.Manifests[string(e)] = manifest
		}
		if res := h.CreateRelease(ctx, r, req); !res.OK() {
			b.Fatal(res.Problem)
		}
	}
}
