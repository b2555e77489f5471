package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

func testReleases(t *testing.T, s Store) {
	r1 := release("checkout", 1, "payments", map[deploy.Env]string{
		"development": "kind: Deployment\nmetadata:\n  name: dev\n",
		"staging":     "kind: Deployment\nmetadata:\n  name: staging\n",
	})
	r2 := release("checkout", 2, "", nil)
	r2.DisplayVersion, r2.PreviousCommitID = "", "fedcba9876543210fedcba9876543210fedcba98"
	r3 := release("checkout", 3, "", map[deploy.Env]string{"staging": ""})
	other := release("cart", 7, "shop", map[deploy.Env]string{"development": "x: 1\n"})
	act(t, s, deploy.Change{Releases: []deploy.Release{r1, other}, Audit: auditEntry("release 1", 1)})
	act(t, s, deploy.Change{Releases: []deploy.Release{r2, r3}, Audit: auditEntry("release 2", 2)})

	read(t, s, func(ctx context.Context, v deploy.View) error {
		for _, want := range []deploy.Release{r1, r2, r3, other} {
			got, err := v.Release(ctx, want.App, want.Version)
			if err != nil {
				t.Fatalf("Release(%s, %s): %v", want.App, want.Version, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Release(%s, %s) (-want +got):\n%s", want.App, want.Version, diff)
			}
		}
		for _, missing := range []struct {
			app deploy.App
			v   deploy.Version
		}{{"checkout", 4}, {"nothing", 1}, {"checkout", 0}, {"checkout", deploy.MaxVersion + 1}} {
			_, err := v.Release(ctx, missing.app, missing.v)
			msg, _ := deploy.UserMessage(err)
			if want := "no release " + missing.v.String() + " of " + string(missing.app); !errors.Is(err, deploy.ErrNotFound) || msg != want {
				t.Errorf("Release(%s, %s) error = %v (message %q), want ErrNotFound with %q", missing.app, missing.v, err, msg, want)
			}
		}
		r1.Manifests, r3.Manifests = nil, nil
		for _, tc := range []struct {
			app   deploy.App
			limit int
			want  []deploy.Release
		}{
			{"checkout", 0, []deploy.Release{r3, r2, r1}},
			{"checkout", 2, []deploy.Release{r3, r2}},
			{"cart", 5, []deploy.Release{{App: "cart", Version: 7, DisplayVersion: other.DisplayVersion, Team: "shop",
				SourceCommitID: other.SourceCommitID, SourceAuthor: other.SourceAuthor, SourceMessage: other.SourceMessage,
				CILink: other.CILink, CreatedAt: other.CreatedAt, CreatedBy: ci}}},
			{"nothing", 0, nil},
		} {
			got, err := v.Releases(ctx, tc.app, tc.limit)
			if err != nil {
				t.Fatalf("Releases: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Releases(%s, %d) (-want +got):\n%s", tc.app, tc.limit, diff)
			}
		}
		return nil
	})
}

func testApps(t *testing.T, s Store) {
	act(t, s, deploy.Change{Releases: []deploy.Release{
		release("checkout", 2, "payments", nil),
		release("cart", 7, "", nil),
	}, Audit: auditEntry("releases", 1)})
	// A later release naming another team does not move the app; an older one does not
	// lower the latest version.
	act(t, s, deploy.Change{Releases: []deploy.Release{
		release("checkout", 3, "other", nil),
		release("checkout", 1, "", nil),
	}, Audit: auditEntry("releases", 2)})
	// Owners move apps that exist; a new app gets its team in the same change.
	act(t, s, deploy.Change{
		Releases: []deploy.Release{release("search", 1, "", nil)},
		Owners:   []deploy.AppTeam{{App: "cart", Team: "shop"}, {App: "search", Team: "discovery"}, {App: "ghost", Team: "x"}},
		Audit:    auditEntry("owners", 3),
	})
	want := map[deploy.App]deploy.AppInfo{
		"checkout": {App: "checkout", Team: "payments", Latest: 3},
		"cart":     {App: "cart", Team: "shop", Latest: 7},
		"search":   {App: "search", Team: "discovery", Latest: 1},
	}
	read(t, s, func(ctx context.Context, v deploy.View) error {
		got, err := v.Apps(ctx)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Apps (-want +got):\n%s", diff)
		}
		for _, app := range []deploy.App{"checkout", "cart", "search", "ghost"} {
			info, ok, err := v.App(ctx, app)
			if err != nil {
				return err
			}
			w, wantOK := want[app]
			if ok != wantOK || info != w {
				t.Errorf("App(%s) = %+v, %v; want %+v, %v", app, info, ok, w, wantOK)
			}
		}
		return nil
	})
	if diff := cmp.Diff(want, state(t, s, deploy.Everything).Apps); diff != "" {
		t.Errorf("State.Apps (-want +got):\n%s", diff)
	}
}

