package storetest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"kuberpult/deploy"
)

// Sizes of the concurrency tests: goroutines per handle, actions per goroutine.
const (
	workers = 4
	rounds  = 10
)

// runWorkers runs fn(store, worker, round) from workers goroutines per store, rounds times
// each, and reports every error.
func runWorkers(t *testing.T, stores []Store, fn func(s Store, worker, round int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(stores)*workers*rounds)
	for i, s := range stores {
		for w := range workers {
			wg.Go(func() {
				for r := range rounds {
					if err := fn(s, i*workers+w, r); err != nil {
						errs <- fmt.Errorf("store %d, worker %d, round %d: %w", i, w, r, err)
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// testConcurrentDeploys has several handles (processes) deploy different apps to one env at
// once. Each action decides on the deployments it sees on staging and says so in its outbox
// entry; in commit (= id) order, each must have seen every deployment made before it, and
// no deployment may be lost.
func testConcurrentDeploys(t *testing.T, stores []Store) {
	runWorkers(t, stores, func(s Store, worker, round int) error {
		app := deploy.App(fmt.Sprintf("app-%d", worker))
		_, _, err := s.Act(context.Background(), deploy.RequestKey{}, func(ctx context.Context, v deploy.View) (deploy.Decided, error) {
			st, err := v.State(ctx, deploy.Query{Envs: []deploy.Env{"staging"}})
			if err != nil {
				return deploy.Decided{}, err
			}
			seen := 0
			for _, d := range st.Deployments["staging"] {
				seen += int(d.Version)
			}
			next := deploy.Version(1)
			if d, ok := st.Deployed("staging", app); ok {
				next = d.Version + 1
			}
			return deploy.Decided{Change: deploy.Change{
				Deployments: []deploy.Deployment{deployment("staging", app, next, round)},
				Repo: &deploy.RepoChange{Message: fmt.Sprintf("deploy %s %s to staging (saw %d)", app, next, seen),
					Author: alice, Time: at(round),
					Manifests: []deploy.ManifestChange{{Env: "staging", App: app, Version: next, Manifest: "x: 1\n"}}},
				Audit: auditEntry("deploy", round),
			}}, nil
		})
		return err
	})

	apps := len(stores) * workers
	st := state(t, stores[0], deploy.Query{Envs: []deploy.Env{"staging"}})
	if len(st.Deployments["staging"]) != apps {
		t.Errorf("staging has %d apps, want %d", len(st.Deployments["staging"]), apps)
	}
	for app, d := range st.Deployments["staging"] {
		if d.Version != rounds || !d.Pending {
			t.Errorf("staging runs %s %d (pending %v), want %d, pending", app, d.Version, d.Pending, rounds)
		}
	}
	p := pending(t, stores[len(stores)-1], 0)
	if len(p) != apps*rounds {
		t.Fatalf("%d outbox entries, want %d", len(p), apps*rounds)
	}
	for i, e := range p {
		if i > 0 && e.ID <= p[i-1].ID {
			t.Errorf("outbox ids %d then %d", p[i-1].ID, e.ID)
		}
		_, after, _ := strings.Cut(e.Change.Message, "(saw ")
		seen, err := strconv.Atoi(strings.TrimSuffix(after, ")"))
		if err != nil || seen != i {
			t.Errorf("entry %d (%q) saw %d deployments, want %d: every action decides on all that committed before it", e.ID, e.Change.Message, seen, i)
		}
	}
}

// testCounter is a read-modify-write: each action reads an app's latest release and makes
// the next one. Decided outside the transaction, two actions would make the same release.
func testCounter(t *testing.T, stores []Store) {
	runWorkers(t, stores, func(s Store, worker, round int) error {
		_, _, err := s.Act(context.Background(), deploy.RequestKey{}, func(ctx context.Context, v deploy.View) (deploy.Decided, error) {
			info, _, err := v.App(ctx, "counter")
			if err != nil {
				return deploy.Decided{}, err
			}
			return deploy.Decided{Change: deploy.Change{
				Releases: []deploy.Release{release("counter", info.Latest+1, "", nil)},
				Audit:    auditEntry("count", round),
			}}, nil
		})
		return err
	})
	total := deploy.Version(len(stores) * workers * rounds)
	for _, s := range stores {
		read(t, s, func(ctx context.Context, v deploy.View) error {
			info, _, err := v.App(ctx, "counter")
			if err != nil {
				return err
			}
			rs, err := v.Releases(ctx, "counter", 0)
			if err != nil {
				return err
			}
			if info.Latest != total || len(rs) != int(total) {
				t.Errorf("counter at %d with %d releases, want %d", info.Latest, len(rs), total)
			}
			return nil
		})
	}
}
