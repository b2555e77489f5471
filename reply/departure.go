package reply

import (
	"fmt"
	"strings"
	"time"

	"kuberpult/commands"
	"kuberpult/deploy"
)

// DepartureTime shows a departure's time on its train's wall clock, or in zone when given
// (the viewer's).
func DepartureTime(t time.Time, zone string) string {
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" {
		loc = time.UTC
	}
	return t.In(loc).Format("Mon 2 Jan 15:04 MST")
}

// Until says how far away t is from now: "in 25m", "in 3h10m", "2m ago".
func Until(t, now time.Time) string {
	d := t.Sub(now).Round(time.Minute)
	past := d < 0
	if past {
		d = -d
	}
	s := strings.TrimSuffix(d.String(), "0s")
	if d < time.Minute {
		s = "<1m"
	}
	if h := d / time.Hour; h >= 48 {
		s = fmt.Sprintf("%dd", h/24)
	}
	if past {
		return s + " ago"
	}
	return "in " + s
}

// DepartureStatus is what people did about a departure, one line each: held, apps held out,
// approved or still waiting for an approval, and how it ended.
func DepartureStatus(d *commands.TrainDeparture) []string {
	var out []string
	if d.HeldBy != nil {
		s := "✋ Held by " + d.HeldBy.Display()
		if d.HoldReason != "" {
			s += ": " + d.HoldReason
		}
		out = append(out, s)
	}
	for _, h := range d.HeldApps {
		out = append(out, fmt.Sprintf("✋ %s held out by %s (lock %s until it has left)", h.App, h.By.Display(), h.Lock))
	}
	switch {
	case d.Approval == "":
	case d.ApprovedBy != nil:
		out = append(out, "✅ Approved by "+d.ApprovedBy.Display())
	case !d.State.Final():
		out = append(out, fmt.Sprintf("⏳ Needs an approval by someone with role %s before it leaves", d.Approval))
	}
	switch d.State {
	case deploy.DepartureNotRun:
		out = append(out, "⛔ Did not depart: "+d.Note)
	case deploy.DepartureMissed:
		out = append(out, "⚠️ "+capitalize(d.Note))
	}
	return out
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// departureText renders hold, unhold, approve, announce and depart.
func departureText(r commands.Result) string {
	d := r.Departure
	if d == nil {
		return string(r.Outcome)
	}
	when := fmt.Sprintf("train %s (%s)", d.Train, DepartureTime(d.Slot, d.Zone))
	noop := r.Outcome == deploy.OutcomeNoop
	var s string
	switch r.Verb {
	case "hold":
		switch {
		case r.App != "" && noop:
			s = fmt.Sprintf("%s is held out of %s already.", r.App, when)
		case r.App != "":
			s = fmt.Sprintf("✋ %s stays out of %s: app lock %s on %s until it has left. `unhold %s for train %s` undoes it.",
				r.App, when, lockIDOf(r), joinEnvs(r.Targets), r.App, d.Train)
		case noop:
			s = fmt.Sprintf("%s is held already, by %s.", capitalize(when), d.HeldBy.Display())
		default:
			s = fmt.Sprintf("✋ Held %s: it will not depart. `unhold train %s` undoes it.", when, d.Train)
		}
	case "unhold":
		switch {
		case r.App != "" && noop:
			s = fmt.Sprintf("%s was not held out of %s; nothing to do.", r.App, when)
		case r.App != "":
			s = fmt.Sprintf("▶️ %s goes with %s again.", r.App, when)
		case noop:
			s = fmt.Sprintf("%s is not held; nothing to do.", capitalize(when))
		default:
			s = fmt.Sprintf("▶️ %s is no longer held.", capitalize(when))
		}
	case "approve":
		if noop {
			s = fmt.Sprintf("%s is approved already, by %s.", capitalize(when), d.ApprovedBy.Display())
		} else {
			s = fmt.Sprintf("✅ Approved %s.", when)
		}
	case "announce":
		return AnnouncementText(r, r.At)
	case "depart":
		switch d.State {
		case deploy.DepartureDeparted:
			return fmt.Sprintf("🚂 %s departed.\n%s", capitalize(when), trainText(r))
		case deploy.DepartureNotRun:
			return fmt.Sprintf("⛔ %s did not depart: %s.", capitalize(when), d.Note)
		case deploy.DepartureMissed:
			return fmt.Sprintf("⚠️ %s was %s.", capitalize(when), d.Note)
		}
		if !d.Leaves.IsZero() {
			return fmt.Sprintf("⏰ %s waits: a window is open on %s; it leaves when it closes, %s.", capitalize(when), d.Target, DepartureTime(d.Leaves, d.Zone))
		}
		return fmt.Sprintf("%s: %s", capitalize(when), d.State)
	}
	return s
}

func lockIDOf(r commands.Result) string {
	if r.Locked != nil && len(r.Locked.Locks) > 0 {
		return r.Locked.Locks[0].ID
	}
	return ""
}

// AnnouncementText is an announcement as text: when the train leaves, its prognosis, what
// people did about it and how to hold or approve it.
func AnnouncementText(r commands.Result, now time.Time) string {
	d := r.Departure
	var b strings.Builder
	team := ""
	if d.Team != "" {
		team = " (team " + string(d.Team) + ")"
	}
	fmt.Fprintf(&b, "📣 Train %s to %s%s departs %s (%s).", d.Train, d.Target, team, DepartureTime(d.Slot, d.Zone), Until(d.Slot, now))
	if !d.Leaves.IsZero() {
		fmt.Fprintf(&b, "\n⏰ A window is open on %s then: it leaves when it closes, %s.", d.Target, DepartureTime(d.Leaves, d.Zone))
	}
	if r.Train != nil {
		b.WriteString("\n" + trainText(r))
	}
	for _, line := range DepartureStatus(d) {
		b.WriteString("\n" + line)
	}
	fmt.Fprintf(&b, "\n`hold train %s` holds it; `hold <app> for train %s` keeps an app out.", d.Train, d.Train)
	if d.Approval != "" && d.ApprovedBy == nil {
		fmt.Fprintf(&b, " `approve train %s` approves it", d.Train)
		if d.Departure.Approval != "" {
			fmt.Fprintf(&b, " (approval request %s: `approve %s`)", d.Departure.Approval, d.Departure.Approval)
		}
		b.WriteString(".")
	}
	return b.String()
}

// trainsText renders `trains`.
func trainsText(r commands.Result) string {
	if len(r.Trains) == 0 {
		return "No scheduled trains: add them under trains in the config."
	}
	rows := [][]string{{"train", "target", "schedule", "next departure", "announced", "state", "last"}}
	for _, t := range r.Trains {
		zone := t.Zone
		if r.Zone != "" {
			zone = r.Zone
		}
		target := t.Target
		if t.Team != "" {
			target += " (team " + string(t.Team) + ")"
		}
		next, announce, state := "never", "-", "scheduled"
		if !t.Next.IsZero() {
			next = DepartureTime(t.Next, zone) + " (" + Until(t.Next, r.At) + ")"
			announce = DepartureTime(t.Next.Add(-t.Before), zone)
		}
		if u := t.Upcoming; u != nil {
			state = string(u.State)
			switch {
			case u.HeldBy != nil:
				state = "held by " + u.HeldBy.Display()
			case u.ApprovedBy != nil:
				state += ", approved by " + u.ApprovedBy.Display()
			}
			if len(u.HeldApps) > 0 {
				state += ", " + plural(len(u.HeldApps), "app", "apps") + " held out"
			}
		}
		if t.Approval != "" && (t.Upcoming == nil || t.Upcoming.ApprovedBy == nil) {
			state += ", needs approval (" + t.Approval + ")"
		}
		last := "-"
		if l := t.Last; l != nil {
			last = DepartureTime(l.Slot, zone) + ": " + string(l.State)
			if l.Note != "" && l.State != deploy.DepartureMissed {
				last += " (" + l.Note + ")"
			}
		}
		rows = append(rows, []string{t.Name, target, t.Schedule + " " + t.Zone, next, announce, state, last})
	}
	var b strings.Builder
	writeTable(&b, rows)
	return strings.TrimRight(b.String(), "\n")
}

// windowsListText renders `windows`.
func windowsListText(r commands.Result) string {
	if len(r.WindowList) == 0 {
		return "No windows: add them under windows in the config (peak hours, freezes)."
	}
	rows := [][]string{{"window", "environments", "when", "override", "now"}}
	for _, w := range r.WindowList {
		zone := w.Zone
		if r.Zone != "" {
			zone = r.Zone
		}
		override := string(w.Override)
		if w.Approvers != "" {
			override += " (" + w.Approvers + ")"
		}
		state := "never opens again"
		switch {
		case w.Open:
			state = "⏰ open until " + DepartureTime(w.Until, zone) + " (" + Until(w.Until, r.At) + ")"
		case !w.From.IsZero():
			state = "next " + DepartureTime(w.From, zone) + " – " + DepartureTime(w.Until, zone)
		}
		rows = append(rows, []string{w.Name, strings.Join(w.Targets, ", "), w.When + " " + w.Zone, override, state})
	}
	var b strings.Builder
	writeTable(&b, rows)
	return strings.TrimRight(b.String(), "\n")
}

// catchUpText renders what the scheduler deployed when windows closed.
func catchUpText(r commands.Result) string {
	var b strings.Builder
	if len(r.Deployed) == 0 {
		b.WriteString("⏰ Windows closed; nothing they held can go yet.")
	} else {
		parts := make([]string, len(r.Deployed))
		for i, d := range r.Deployed {
			parts[i] = fmt.Sprintf("%s %s → %s", d.App, d.To, d.Env)
		}
		fmt.Fprintf(&b, "⏰ A window closed: deployed what it held back, %s.", strings.Join(parts, ", "))
	}
	for _, h := range r.Held {
		fmt.Fprintf(&b, "\nStill held: %s", h.Reason)
	}
	return b.String()
}

// approvalText renders an approval request, and what approve or reject did with one.
func approvalText(r commands.Result) string {
	ap := r.Approval
	when := func(t time.Time) string { return DepartureTime(t, r.Zone) }
	switch {
	case r.Outcome == deploy.OutcomePending:
		until := ""
		if !ap.Until.IsZero() {
			until = " (until " + when(ap.Until) + ")"
		}
		return fmt.Sprintf("⏳ %s is inside window %s%s: `%s` needs an approval by someone with role %s other than you.\n"+
			"Approval request %s (expires %s): `approve %s` or `reject %s`.",
			ap.Env, strings.Join(ap.Windows, ", "), until, ap.Command, ap.Approvers, ap.ID, when(ap.Expires), ap.ID, ap.ID)
	case ap.State == deploy.ApprovalExpired:
		return fmt.Sprintf("⌛ Approval request %s (`%s` by %s) expired at %s; nothing was done. Ask again if it is still needed.",
			ap.ID, ap.Command, ap.RequestedBy.Display(), when(ap.Expires))
	case ap.State == deploy.ApprovalRejected && ap.Note == "withdrawn by the requester":
		return fmt.Sprintf("↩ Withdrew approval request %s (`%s`); nothing was done.", ap.ID, ap.Command)
	case ap.State == deploy.ApprovalRejected:
		return fmt.Sprintf("🚫 Rejected approval request %s (`%s` by %s); nothing was done.", ap.ID, ap.Command, ap.RequestedBy.Display())
	case ap.State == deploy.ApprovalApproved:
		inner := r
		inner.Verb, inner.Approval = "deploy", nil
		if inner.RolledBack != nil {
			inner.Verb = "rollback"
		}
		return fmt.Sprintf("✅ %s approved request %s (`%s` by %s):\n%s", ap.DecidedBy.Display(), ap.ID, ap.Command, ap.RequestedBy.Display(), body(inner))
	}
	inner := r // approved, but the state had moved on (stale) or it needs a confirmation
	inner.Verb, inner.Approval = "deploy", nil
	return fmt.Sprintf("Approval request %s (`%s`) is still pending:\n%s", ap.ID, ap.Command, body(inner))
}
