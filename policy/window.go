package policy

import (
	"sort"
	"time"

	"kuberpult/deploy"
	"kuberpult/schedule"
)

// Override is what a person's manual deploy does inside an open window.
type Override string

const (
	OverrideConfirm  Override = "confirm"  // goes ahead with a reason, which is recorded
	OverrideApproval Override = "approval" // goes ahead once someone with the approvers role approved it
	OverrideDeny     Override = "deny"     // refused until the window closes
)

// Valid reports whether o is one of the overrides.
func (o Override) Valid() bool {
	return o == OverrideConfirm || o == OverrideApproval || o == OverrideDeny
}

// strictness orders overrides: where windows overlap, the strictest wins.
func (o Override) strictness() int {
	switch o {
	case OverrideDeny:
		return 3
	case OverrideApproval:
		return 2
	}
	return 1
}

// Window is a time when deployments to some environments stop: automation is held until it
// closes, trains skip those environments, and a person's deploy goes by its Override.
// A weekly window opens at every Start and stays open for Duration; a one-off window (a
// freeze) is open from From until Until. Openings include their start and exclude their end.
type Window struct {
	Name      string
	Targets   []string // environments, groups, or "*" for all
	Start     schedule.Cron
	Duration  time.Duration
	From      time.Time // one-off windows: From < Until
	Until     time.Time
	Override  Override
	Approvers string         // the role that approves (OverrideApproval)
	Zone      *time.Location // the wall clock of the window (one-off windows; weekly ones: Start's)
}

// Location is the time zone the window is read in.
func (w Window) Location() *time.Location {
	switch {
	case !w.OneOff():
		return w.Start.Location()
	case w.Zone != nil:
		return w.Zone
	}
	return time.UTC
}

// OneOff reports whether w is a one-off window (a freeze) rather than a weekly one.
func (w Window) OneOff() bool { return !w.From.IsZero() }

// Covers reports whether w applies to env.
func (w Window) Covers(envs deploy.Environments, env deploy.Env) bool {
	for _, t := range w.Targets {
		if t == "*" || t == string(env) || (envs != nil && t == string(envs.GroupOf(env))) {
			return true
		}
	}
	return false
}

// maxChain bounds the openings of a weekly window chained by overlapping (a duration longer
// than the time between starts).
const maxChain = 1000

// Open reports whether w is open at t, and until when: the end of the last of a chain of
// overlapping openings.
func (w Window) Open(t time.Time) (time.Time, bool) {
	if w.OneOff() {
		return w.Until, !t.Before(w.From) && t.Before(w.Until)
	}
	if w.Duration <= 0 {
		return time.Time{}, false
	}
	s := w.Start.Next(t.Add(-w.Duration)) // the first start in (t-D, ∞)
	if s.IsZero() || s.After(t) {
		return time.Time{}, false
	}
	until := s.Add(w.Duration)
	for i := 0; i < maxChain; i++ {
		n := w.Start.Next(s)
		if n.IsZero() || n.After(until) {
			break
		}
		s, until = n, n.Add(w.Duration)
	}
	return until, true
}

// Next returns the first opening of w that starts after t (zero times when there is none).
func (w Window) Next(t time.Time) (from, until time.Time) {
	if w.OneOff() {
		if w.From.After(t) {
			return w.From, w.Until
		}
		return time.Time{}, time.Time{}
	}
	s := w.Start.Next(t)
	if s.IsZero() {
		return time.Time{}, time.Time{}
	}
	until, _ = w.Open(s)
	return s, until
}

// OpenWindow is a window that is open, and when it closes.
type OpenWindow struct {
	Name      string    `json:"name"`
	Override  Override  `json:"override"`
	Approvers string    `json:"approvers,omitempty"`
	Until     time.Time `json:"until"`
	Zone      string    `json:"zone,omitempty"` // the window's time zone, for showing Until
}

// When shows when the window closes, on its own wall clock.
func (o OpenWindow) When() string { return o.WhenIn("") }

// WhenIn shows when the window closes in time zone zone (an IANA name; "": the window's).
func (o OpenWindow) WhenIn(zone string) string {
	if zone == "" {
		zone = o.Zone
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc = time.UTC
	}
	return o.Until.In(loc).Format("Mon 2 Jan 15:04 MST")
}

// Windows are the configured windows.
type Windows []Window

// At returns the windows open on env at t, the strictest first (then the one that closes
// last).
func (ws Windows) At(envs deploy.Environments, env deploy.Env, t time.Time) []OpenWindow {
	var out []OpenWindow
	for _, w := range ws {
		if !w.Covers(envs, env) {
			continue
		}
		if until, ok := w.Open(t); ok {
			out = append(out, OpenWindow{Name: w.Name, Override: w.Override, Approvers: w.Approvers, Until: until, Zone: w.Location().String()})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Override.strictness() != b.Override.strictness() {
			return a.Override.strictness() > b.Override.strictness()
		}
		return a.Until.After(b.Until)
	})
	return out
}

// ClosedFrom returns the first time from t on when no window is open on any of envs: t itself
// when none is open then; the end of the chain of (possibly overlapping) windows otherwise.
func (ws Windows) ClosedFrom(all deploy.Environments, envs []deploy.Env, t time.Time) time.Time {
	for i := 0; i < maxChain; i++ {
		later := t
		for _, env := range envs {
			for _, o := range ws.At(all, env, t) {
				if o.Until.After(later) {
					later = o.Until
				}
			}
		}
		if !later.After(t) {
			return t
		}
		t = later
	}
	return t
}