func testDeployments(t *testing.T, s Store) {
	freeze, prod := lock(deploy.LockEnv, "freeze", "staging", 1), lock(deploy.LockEnv, "prod", "production", 1)
	heldStaging := held("staging", "checkout", 2, 1, freeze)
	heldProd := held("production", "checkout", 2, 1, prod, freeze)
	act(t, s, deploy.Change{Held: []deploy.Held{heldStaging, heldProd}, Audit: auditEntry("held", 1)})

	d1 := deployment("staging", "checkout", 1, 2)
	d2 := deployment("development", "checkout", 2, 3)
	d2.How, d2.Actor, d2.Reason = deploy.HowAuto, deploy.System, ""
	d3 := deployment("staging", "checkout", 2, 4)
	d3.How, d3.Actor = deploy.HowTrain, bob
	cart := deployment("staging", "cart", 5, 5)
	cart.Commit = "ignored" // commits come from MarkPushed only
	id1 := act(t, s, deploy.Change{Deployments: []deploy.Deployment{d1}, Audit: auditEntry("deploy 1", 2)})
	id2 := act(t, s, deploy.Change{Deployments: []deploy.Deployment{d2, d3, cart}, Audit: auditEntry("train", 4)})
	d1.ActionID, d2.ActionID, d3.ActionID, cart.ActionID, cart.Commit = id1, id2, id2, id2, ""

	st := state(t, s, deploy.Everything)
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

	for _, tc := range []struct {
		env   deploy.Env
		limit int
		want  []deploy.Deployment
	}{
		{"", 0, []deploy.Deployment{d3, d2, d1}},
		{"", 2, []deploy.Deployment{d3, d2}},
		{"staging", 0, []deploy.Deployment{d3, d1}},
		{"staging", 1, []deploy.Deployment{d3}},
		{"production", 0, nil},
	} {
		if diff := cmp.Diff(tc.want, history(t, s, "checkout", tc.env, tc.limit)); diff != "" {
			t.Errorf("History(checkout, %q, %d) (-want +got):\n%s", tc.env, tc.limit, diff)
		}
	}
}

func testHeld(t *testing.T, s Store) {
	first := held("staging", "checkout", 2, 1, lock(deploy.LockEnv, "a", "staging", 1))
	second := held("staging", "checkout", 3, 2, lock(deploy.LockEnv, "a", "staging", 1), lock(deploy.LockTeam, "b", "staging", 1))
	window := deploy.Held{Env: "production", App: "checkout", Version: 3, How: deploy.HowTrain,
		By:     []deploy.HeldBy{{Kind: deploy.HeldByWindow, Window: "peak-hours", Until: at(90)}},
		Reason: "held by window peak-hours", Time: at(2)}
	nothing := deploy.Held{Env: "development", App: "checkout", Version: 3, How: deploy.HowAuto, Reason: "held", Time: at(2)}
	act(t, s, deploy.Change{Held: []deploy.Held{first}, Audit: auditEntry("release 2", 1)})
	act(t, s, deploy.Change{Held: []deploy.Held{second, window, nothing}, Audit: auditEntry("release 3", 2)})

	want := []deploy.Held{nothing, window, second}
	if diff := cmp.Diff(want, state(t, s, deploy.Everything).Held); diff != "" {
		t.Errorf("State.Held (-want +got):\n%s", diff)
	}
}

