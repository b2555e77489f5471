package commands

import (
	"kuberpult/deploy"
	"kuberpult/policy"
)

// allow checks that the acting person may do act on one environment. The system actor
// (auto-deploys, scheduled trains) acts on rules people configured and is not checked.
// A nil policy allows everything.
func (a *action) allow(act policy.Action, env deploy.Env, app deploy.App, team deploy.Team) error {
	if a.h.policy == nil || a.req.Actor.Kind == deploy.ActorSystem {
		return nil
	}
	sc := policy.Scope{Env: env, Group: a.h.envs.GroupOf(env), App: app, Team: team}
	if app == "" {
		sc.App = "*"
	}
	return a.h.policy.Check(policy.SubjectOf(a.req.Actor, a.req.Groups...), act, sc)
}

// allowEach checks act on every environment; the first refusal names what is missing.
func (a *action) allowEach(act policy.Action, envs []deploy.Env, app deploy.App, team deploy.Team) error {
	for _, env := range envs {
		if err := a.allow(act, env, app, team); err != nil {
			return err
		}
	}
	return nil
}

// allowLock checks CreateLock or DeleteLock for a lock: environment locks are checked for
// every app ("*"), app locks for the app and its team (appTeam), team locks for the team.
func (a *action) allowLock(act policy.Action, l deploy.Lock, appTeam deploy.Team) error {
	switch l.Kind {
	case deploy.LockApp:
		return a.allow(act, l.Env, l.App, appTeam)
	case deploy.LockTeam:
		return a.allow(act, l.Env, "", l.Team)
	}
	return a.allow(act, l.Env, "", "")
}
