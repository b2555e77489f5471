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

func (a *action) deploy(ctx context.Context, v deploy.View, c Deploy) (Result, deploy.Change, error) {
	a.app, a.env = c.App, deploy.Env(c.Target)
	envs, err := a.h.targetEnvs(c.Target)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	info, err := knownApp(ctx, v, c.App)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	st, err := v.State(ctx, deploy.Query{Envs: envs, Apps: []deploy.App{c.App}})
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	gates := make(map[deploy.Env]policy.Decision, len(envs))
	for _, env := range envs {
		d := a.h.gate.Decide(st, a.attempt(env, c.App, info.Team, deploy.HowManual, c.Force, c.Reason))
		if err := windowRefusal(d, env, Format(c), a.req.Zone); err != nil {
			return Result{}, deploy.Change{}, err
		}
		gates[env] = d
	}
	if c.Lock != "" {
		if err := a.allowEach(policy.CreateLock, envs, c.App, info.Team); err != nil {
			return Result{}, deploy.Change{}, err
		}
		if n := len([]rune(c.Lock)); n > maxTextField {
			return Result{}, deploy.Change{}, deploy.Invalidf("the lock message is %d characters long; at most %d are allowed", n, maxTextField)
		}
	}
	if stale := staleFrom(st, c.App, c.From); stale != nil {
		return Result{Outcome: deploy.OutcomeStale, App: c.App, Targets: envs, Stale: stale}, deploy.Change{}, nil
	}
	if c.Display != "" {
		if c.Version, err = a.byDisplay(ctx, v, c.App, c.Display); err != nil {
			return Result{}, deploy.Change{}, err
		}
	}
	rel, err := a.release(ctx, v, info, c.Version)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	if err := hasManifests(rel, envs); err != nil {
		return Result{}, deploy.Change{}, err
	}
	res := Result{App: c.App, Label: rel.Label(), Targets: envs}
	var todo []deploy.Env
	for _, env := range envs {
		if d, ok := st.Deployed(env, c.App); !ok || d.Version != rel.Version {
			todo = append(todo, env)
		} else {
			res.Already = append(res.Already, env)
		}
	}
	if len(todo) == 0 && c.Lock == "" {
		res.Outcome = deploy.OutcomeNoop
		return res, deploy.Change{}, nil
	}
	var locked []deploy.Lock
	confirm := false
	for _, env := range todo {
		locked = append(locked, gates[env].Locks...)
		confirm = confirm || gates[env].Verdict == policy.Confirm
	}
	if confirm {
		confirmed := c
		confirmed.Force, confirmed.Version, confirmed.From = true, rel.Version, currentVersions(st, c.App, todo)
		res.Outcome = deploy.OutcomeConfirm
		res.Confirm = &Confirmation{Locks: locked, Envs: todo, Command: confirmed, CommandText: Format(confirmed)}
		return res, deploy.Change{}, nil
	}
	if approvers, windows, until := needsApproval(gates, todo); len(windows) > 0 {
		asked := c
		asked.Version, asked.From = rel.Version, currentVersions(st, c.App, todo)
		return a.requestApproval(ctx, v, res, asked, c.Target, approvers, windows, until)
	}
	change := a.deployChange(rel, todo, deploy.HowManual, a.req.Actor, a.reason(c.Reason),
		fmt.Sprintf("deploy %s %s to %s", rel.App, rel.Version, joinEnvs(todo)))
	res.Outcome, res.Ignored = deploy.OutcomeDone, locked
	res.Deployed = deployedFrom(st, rel, todo, deploy.HowManual)
	res.Windows, res.Reason = openWindows(gates, todo), c.Reason
	if c.Lock != "" {
		id := a.h.newID()
		locks := make([]deploy.Lock, 0, len(envs))
		for _, env := range envs {
			locks = append(locks, a.newLock(deploy.LockApp, id, env, c.App, "", c.Lock, ""))
		}
		change.CreateLocks = locks
		res.Locked = &Locked{Target: c.Target, Locks: locks}
	}
	return res, change, nil
}

