package policy

import (
	"fmt"
	"strings"
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
	// NeedsReason: a window with override confirm is open; a person deploys with a reason.
	NeedsReason Verdict = "needs-reason"
	// NeedsApproval: a window with override approval is open; the deploy waits for someone
	// with the window's approvers role.
	NeedsApproval Verdict = "needs-approval"
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
	// Action is the permission the attempt needs; default DeployRelease.
	Action Action
	// Force: the person has seen the locks and deploys anyway.
	Force bool
	// Reason is why a person deploys; inside a window with override confirm it is required.
	Reason string
	// Approved: someone with the approvers role approved it (a window with override approval).
	Approved bool
	Now      time.Time
}

// Decision is the gate's answer.
type Decision struct {
	Verdict Verdict
	// Locks are the locks that apply to the attempt: holding it (Held), in the way (Confirm),
	// or ignored by a confirmed manual deployment (Allow).
	Locks  []deploy.Lock
	HeldBy []deploy.HeldBy // Held
	Err    error           // Deny: a *deploy.Error of kind deploy.ErrDenied
	// Windows are the windows open on the attempt's environment, the strictest first:
	// holding it (Held), deciding the verdict (Deny, NeedsReason, NeedsApproval), or
	// confirmed with a reason (Allow).
	Windows []OpenWindow
}

// Held is the held attempt of an automated deployment of version v that the gate held.
func (d Decision) Held(a Attempt, v deploy.Version) deploy.Held {
	var h deploy.Held
	if len(d.Locks) > 0 {
		h = deploy.HeldByLocks(a.Env, a.App, v, a.How, d.Locks, a.Now)
	} else {
		h = deploy.Held{Env: a.Env, App: a.App, Version: v, How: a.How, Time: a.Now}
	}
	for _, w := range d.Windows {
		h.By = append(h.By, deploy.HeldBy{Kind: deploy.HeldByWindow, Window: w.Name, Until: w.Until})
	}
	if len(d.Locks) == 0 && len(d.Windows) > 0 {
		w := d.Windows[0]
		h.Reason = fmt.Sprintf("%s of %s %s to %s held by window %s until %s", howText(a.How), a.App, v, a.Env, w.Name, w.When())
	}
	return h
}

func howText(h deploy.How) string {
	if h == deploy.HowTrain {
		return "train deployment"
	}
	return "auto-deploy"
}

// Gate decides, for every entry point alike, whether a deployment may happen now and how:
// permissions first, then what stands in the way. Locks stop automation (auto-deploys and
// trains are held) and make a person confirm (manual deploys and rollbacks). It is a pure
// function of the state and the attempt.
type Gate struct {
	Policy  *Policy // nil allows everything
	Envs    deploy.Environments
	Windows Windows
}

// Decide applies the gate to one attempt. st must hold the locks of a.Env.
func (g Gate) Decide(st deploy.State, a Attempt) Decision {
	if a.Actor.Kind != deploy.ActorSystem {
		sc := Scope{Env: a.Env, Group: g.Envs.GroupOf(a.Env), App: a.App, Team: a.Team}
		action := a.Action
		if action == "" {
			action = DeployRelease
		}
		if err := g.Policy.Check(SubjectOf(a.Actor, a.Groups...), action, sc); err != nil {
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
	open := g.Windows.At(g.Envs, a.Env, a.Now)
	switch a.How {
	case deploy.HowAuto, deploy.HowTrain:
		if len(locks) == 0 && len(open) == 0 {
			return Decision{Verdict: Allow}
		}
		d := Decision{Verdict: Held, Locks: locks, Windows: open}
		d.HeldBy = d.Held(a, 0).By
		return d
	}
	if len(open) > 0 {
		w := open[0]
		switch w.Override {
		case OverrideDeny:
			return Decision{Verdict: Deny, Windows: open, Locks: locks, Err: deploy.Deniedf(
				"%s is in window %s until %s: deployments wait until it closes", a.Env, w.Name, w.When())}
		case OverrideApproval:
			if !a.Approved {
				return Decision{Verdict: NeedsApproval, Windows: open, Locks: locks}
			}
		default:
			if strings.TrimSpace(a.Reason) == "" {
				return Decision{Verdict: NeedsReason, Windows: open, Locks: locks}
			}
		}
	}
	if len(locks) == 0 {
		return Decision{Verdict: Allow, Windows: open}
	}
	if a.Force {
		return Decision{Verdict: Allow, Locks: locks, Windows: open}
	}
	return Decision{Verdict: Confirm, Locks: locks, Windows: open}
}
