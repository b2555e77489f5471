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

func (a *action) newLock(kind deploy.LockKind, id string, env deploy.Env, app deploy.App, team deploy.Team, msg, lifetime string) deploy.Lock {
	return deploy.Lock{Kind: kind, ID: id, Env: env, App: app, Team: team, Message: msg,
		SuggestedLifetime: lifetime, Author: a.req.Actor, CreatedAt: a.now}
}

func (a *action) lock(ctx context.Context, c Lock) (Reply, error) {
	a.app, a.env = c.App, deploy.Env(c.Target)
	envs, err := a.h.targetEnvs(c.Target)
	if err != nil {
		return Reply{}, err
	}
	st, err := a.h.store.StateOf(ctx, envs)
	if err != nil {
		return Reply{}, err
	}
	switch c.Kind {
	case deploy.LockApp:
		err = knownApp(st, c.App)
	case deploy.LockTeam:
		err = knownTeam(st, c.Team)
	}
	if err != nil {
		return Reply{}, err
	}
	for _, env := range envs {
		if err := a.allowLock(policy.CreateLock, st, deploy.Lock{Kind: c.Kind, Env: env, App: c.App, Team: c.Team}); err != nil {
			return Reply{}, err
		}
	}
	id := c.ID
	if id == "" {
		id = a.h.newID()
	}
	var change deploy.Change
	for _, env := range envs {
		change.CreateLocks = append(change.CreateLocks, a.newLock(c.Kind, id, env, c.App, c.Team, c.Message, c.Lifetime))
	}
	what := change.CreateLocks[0]
	what.Env = deploy.Env(c.Target)
	target := what.Target()
	if len(envs) > 1 {
		target += " (" + joinEnvs(envs) + ")"
	}
	text := fmt.Sprintf("🔒 Locked %s: %q — lock `%s`", target, c.Message, id)
	if c.Lifetime != "" {
		text += ", suggested lifetime " + c.Lifetime
	}
	text += ".\nAutomated deployments stop here; manual deploys show the lock and ask for confirmation."
	rep := Reply{Outcome: deploy.OutcomeDone, Text: text}
	return rep, a.commit(ctx, change, rep)
}

func (a *action) unlock(ctx context.Context, c Unlock) (Reply, error) {
	a.app, a.env = c.App, deploy.Env(c.Target)
	st, err := a.h.store.State(ctx)
	if err != nil {
		return Reply{}, err
	}
	var remove []deploy.Lock
	switch {
	case c.ID != "" && c.Kind != "":
		envs, err := a.h.targetEnvs(c.Target)
		if err != nil {
			return Reply{}, err
		}
		for _, l := range st.Locks {
			if l.ID == c.ID && l.Kind == c.Kind && l.App == c.App && l.Team == c.Team && containsEnv(envs, l.Env) {
				remove = append(remove, l)
			}
		}
		if len(remove) == 0 {
			probe := deploy.Lock{Kind: c.Kind, App: c.App, Team: c.Team, Env: deploy.Env(c.Target)}
			return Reply{Outcome: deploy.OutcomeNoop, Text: fmt.Sprintf("no %s lock `%s` on %s; nothing to do", c.Kind, c.ID, probe.Target())}, nil
		}
	case c.Kind == deploy.LockApp || c.Kind == deploy.LockTeam:
		envs, err := a.h.targetEnvs(c.Target)
		if err != nil {
			return Reply{}, err
		}
		for _, l := range st.Locks {
			if l.Kind == c.Kind && l.App == c.App && l.Team == c.Team && containsEnv(envs, l.Env) {
				remove = append(remove, l)
			}
		}
		if len(remove) == 0 {
			probe := deploy.Lock{Kind: c.Kind, App: c.App, Team: c.Team, Env: deploy.Env(c.Target)}
			return Reply{}, deploy.NotFoundf("%s has no %s lock; locks there: %s", probe.Target(), c.Kind, lockSummary(st, envs))
		}
	default:
		if envs, err := a.h.targetEnvs(c.Target); err == nil {
			for _, env := range envs {
				remove = append(remove, st.EnvLocks(env)...)
			}
			if len(remove) == 0 {
				return Reply{}, deploy.NotFoundf("%s has no environment lock; locks there: %s", c.Target, lockSummary(st, envs))
			}
			break
		}
		a.env = ""
		for _, l := range st.Locks {
			if l.ID == c.Target {
				remove = append(remove, l)
			}
		}
		if len(remove) == 0 {
			return Reply{}, unknownLock(st, c.Target)
		}
	}
	deploy.SortLocks(remove)
	for _, l := range remove {
		if err := a.allowLock(policy.DeleteLock, st, l); err != nil {
			return Reply{}, err
		}
	}
	change := deploy.Change{DeletedBy: a.req.Actor}
	var envs []deploy.Env
	for _, l := range remove {
		change.DeleteLocks = append(change.DeleteLocks, l.Key())
		if !containsEnv(envs, l.Env) {
			envs = append(envs, l.Env)
		}
	}
	var text strings.Builder
	fmt.Fprintf(&text, "🔓 Removed %d lock(s):\n%s", len(remove), lockLines(remove, a.now))
	after := st
	after.Locks = withoutLocks(st.Locks, remove)
	text.WriteString("\n" + waitingText(a.h, after, envs))
	rep := Reply{Outcome: deploy.OutcomeDone, Text: text.String()}
	return rep, a.commit(ctx, change, rep)
}

