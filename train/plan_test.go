package train

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
	"kuberpult/policy"
)

var now = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// envs reach every environment cause: dev (latest), staging (from dev), prod-a and prod-b
// (group prod, from staging), and broken ones of group odd.
var envs = deploy.Environments{
	"dev":      {Upstream: &deploy.Upstream{Latest: true}},
	"staging":  {Upstream: &deploy.Upstream{Environment: "dev"}},
	"prod-a":   {Upstream: &deploy.Upstream{Environment: "staging"}, Group: "prod"},
	"prod-b":   {Upstream: &deploy.Upstream{Environment: "staging"}, Group: "prod"},
	"none":     {Group: "odd"},
	"neither":  {Upstream: &deploy.Upstream{}, Group: "odd"},
	"both":     {Upstream: &deploy.Upstream{Latest: true, Environment: "dev"}, Group: "odd"},
	"orphaned": {Upstream: &deploy.Upstream{Environment: "gone"}, Group: "odd"},
}

func dep(env deploy.Env, app deploy.App, v deploy.Version) deploy.Deployment {
	return deploy.Deployment{Env: env, App: app, Version: v}
}

func state() deploy.State {
	st := deploy.State{
		Apps: map[deploy.App]deploy.AppInfo{
			"cart": {App: "cart", Team: "shop", Latest: 5}, "checkout": {App: "checkout", Team: "shop", Latest: 9},
			"pay": {App: "pay", Team: "money", Latest: 3}, "lonely": {App: "lonely", Latest: 2},
			"search": {App: "search", Team: "shop", Latest: 4}, "web": {App: "web", Team: "shop", Latest: 7},
		},
		Deployments: map[deploy.Env]map[deploy.App]deploy.Deployment{},
	}
	add := func(d deploy.Deployment) {
		if st.Deployments[d.Env] == nil {
			st.Deployments[d.Env] = map[deploy.App]deploy.Deployment{}
		}
		st.Deployments[d.Env][d.App] = d
	}
	for _, d := range []deploy.Deployment{
		dep("dev", "cart", 4), dep("dev", "checkout", 9), dep("dev", "pay", 3),
		dep("staging", "cart", 5), dep("staging", "checkout", 8), dep("staging", "pay", 3), dep("staging", "lonely", 2),
		dep("staging", "search", 4), dep("staging", "web", 7),
		dep("prod-a", "cart", 4), dep("prod-a", "checkout", 8), dep("prod-a", "pay", 2),
	} {
		add(d)
	}
	return st
}

func lock(kind deploy.LockKind, env deploy.Env, app deploy.App, team deploy.Team) deploy.Lock {
	return deploy.Lock{Kind: kind, ID: "l-" + string(kind), Env: env, App: app, Team: team, Message: "stop", CreatedAt: now}
}

