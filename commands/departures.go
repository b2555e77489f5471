package commands

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"kuberpult/deploy"
	"kuberpult/policy"
	"kuberpult/train"
)

// The verbs of scheduled trains. People hold, unhold and approve a departure; the scheduler
// announces and departs (Announce and Depart are not part of the command language: they
// come from the scheduler only, with one request key per departure).

// Hold holds the next departure of a scheduled train (or, with App, holds the app out of
// it: an app lock on the train's target that the departure removes). Slot names the
// departure exactly (a button carries it); zero means the next one.
type Hold struct {
	Train  string
	App    deploy.App
	Reason string
	Slot   time.Time
}

// Unhold undoes a Hold.
type Unhold struct {
	Train string
	App   deploy.App
	Slot  time.Time
}

// Approve approves an approval request (ID), or the next departure of a train that needs an
// approval (Train, and Slot for an exact one).
type Approve struct {
	ID    string
	Train string
	Slot  time.Time
}

// Trains lists the scheduled trains.
type Trains struct{}

// Announce announces a departure: its prognosis is computed and the departure recorded.
type Announce struct {
	Train string
	Slot  time.Time
}

// Depart runs a departure that is due: not when it is held, not approved or too late.
type Depart struct {
	Train string
	Slot  time.Time
}

func (Hold) verb() string     { return "hold" }
func (Unhold) verb() string   { return "unhold" }
func (Approve) verb() string  { return "approve" }
func (Trains) verb() string   { return "trains" }
func (Announce) verb() string { return "announce" }
func (Depart) verb() string   { return "depart" }

// TrainDeparture is one departure of a scheduled train, with what its card shows.
type TrainDeparture struct {
	deploy.Departure
	Target   string        `json:"target"`
	Team     deploy.Team   `json:"team,omitempty"`
	Approval string        `json:"approvalRole,omitempty"` // the role that approves; "" for none
	Channel  string        `json:"channel,omitempty"`      // where it is announced ("": the teams' channels)
	Zone     string        `json:"zone,omitempty"`         // the schedule's time zone
	Before   time.Duration `json:"before,omitempty"`       // how long before the slot it is announced
	// Leaves is when it leaves, when windows open on the target at the slot delay it.
	Leaves time.Time `json:"leaves,omitzero"`
}

// TrainRow is one scheduled train in the `trains` listing.
type TrainRow struct {
	Name     string        `json:"name"`
	Target   string        `json:"target"`
	Team     deploy.Team   `json:"team,omitempty"`
	Schedule string        `json:"schedule"` // the cron spec
	Zone     string        `json:"zone"`
	Before   time.Duration `json:"before"`
	Approval string        `json:"approval,omitempty"`
	Next     time.Time     `json:"next"` // the next departure (zero: the spec never matches)
	// Upcoming is what is recorded of the next departure (held, approved, announced); nil
	// when nothing is yet. Last is the latest departure that is over.
	Upcoming *deploy.Departure `json:"upcoming,omitempty"`
	Last     *deploy.Departure `json:"last,omitempty"`
}

// scheduled returns the scheduled train of that name.
func (h *Handler) scheduled(name string) (train.Scheduled, error) {
	for _, t := range h.trains {
		if t.Name == name {
			return t, nil
		}
	}
	if len(h.trains) == 0 {
		return train.Scheduled{}, deploy.NotFoundf("no scheduled train %q: none is configured (trains in the config)", name)
	}
	names := make([]string, len(h.trains))
	for i, t := range h.trains {
		names[i] = t.Name
	}
	msg := fmt.Sprintf("no scheduled train %q", name)
	if s := suggest(name, names); s != "" {
		msg += fmt.Sprintf(" (did you mean `%s`?)", s)
	}
	return train.Scheduled{}, deploy.NotFoundf("%s; trains: %s", msg, strings.Join(names, ", "))
}

// departure reads what is recorded of a departure, or starts its record.
func departure(ctx context.Context, v deploy.View, t train.Scheduled, slot time.Time) (deploy.Departure, bool, error) {
	d, ok, err := v.Departure(ctx, t.Name, slot)
	if err != nil || ok {
		return d, ok, err
	}
	return deploy.Departure{Train: t.Name, Slot: slot.UTC(), State: deploy.DepartureScheduled}, false, nil
}

func (a *action) trainDeparture(t train.Scheduled, d deploy.Departure) *TrainDeparture {
	td := &TrainDeparture{Departure: d, Target: t.Target, Team: t.Team, Approval: t.Approval, Channel: t.Channel,
		Zone: t.Schedule.Location().String(), Before: t.AnnounceBefore}
	if leaves := train.Leaves(t, a.h.gate.Windows, a.h.envs, d.Slot); !leaves.Equal(d.Slot) {
		td.Leaves = leaves.UTC()
	}
	return td
}

