package commands

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"kuberpult/deploy"
	"kuberpult/policy"
)

func (a *action) deploy(ctx context.Context, c Deploy) (Reply, error) {
	a.app, a.env = c.App, deploy.Env(c.Target)
	envs, err := a.h.targetEnvs(c.Target)
	if err != nil {
		return Reply{}, err
	}
	st, err := a.h.store.StateOf(ctx, envs)
	if err != nil {
		return Reply{}, err
	}
	if err := knownApp(st, c.App); err != nil {
		return Reply{}, err
	}
	if err := a.allowEach(policy.DeployRelease, envs, c.App, st.TeamOf(c.App)); err != nil {
		return Reply{}, err
	}
	if c.Lock != "" {
		if err := a.allowEach(policy.CreateLock, envs, c.App, st.TeamOf(c.App)); err != nil {
			return Reply{}, err
		}
	}
	rel, err := a.release(ctx, st, c.App, c.Version)
	if err != nil {
		return Reply{}, err
	}
	if err := hasManifests(rel, envs); err != nil {
		return Reply{}, err
	}
	var todo []deploy.Env
	for _, env := range envs {
		if d, ok := st.Deployed(env, c.App); !ok || d.Version != rel.Version {
			todo = append(todo, env)
		}
	}
	if len(todo) == 0 && c.Lock == "" {
		return Reply{Outcome: deploy.OutcomeNoop,
			Text: fmt.Sprintf("%s %s already runs on %s; nothing to do.", c.App, rel.Label(), joinEnvs(envs))}, nil
	}
	var locked []deploy.Lock
	for _, env := range todo {
		locked = append(locked, st.LocksFor(env, c.App)...)
	}
	if len(locked) > 0 && !c.Force {
		confirmed := c
		confirmed.Force = true
		confirmed.Version = rel.Version
		prompt := fmt.Sprintf("⚠️ %s is locked where you want to deploy it:\n%s\nA manual deploy ignores locks. Deploy %s %s to %s anyway?",
			c.App, lockLines(locked, a.now), c.App, rel.Label(), joinEnvs(todo))
		return Reply{Outcome: deploy.OutcomeConfirm, Text: prompt + "\n(add --force to skip this question)",
			Confirm: &Confirmation{Prompt: prompt, Command: confirmed}}, nil
	}

	how := deploy.HowManual
	change := a.deployChange(st, rel, todo, how, a.req.Actor, c.Reason,
		fmt.Sprintf("deploy %s %s to %s", rel.App, rel.Version, joinEnvs(todo)))
	var text strings.Builder
	if len(todo) > 0 {
		fmt.Fprintf(&text, "✅ Deployed %s %s to %s.", c.App, rel.Label(), wasList(st, c.App, todo))
	} else {
		fmt.Fprintf(&text, "%s %s already runs on %s.", c.App, rel.Label(), joinEnvs(envs))
	}
	if len(locked) > 0 {
		fmt.Fprintf(&text, "\nIgnored locks:\n%s", lockLines(locked, a.now))
	}
	if c.Lock != "" {
		id := a.h.newID()
		for _, env := range envs {
			change.CreateLocks = append(change.CreateLocks, a.newLock(deploy.LockApp, id, env, c.App, "", c.Lock, ""))
		}
		fmt.Fprintf(&text, "\n🔒 Locked %s on %s: %q (lock `%s`).", c.App, joinEnvs(envs), c.Lock, id)
	}
	rep := Reply{Outcome: deploy.OutcomeDone, Text: text.String()}
	return rep, a.commit(ctx, change, rep)
}

func (a *action) rollback(ctx context.Context, c Rollback) (Reply, error) {
	a.app, a.env = c.App, c.Env
	if err := a.h.singleEnv(c.Env); err != nil {
		return Reply{}, err
	}
	st, err := a.h.store.StateOf(ctx, []deploy.Env{c.Env})
	if err != nil {
		return Reply{}, err
	}
	if err := knownApp(st, c.App); err != nil {
		return Reply{}, err
	}
	for _, act := range []policy.Action{policy.DeployRelease, policy.CreateLock} {
		if err := a.allow(act, c.Env, c.App, st.TeamOf(c.App)); err != nil {
			return Reply{}, err
		}
	}
	cur, ok := st.Deployed(c.Env, c.App)
	if !ok {
		return Reply{}, deploy.Invalidf("%s is not deployed on %s; there is nothing to roll back", c.App, c.Env)
	}
	to := c.To
	if to == 0 {
		hist, err := a.h.store.History(ctx, c.App, c.Env, 0)
		if err != nil {
			return Reply{}, err
		}
		for _, d := range hist {
			if d.Version != cur.Version {
				to = d.Version
				break
			}
		}
		if to == 0 {
			return Reply{}, deploy.Invalidf("%s has run only version %s on %s; name a version: rollback %s on %s to <version>",
				c.App, cur.Version, c.Env, c.App, c.Env)
		}
	}
	if to == cur.Version {
		return Reply{}, deploy.Invalidf("%s already runs %s on %s", c.App, to, c.Env)
	}
	rel, err := a.release(ctx, st, c.App, to)
	if err != nil {
		return Reply{}, err
	}
	if err := hasManifests(rel, []deploy.Env{c.Env}); err != nil {
		return Reply{}, err
	}
	msg := fmt.Sprintf("rolled back from %s to %s", cur.Version, rel.Version)
	if c.Reason != "" {
		msg += ": " + c.Reason
	}
	change := a.deployChange(st, rel, []deploy.Env{c.Env}, deploy.HowRollback, a.req.Actor, c.Reason,
		fmt.Sprintf("rollback %s to %s on %s", rel.App, rel.Version, c.Env))
	id := a.h.newID()
	change.CreateLocks = []deploy.Lock{a.newLock(deploy.LockApp, id, c.Env, c.App, "", msg, "")}
	text := fmt.Sprintf("⏪ Rolled %s on %s back from %s to %s.\n🔒 Locked %s on %s so automation does not undo it: %q (lock `%s`). Unlock with `unlock %s`.",
		c.App, c.Env, cur.Version, rel.Label(), c.App, c.Env, msg, id, id)
	rep := Reply{Outcome: deploy.OutcomeDone, Text: text}
	return rep, a.commit(ctx, change, rep)
}

