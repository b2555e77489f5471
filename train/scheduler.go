package train

import (
	"context"
	"time"

	"kuberpult/deploy"
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
	Announce EventKind = "announce" // announce the departure at Slot (AnnounceBefore before it)
	Depart   EventKind = "depart"   // the departure at Slot is due
)

// Event is one thing the scheduler asks for: announce or depart train Train's departure at Slot.
type Event struct {
	Kind  EventKind
	Train string
	Slot  time.Time
}

// Scheduler fires the announcements and departures of scheduled trains at their times. It
// keeps no state that matters: every event is idempotent where it is handled (one request
// key per departure), so a restart, a second process or a late wake-up does nothing twice.
type Scheduler struct {
	Trains []Scheduled
	Now    func() time.Time
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

// Run fires events until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	lookback, wake := s.Lookback, s.Wake
	if lookback <= 0 {
		lookback = 24 * time.Hour
	}
	if wake <= 0 {
		wake = time.Minute
	}
	type next struct {
		slot      time.Time
		announced bool
	}
	start := s.Now()
	nexts := make([]next, len(s.Trains))
	for i, t := range s.Trains {
		if last, ok := t.Last(start, lookback); ok {
			s.Fire(ctx, Event{Kind: Depart, Train: t.Name, Slot: last})
		}
		nexts[i] = next{slot: t.Schedule.Next(start)}
	}
	for ctx.Err() == nil {
		now := s.Now()
		var due time.Time
		fired := false
		for i, t := range s.Trains {
			n := &nexts[i]
			if n.slot.IsZero() {
				continue // a schedule that never matches
			}
			if at := n.slot.Add(-t.AnnounceBefore); !n.announced && !now.Before(at) {
				s.Fire(ctx, Event{Kind: Announce, Train: t.Name, Slot: n.slot})
				n.announced, fired = true, true
			}
			if !now.Before(n.slot) {
				s.Fire(ctx, Event{Kind: Depart, Train: t.Name, Slot: n.slot})
				*n, fired = next{slot: t.Schedule.Next(n.slot)}, true
				continue
			}
			at := n.slot
			if !n.announced {
				at = n.slot.Add(-t.AnnounceBefore)
			}
			if due.IsZero() || at.Before(due) {
				due = at
			}
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
