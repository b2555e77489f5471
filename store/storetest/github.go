package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

// testGitHubDeployments: a pushed deployment of a release with a source commit gets a row
// (once), in progress while a rollout decides; the rollout's end decides success or failure;
// a newer deployment makes the older row want inactive; the reporter's saves keep want;
// rows are due until shown is want, at their next try.
func testGitHubDeployments(t *testing.T, s Store) {
	ctx := t.Context()
	for v := deploy.Version(1); v <= 3; v++ {
		r := release("checkout", v, "payments", map[deploy.Env]string{"staging": "a: 1"})
		r.SourceCommitID = map[deploy.Version]string{1: "1111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 2: "2222222aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 3: ""}[v]
		mustActKey(t, s, deploy.RequestKey{}, deploy.Change{Releases: []deploy.Release{r}, Audit: deploy.AuditEntry{Time: at(0), Actor: alice, Command: "release"}})
	}
	sync := func(now time.Time, follow bool) int {
		t.Helper()
		n, err := s.SyncGitHubDeployments(ctx, at(0), now, follow)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	due := func(now time.Time) []deploy.GitHubDeployment {
		t.Helper()
		ds, err := s.GitHubDeploymentsDue(ctx, now, 10)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	id1, _, _ := deployWithRepo(t, s, 1, 1)
	if n := sync(at(1), true); n != 0 {
		t.Errorf("a deployment not pushed yet got %d rows", n)
	}
	const c1, c2 = "e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1", "e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2"
	if err := s.MarkPushed(ctx, []deploy.Pushed{{ID: id1, Commit: c1}}); err != nil {
		t.Fatal(err)
	}
	if n := sync(at(2), true); n != 1 {
		t.Errorf("the pushed deployment got %d rows, want 1", n)
	}
	if n := sync(at(2), true); n != 0 {
		t.Errorf("a second sync added %d rows", n)
	}
	want := deploy.GitHubDeployment{ActionID: id1, Env: "staging", App: "checkout", Version: 1, SourceCommit: "1111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		EnvCommit: c1, Want: deploy.GitHubInProgress, NextTry: at(2).UTC()}
	if diff := cmp.Diff([]deploy.GitHubDeployment{want}, due(at(2))); diff != "" {
		t.Errorf("due (-want +got):\n%s", diff)
	}
	if ds := due(at(1)); len(ds) != 0 {
		t.Errorf("due before its next try: %+v", ds)
	}
	// The reporter created it and showed in_progress; then the rollout ended well.
	shown := want
	shown.GitHubID, shown.Shown, shown.Attempts, shown.NextTry = 77, deploy.GitHubInProgress, 1, at(3).UTC()
	if err := s.SaveGitHubDeployment(ctx, shown); err != nil {
		t.Fatal(err)
	}
	if ds := due(at(9)); len(ds) != 0 {
		t.Errorf("shown as wanted, still due: %+v", ds)
	}
	if err := s.SaveRollouts(ctx, deploy.Rollout{Env: "staging", App: "checkout", Version: 1, Commit: c1, ActionID: id1, State: deploy.RolloutSuccessful}); err != nil {
		t.Fatal(err)
	}
	sync(at(4), true)
	ds := due(at(4))
	if len(ds) != 1 || ds[0].Want != deploy.GitHubSuccess || ds[0].GitHubID != 77 || ds[0].Shown != deploy.GitHubInProgress {
		t.Errorf("after a successful rollout: %+v", ds)
	}
	shown.Shown = deploy.GitHubSuccess
	if err := s.SaveGitHubDeployment(ctx, shown); err != nil {
		t.Fatal(err)
	}

	// Version 2 replaces it; its rollout fails. Version 3 has no source commit: no row.
	id2, _, _ := deployWithRepo(t, s, 2, 5)
	if err := s.MarkPushed(ctx, []deploy.Pushed{{ID: id2, Commit: c2}}); err != nil {
		t.Fatal(err)
	}
	if n := sync(at(5), true); n != 1 {
		t.Errorf("version 2 got %d rows", n)
	}
	got := map[int64]deploy.GitHubState{}
	for _, d := range due(at(5)) {
		got[d.ActionID] = d.Want
	}
	if diff := cmp.Diff(map[int64]deploy.GitHubState{id1: deploy.GitHubInactive, id2: deploy.GitHubInProgress}, got); diff != "" {
		t.Errorf("wants after a newer deployment (-want +got):\n%s", diff)
	}
	if err := s.SaveRollouts(ctx, deploy.Rollout{Env: "staging", App: "checkout", Version: 2, Commit: c2, ActionID: id2, State: deploy.RolloutUnhealthy}); err != nil {
		t.Fatal(err)
	}
	sync(at(6), true)
	got = map[int64]deploy.GitHubState{}
	for _, d := range due(at(6)) {
		got[d.ActionID] = d.Want
	}
	if got[id2] != deploy.GitHubFailure {
		t.Errorf("after an unhealthy rollout: %v", got)
	}
	id3, _, _ := deployWithRepo(t, s, 3, 7)
	if err := s.MarkPushed(ctx, []deploy.Pushed{{ID: id3, Commit: c2}}); err != nil {
		t.Fatal(err)
	}
	if n := sync(at(7), true); n != 0 {
		t.Errorf("a release without a source commit got %d rows", n)
	}
	// Without rollouts followed, a pushed deployment is a success at once.
	id4, _, _ := deployWithRepo(t, s, 1, 8)
	if err := s.MarkPushed(ctx, []deploy.Pushed{{ID: id4, Commit: c1}}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.SyncGitHubDeployments(ctx, at(0), at(8), false); err != nil || n != 1 {
		t.Errorf("sync without rollouts: %d, %v", n, err)
	}
	got = map[int64]deploy.GitHubState{}
	for _, d := range due(at(8)) {
		got[d.ActionID] = d.Want
	}
	if got[id4] != deploy.GitHubSuccess || got[id2] != deploy.GitHubInactive {
		t.Errorf("without rollouts: %v", got)
	}
}

// testUndeploy: an undeploy version is stored as one and marks the deployments of it; a
// removed deployment is gone from the state (with its held attempt), its history stays.
func testUndeploy(t *testing.T, s Store) {
	ctx := t.Context()
	rel := release("checkout", 1, "payments", map[deploy.Env]string{"staging": "a: 1"})
	un := release("checkout", 2, "payments", map[deploy.Env]string{"staging": ""})
	un.Undeploy, un.SourceCommitID = true, ""
	mustActKey(t, s, deploy.RequestKey{}, deploy.Change{Releases: []deploy.Release{rel, un}, Audit: deploy.AuditEntry{Time: at(0), Actor: alice, Command: "release"}})
	deployWithRepo(t, s, 2, 1)
	deployWithRepo(t, s, 1, 2) // on staging again, and on development below
	d := deployment("development", "checkout", 2, 3)
	mustActKey(t, s, deploy.RequestKey{}, deploy.Change{Deployments: []deploy.Deployment{d}, Held: []deploy.Held{{Env: "staging", App: "checkout", Version: 2, How: deploy.HowAuto, Time: at(3)}},
		Audit: deploy.AuditEntry{Time: at(3), Actor: alice, Command: "deploy"}})
	st := state(t, s, deploy.Everything)
	if dd, ok := st.Deployed("development", "checkout"); !ok || !dd.Undeploy {
		t.Errorf("the undeploy version's deployment: %+v", dd)
	}
	if dd, _ := st.Deployed("staging", "checkout"); dd.Undeploy {
		t.Errorf("a real version marked undeploy: %+v", dd)
	}
	err := s.View(ctx, func(ctx context.Context, v deploy.View) error {
		got, err := v.Release(ctx, "checkout", 2)
		if err == nil && (!got.Undeploy || got.Manifests["staging"] != "" || len(got.Manifests) != 1) {
			t.Errorf("undeploy release read back: %+v", got)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	mustActKey(t, s, deploy.RequestKey{}, deploy.Change{RemoveDeployments: []deploy.EnvApp{{Env: "staging", App: "checkout"}},
		DropManifests: []deploy.EnvApp{{Env: "staging", App: "checkout"}},
		Audit:         deploy.AuditEntry{Time: at(4), Actor: alice, Command: "remove checkout from staging"}})
	st = state(t, s, deploy.Everything)
	if _, ok := st.Deployed("staging", "checkout"); ok {
		t.Error("the removed deployment is still there")
	}
	if _, ok := st.Deployed("development", "checkout"); !ok {
		t.Error("another environment's deployment went too")
	}
	for _, h := range st.Held {
		if h.Env == "staging" {
			t.Errorf("the held attempt stayed: %+v", h)
		}
	}
	err = s.View(ctx, func(ctx context.Context, v deploy.View) error {
		for _, ver := range []deploy.Version{1, 2} {
			got, err := v.Release(ctx, "checkout", ver)
			if err != nil {
				return err
			}
			if _, ok := got.Manifests["staging"]; ok {
				t.Errorf("release %d keeps its staging manifest after DropManifests", ver)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
