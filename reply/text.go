package reply

import (
	"fmt"
	"strings"
	"time"

	"kuberpult/commands"
	"kuberpult/deploy"
)

// Text renders a result.
func Text(r commands.Result) string {
	s := body(r)
	if r.Replayed {
		s += fmt.Sprintf("\n↩ This request was answered before, at %s (action %d); nothing was done again.",
			r.At.UTC().Format("2006-01-02 15:04:05 MST"), r.ActionID)
	}
	return s
}

// Prompt is the question of a result that asks for confirmation, without the hint how to
// skip it; "" when the result asks nothing.
func Prompt(r commands.Result) string {
	switch {
	case r.Confirm != nil:
		c := r.Confirm
		if s, ok := undeployPrompt(r); ok {
			return s
		}
		if _, ok := c.Command.(commands.Rollback); ok {
			return fmt.Sprintf("⚠️ %s is locked where you want to roll it back:\n%s\nA rollback ignores locks. Roll %s on %s back to %s anyway?",
				r.App, lockLines(c.Locks, r.At), r.App, joinEnvs(c.Envs), r.Label)
		}
		return fmt.Sprintf("⚠️ %s is locked where you want to deploy it:\n%s\nA manual deploy ignores locks. Deploy %s %s to %s anyway?",
			r.App, lockLines(c.Locks, r.At), r.App, r.Label, joinEnvs(c.Envs))
	case r.Choice != nil:
		return choiceText(r.Choice, r.At)
	}
	return ""
}

func body(r commands.Result) string {
	switch {
	case r.Problem != nil:
		return r.Problem.Message
	case r.Confirm != nil:
		return Prompt(r) + "\n(add --force to skip this question)"
	case r.Choice != nil:
		return Prompt(r)
	case r.Stale != nil:
		return staleText(r.Stale, r.At)
	}
	if r.Approval != nil {
		return approvalText(r)
	}
	switch r.Verb {
	case "deploy":
		return deployText(r)
	case "rollback":
		return rollbackText(r)
	case "lock":
		return lockText(r)
	case "unlock":
		return unlockText(r)
	case "release":
		return releaseText(r)
	case "undeploy":
		return undeployText(r)
	case "remove":
		return removeText(r)
	case "sync":
		return fmt.Sprintf("Recorded the configuration of %s.", plural(len(r.Targets), "environment", "environments"))
	case "train":
		return trainText(r)
	case "hold", "unhold", "approve", "announce", "depart":
		return departureText(r)
	case "trains":
		return trainsText(r)
	case "windows":
		return windowsListText(r)
	case "catch-up":
		return catchUpText(r)
	case "locks":
		return locksText(r)
	case "status":
		return statusText(r)
	case "envs":
		return envsText(r)
	case "history":
		return historyText(r)
	case "releases":
		return releasesText(r)
	case "audit":
		return auditText(r)
	case "help":
		return helpText(r.HelpVerb)
	}
	return string(r.Outcome)
}

func deployText(r commands.Result) string {
	if r.Outcome == deploy.OutcomeNoop {
		return fmt.Sprintf("%s %s already runs on %s; nothing to do.", r.App, r.Label, joinEnvs(r.Already))
	}
	var b strings.Builder
	if len(r.Deployed) > 0 {
		fmt.Fprintf(&b, "✅ Deployed %s %s to %s.", r.App, r.Label, wasList(r.Deployed))
	} else {
		fmt.Fprintf(&b, "%s %s already runs on %s.", r.App, r.Label, joinEnvs(r.Targets))
	}
	if len(r.Ignored) > 0 {
		fmt.Fprintf(&b, "\nIgnored locks:\n%s", lockLines(r.Ignored, r.At))
	}
	b.WriteString(insideText(r))
	if l := r.Locked; l != nil && len(l.Locks) > 0 {
		fmt.Fprintf(&b, "\n🔒 Locked %s on %s: %q (lock `%s`).", r.App, joinEnvs(lockEnvs(l.Locks)), l.Locks[0].Message, l.Locks[0].ID)
	}
	return b.String()
}

// wasList renders "staging (was 41), production (first deployment)".
func wasList(ds []commands.Deployed) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		if d.From != 0 {
			parts[i] = fmt.Sprintf("%s (was %s)", d.Env, d.From)
		} else {
			parts[i] = fmt.Sprintf("%s (first deployment)", d.Env)
		}
	}
	return strings.Join(parts, ", ")
}

func rollbackText(r commands.Result) string {
	rb := r.RolledBack
	if rb == nil {
		return string(r.Outcome)
	}
	l := rb.Lock
	s := fmt.Sprintf("⏪ Rolled %s on %s back from %s to %s.\n🔒 Locked %s on %s so automation does not undo it: %q (lock `%s`). Unlock with `unlock %s`.",
		r.App, rb.Env, rb.From, r.Label, r.App, rb.Env, l.Message, l.ID, l.ID)
	if len(r.Ignored) > 0 {
		s += "\nIgnored locks:\n" + lockLines(r.Ignored, r.At)
	}
	return s + insideText(r)
}

