package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	"kuberpult/deploy"
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

// Fire runs a scheduler event: the announcement or the departure of a scheduled train, as
// the train's system actor, with one request key per announcement and per departure, so
// that a restart or a second process does nothing twice.
func (h *Handler) Fire(ctx context.Context, e train.Event, fence *deploy.Lease) Result {
	if e.Kind == train.WindowClosed {
		r := Request{Actor: deploy.System, Via: deploy.ViaScheduler, Fence: fence,
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
	r := Request{Actor: t.Actor(), Via: deploy.ViaScheduler, Key: key, Fence: fence}
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
