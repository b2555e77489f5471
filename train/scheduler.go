package train

import (
	"context"
	"time"

	"kuberpult/deploy"
	"kuberpult/policy"
	"kuberpult/schedule"
)

// Scheduled is a release train that departs on a schedule, announced before it leaves.
type Scheduled struct {
	Name     string
	Target   string      // an environment or a group
	Team     deploy.Team // "" for all teams
	Schedule schedule.Cron
	// AnnounceBefore is how long before each departure it is announced; a departure that
	// was missed (Kuberpult was down) still leaves within as long after its time.
	AnnounceBefore time.Duration
	Channel        string // where it is announced; "" for the target's team channels
	Approval       string // a role one of whose holders must approve each departure; "" for none
}

// MinCatchUp is how late a departure may still leave when it announces less than this
// before (a scheduler that was busy or a process restarting is not a missed train).
const MinCatchUp = time.Minute

// CatchUp is how long after its time a departure may still leave.
func (s Scheduled) CatchUp() time.Duration { return max(s.AnnounceBefore, MinCatchUp) }

// Actor is who a scheduled train's departures act as.
func (s Scheduled) Actor() deploy.Actor {
	return deploy.Actor{Kind: deploy.ActorSystem, ID: "train:" + s.Name, Name: "train:" + s.Name, Email: deploy.System.Email}
}

// Last returns the latest departure at or before t that is less than within before it.
func (s Scheduled) Last(t time.Time, within time.Duration) (time.Time, bool) {
	var last time.Time
	for slot := s.Schedule.Next(t.Add(-within)); !slot.IsZero() && !slot.After(t); slot = s.Schedule.Next(slot) {
		last = slot
	}
	return last, !last.IsZero()
}

// EventKind is what the scheduler asks for at a time.
type EventKind string

const (
	Announce     EventKind = "announce"      // announce the departure at Slot (AnnounceBefore before it)
	Depart       EventKind = "depart"        // the departure at Slot is due (or due now that the windows over it closed)
	WindowClosed EventKind = "window-closed" // window Window closed at Slot: what it held may go
)

// Event is one thing the scheduler asks for: announce or depart train Train's departure at
// Slot, or catch up after window Window closed at Slot ("*": after a start, whichever closed
// while Kuberpult was down).
type Event struct {
	Kind   EventKind
	Train  string
	Window string
	Slot   time.Time
}

// Scheduler fires the announcements and departures of scheduled trains, and the closing of
// windows, at their times. It keeps no state that matters: every event is idempotent where
// it is handled (one request key per departure), so a restart, a second process or a late
// wake-up does nothing twice.
type Scheduler struct {
	Trains []Scheduled
	// Windows stop trains: a departure that falls into a window open on its target leaves
	// when the windows close. Envs resolve the windows' and trains' targets.
	Windows policy.Windows
	Envs    deploy.Environments
	Now     func() time.Time
	// Fire handles an event; it is called from Run's goroutine, one event at a time.
	Fire func(ctx context.Context, e Event)
	// Lookback is how far back Run looks, when it starts, for a departure that is over
	// but may not have been handled (Kuberpult was down): the latest one of each train
	// within it is fired, and its handler runs it or reports it as missed. Default 24h.
	Lookback time.Duration
	// Wake bounds how long Run sleeps, so that a wall clock that jumps (a suspended
	// machine, a clock step) is noticed. Default a minute.
	Wake time.Duration
}

// Leaves is when a departure at slot of t leaves: at slot, or when the windows open on t's
// target at slot have closed.
func Leaves(t Scheduled, ws policy.Windows, envs deploy.Environments, slot time.Time) time.Time {
	if len(ws) == 0 {
		return slot
	}
	return ws.ClosedFrom(envs, Targets(envs, t.Target), slot)
}

// Run fires events until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	lookback, wake := s.Lookback, s.Wake
	if lookback <= 0 {
		lookback = 24 * time.Hour
	}
	if wake <= 0 {
		wake = time.Minute
	}
	type departure struct {
		slot, leave time.Time
		announced   bool
	}
	start := s.Now()
	deps := make([]departure, len(s.Trains))
	next := func(t Scheduled, after time.Time) departure {
		slot := t.Schedule.Next(after)
		if slot.IsZero() {
			return departure{}
		}
		return departure{slot: slot, leave: Leaves(t, s.Windows, s.Envs, slot)}
	}
	for i, t := range s.Trains {
		deps[i] = next(t, start)
		if last, ok := t.Last(start, lookback); ok {
			// Over, or waiting for windows to close: handed over when it leaves (at once
			// when that is past); its handler runs it or reports it as missed.
			deps[i] = departure{slot: last, leave: Leaves(t, s.Windows, s.Envs, last), announced: true}
		}
	}
	closes := make([]time.Time, len(s.Windows))
	for i, w := range s.Windows {
		closes[i] = closing(w, start)
	}
	if len(s.Windows) > 0 {
		s.Fire(ctx, Event{Kind: WindowClosed, Window: "*", Slot: start})
	}
	for ctx.Err() == nil {
		now := s.Now()
		var due time.Time
		soon := func(at time.Time) {
			if !at.IsZero() && (due.IsZero() || at.Before(due)) {
				due = at
			}
		}
		fired := false
		for i, t := range s.Trains {
			d := &deps[i]
			if d.slot.IsZero() {
				continue // a schedule that never matches
			}
			if at := d.slot.Add(-t.AnnounceBefore); !d.announced && !now.Before(at) {
				s.Fire(ctx, Event{Kind: Announce, Train: t.Name, Slot: d.slot})
				d.announced, fired = true, true
			}
			if !now.Before(d.leave) {
				s.Fire(ctx, Event{Kind: Depart, Train: t.Name, Slot: d.slot})
				*d, fired = next(t, d.slot), true
				continue
			}
			if !d.announced {
				soon(d.slot.Add(-t.AnnounceBefore))
			}
			soon(d.leave)
		}
		for i, w := range s.Windows {
			if closes[i].IsZero() {
				continue
			}
			if !now.Before(closes[i]) {
				s.Fire(ctx, Event{Kind: WindowClosed, Window: w.Name, Slot: closes[i]})
				closes[i], fired = closing(w, closes[i]), true
				continue
			}
			soon(closes[i])
		}
		if fired {
			continue // the events took time: look again
		}
		wait := wake
		if !due.IsZero() {
			wait = min(wake, max(due.Sub(now), 0))
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
		case <-timer.C:
		}
	}
	return nil
}

// closing is the first time after t (or at it) when w closes: the end of its opening at t,
// else of its next one; zero when it never opens again.
func closing(w policy.Window, t time.Time) time.Time {
	if until, open := w.Open(t); open {
		return until
	}
	_, until := w.Next(t)
	return until
}