func (a *action) locks(ctx context.Context, c Locks) (Reply, error) {
	a.env = deploy.Env(c.Target)
	envs := a.h.envs.Names()
	if c.Target != "" {
		var err error
		if envs, err = a.h.targetEnvs(c.Target); err != nil {
			return Reply{}, err
		}
	}
	st, err := a.h.store.StateOf(ctx, nil)
	if err != nil {
		return Reply{}, err
	}
	var ls []deploy.Lock
	for _, l := range st.Locks {
		if containsEnv(envs, l.Env) {
			ls = append(ls, l)
		}
	}
	if len(ls) == 0 {
		return Reply{Outcome: deploy.OutcomeDone, Text: "No locks on " + joinEnvs(envs) + "."}, nil
	}
	deploy.SortLocks(ls)
	return Reply{Outcome: deploy.OutcomeDone, Text: fmt.Sprintf("%d lock(s):\n%s", len(ls), lockLines(ls, a.now))}, nil
}

// lockLines renders one line per lock.
func lockLines(ls []deploy.Lock, now time.Time) string {
	var b strings.Builder
	for i, l := range ls {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "  • `%s` %s lock on %s: %q — %s, %s", l.ID, l.Kind, l.Target(), l.Message, l.Author.Display(), ago(now, l.CreatedAt))
		if l.SuggestedLifetime != "" {
			fmt.Fprintf(&b, " (for %s)", l.SuggestedLifetime)
		}
	}
	return b.String()
}

func lockSummary(st deploy.State, envs []deploy.Env) string {
	var ids []string
	for _, l := range st.Locks {
		if containsEnv(envs, l.Env) {
			ids = append(ids, fmt.Sprintf("`%s` (%s)", l.ID, l.Target()))
		}
	}
	if len(ids) == 0 {
		return "none"
	}
	sort.Strings(ids)
	return strings.Join(ids, ", ")
}

func unknownLock(st deploy.State, id string) error {
	ids := make([]string, 0, len(st.Locks))
	for _, l := range st.Locks {
		ids = append(ids, l.ID)
	}
	return unknown("lock, environment or group", id, ids, "Lock ids", "There are no locks.")
}

func withoutLocks(all, remove []deploy.Lock) []deploy.Lock {
	gone := map[deploy.LockKey]bool{}
	for _, l := range remove {
		gone[l.Key()] = true
	}
	var out []deploy.Lock
	for _, l := range all {
		if !gone[l.Key()] {
			out = append(out, l)
		}
	}
	return out
}

func containsEnv(envs []deploy.Env, e deploy.Env) bool {
	for _, x := range envs {
		if x == e {
			return true
		}
	}
	return false
}

// ago renders a duration in the past coarsely: "just now", "5m ago", "3h ago", "2d ago".
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}