func (a *action) rollback(ctx context.Context, v deploy.View, c Rollback) (Result, deploy.Change, error) {
	a.app, a.env = c.App, c.Env
	info, st, err := a.appOn(ctx, v, c.App, c.Env)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	gate := a.h.gate.Decide(st, a.attempt(c.Env, c.App, info.Team, deploy.HowRollback, c.Force, c.Reason))
	if err := windowRefusal(gate, c.Env, Format(c), a.req.Zone); err != nil {
		return Result{}, deploy.Change{}, err
	}
	if err := a.allow(policy.CreateLock, c.Env, c.App, info.Team); err != nil {
		return Result{}, deploy.Change{}, err
	}
	if c.From != 0 {
		if stale := staleFrom(st, c.App, []EnvVersion{{Env: c.Env, Version: c.From}}); stale != nil {
			return Result{Outcome: deploy.OutcomeStale, App: c.App, Targets: []deploy.Env{c.Env}, Stale: stale}, deploy.Change{}, nil
		}
	}
	cur, ok := st.Deployed(c.Env, c.App)
	if !ok {
		return Result{}, deploy.Change{}, deploy.Invalidf("%s is not deployed on %s; there is nothing to roll back", c.App, c.Env)
	}
	to := c.To
	if c.Display != "" {
		if to, err = a.byDisplay(ctx, v, c.App, c.Display); err != nil {
			return Result{}, deploy.Change{}, err
		}
	}
	if to == 0 {
		hist, err := v.History(ctx, c.App, c.Env, 0)
		if err != nil {
			return Result{}, deploy.Change{}, err
		}
		for _, d := range hist {
			if d.Version != cur.Version {
				to = d.Version
				break
			}
		}
		if to == 0 {
			return Result{}, deploy.Change{}, deploy.Invalidf("%s has run only version %s on %s; name a version: rollback %s on %s to <version>",
				c.App, cur.Version, c.Env, c.App, c.Env)
		}
	}
	if to == cur.Version {
		return Result{}, deploy.Change{}, deploy.Invalidf("%s already runs %s on %s", c.App, to, c.Env)
	}
	rel, err := a.release(ctx, v, info, to)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	if to > cur.Version {
		return Result{}, deploy.Change{}, deploy.Invalidf("a rollback goes back: %s runs %s on %s; to take the newer %s there, `deploy %s %s to %s`",
			c.App, cur.Version, c.Env, to, c.App, to, c.Env)
	}
	if err := hasManifests(rel, []deploy.Env{c.Env}); err != nil {
		return Result{}, deploy.Change{}, err
	}
	if gate.Verdict == policy.Confirm {
		confirmed := c
		confirmed.To, confirmed.From, confirmed.Force = rel.Version, cur.Version, true
		return Result{Outcome: deploy.OutcomeConfirm, App: c.App, Label: rel.Label(), Targets: []deploy.Env{c.Env},
			Confirm: &Confirmation{Locks: gate.Locks, Envs: []deploy.Env{c.Env}, Command: confirmed, CommandText: Format(confirmed)}}, deploy.Change{}, nil
	}
	if gate.Verdict == policy.NeedsApproval {
		approvers, windows, until := needsApproval(map[deploy.Env]policy.Decision{c.Env: gate}, []deploy.Env{c.Env})
		asked := c
		asked.To, asked.From = rel.Version, cur.Version
		return a.requestApproval(ctx, v, Result{App: c.App, Label: rel.Label(), Targets: []deploy.Env{c.Env}}, asked, string(c.Env), approvers, windows, until)
	}
	msg := fmt.Sprintf("rolled back from %s to %s", cur.Version, rel.Version)
	if c.Reason != "" {
		msg += ": " + c.Reason
	}
	envs := []deploy.Env{c.Env}
	change := a.deployChange(rel, envs, deploy.HowRollback, a.req.Actor, a.reason(c.Reason),
		fmt.Sprintf("rollback %s to %s on %s", rel.App, rel.Version, c.Env))
	lock := a.newLock(deploy.LockApp, a.h.newID(), c.Env, c.App, "", msg, "")
	change.CreateLocks = []deploy.Lock{lock}
	return Result{Outcome: deploy.OutcomeDone, App: c.App, Label: rel.Label(), Targets: envs,
		Deployed: deployedFrom(st, rel, envs, deploy.HowRollback), Ignored: gate.Locks, Windows: gate.Windows, Reason: c.Reason,
		RolledBack: &RolledBack{Env: c.Env, From: cur.Version, To: rel.Version, Lock: lock}}, change, nil
}

// attempt describes a deployment by the acting person for the gate.
func (a *action) attempt(env deploy.Env, app deploy.App, team deploy.Team, how deploy.How, force bool, reason string) policy.Attempt {
	return policy.Attempt{Env: env, App: app, Team: team, How: how, Actor: a.req.Actor, Groups: a.req.Groups, Force: force,
		Reason: reason, Approved: a.approvedBy != nil, Now: a.now}
}

// reason is the recorded reason of a person's deployment: theirs, and who approved it.
func (a *action) reason(r string) string {
	if a.approvedBy == nil {
		return r
	}
	return strings.TrimSpace(r + " (approved by " + a.approvedBy.Display() + ")")
}