// insideText says which windows a person's deploy went into, and why.
func insideText(r commands.Result) string {
	if len(r.Windows) == 0 {
		return ""
	}
	return fmt.Sprintf("\n⏰ Deployed inside%s; reason: %s", windowsText(r.Windows, r.Zone), r.Reason)
}

func lockText(r commands.Result) string {
	l := r.Locked
	if l == nil || len(l.Locks) == 0 {
		return string(r.Outcome)
	}
	what := l.Locks[0]
	what.Env = deploy.Env(l.Target)
	target := what.Target()
	if len(l.Locks) > 1 {
		target += " (" + joinEnvs(lockEnvs(l.Locks)) + ")"
	}
	text := fmt.Sprintf("🔒 Locked %s: %q — lock `%s`", target, what.Message, what.ID)
	if what.SuggestedLifetime != "" {
		text += ", suggested lifetime " + what.SuggestedLifetime
	}
	return text + ".\nAutomated deployments stop here; manual deploys show the lock and ask for confirmation."
}

func unlockText(r commands.Result) string {
	if m := r.NoSuchLock; m != nil {
		return fmt.Sprintf("no %s lock `%s` on %s; nothing to do", m.Kind, m.ID, m.Target())
	}
	var b strings.Builder
	fmt.Fprintf(&b, "🔓 Removed %s:\n%s\n", plural(len(r.Unlocked), "lock", "locks"), lockLines(r.Unlocked, r.At))
	b.WriteString(waitingText(r.Waiting))
	return b.String()
}

// waitingText says, after an unlock, what is waiting — unlocking never deploys.
func waitingText(ws []commands.EnvWaiting) string {
	var b strings.Builder
	b.WriteString("Nothing was deployed.")
	for _, w := range ws {
		if len(w.Apps) == 0 {
			fmt.Fprintf(&b, "\n%s: no newer versions waiting.", w.Env)
			continue
		}
		items := make([]string, len(w.Apps))
		for i, a := range w.Apps {
			from := a.From.String()
			if a.From == 0 {
				from = "none"
			}
			items[i] = fmt.Sprintf("%s %s → %s", a.App, from, a.To)
		}
		fmt.Fprintf(&b, "\n%s: %s a newer version waiting: %s. Catch up with a release train, `train %s`, or deploy by hand, e.g. `deploy %s %s to %s`.",
			w.Env, plural(len(w.Apps), "app has", "apps have"), strings.Join(items, ", "), w.Env, w.Apps[0].App, w.Apps[0].To, w.Env)
		if w.EnvLocks > 0 {
			fmt.Fprintf(&b, " (%s is still locked by %s.)", w.Env, plural(w.EnvLocks, "environment lock", "environment locks"))
		}
	}
	return b.String()
}

func choiceText(c *commands.Choice, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "`%s` is both an environment and a lock id. Which do you mean?", c.Name)
	for i, o := range c.Options {
		fmt.Fprintf(&b, "\n%d. `%s` removes %s by %s:\n%s", i+1, o.CommandText, plural(len(o.Locks), "lock", "locks"), o.Kind, lockLines(o.Locks, now))
	}
	return b.String()
}

func staleText(s *commands.Stale, now time.Time) string {
	runs := "nothing"
	if s.Now.Version != 0 {
		runs = fmt.Sprintf("%s (%s by %s, %s)", s.Now.Version, s.Now.How, s.Now.Actor.Display(), ago(now, s.Now.Time))
	}
	expected := "nothing"
	if s.Expected != 0 {
		expected = s.Expected.String()
	}
	return fmt.Sprintf("Nothing was done: %s on %s changed since this was asked. It was expected to run %s and now runs %s.",
		s.App, s.Env, expected, runs)
}

func releaseText(r commands.Result) string {
	ri := r.Release
	if ri == nil {
		return string(r.Outcome)
	}
	if ri.Outcome == commands.ReleaseExists {
		return fmt.Sprintf("release %s of %s already exists with the same content", ri.Release.Version, ri.Release.App)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "created release %s of %s", ri.Release.Label(), ri.Release.App)
	if len(ri.Deployed) > 0 {
		fmt.Fprintf(&b, "; deployed to %s", joinEnvs(ri.Deployed))
	}
	for _, h := range r.Held {
		fmt.Fprintf(&b, "; %s", h.Reason)
	}
	return b.String()
}

func locksText(r commands.Result) string {
	if len(r.Locks) == 0 {
		return "No locks on " + joinEnvs(r.Targets) + "."
	}
	return fmt.Sprintf("%s:\n%s", plural(len(r.Locks), "lock", "locks"), lockLines(r.Locks, r.At))
}

func lockEnvs(ls []deploy.Lock) []deploy.Env {
	var out []deploy.Env
	for _, l := range ls {
		if len(out) == 0 || out[len(out)-1] != l.Env {
			out = append(out, l.Env)
		}
	}
	return out
}

func joinEnvs(es []deploy.Env) string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = string(e)
	}
	return strings.Join(s, ", ")
}

// plural is "1 lock", "2 locks".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
