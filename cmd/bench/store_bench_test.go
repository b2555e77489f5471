package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"kuberpult/deploy"
	"kuberpult/store"
)

// postgresEnv names a PostgreSQL server (a DSN whose user may create schemas) for
// BenchmarkStoreAct; without it only SQLite is measured. The store's tests use the same.
const postgresEnv = "KUBERPULT_TEST_POSTGRES"

// BenchmarkStoreAct times one release's write transaction through the store, on SQLite and
// (with $KUBERPULT_TEST_POSTGRES) on PostgreSQL, in the benchmark's world of 2,000 apps × 10
// upstream-latest environments: what serve's release action does inside Act (read the app,
// look for the release, read the app's state on the environments; write the release with
// ten manifests, the outbox entry and ten deployments). "serial" is one caller, "parallel"
// eight (the clients of the steady phase): the write transactions are serialised (SQLite's
// write lock, PostgreSQL's advisory lock), so a transaction's time bounds the accepted rate.
//
//	KUBERPULT_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable \
//	    go test ./cmd/bench -run '^$' -bench StoreAct -benchtime 2000x
func BenchmarkStoreAct(b *testing.B) {
	ctx := context.Background()
	w := newWorld(2000, 10, 0)
	var pg *pgSchema // PostgreSQL's, for the CPU time of its backends
	backends := []struct {
		name string
		open func(b *testing.B) *store.DB
	}{
		{"sqlite", func(b *testing.B) *store.DB {
			db, err := store.Open(ctx, filepath.Join(b.TempDir(), "state.sqlite"))
			if err != nil {
				b.Fatal(err)
			}
			return db
		}},
		{"postgres", func(b *testing.B) *store.DB {
			dsn := os.Getenv(postgresEnv)
			if dsn == "" {
				b.Skipf("%s is not set", postgresEnv)
			}
			var err error
			if pg, err = newSchema(ctx, dsn); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = pg.drop(ctx) })
			db, err := pg.openStore(ctx)
			if err != nil {
				b.Fatal(err)
			}
			return db
		}},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			db := be.open(b)
			defer db.Close()
			if err := seedDB(ctx, db, w, 1, "0000000000000000000000000000000000000000"); err != nil {
				b.Fatal(err)
			}
			if be.name == "postgres" {
				if err := pg.analyze(ctx); err != nil { // as the end-to-end benchmark does
					b.Fatal(err)
				}
			}
			var next atomic.Int64
			act := func() error {
				i := next.Add(1)
				app := w.apps[int(i)%len(w.apps)]
				v := deploy.Version(2 + int(i)/len(w.apps))
				_, _, err := db.Act(ctx, deploy.RequestKey{}, func(ctx context.Context, view deploy.View) (deploy.Decided, error) {
					return benchRelease(ctx, view, w, app, v)
				})
				return err
			}
			// The CPU time of PostgreSQL's backends per action, from /proc (a server on this
			// machine); none on SQLite, whose work is in this process.
			pgCPU := func(b *testing.B, run func()) {
				var before map[int]float64
				if be.name == "postgres" {
					before = pg.backendCPU(ctx)
				}
				run()
				if be.name == "postgres" {
					b.ReportMetric(cpuSince(before, pg.backendCPU(ctx))*1000/float64(b.N), "pg-cpu-ms/op")
				}
			}
			b.Run("serial", func(b *testing.B) {
				pgCPU(b, func() {
					for b.Loop() {
						if err := act(); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
			b.Run("parallel", func(b *testing.B) {
				b.SetParallelism(4) // × GOMAXPROCS 2: the eight clients
				pgCPU(b, func() {
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := act(); err != nil {
								b.Error(err)
								return
							}
						}
					})
				})
			})
		})
	}
}

// benchRelease decides release v of app as serve's release action would: stored, and
// deployed to every upstream-latest environment.
func benchRelease(ctx context.Context, view deploy.View, w world, app deploy.App, v deploy.Version) (deploy.Decided, error) {
	if _, ok, err := view.App(ctx, app); err != nil || !ok {
		return deploy.Decided{}, fmt.Errorf("app %s: %v %w", app, ok, err)
	}
	if _, err := view.Release(ctx, app, v); !errors.Is(err, deploy.ErrNotFound) {
		return deploy.Decided{}, fmt.Errorf("release %s of %s: %w", v, app, err)
	}
	if _, err := view.State(ctx, deploy.Query{Envs: w.auto, Apps: []deploy.App{app}}); err != nil {
		return deploy.Decided{}, err
	}
	rel := seedRelease(app, v, w.envs)
	rc := &deploy.RepoChange{Message: fmt.Sprintf("release %s %s", app, v), Author: ci, Time: rel.CreatedAt}
	c := deploy.Change{Releases: []deploy.Release{rel}, Repo: rc,
		Audit: deploy.AuditEntry{Time: rel.CreatedAt, Actor: ci, Via: deploy.ViaAPI, Command: "POST /api/release", App: app, Outcome: deploy.OutcomeDone}}
	for _, env := range w.auto {
		c.Deployments = append(c.Deployments, deploy.Deployment{Env: env, App: app, Version: v, How: deploy.HowAuto, Actor: deploy.System, Time: rel.CreatedAt})
		rc.Manifests = append(rc.Manifests, deploy.ManifestChange{Env: env, App: app, Version: v, Manifest: rel.Manifests[env]})
	}
	return deploy.Decided{Change: c, Result: []byte(`{"created":true}`)}, nil
}