func TestCompute(t *testing.T) {
	noManifest := func(app deploy.App, v deploy.Version, env deploy.Env) bool { return !(app == "web" && env == "prod-b") }
	teamPolicy, err := policy.New(policy.Config{Policy: "p, role:dev, DeployReleaseTrain, *:*, *, allow\ng, alice@example.com, role:dev\n",
		Teams: map[string][]string{"shop": {"alice@example.com"}}, TeamPermissions: true})
	if err != nil {
		t.Fatal(err)
	}
	alice := deploy.Actor{Kind: deploy.ActorUser, ID: "U1", Name: "alice", Email: "alice@example.com"}
	tests := []struct {
		name   string
		target string
		team   deploy.Team
		locks  []deploy.Lock
		extra  []deploy.Deployment // e.g. an upstream entry without a version
		policy *policy.Policy
		want   []EnvPlan
	}{{
		name: "broken environments: each cause, the group goes on", target: "odd",
		want: []EnvPlan{
			{Env: "both", Skip: EnvHasBothUpstreamLatestAndEnv},
			{Env: "neither", Skip: EnvHasNoUpstreamLatestOrUpstreamEnv},
			{Env: "none", Skip: EnvHasNoUpstream},
			{Env: "orphaned", Upstream: "gone", Skip: UpstreamEnvConfigNotFound},
		},
	}, {
		name: "a group train goes on past a locked environment; app causes", target: "prod",
		locks: []deploy.Lock{lock(deploy.LockEnv, "prod-a", "", ""), lock(deploy.LockApp, "prod-b", "cart", ""), lock(deploy.LockTeam, "prod-b", "", "money")},
		want: []EnvPlan{
			{Env: "prod-a", Upstream: "staging", Skip: EnvIsLocked, Locks: []deploy.Lock{lock(deploy.LockEnv, "prod-a", "", "")}},
			{Env: "prod-b", Upstream: "staging", Apps: []AppPlan{
				{App: "cart", Team: "shop", Skip: AppIsLocked, Locks: []deploy.Lock{lock(deploy.LockApp, "prod-b", "cart", "")}},
				{App: "checkout", Team: "shop", To: 8},
				{App: "lonely", To: 2},
				{App: "pay", Team: "money", Skip: TeamIsLocked, Locks: []deploy.Lock{lock(deploy.LockTeam, "prod-b", "", "money")}},
				{App: "search", Team: "shop", To: 4},
				{App: "web", Team: "shop", Skip: AppDoesNotExistInEnv},
			}},
		},
	}, {
		name: "team filter: apps without a team named, other teams left out", target: "prod-a", team: "shop",
		want: []EnvPlan{{Env: "prod-a", Upstream: "staging", Apps: []AppPlan{
			{App: "cart", Team: "shop", From: 4, To: 5},
			{App: "checkout", Team: "shop", From: 8, Skip: AppAlreadyInUpstreamVersion},
			{App: "lonely", Skip: AppWithoutTeam},
			{App: "search", Team: "shop", To: 4},
			{App: "web", Team: "shop", To: 7},
		}}},
	}, {
		name: "no version upstream", target: "staging", extra: []deploy.Deployment{dep("dev", "search", 0)},
		want: []EnvPlan{{Env: "staging", Upstream: "dev", Apps: []AppPlan{
			{App: "cart", Team: "shop", From: 5, To: 4},
			{App: "checkout", Team: "shop", From: 8, To: 9},
			{App: "pay", Team: "money", From: 3, Skip: AppAlreadyInUpstreamVersion},
			{App: "search", Team: "shop", From: 4, Skip: AppHasNoVersionInUpstreamEnv},
		}}},
	}, {
		name: "latest upstream: the apps already there get their newest release", target: "dev",
		want: []EnvPlan{{Env: "dev", Upstream: "latest", Apps: []AppPlan{
			{App: "cart", Team: "shop", From: 4, To: 5},
			{App: "checkout", Team: "shop", From: 9, Skip: AppAlreadyInUpstreamVersion},
			{App: "pay", Team: "money", From: 3, Skip: AppAlreadyInUpstreamVersion},
		}}},
	}, {
		name: "no team permission", target: "prod-a", policy: teamPolicy,
		want: []EnvPlan{{Env: "prod-a", Upstream: "staging", Apps: []AppPlan{
			{App: "cart", Team: "shop", From: 4, To: 5},
			{App: "checkout", Team: "shop", From: 8, Skip: AppAlreadyInUpstreamVersion},
			{App: "lonely", To: 2},
			{App: "pay", Team: "money", From: 2, Skip: NoTeamPermission},
			{App: "search", Team: "shop", To: 4},
			{App: "web", Team: "shop", To: 7},
		}}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := state()
			st.Locks = tt.locks
			for _, d := range tt.extra {
				st.Deployments[d.Env][d.App] = d
			}
			got, err := Compute(Input{Target: tt.target, Team: tt.team, Envs: envs, State: st, HasManifest: noManifest,
				Gate: policy.Gate{Policy: tt.policy, Envs: envs}, Actor: alice, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.Envs); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNoTrainPermission: without DeployReleaseTrain on a target the whole train fails.
func TestNoTrainPermission(t *testing.T) {
	p, err := policy.New(policy.Config{Policy: "p, role:dev, DeployReleaseTrain, prod:prod-a, *, allow\ng, bob@example.com, role:dev\n"})
	if err != nil {
		t.Fatal(err)
	}
	bob := deploy.Actor{Kind: deploy.ActorUser, ID: "U2", Name: "bob", Email: "bob@example.com"}
	_, err = Compute(Input{Target: "prod", Envs: envs, State: state(), Gate: policy.Gate{Policy: p, Envs: envs}, Actor: bob, Now: now})
	if err == nil || err.Error() != "you need DeployReleaseTrain on prod:prod-b" {
		t.Errorf("Compute = %v, want the missing permission on prod-b", err)
	}
}