// windowRefusal is the refusal of a person's deploy that the gate did not let through: not
// allowed, inside a deny window, or inside a window that needs a reason (saying how to give
// one) or an approval.
func windowRefusal(d policy.Decision, env deploy.Env, command, zone string) error {
	switch {
	case d.Verdict == policy.Deny && len(d.Windows) > 0 && d.Windows[0].Override == policy.OverrideDeny:
		w := d.Windows[0]
		return deploy.Deniedf("%s is in window %s until %s: deployments wait until it closes", env, w.Name, w.WhenIn(zone))
	case d.Verdict == policy.Deny:
		return d.Err
	case d.Verdict == policy.NeedsReason:
		w := d.Windows[0]
		return deploy.Invalidf("%s is in window %s until %s: a deploy inside it needs a reason, e.g. `%s --reason \"<why it cannot wait>\"`",
			env, w.Name, w.WhenIn(zone), command)
	}
	return nil // NeedsApproval: the command becomes an approval request
}

// openWindows are the windows a person's deploy went into (with a reason), once each.
func openWindows(gates map[deploy.Env]policy.Decision, envs []deploy.Env) []policy.OpenWindow {
	var out []policy.OpenWindow
	seen := map[string]bool{}
	for _, env := range envs {
		for _, w := range gates[env].Windows {
			if !seen[w.Name] {
				seen[w.Name] = true
				out = append(out, w)
			}
		}
	}
	return out
}

// staleFrom checks a precondition: each environment still runs the expected version.
func staleFrom(st deploy.State, app deploy.App, from []EnvVersion) *Stale {
	for _, f := range from {
		d, _ := st.Deployed(f.Env, app)
		if d.Version != f.Version {
			return &Stale{Env: f.Env, App: app, Expected: f.Version, Now: d}
		}
	}
	return nil
}

// currentVersions is the precondition of a confirmation: what runs on envs now.
func currentVersions(st deploy.State, app deploy.App, envs []deploy.Env) []EnvVersion {
	out := make([]EnvVersion, len(envs))
	for i, env := range envs {
		d, _ := st.Deployed(env, app)
		out[i] = EnvVersion{Env: env, Version: d.Version}
	}
	return out
}

func deployedFrom(st deploy.State, rel deploy.Release, envs []deploy.Env, how deploy.How) []Deployed {
	out := make([]Deployed, len(envs))
	for i, env := range envs {
		d, _ := st.Deployed(env, rel.App)
		out[i] = Deployed{Env: env, App: rel.App, From: d.Version, To: rel.Version, How: how}
	}
	return out
}

// release loads a release (the newest for version 0) with a helpful error when missing.
func (a *action) release(ctx context.Context, v deploy.View, info deploy.AppInfo, ver deploy.Version) (deploy.Release, error) {
	if ver == 0 {
		ver = info.Latest
	}
	rel, err := v.Release(ctx, info.App, ver)
	if errors.Is(err, deploy.ErrNotFound) {
		return rel, deploy.NotFoundf("%s has no release %s; the newest is %s (see `releases %s`)", info.App, ver, info.Latest, info.App)
	}
	return rel, err
}

// byDisplay resolves a display version (v1.2.0) to the newest release that has it.
func (a *action) byDisplay(ctx context.Context, v deploy.View, app deploy.App, display string) (deploy.Version, error) {
	rels, err := v.Releases(ctx, app, 0)
	if err != nil {
		return 0, err
	}
	for _, r := range rels {
		if strings.EqualFold(r.DisplayVersion, display) || strings.EqualFold("v"+r.DisplayVersion, display) {
			return r.Version, nil
		}
	}
	return 0, deploy.NotFoundf("%s has no release %s (a version number or display version); see `releases %s`", app, display, app)
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
// commit carrying them (a delta: the manifests), with subject as its message's first line.
func (a *action) deployChange(rel deploy.Release, envs []deploy.Env, how deploy.How, actor deploy.Actor, reason, subject string) deploy.Change {
	var c deploy.Change
	if len(envs) == 0 {
		return c
	}
	rc := &deploy.RepoChange{Message: commitMessage(subject, a.req, reason), Author: actor, Time: a.now}
	for _, env := range envs {
		c.Deployments = append(c.Deployments, deploy.Deployment{
			Env: env, App: rel.App, Version: rel.Version, How: how, Actor: actor, Time: a.now, Reason: reason,
		})
		rc.Manifests = append(rc.Manifests, manifestChange(rel, env))
	}
	c.Repo = rc
	return c
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

// appOn checks that env is one environment and app is known, and reads the state of the app
// there: what a command about one app on one environment decides on.
func (a *action) appOn(ctx context.Context, v deploy.View, app deploy.App, env deploy.Env) (deploy.AppInfo, deploy.State, error) {
	if err := a.h.singleEnv(env); err != nil {
		return deploy.AppInfo{}, deploy.State{}, err
	}
	info, err := knownApp(ctx, v, app)
	if err != nil {
		return deploy.AppInfo{}, deploy.State{}, err
	}
	st, err := v.State(ctx, deploy.Query{Envs: []deploy.Env{env}, Apps: []deploy.App{app}})
	if err != nil {
		return deploy.AppInfo{}, deploy.State{}, err
	}
	return info, st, nil
}
