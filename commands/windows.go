package commands

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"kuberpult/deploy"
	"kuberpult/policy"
)

// Windows lists the windows: open ones with when they close, the others with their next
// opening.
type Windows struct{}

// CatchUp deploys what windows held back, once they have closed: the scheduler's, fired
// when a window closes (and at a start, for windows that closed while Kuberpult was down).
// Every held auto-deploy is judged by the gate again: what is free goes in one commit; what
// a lock or another window still holds stays held.
type CatchUp struct {
	Window string // the window that closed ("*": any)
	At     time.Time
}

func (Windows) verb() string { return "windows" }
func (CatchUp) verb() string { return "catch-up" }

func parseWindows(args []word) (Command, error) {
	if len(args) > 0 {
		return nil, extra(args)
	}
	return Windows{}, nil
}

// WindowRow is one window in the `windows` listing.
type WindowRow struct {
	Name      string          `json:"name"`
	Targets   []string        `json:"targets"`
	When      string          `json:"when"` // "0 9 * * MON-FRI for 2h" or "2026-12-23 – 2027-01-02"
	Zone      string          `json:"zone"`
	Override  policy.Override `json:"override"`
	Approvers string          `json:"approvers,omitempty"`
	Open      bool            `json:"open"`
	From      time.Time       `json:"from,omitzero"`  // the next opening (when not open)
	Until     time.Time       `json:"until,omitzero"` // when it closes (the open one, or the next)
}

func (a *action) listWindows() Result {
	rows := make([]WindowRow, 0, len(a.h.gate.Windows))
	for _, w := range a.h.gate.Windows {
		row := WindowRow{Name: w.Name, Targets: w.Targets, Zone: w.Location().String(), Override: w.Override, Approvers: w.Approvers}
		if w.OneOff() {
			row.When = w.From.In(w.Location()).Format("2006-01-02") + " – " + w.Until.Add(-time.Nanosecond).In(w.Location()).Format("2006-01-02")
		} else {
			row.When = w.Start.String() + " for " + strings.TrimSuffix(strings.TrimSuffix(w.Duration.String(), "0s"), "0m")
		}
		if until, open := w.Open(a.now); open {
			row.Open, row.Until = true, until
		} else {
			row.From, row.Until = w.Next(a.now)
		}
		rows = append(rows, row)
	}
	return Result{Outcome: deploy.OutcomeDone, WindowList: rows}
}

func (a *action) catchUp(ctx context.Context, v deploy.View, c CatchUp) (Result, deploy.Change, error) {
	st, err := v.State(ctx, deploy.Everything)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	var held []deploy.Held
	for _, h := range st.Held {
		for _, by := range h.By {
			if by.Kind == deploy.HeldByWindow && (c.Window == "*" || by.Window == c.Window || !by.Until.After(a.now)) {
				held = append(held, h)
				break
			}
		}
	}
	sort.Slice(held, func(i, j int) bool {
		if held[i].Env != held[j].Env {
			return held[i].Env < held[j].Env
		}
		return held[i].App < held[j].App
	})
	res := Result{Outcome: deploy.OutcomeNoop}
	var change deploy.Change
	var manifests []deploy.ManifestChange
	var lines []string
	for _, h := range held {
		at := policy.Attempt{Env: h.Env, App: h.App, Team: st.TeamOf(h.App), How: deploy.HowAuto, Actor: deploy.System, Now: a.now}
		d := a.h.gate.Decide(st, at)
		if d.Verdict != policy.Allow {
			again := d.Held(at, h.Version)
			change.Held = append(change.Held, again)
			res.Held = append(res.Held, again)
			continue
		}
		rel, err := v.Release(ctx, h.App, h.Version)
		if err != nil {
			return Result{}, deploy.Change{}, fmt.Errorf("catch up %s %s on %s: %w", h.App, h.Version, h.Env, err)
		}
		from, _ := st.Deployed(h.Env, h.App)
		change.Deployments = append(change.Deployments, deploy.Deployment{Env: h.Env, App: h.App, Version: h.Version,
			How: deploy.HowAuto, Actor: rel.CreatedBy, Time: a.now, Reason: "held by a window, deployed when it closed"})
		manifests = append(manifests, manifestChange(rel, h.Env))
		res.Deployed = append(res.Deployed, Deployed{Env: h.Env, App: h.App, From: from.Version, To: h.Version, How: deploy.HowAuto})
		lines = append(lines, fmt.Sprintf("  %s %s -> %s", h.App, h.Env, h.Version))
	}
	if len(manifests) > 0 {
		res.Outcome = deploy.OutcomeDone
		name := c.Window
		if name == "*" {
			name = "windows"
		} else {
			name = "window " + name
		}
		msg := fmt.Sprintf("Catch up after %s closed: %d deployment(s)\n\n%s\n\nRequested-by: %s via %s\n",
			name, len(manifests), strings.Join(lines, "\n"), a.req.Actor.Display(), a.req.Via)
		change.Repo = &deploy.RepoChange{Message: msg, Author: deploy.System, Time: a.now, Manifests: manifests}
	}
	return res, change, nil
}

// WindowsAt returns the windows open on env at t, the strictest first.
func (h *Handler) WindowsAt(env deploy.Env, t time.Time) []policy.OpenWindow {
	return h.gate.Windows.At(h.envs, env, t)
}
