package store

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

// testStore is the conformance suite every store backend passes. open returns a new,
// empty store for each test.
func testStore(t *testing.T, open func(t *testing.T) *DB) {
	tests := []struct {
		name string
		run  func(t *testing.T, db *DB)
	}{
		{"releases round trip", testReleases},
		{"duplicate release conflicts and keeps nothing", testDuplicateRelease},
		{"deployments current history and held clearing", testDeployments},
		{"held attempt replaces earlier one", testHeldReplace},
		{"locks create replace delete and history", testLocks},
		{"outbox pending and mark pushed", testOutbox},
		{"outbox order limit and errors", testOutboxOrder},
		{"audit log filters", testAuditLog},
		{"state snapshot", testState},
		{"state of some environments", testStateOf},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, open(t))
		})
	}
}

func testReleases(t *testing.T, db *DB) {
	ctx := context.Background()
	r1 := release("checkout", 1, "payments", map[deploy.Env]string{
		"development": "kind: Deployment\nmetadata:\n  name: dev\n",
		"staging":     "kind: Deployment\nmetadata:\n  name: staging\n",
	})
	r2 := release("checkout", 2, "", nil)
	r2.DisplayVersion, r2.PreviousCommitID = "", "fedcba9876543210fedcba9876543210fedcba98"
	other := release("cart", 7, "shop", map[deploy.Env]string{"development": "x: 1\n"})
	mustApply(t, db, deploy.Change{Releases: []deploy.Release{r1, other}, Audit: audit("release 1", 1)})
	mustApply(t, db, deploy.Change{Releases: []deploy.Release{r2}, Audit: audit("release 2", 2)})

	for _, want := range []deploy.Release{r1, r2, other} {
		got, err := db.Release(ctx, want.App, want.Version)
		if err != nil {
			t.Fatalf("Release(%s, %s): %v", want.App, want.Version, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Release(%s, %s) (-want +got):\n%s", want.App, want.Version, diff)
		}
	}

	_, err := db.Release(ctx, "checkout", 3)
	if !errors.Is(err, deploy.ErrNotFound) {
		t.Errorf("Release(checkout, 3) error = %v, want one wrapping ErrNotFound", err)
	}

	got, err := db.Releases(ctx, "checkout")
	if err != nil {
		t.Fatalf("Releases: %v", err)
	}
	r1.Manifests = nil
	if diff := cmp.Diff([]deploy.Release{r2, r1}, got); diff != "" {
		t.Errorf("Releases(checkout) (-want +got):\n%s", diff)
	}
	if got, err := db.Releases(ctx, "nothing"); err != nil || len(got) != 0 {
		t.Errorf("Releases(nothing) = %v, %v; want none", got, err)
	}
}

func testDuplicateRelease(t *testing.T, db *DB) {
	ctx := context.Background()
	r1 := release("checkout", 1, "payments", map[deploy.Env]string{"development": "a: 1\n"})
	mustApply(t, db, deploy.Change{Releases: []deploy.Release{r1}, Audit: audit("release 1", 1)})
	beforeState := mustState(t, db)
	beforeAudit := mustAuditLog(t, db, AuditFilter{})

	r2 := release("checkout", 2, "payments", map[deploy.Env]string{"development": "a: 2\n"})
	changes := map[string]deploy.Change{
		"existing release": {
			Releases:    []deploy.Release{r2, r1},
			Deployments: []deploy.Deployment{deployment("development", "checkout", 2, 3)},
			Held:        []deploy.Held{{Env: "staging", App: "checkout", Version: 2, How: deploy.HowAuto, Time: at(3)}},
			CreateLocks: []deploy.Lock{lock(deploy.LockEnv, "freeze", "staging", 3)},
			Repo:        repoChange("deploy checkout 2", 3),
			Audit:       audit("release 1 again", 3),
		},
		"same release twice in one change": {
			Releases:    []deploy.Release{r2, r2},
			Deployments: []deploy.Deployment{deployment("development", "checkout", 2, 3)},
			Repo:        repoChange("deploy checkout 2", 3),
			Audit:       audit("release 2 twice", 3),
		},
	}
	for name, c := range changes {
		t.Run(name, func(t *testing.T) {
			id, err := db.Apply(ctx, c)
			if !errors.Is(err, deploy.ErrConflict) {
				t.Fatalf("Apply error = %v, want one wrapping ErrConflict", err)
			}
			if id != 0 {
				t.Errorf("Apply id = %d, want 0", id)
			}
			if _, ok := deploy.UserMessage(err); !ok {
				t.Errorf("Apply error %q has no user message", err)
			}
			if _, err := db.Release(ctx, "checkout", 2); !errors.Is(err, deploy.ErrNotFound) {
				t.Errorf("Release(checkout, 2) error = %v, want ErrNotFound: nothing of the change may be kept", err)
			}
			if diff := cmp.Diff(beforeState, mustState(t, db)); diff != "" {
				t.Errorf("State changed by a failed Apply (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(beforeAudit, mustAuditLog(t, db, AuditFilter{})); diff != "" {
				t.Errorf("AuditLog changed by a failed Apply (-want +got):\n%s", diff)
			}
			if p := mustPending(t, db, 0); len(p) != 0 {
				t.Errorf("Pending = %v, want none", p)
			}
			if h := mustHistory(t, db, "checkout", "", 0); len(h) != 0 {
				t.Errorf("History = %v, want none", h)
			}
			if h := mustLockHistory(t, db, "", 0); len(h) != 0 {
				t.Errorf("LockHistory = %v, want none", h)
			}
		})
	}
}

func testDeployments(t *testing.T, db *DB) {
	heldStaging := deploy.Held{Env: "staging", App: "checkout", Version: 2, How: deploy.HowAuto,
		Reason: "held by lock freeze", LockIDs: []string{"freeze"}, Time: at(1)}
	heldProd := deploy.Held{Env: "production", App: "checkout", Version: 2, How: deploy.HowAuto,
		Reason: "held by lock prod", LockIDs: []string{"prod", "other"}, Time: at(1)}
	mustApply(t, db, deploy.Change{Held: []deploy.Held{heldStaging, heldProd}, Audit: audit("held", 1)})

	d1 := deployment("staging", "checkout", 1, 2)
	d2 := deployment("development", "checkout", 2, 3)
	d2.How, d2.Actor, d2.Reason = deploy.HowAuto, deploy.System, ""
	d3 := deployment("staging", "checkout", 2, 4)
	d3.How, d3.Actor = deploy.HowTrain, bob
	cart := deployment("staging", "cart", 5, 5)
	mustApply(t, db, deploy.Change{Deployments: []deploy.Deployment{d1}, Audit: audit("deploy 1", 2)})
	mustApply(t, db, deploy.Change{Deployments: []deploy.Deployment{d2, d3, cart}, Audit: audit("train", 4)})

	st := mustState(t, db)
	wantDeployed := map[deploy.Env]map[deploy.App]deploy.Deployment{
		"development": {"checkout": d2},
		"staging":     {"checkout": d3, "cart": cart},
	}
	if diff := cmp.Diff(wantDeployed, st.Deployments); diff != "" {
		t.Errorf("State.Deployments (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]deploy.Held{heldProd}, st.Held); diff != "" {
		t.Errorf("State.Held: a deployment clears the held attempt of its env and app only (-want +got):\n%s", diff)
	}

	tests := []struct {
		env   deploy.Env
		limit int
		want  []deploy.Deployment
	}{
		{"", 0, []deploy.Deployment{d3, d2, d1}},
		{"", 2, []deploy.Deployment{d3, d2}},
		{"staging", 0, []deploy.Deployment{d3, d1}},
		{"staging", 1, []deploy.Deployment{d3}},
		{"production", 0, nil},
	}
	for _, tc := range tests {
		got := mustHistory(t, db, "checkout", tc.env, tc.limit)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("History(checkout, %q, %d) (-want +got):\n%s", tc.env, tc.limit, diff)
		}
	}
}

func testHeldReplace(t *testing.T, db *DB) {
	first := deploy.Held{Env: "staging", App: "checkout", Version: 2, How: deploy.HowAuto,
		Reason: "held by lock a", LockIDs: []string{"a"}, Time: at(1)}
	second := deploy.Held{Env: "staging", App: "checkout", Version: 3, How: deploy.HowAuto,
		Reason: "held by lock a and team lock b", LockIDs: []string{"a", "b"}, Time: at(2)}
	noIDs := deploy.Held{Env: "development", App: "checkout", Version: 3, How: deploy.HowAuto,
		Reason: "held by window", Time: at(2)}
	mustApply(t, db, deploy.Change{Held: []deploy.Held{first}, Audit: audit("release 2", 1)})
	mustApply(t, db, deploy.Change{Held: []deploy.Held{second, noIDs}, Audit: audit("release 3", 2)})

	want := []deploy.Held{noIDs, second}
	if diff := cmp.Diff(want, mustState(t, db).Held); diff != "" {
		t.Errorf("State.Held (-want +got):\n%s", diff)
	}
}

func testLocks(t *testing.T, db *DB) {
	envLock := lock(deploy.LockEnv, "freeze", "staging", 1)
	appLock := lock(deploy.LockApp, "broken", "staging", 2)
	teamLock := lock(deploy.LockTeam, "payday", "production", 3)
	sameIDOtherEnv := lock(deploy.LockEnv, "freeze", "production", 3)
	mustApply(t, db, deploy.Change{CreateLocks: []deploy.Lock{envLock, appLock}, Audit: audit("lock", 1)})
	mustApply(t, db, deploy.Change{CreateLocks: []deploy.Lock{teamLock, sameIDOtherEnv}, Audit: audit("lock", 3)})

	replaced := envLock
	replaced.Message, replaced.Author, replaced.CreatedAt, replaced.SuggestedLifetime = "longer freeze", bob, at(4), ""
	mustApply(t, db, deploy.Change{CreateLocks: []deploy.Lock{replaced}, Audit: audit("lock again", 4)})

	del := audit("unlock", 5)
	mustApply(t, db, deploy.Change{
		DeleteLocks: []deploy.LockKey{appLock.Key(), {Kind: deploy.LockApp, ID: "missing", Env: "staging", App: "checkout"}},
		DeletedBy:   bob,
		Audit:       del,
	})
	// Without DeletedBy the audit entry's actor is recorded.
	mustApply(t, db, deploy.Change{DeleteLocks: []deploy.LockKey{teamLock.Key()}, Audit: audit("unlock team", 6)})

	wantLocks := []deploy.Lock{sameIDOtherEnv, replaced}
	if diff := cmp.Diff(wantLocks, mustState(t, db).Locks); diff != "" {
		t.Errorf("State.Locks (-want +got):\n%s", diff)
	}

	rec := func(l deploy.Lock, by *deploy.Actor, minute int) deploy.LockRecord {
		r := deploy.LockRecord{Lock: l, DeletedBy: by}
		if by != nil {
			r.DeletedAt = at(minute)
		}
		return r
	}
	all := []deploy.LockRecord{
		rec(replaced, nil, 0),
		rec(sameIDOtherEnv, nil, 0),
		rec(teamLock, &alice, 6),
		rec(appLock, &bob, 5),
		rec(envLock, &bob, 4), // replaced: closed by the new lock's author
	}
	tests := []struct {
		env   deploy.Env
		limit int
		want  []deploy.LockRecord
	}{
		{"", 0, all},
		{"", 2, all[:2]},
		{"staging", 0, []deploy.LockRecord{all[0], all[3], all[4]}},
		{"production", 1, []deploy.LockRecord{all[1]}},
		{"development", 0, nil},
	}
	for _, tc := range tests {
		got := mustLockHistory(t, db, tc.env, tc.limit)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("LockHistory(%q, %d) (-want +got):\n%s", tc.env, tc.limit, diff)
		}
	}
}

func testStateOf(t *testing.T, db *DB) {
	ctx := context.Background()
	mustApply(t, db, deploy.Change{
		Releases: []deploy.Release{release("checkout", 1, "shop", nil)},
		Deployments: []deploy.Deployment{deployment("development", "checkout", 1, 1),
			deployment("staging", "checkout", 1, 1), deployment("production", "checkout", 1, 1)},
		Held: []deploy.Held{{Env: "staging", App: "checkout", Version: 2, How: deploy.HowAuto, Reason: "held", Time: at(2)},
			{Env: "production", App: "checkout", Version: 2, How: deploy.HowAuto, Reason: "held", Time: at(2)}},
		CreateLocks: []deploy.Lock{lock(deploy.LockEnv, "freeze", "production", 1)},
		Audit:       audit("setup", 1),
	})
	all := mustState(t, db)
	for _, tt := range []struct {
		name string
		envs []deploy.Env
		want []deploy.Env
	}{
		{"one", []deploy.Env{"staging"}, []deploy.Env{"staging"}},
		{"two", []deploy.Env{"development", "production"}, []deploy.Env{"development", "production"}},
		{"none", nil, nil},
		{"unknown", []deploy.Env{"qa"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.StateOf(ctx, tt.envs)
			if err != nil {
				t.Fatal(err)
			}
			want := deploy.State{Apps: all.Apps, Deployments: map[deploy.Env]map[deploy.App]deploy.Deployment{}, Locks: all.Locks}
			for _, e := range tt.want {
				want.Deployments[e] = all.Deployments[e]
				if h, ok := all.HeldOn(e, "checkout"); ok {
					want.Held = append(want.Held, h)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("StateOf(%v) (-want +got):\n%s", tt.envs, diff)
			}
		})
	}
}