// release loads a release (the newest for version 0) with a helpful error when missing.
func (a *action) release(ctx context.Context, st deploy.State, app deploy.App, v deploy.Version) (deploy.Release, error) {
	if v == 0 {
		v = st.Apps[app].Latest
	}
	rel, err := a.h.store.Release(ctx, app, v)
	if errors.Is(err, deploy.ErrNotFound) {
		return rel, deploy.NotFoundf("%s has no release %s; the newest is %s (see `history %s`)", app, v, st.Apps[app].Latest, app)
	}
	return rel, err
}

func hasManifests(rel deploy.Release, envs []deploy.Env) error {
	var missing []deploy.Env
	for _, env := range envs {
		if _, ok := rel.Manifests[env]; !ok {
			missing = append(missing, env)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	var have []deploy.Env
	for env := range rel.Manifests {
		have = append(have, env)
	}
	sort.Slice(have, func(i, j int) bool { return have[i] < have[j] })
	return deploy.Invalidf("release %s of %s has no manifest for %s; it has manifests for: %s",
		rel.Label(), rel.App, joinEnvs(missing), joinEnvs(have))
}

// deployChange builds the deployments of rel to envs, made by actor, and the env-repo
// commit carrying them, with subject as the first line of its message.
func (a *action) deployChange(st deploy.State, rel deploy.Release, envs []deploy.Env, how deploy.How, actor deploy.Actor, reason, subject string) deploy.Change {
	var c deploy.Change
	team := rel.Team
	if team == "" {
		team = st.TeamOf(rel.App)
	}
	for _, env := range envs {
		c.Deployments = append(c.Deployments, deploy.Deployment{
			Env: env, App: rel.App, Version: rel.Version, How: how, Actor: actor, Time: a.now, Reason: reason,
		})
	}
	if len(envs) == 0 {
		return c
	}
	c.Repo = &deploy.RepoChange{Message: commitMessage(subject, a.req, reason), Author: actor, Time: a.now,
		Envs: a.h.envFiles(st, envs, deploy.ArgoApp{App: rel.App, Team: team}, rel)}
	return c
}

// envFiles is what a deployment of rel writes for each env: the manifest and the env's
// Argo CD file listing every deployed app, including this one.
func (h *Handler) envFiles(st deploy.State, envs []deploy.Env, app deploy.ArgoApp, rel deploy.Release) []deploy.EnvFiles {
	out := make([]deploy.EnvFiles, 0, len(envs))
	for _, env := range envs {
		apps := st.ArgoApps(env)
		i := sort.Search(len(apps), func(i int) bool { return apps[i].App >= app.App })
		if i < len(apps) && apps[i].App == app.App {
			apps[i] = app
		} else {
			apps = append(apps[:i], append([]deploy.ArgoApp{app}, apps[i:]...)...)
		}
		out = append(out, deploy.EnvFiles{Env: env, Config: h.envs[env],
			Manifests: []deploy.AppManifest{{App: rel.App, Manifest: rel.Manifests[env]}}, Apps: apps})
	}
	return out
}

func commitMessage(subject string, r Request, reason string) string {
	var b strings.Builder
	b.WriteString(subject)
	b.WriteString("\n\n")
	if reason != "" {
		fmt.Fprintf(&b, "Reason: %s\n", reason)
	}
	fmt.Fprintf(&b, "Requested-by: %s via %s\n", r.Actor.Display(), r.Via)
	return b.String()
}

// wasList renders "staging (was 41), production (new)".
func wasList(st deploy.State, app deploy.App, envs []deploy.Env) string {
	parts := make([]string, len(envs))
	for i, env := range envs {
		if d, ok := st.Deployed(env, app); ok {
			parts[i] = fmt.Sprintf("%s (was %s)", env, d.Version)
		} else {
			parts[i] = fmt.Sprintf("%s (first deployment)", env)
		}
	}
	return strings.Join(parts, ", ")
}
