package commands

import (
	"context"
	"fmt"

	"kuberpult/deploy"
	"kuberpult/policy"
)

// Undeploy retires an app in Kuberpult's two steps: without Confirm it prepares the app's
// undeploy version (release last+1 with an empty manifest everywhere, auto-deployed and
// carried by trains like any release); with Confirm, once that version runs everywhere the
// app runs, it deletes the app: its locks, its deployments and its directories.
type Undeploy struct {
	App     deploy.App
	Confirm bool // the second step
	Force   bool // skip the question of the second step
}

// Remove takes an app off one environment now: its directory and its Argo CD Application.
type Remove struct {
	App    deploy.App
	Env    deploy.Env
	Reason string
	Force  bool // skip the question
}

func (Undeploy) verb() string { return "undeploy" }
func (Remove) verb() string   { return "remove" }

func parseUndeploy(args []word) (Command, error) {
	pos, flags, err := splitFlags(args, flagSpec{"confirm": false, "force": false})
	if err != nil {
		return nil, err
	}
	if len(pos) == 0 {
		return nil, deploy.Invalidf("undeploy needs an app")
	}
	var c Undeploy
	if c.App, err = appName(pos[0].text); err != nil {
		return nil, err
	}
	if len(pos) > 1 {
		return nil, extra(pos[1:])
	}
	c.Confirm, c.Force = flags["confirm"] == "true", flags["force"] == "true"
	if c.Force && !c.Confirm {
		return nil, deploy.Invalidf("--force goes with --confirm (the step that deletes the app); `undeploy %s` alone only prepares the undeploy version", c.App)
	}
	return c, nil
}

func parseRemove(args []word) (Command, error) {
	pos, flags, err := splitFlags(args, flagSpec{"reason": true, "force": false})
	if err != nil {
		return nil, err
	}
	if len(pos) < 3 || !pos[1].is("from") {
		return nil, deploy.Invalidf("remove needs `<app> from <env>`")
	}
	var c Remove
	if c.App, err = appName(pos[0].text); err != nil {
		return nil, err
	}
	env, err := targetName(pos[2].text)
	if err != nil {
		return nil, err
	}
	c.Env = deploy.Env(env)
	if len(pos) > 3 {
		return nil, extra(pos[3:])
	}
	c.Reason, c.Force = flags["reason"], flags["force"] == "true"
	return c, nil
}

// manifestChange is what deploying rel does to env's directory of the app: its manifest, or,
// for an undeploy version, the directory removed (and with it the Argo CD Application).
func manifestChange(rel deploy.Release, env deploy.Env) deploy.ManifestChange {
	if rel.Undeploy {
		return deploy.ManifestChange{Env: env, App: rel.App, Version: rel.Version, Remove: true}
	}
	return deploy.ManifestChange{Env: env, App: rel.App, Version: rel.Version, Manifest: rel.Manifests[env]}
}

func (a *action) undeploy(ctx context.Context, v deploy.View, c Undeploy) (Result, deploy.Change, error) {
	a.app = c.App
	info, err := knownApp(ctx, v, c.App)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	st, err := v.State(ctx, deploy.Query{Apps: []deploy.App{c.App}})
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	if c.Confirm {
		return a.finishUndeploy(st, info, c)
	}
	latest, err := v.Release(ctx, c.App, info.Latest)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	if latest.Undeploy {
		res := Result{App: c.App, Label: latest.Label(), Outcome: deploy.OutcomeNoop}
		return res, deploy.Change{}, nil
	}
	envs := map[deploy.Env]bool{}
	for env := range latest.Manifests {
		envs[env] = true
	}
	for env, apps := range st.Deployments {
		if _, ok := apps[c.App]; ok {
			envs[env] = true
		}
	}
	manifests := map[deploy.Env]string{}
	for _, env := range a.h.envs.Pipeline() { // only configured environments
		if envs[env] {
			if err := a.allow(policy.CreateUndeploy, env, c.App, info.Team); err != nil {
				return Result{}, deploy.Change{}, err
			}
			manifests[env] = ""
		}
	}
	next := info.Latest + 1
	if !next.Valid() {
		return Result{}, deploy.Change{}, deploy.Invalidf("%s has no version left for its undeploy version (its newest is %s)", c.App, info.Latest)
	}
	rel := deploy.Release{App: c.App, Version: next, Team: info.Team, Manifests: manifests, Undeploy: true,
		SourceMessage: "undeploy " + string(c.App), CreatedAt: a.now, CreatedBy: a.req.Actor}
	change := deploy.Change{Releases: []deploy.Release{rel}}
	res := Result{App: c.App, Label: rel.Label()}
	if err := a.autoDeploy(ctx, v, rel, info.Team, &change, &res); err != nil {
		return Result{}, deploy.Change{}, err
	}
	stored := rel
	stored.Manifests = nil
	res.Outcome = deploy.OutcomeDone
	res.Release = &ReleaseInfo{Outcome: ReleaseCreated, Release: stored, Deployed: envsOf(res.Deployed)}
	return res, change, nil
}