func testLocks(t *testing.T, s Store) {
	envLock := lock(deploy.LockEnv, "freeze", "staging", 1)
	appLock := lock(deploy.LockApp, "broken", "staging", 2)
	teamLock := lock(deploy.LockTeam, "payday", "production", 3)
	sameIDOtherEnv := lock(deploy.LockEnv, "freeze", "production", 3)
	act(t, s, deploy.Change{CreateLocks: []deploy.Lock{envLock, appLock}, Audit: auditEntry("lock", 1)})
	act(t, s, deploy.Change{CreateLocks: []deploy.Lock{teamLock, sameIDOtherEnv}, Audit: auditEntry("lock", 3)})

	replaced := envLock
	replaced.Message, replaced.Author, replaced.CreatedAt, replaced.SuggestedLifetime = "longer freeze", bob, at(4), ""
	act(t, s, deploy.Change{CreateLocks: []deploy.Lock{replaced}, Audit: auditEntry("lock again", 4)})

	act(t, s, deploy.Change{
		DeleteLocks: []deploy.LockKey{appLock.Key(), {Kind: deploy.LockApp, ID: "missing", Env: "staging", App: "checkout"}},
		DeletedBy:   bob,
		Audit:       auditEntry("unlock", 5),
	})
	// Without DeletedBy the audit entry's actor is recorded.
	act(t, s, deploy.Change{DeleteLocks: []deploy.LockKey{teamLock.Key()}, Audit: auditEntry("unlock team", 6)})

	if diff := cmp.Diff([]deploy.Lock{sameIDOtherEnv, replaced}, state(t, s, deploy.Everything).Locks); diff != "" {
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
	for _, tc := range []struct {
		env   deploy.Env
		limit int
		want  []deploy.LockRecord
	}{
		{"", 0, all},
		{"", 2, all[:2]},
		{"staging", 0, []deploy.LockRecord{all[0], all[3], all[4]}},
		{"production", 1, []deploy.LockRecord{all[1]}},
		{"development", 0, nil},
	} {
		if diff := cmp.Diff(tc.want, lockHistory(t, s, tc.env, tc.limit)); diff != "" {
			t.Errorf("LockHistory(%q, %d) (-want +got):\n%s", tc.env, tc.limit, diff)
		}
	}
}

func testStateQuery(t *testing.T, s Store) {
	apps := map[deploy.App]deploy.AppInfo{
		"checkout": {App: "checkout", Team: "payments", Latest: 1},
		"cart":     {App: "cart", Team: "shop", Latest: 2},
		"search":   {App: "search", Latest: 3},
	}
	var (
		c   deploy.Change
		all = deploy.State{Apps: apps, Deployments: map[deploy.Env]map[deploy.App]deploy.Deployment{}}
	)
	for app, info := range apps {
		c.Releases = append(c.Releases, release(app, info.Latest, info.Team, nil))
		for _, env := range []deploy.Env{"development", "staging", "production"} {
			if app == "search" && env == "production" {
				continue
			}
			c.Deployments = append(c.Deployments, deployment(env, app, info.Latest, 1))
		}
	}
	envLock, appLock, teamLock := lock(deploy.LockEnv, "e", "staging", 1), lock(deploy.LockApp, "a", "production", 1), lock(deploy.LockTeam, "t", "development", 1)
	c.CreateLocks = []deploy.Lock{envLock, appLock, teamLock}
	c.Held = []deploy.Held{held("production", "search", 3, 2, appLock), held("staging", "cart", 3, 2, envLock)}
	c.Audit = auditEntry("setup", 1)
	id := act(t, s, c)
	for _, d := range c.Deployments {
		d.ActionID = id
		if all.Deployments[d.Env] == nil {
			all.Deployments[d.Env] = map[deploy.App]deploy.Deployment{}
		}
		all.Deployments[d.Env][d.App] = d
	}
	all.Locks = []deploy.Lock{teamLock, appLock, envLock} // by env, then kind
	all.Held = []deploy.Held{c.Held[0], c.Held[1]}        // by env, then app
	if diff := cmp.Diff(all, state(t, s, deploy.Everything)); diff != "" {
		t.Fatalf("State(Everything) (-want +got):\n%s", diff)
	}

	for _, q := range []deploy.Query{
		{Envs: []deploy.Env{"staging"}},
		{Apps: []deploy.App{"checkout"}},
		{Envs: []deploy.Env{"staging", "production"}, Apps: []deploy.App{"cart", "search"}},
		{Envs: []deploy.Env{"production"}, Apps: []deploy.App{"search"}},
		{Envs: []deploy.Env{}},
		{Apps: []deploy.App{}},
		{Envs: []deploy.Env{}, Apps: []deploy.App{}},
		{Envs: []deploy.Env{"qa"}, Apps: []deploy.App{"ghost"}},
	} {
		if diff := cmp.Diff(selectState(all, q), state(t, s, q)); diff != "" {
			t.Errorf("State(%+v) (-want +got):\n%s", q, diff)
		}
	}
	// The reference selection, checked on two cases written out.
	if got := state(t, s, deploy.Query{Envs: []deploy.Env{"production"}, Apps: []deploy.App{"search"}}); len(got.Apps) != 1 ||
		len(got.Deployments) != 0 || len(got.Locks) != 1 || len(got.Held) != 1 {
		t.Errorf("State(production, search) = %+v; want search's info, no deployment, the app lock and the held attempt", got)
	}
	if got := state(t, s, deploy.Query{Envs: []deploy.Env{}}); len(got.Apps) != 3 || len(got.Deployments)+len(got.Locks)+len(got.Held) != 0 {
		t.Errorf("State(no envs) = %+v; want the apps only", got)
	}
}

// selectState is what a query selects of st: nil lists select everything, empty ones nothing.
func selectState(st deploy.State, q deploy.Query) deploy.State {
	env := func(e deploy.Env) bool { return q.Envs == nil || contains(q.Envs, e) }
	app := func(a deploy.App) bool { return q.Apps == nil || contains(q.Apps, a) }
	out := deploy.State{Apps: map[deploy.App]deploy.AppInfo{}, Deployments: map[deploy.Env]map[deploy.App]deploy.Deployment{}}
	for a, info := range st.Apps {
		if app(a) {
			out.Apps[a] = info
		}
	}
	for e, ds := range st.Deployments {
		for a, d := range ds {
			if env(e) && app(a) {
				if out.Deployments[e] == nil {
					out.Deployments[e] = map[deploy.App]deploy.Deployment{}
				}
				out.Deployments[e][a] = d
			}
		}
	}
	for _, l := range st.Locks {
		if env(l.Env) {
			out.Locks = append(out.Locks, l)
		}
	}
	for _, h := range st.Held {
		if env(h.Env) && app(h.App) {
			out.Held = append(out.Held, h)
		}
	}
	return out
}

func contains[T comparable](list []T, x T) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}
