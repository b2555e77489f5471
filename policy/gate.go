package policy

import (
	"time"

	"kuberpult/deploy"
)

// Verdict is what the gate says about one deployment.
type Verdict string

const (
	// Allow: deploy now. Locks the actor confirmed are in Decision.Locks (ignored).
	Allow Verdict = "allow"
	// Held: automation stops here; the attempt is recorded as held by Decision.HeldBy.
	Held Verdict = "held"
	// Confirm: a person deploys by hand and locks stand in the way: ask first.
	Confirm Verdict = "confirm"
	// Deny: not allowed; Decision.Err says why.
	Deny Verdict = "deny"
)

// Attempt is a deployment someone (or something) wants to make now.
type Attempt struct {
	Env deploy.Env
	App deploy.App
	// Team owns App ("" for none); team locks of this team apply.
	Team deploy.Team
	How  deploy.How
	// Actor is who deploys: a person or an API client is checked against the policy; the
	// system actor (an auto-deploy of a release, a scheduled train) is not.
	Actor  deploy.Actor
	Groups []string // the actor's Slack user groups
	// Force: the person has seen the locks and deploys anyway.
	Force bool
	Now   time.Time
}

// Decision is the gate's answer.
type Decision struct {
	Verdict Verdict
	// Locks are the locks that apply to the attempt: holding it (Held), in the way (Confirm),
	// or ignored by a confirmed manual deployment (Allow).
	Locks  []deploy.Lock
	HeldBy []deploy.HeldBy // Held
	Err    error           // Deny: a *deploy.Error of kind deploy.ErrDenied
}

// Gate decides, for every entry point alike, whether a deployment may happen now and how:
// permissions first, then what stands in the way. Locks stop automation (auto-deploys and
// trains are held) and make a person confirm (manual deploys and rollbacks). It is a pure
// function of the state and the attempt.
type Gate struct {
	Policy *Policy // nil allows everything
	Envs   deploy.Environments
}

// Decide applies the gate to one attempt. st must hold the locks of a.Env.
func (g Gate) Decide(st deploy.State, a Attempt) Decision {
	if a.Actor.Kind != deploy.ActorSystem {
		sc := Scope{Env: a.Env, Group: g.Envs.GroupOf(a.Env), App: a.App, Team: a.Team}
		if err := g.Policy.Check(SubjectOf(a.Actor, a.Groups...), DeployRelease, sc); err != nil {
			return Decision{Verdict: Deny, Err: err}
		}
	}
	var locks []deploy.Lock
	for _, l := range st.Locks {
		if l.Applies(a.Env, a.App, a.Team) {
			locks = append(locks, l)
		}
	}
	deploy.SortLocks(locks)
	if len(locks) == 0 {
		return Decision{Verdict: Allow}
	}
	switch a.How {
	case deploy.HowAuto, deploy.HowTrain:
		h := deploy.HeldByLocks(a.Env, a.App, 0, a.How, locks, a.Now)
		return Decision{Verdict: Held, Locks: locks, HeldBy: h.By}
	}
	if a.Force {
		return Decision{Verdict: Allow, Locks: locks}
	}
	return Decision{Verdict: Confirm, Locks: locks}
}