// finishUndeploy deletes an app whose undeploy version runs everywhere it runs.
func (a *action) finishUndeploy(st deploy.State, info deploy.AppInfo, c Undeploy) (Result, deploy.Change, error) {
	var gone, real []deploy.Env
	for _, env := range a.h.envs.Pipeline() {
		d, ok := st.Deployed(env, c.App)
		if !ok {
			continue
		}
		gone = append(gone, env)
		if !d.Undeploy {
			real = append(real, env)
		}
	}
	if len(real) > 0 {
		return Result{}, deploy.Change{}, deploy.Conflictf("%s still runs a real version on %s: deploy its undeploy version there first (`undeploy %s` prepares it; a train or `deploy %s latest to <env>` takes it on)",
			c.App, joinEnvs(real), c.App, c.App)
	}
	for _, env := range gone {
		if err := a.allow(policy.DeployUndeploy, env, c.App, info.Team); err != nil {
			return Result{}, deploy.Change{}, err
		}
	}
	var locks []deploy.Lock
	for _, l := range st.Locks {
		if l.Kind == deploy.LockApp && l.App == c.App {
			locks = append(locks, l)
		}
	}
	deploy.SortLocks(locks)
	res := Result{App: c.App, Targets: gone, Unlocked: locks, Removed: gone}
	if len(gone) == 0 && len(locks) == 0 {
		res.Outcome = deploy.OutcomeNoop
		return res, deploy.Change{}, nil
	}
	if !c.Force {
		confirmed := c
		confirmed.Force = true
		res.Outcome = deploy.OutcomeConfirm
		res.Confirm = &Confirmation{Locks: locks, Envs: gone, Command: confirmed, CommandText: Format(confirmed)}
		return res, deploy.Change{}, nil
	}
	change := deploy.Change{}
	for _, l := range locks {
		change.DeleteLocks = append(change.DeleteLocks, l.Key())
	}
	rc := &deploy.RepoChange{Message: commitMessage(fmt.Sprintf("undeploy %s: delete it from %s", c.App, joinEnvs(gone)), a.req, ""),
		Author: a.req.Actor, Time: a.now}
	for _, env := range gone {
		change.RemoveDeployments = append(change.RemoveDeployments, deploy.EnvApp{Env: env, App: c.App})
		rc.Manifests = append(rc.Manifests, deploy.ManifestChange{Env: env, App: c.App, Remove: true})
	}
	if len(rc.Manifests) > 0 {
		change.Repo = rc
	}
	res.Outcome = deploy.OutcomeDone
	return res, change, nil
}

func (a *action) remove(ctx context.Context, v deploy.View, c Remove) (Result, deploy.Change, error) {
	a.app, a.env = c.App, c.Env
	info, st, err := a.appOn(ctx, v, c.App, c.Env)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	at := a.attempt(c.Env, c.App, info.Team, deploy.HowManual, c.Force, c.Reason)
	at.Action = policy.DeleteEnvironmentApplication
	gate := a.h.gate.Decide(st, at)
	if err := windowRefusal(gate, c.Env, Format(c), a.req.Zone); err != nil {
		return Result{}, deploy.Change{}, err
	}
	res := Result{App: c.App, Targets: []deploy.Env{c.Env}}
	cur, ok := st.Deployed(c.Env, c.App)
	if !ok {
		res.Outcome = deploy.OutcomeNoop
		return res, deploy.Change{}, nil
	}
	res.Label = cur.Version.String()
	if !c.Force {
		confirmed := c
		confirmed.Force = true
		res.Outcome = deploy.OutcomeConfirm
		res.Confirm = &Confirmation{Locks: gate.Locks, Envs: []deploy.Env{c.Env}, Command: confirmed, CommandText: Format(confirmed)}
		return res, deploy.Change{}, nil
	}
	// As Kuberpult: the environment goes from the app's releases too, so that no train or
	// auto-deploy brings it back.
	here := []deploy.EnvApp{{Env: c.Env, App: c.App}}
	change := deploy.Change{RemoveDeployments: here, DropManifests: here}
	change.Repo = &deploy.RepoChange{Message: commitMessage(fmt.Sprintf("remove %s from %s", c.App, c.Env), a.req, a.reason(c.Reason)),
		Author: a.req.Actor, Time: a.now, Manifests: []deploy.ManifestChange{{Env: c.Env, App: c.App, Remove: true}}}
	res.Outcome, res.Ignored, res.Removed = deploy.OutcomeDone, gate.Locks, []deploy.Env{c.Env}
	res.Windows, res.Reason = openWindows(map[deploy.Env]policy.Decision{c.Env: gate}, []deploy.Env{c.Env}), c.Reason
	return res, change, nil
}
