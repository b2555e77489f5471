package commands

import (
	"context"
	"fmt"
	"sort"

	"kuberpult/deploy"
)

// answer runs a read-only command on a snapshot.
func (a *action) answer(ctx context.Context, v deploy.View, cmd Command) (Result, error) {
	switch c := cmd.(type) {
	case Locks:
		return a.locks(ctx, v, c)
	case Status:
		return a.status(ctx, v, c)
	case Envs:
		return a.listEnvs(ctx, v)
	case History:
		return a.history(ctx, v, c)
	case Help:
		return Result{Outcome: deploy.OutcomeDone, HelpVerb: c.Verb}, nil
	case Audit:
		return a.auditLog(ctx, v, c)
	case Train:
		return a.prognosis(ctx, v, c)
	case Trains:
		return a.listTrains(ctx, v)
	case Windows:
		return a.listWindows(), nil
	case Releases:
		return a.releases(ctx, v, c)
	case Depart:
		return a.waiting(ctx, v, c)
	}
	return Result{}, fmt.Errorf("no handler for %T", cmd)
}

func (a *action) status(ctx context.Context, v deploy.View, c Status) (Result, error) {
	a.app = c.App
	q := deploy.Everything
	if c.App != "" {
		if _, err := knownApp(ctx, v, c.App); err != nil {
			if targets, terr := a.h.targetEnvs(string(c.App)); terr == nil {
				return Result{}, deploy.NotFoundf("`%s` is an environment%s, and `status` takes an app: `status` shows every app on every environment, `locks %s` the locks there",
					c.App, map[bool]string{true: " group", false: ""}[len(targets) > 1 || string(targets[0]) != string(c.App)], c.App)
			}
			return Result{}, err
		}
		q.Apps = []deploy.App{c.App}
	}
	st, err := v.State(ctx, q)
	if err != nil {
		return Result{}, err
	}
	ob, err := v.Outbox(ctx)
	if err != nil {
		return Result{}, err
	}
	var rollouts []deploy.Rollout
	if c.App != "" {
		if rollouts, err = v.Rollouts(ctx, c.App); err != nil {
			return Result{}, err
		}
	}
	return Result{Outcome: deploy.OutcomeDone, App: c.App, State: &st, Outbox: &ob, Targets: a.h.envs.Pipeline(), Rollouts: rollouts}, nil
}

func (a *action) listEnvs(ctx context.Context, v deploy.View) (Result, error) {
	st, err := v.State(ctx, deploy.Everything)
	if err != nil {
		return Result{}, err
	}
	res := Result{Outcome: deploy.OutcomeDone}
	for _, env := range a.h.envs.Names() {
		up := "none"
		if u := a.h.envs[env].Upstream; u != nil && u.Latest {
			up = "latest"
		} else if u != nil && u.Environment != "" {
			up = string(u.Environment)
		}
		locks := 0
		for _, l := range st.Locks {
			if l.Env == env {
				locks++
			}
		}
		res.Environments = append(res.Environments, EnvRow{Env: env, Upstream: up, Group: a.h.envs.GroupOf(env),
			Apps: len(st.Deployments[env]), Locks: locks})
	}
	return res, nil
}

// maxHistory is how many deployments `history` shows.
const maxHistory = 50

func (a *action) history(ctx context.Context, v deploy.View, c History) (Result, error) {
	a.app, a.env = c.App, c.Env
	if _, err := knownApp(ctx, v, c.App); err != nil {
		return Result{}, err
	}
	envs := []deploy.Env{""} // every environment
	if c.Env != "" {
		var err error
		if envs, err = a.h.targetEnvs(string(c.Env)); err != nil { // an environment, or a group's
			return Result{}, err
		}
	}
	var hist []deploy.Deployment
	for _, env := range envs {
		h, err := v.History(ctx, c.App, env, maxHistory)
		if err != nil {
			return Result{}, err
		}
		hist = append(hist, h...)
	}
	sort.SliceStable(hist, func(i, j int) bool { return hist[i].Time.After(hist[j].Time) })
	if len(hist) > maxHistory {
		hist = hist[:maxHistory]
	}
	return Result{Outcome: deploy.OutcomeDone, App: c.App, HistoryEnv: c.Env, History: hist}, nil
}

// auditLog reads the audit log. Entries record the target as it was typed, so an
// environment filter also matches commands naming its group, and a group filter commands
// naming one of its environments.
func (a *action) auditLog(ctx context.Context, v deploy.View, c Audit) (Result, error) {
	a.env = c.Env
	f := deploy.AuditFilter{Actor: c.Actor, Limit: 200}
	if c.Since != "" {
		d, err := parseAge(c.Since)
		if err != nil {
			return Result{}, err
		}
		f.Since = a.now.Add(-d)
	}
	if c.Env != "" {
		f.Envs = []deploy.Env{c.Env}
		if _, isEnv := a.h.envs[c.Env]; isEnv {
			if g := a.h.envs.GroupOf(c.Env); deploy.Env(g) != c.Env {
				f.Envs = append(f.Envs, deploy.Env(g))
			}
		} else {
			f.Envs = append(f.Envs, a.h.envs.Members(deploy.Group(c.Env))...)
		}
	}
	entries, err := v.AuditLog(ctx, f)
	if err != nil {
		return Result{}, err
	}
	return Result{Outcome: deploy.OutcomeDone, AuditEntries: entries}, nil
}

// SortedApps returns the apps of a state, sorted by name, without the deleted ones
// (undeployed: State.Deleted).
func SortedApps(st deploy.State) []deploy.App {
	apps := make([]deploy.App, 0, len(st.Apps))
	for a := range st.Apps {
		if !st.Deleted(a) {
			apps = append(apps, a)
		}
	}
	sort.Slice(apps, func(i, j int) bool { return apps[i] < apps[j] })
	return apps
}