// upcoming resolves the departure a person means: the one at slot, which must be a
// departure of the train that has not left, or the next one.
func (a *action) upcoming(t train.Scheduled, slot time.Time) (time.Time, error) {
	if slot.IsZero() {
		next := t.Schedule.Next(a.now)
		if next.IsZero() {
			return time.Time{}, deploy.Invalidf("train %s never departs (schedule %q)", t.Name, t.Schedule.String())
		}
		return next.UTC(), nil
	}
	if !t.Schedule.Next(slot.Add(-time.Nanosecond)).Equal(slot) {
		return time.Time{}, deploy.Invalidf("train %s does not depart at %s (schedule %q)", t.Name, slot.UTC().Format(time.RFC3339), t.Schedule.String())
	}
	if !slot.After(a.now) {
		return time.Time{}, deploy.Conflictf("the departure of train %s at %s is over", t.Name, clock(slot, t))
	}
	return slot.UTC(), nil
}

// clock shows a departure time on the train's wall clock.
func clock(slot time.Time, t train.Scheduled) string {
	return slot.In(t.Schedule.Location()).Format("Mon 2 Jan 15:04 MST")
}

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

func (a *action) announce(ctx context.Context, v deploy.View, c Announce) (Result, deploy.Change, error) {
	t, err := a.h.scheduled(c.Train)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	a.env = deploy.Env(t.Target)
	d, _, err := departure(ctx, v, t, c.Slot)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	if d.State != deploy.DepartureScheduled {
		return Result{Outcome: deploy.OutcomeNoop, Departure: a.trainDeparture(t, d)}, deploy.Change{}, nil
	}
	p, _, err := a.plan(ctx, v, Train{Target: t.Target, Team: t.Team})
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	d.State = deploy.DepartureAnnounced
	var change deploy.Change
	if t.Approval != "" && d.ApprovedBy == nil && d.Approval == "" {
		// An approval request like every other, for the departure: `approve <id>`.
		id, err := a.freeApprovalID(ctx, v)
		if err != nil {
			return Result{}, deploy.Change{}, err
		}
		d.Approval = id
		change.Approvals = []deploy.Approval{{ID: id, Command: Format(Approve{Train: t.Name, Slot: d.Slot}), Env: deploy.Env(t.Target),
			RequestedBy: t.Actor(), RequestedAt: a.now, Expires: train.Leaves(t, a.h.gate.Windows, a.h.envs, d.Slot),
			Approvers: t.Approval, State: deploy.ApprovalPending}}
	}
	res := Result{Outcome: deploy.OutcomeDone, Train: &p, DryRun: true, Targets: train.Targets(a.h.envs, t.Target),
		Departure: a.trainDeparture(t, d)}
	change.Departures = []deploy.Departure{d}
	return res, change, nil
}

func (a *action) depart(ctx context.Context, v deploy.View, c Depart) (Result, deploy.Change, error) {
	t, err := a.h.scheduled(c.Train)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	a.env = deploy.Env(t.Target)
	d, known, err := departure(ctx, v, t, c.Slot)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	if d.State.Final() {
		return Result{Outcome: deploy.OutcomeNoop, Departure: a.trainDeparture(t, d)}, deploy.Change{}, nil
	}
	leaves := train.Leaves(t, a.h.gate.Windows, a.h.envs, c.Slot)
	if a.now.Before(leaves) {
		// A window open on the target holds it: it leaves when the window closes.
		return Result{Outcome: deploy.OutcomeNoop, Departure: a.trainDeparture(t, d)}, deploy.Change{}, nil
	}
	var res Result
	var change deploy.Change
	switch {
	case a.now.After(leaves.Add(t.CatchUp())):
		if !known {
			// Nothing was recorded of this train before: it is new here (a first start,
			// a train added to the config), not a train that was missed.
			earlier, err := v.Departures(ctx, t.Name, 1)
			if err != nil {
				return Result{}, deploy.Change{}, err
			}
			if len(earlier) == 0 {
				return Result{Outcome: deploy.OutcomeNoop}, deploy.Change{}, nil
			}
		}
		d.State, d.Note = deploy.DepartureMissed, fmt.Sprintf("missed: Kuberpult was not running at %s (a departure leaves up to %s late)",
			clock(c.Slot, t), t.CatchUp())
		res.Outcome = deploy.OutcomeNoop
	case d.HeldBy != nil:
		d.State, d.Note = deploy.DepartureNotRun, "held by "+d.HeldBy.Display()
		if d.HoldReason != "" {
			d.Note += ": " + d.HoldReason
		}
		res.Outcome = deploy.OutcomeNoop
	case t.Approval != "" && d.ApprovedBy == nil:
		d.State, d.Note = deploy.DepartureNotRun, "not approved: nobody with role "+t.Approval+" approved it"
		res.Outcome = deploy.OutcomeNoop
	default:
		res, change, err = a.train(ctx, v, Train{Target: t.Target, Team: t.Team})
		if err != nil {
			return Result{}, deploy.Change{}, err
		}
		d.State = deploy.DepartureDeparted
		d.Note = fmt.Sprintf("%d deployment(s), %d skipped", len(res.Deployed), len(skips(res.Train)))
	}
	// An approval request nobody decided ends with the departure.
	if ap, ok, err := v.Approval(ctx, d.Approval); err != nil {
		return Result{}, deploy.Change{}, err
	} else if ok && ap.State == deploy.ApprovalPending {
		ap.State, ap.DecidedAt, ap.Note = deploy.ApprovalExpired, a.now, "the departure went by without it"
		change.Approvals = append(change.Approvals, ap)
	}
	// The apps held out of this departure go back to normal, whatever happened.
	for _, h := range d.HeldApps {
		for _, env := range train.Targets(a.h.envs, t.Target) {
			change.DeleteLocks = append(change.DeleteLocks, deploy.LockKey{Kind: deploy.LockApp, ID: h.Lock, Env: env, App: h.App})
		}
	}
	res.Targets = train.Targets(a.h.envs, t.Target)
	res.Departure = a.trainDeparture(t, d)
	change.Departures = append(change.Departures, d)
	return res, change, nil
}

