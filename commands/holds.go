package commands

import (
	"context"
	"fmt"
	"slices"
	"time"

	"kuberpult/deploy"
	"kuberpult/policy"
	"kuberpult/train"
)

// What people do about a scheduled departure: hold it, keep an app out of it, approve it.

// holdLockID is the id of the app locks that hold apps out of one departure.
func holdLockID(t train.Scheduled, slot time.Time) string {
	return "train-" + t.Name + "-" + slot.UTC().Format("20060102T1504Z")
}

func (a *action) hold(ctx context.Context, v deploy.View, c Hold) (Result, deploy.Change, error) {
	t, err := a.h.scheduled(c.Train)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	a.env = deploy.Env(t.Target)
	slot, err := a.upcoming(t, c.Slot)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	d, _, err := departure(ctx, v, t, slot)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	if c.App != "" {
		return a.holdApp(ctx, v, t, d, c)
	}
	envs := train.Targets(a.h.envs, t.Target)
	for _, env := range envs {
		if err := a.allowLock(policy.CreateLock, deploy.Lock{Kind: deploy.LockEnv, Env: env}, ""); err != nil {
			return Result{}, deploy.Change{}, err
		}
	}
	res := Result{Outcome: deploy.OutcomeNoop, Targets: envs}
	if d.HeldBy == nil {
		res.Outcome = deploy.OutcomeDone
		actor := a.req.Actor
		d.HeldBy, d.HeldAt, d.HoldReason = &actor, a.now, c.Reason
	}
	res.Departure = a.trainDeparture(t, d)
	if res.Outcome == deploy.OutcomeNoop {
		return res, deploy.Change{}, nil
	}
	return res, deploy.Change{Departures: []deploy.Departure{d}}, nil
}

func (a *action) holdApp(ctx context.Context, v deploy.View, t train.Scheduled, d deploy.Departure, c Hold) (Result, deploy.Change, error) {
	a.app = c.App
	for _, h := range d.HeldApps {
		if h.App == c.App {
			return Result{Outcome: deploy.OutcomeNoop, App: c.App, Departure: a.trainDeparture(t, d)}, deploy.Change{}, nil
		}
	}
	msg := fmt.Sprintf("held out of train %s (%s) by %s", t.Name, clock(d.Slot, t), a.req.Actor.Display())
	if c.Reason != "" {
		msg += ": " + c.Reason
	}
	id := holdLockID(t, d.Slot)
	res, change, err := a.lock(ctx, v, Lock{Kind: deploy.LockApp, Target: t.Target, App: c.App, Message: msg, ID: id})
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	d.HeldApps = append(d.HeldApps, deploy.HeldApp{App: c.App, By: a.req.Actor, At: a.now, Lock: id})
	res.App, res.Departure = c.App, a.trainDeparture(t, d)
	change.Departures = []deploy.Departure{d}
	return res, change, nil
}

func (a *action) unhold(ctx context.Context, v deploy.View, c Unhold) (Result, deploy.Change, error) {
	t, err := a.h.scheduled(c.Train)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	a.env, a.app = deploy.Env(t.Target), c.App
	slot, err := a.upcoming(t, c.Slot)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	d, known, err := departure(ctx, v, t, slot)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	envs := train.Targets(a.h.envs, t.Target)
	res := Result{Outcome: deploy.OutcomeNoop, Targets: envs, App: c.App}
	var change deploy.Change
	if c.App == "" {
		for _, env := range envs {
			if err := a.allowLock(policy.DeleteLock, deploy.Lock{Kind: deploy.LockEnv, Env: env}, ""); err != nil {
				return Result{}, deploy.Change{}, err
			}
		}
		if d.HeldBy != nil {
			d.HeldBy, d.HeldAt, d.HoldReason = nil, time.Time{}, ""
			res.Outcome = deploy.OutcomeDone
		}
	} else {
		i := slices.IndexFunc(d.HeldApps, func(h deploy.HeldApp) bool { return h.App == c.App })
		if i >= 0 {
			ul, uc, err := a.unlock(ctx, v, Unlock{Kind: deploy.LockApp, Target: t.Target, App: c.App, ID: d.HeldApps[i].Lock})
			if err != nil {
				return Result{}, deploy.Change{}, err
			}
			if ul.Problem != nil {
				return ul, uc, nil
			}
			change = uc
			res.Unlocked = ul.Unlocked
			d.HeldApps = slices.Delete(d.HeldApps, i, i+1)
			res.Outcome = deploy.OutcomeDone
		}
	}
	res.Departure = a.trainDeparture(t, d)
	if res.Outcome == deploy.OutcomeNoop || !known {
		return res, change, nil
	}
	change.Departures = []deploy.Departure{d}
	return res, change, nil
}

func (a *action) approve(ctx context.Context, v deploy.View, c Approve) (Result, deploy.Change, error) {
	t, err := a.h.scheduled(c.Train)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	a.env = deploy.Env(t.Target)
	if t.Approval == "" {
		return Result{}, deploy.Change{}, deploy.Invalidf("train %s departs without an approval", t.Name)
	}
	if err := a.mayApprove(t); err != nil {
		return Result{}, deploy.Change{}, err
	}
	slot, err := a.upcoming(t, c.Slot)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	d, _, err := departure(ctx, v, t, slot)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	res := Result{Outcome: deploy.OutcomeNoop, Targets: train.Targets(a.h.envs, t.Target)}
	if d.ApprovedBy == nil {
		actor := a.req.Actor
		d.ApprovedBy, d.ApprovedAt = &actor, a.now
		res.Outcome = deploy.OutcomeDone
	}
	res.Departure = a.trainDeparture(t, d)
	if res.Outcome == deploy.OutcomeNoop {
		return res, deploy.Change{}, nil
	}
	change := deploy.Change{Departures: []deploy.Departure{d}}
	// The departure's approval request is decided with it, whichever way it was approved.
	if ap, ok, err := v.Approval(ctx, d.Approval); err != nil {
		return Result{}, deploy.Change{}, err
	} else if ok && ap.State == deploy.ApprovalPending {
		ap.State, ap.DecidedBy, ap.DecidedAt = deploy.ApprovalApproved, d.ApprovedBy, a.now
		change.Approvals = append(change.Approvals, ap)
	}
	return res, change, nil
}

// mayApprove checks that the actor holds the train's approval role (any person may, without
// rbac). Nobody approves as the system or an API token: an approval is a person's.
func (a *action) mayApprove(t train.Scheduled) error {
	return a.holdsRole(t.Approval, "a departure of train "+t.Name)
}