func skips(p *train.Plan) []train.AppPlan {
	if p == nil {
		return nil
	}
	var out []train.AppPlan
	for _, e := range p.Envs {
		for _, ap := range e.Apps {
			if ap.Skip != "" {
				out = append(out, ap)
			}
		}
	}
	return out
}

// listTrains answers `trains`: each schedule, its next departure and what is recorded of it,
// and how the latest one ended.
func (a *action) listTrains(ctx context.Context, v deploy.View) (Result, error) {
	rows := make([]TrainRow, 0, len(a.h.trains))
	for _, t := range a.h.trains {
		row := TrainRow{Name: t.Name, Target: t.Target, Team: t.Team, Schedule: t.Schedule.String(),
			Zone: t.Schedule.Location().String(), Before: t.AnnounceBefore, Approval: t.Approval}
		recent, err := v.Departures(ctx, t.Name, 3)
		if err != nil {
			return Result{}, err
		}
		// The next departure is the first one after now, unless one that is due is still
		// on its way (announced, not yet over).
		row.Next = t.Schedule.Next(a.now).UTC()
		for i := range recent {
			d := recent[i]
			switch {
			case !d.State.Final() && !d.Slot.After(a.now) && !a.now.After(d.Slot.Add(t.CatchUp())):
				row.Next, row.Upcoming = d.Slot, &d
			case !d.State.Final() && d.Slot.Equal(row.Next):
				row.Upcoming = &d
			case d.State.Final() && row.Last == nil:
				row.Last = &d
			}
		}
		rows = append(rows, row)
	}
	return Result{Outcome: deploy.OutcomeDone, Trains: rows}, nil
}

// Fire runs a scheduler event: the announcement or the departure of a scheduled train, as
// the train's system actor, with one request key per announcement and per departure, so
// that a restart or a second process does nothing twice.
func (h *Handler) Fire(ctx context.Context, e train.Event) Result {
	if e.Kind == train.WindowClosed {
		r := Request{Actor: deploy.System, Via: deploy.ViaScheduler,
			Key: "catch-up:" + e.Window + ":" + e.Slot.UTC().Format(time.RFC3339)}
		return h.Run(ctx, r, CatchUp{Window: e.Window, At: e.Slot.UTC()})
	}
	t, err := h.scheduled(e.Train)
	if err != nil {
		return h.refused(ctx, Request{Actor: deploy.System, Via: deploy.ViaScheduler}, string(e.Kind), err)
	}
	var cmd Command = Depart{Train: e.Train, Slot: e.Slot.UTC()}
	key := string(e.Kind) + ":" + e.Train + ":" + e.Slot.UTC().Format(time.RFC3339)
	switch e.Kind {
	case train.Announce:
		cmd = Announce{Train: e.Train, Slot: e.Slot.UTC()}
	}
	r := Request{Actor: t.Actor(), Via: deploy.ViaScheduler, Key: key}
	if e.Kind == train.Depart && h.now().Before(train.Leaves(t, h.gate.Windows, h.envs, e.Slot)) {
		// Windows open on the target hold it: said, not recorded, so that it leaves with
		// this key when they have closed.
		return h.query(ctx, r, cmd)
	}
	return h.Run(ctx, r, cmd)
}

// waiting answers a departure that windows still hold, without recording anything.
func (a *action) waiting(ctx context.Context, v deploy.View, c Depart) (Result, error) {
	t, err := a.h.scheduled(c.Train)
	if err != nil {
		return Result{}, err
	}
	a.env = deploy.Env(t.Target)
	d, _, err := departure(ctx, v, t, c.Slot)
	if err != nil {
		return Result{}, err
	}
	return Result{Outcome: deploy.OutcomeNoop, Departure: a.trainDeparture(t, d)}, nil
}
