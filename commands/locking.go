package commands

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"kuberpult/deploy"
	"kuberpult/policy"
)

func (a *action) newLock(kind deploy.LockKind, id string, env deploy.Env, app deploy.App, team deploy.Team, msg, lifetime string) deploy.Lock {
	return deploy.Lock{Kind: kind, ID: id, Env: env, App: app, Team: team, Message: msg,
		SuggestedLifetime: lifetime, Author: a.req.Actor, CreatedAt: a.now}
}

func (a *action) lock(ctx context.Context, v deploy.View, c Lock) (Result, deploy.Change, error) {
	a.app, a.env = c.App, deploy.Env(c.Target)
	envs, err := a.h.targetEnvs(c.Target)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	var team deploy.Team // the team whose membership app and team locks need
	switch c.Kind {
	case deploy.LockApp:
		info, err := knownApp(ctx, v, c.App)
		if err != nil {
			return Result{}, deploy.Change{}, err
		}
		team = info.Team
	case deploy.LockTeam:
		if err := knownTeam(ctx, v, c.Team); err != nil {
			return Result{}, deploy.Change{}, err
		}
		team = c.Team
	}
	for _, env := range envs {
		if err := a.allowLock(policy.CreateLock, deploy.Lock{Kind: c.Kind, Env: env, App: c.App, Team: c.Team}, team); err != nil {
			return Result{}, deploy.Change{}, err
		}
	}
	if n := len([]rune(c.Message)); n > maxTextField {
		return Result{}, deploy.Change{}, deploy.Invalidf("the lock message is %d characters long; at most %d are allowed", n, maxTextField)
	}
	id := c.ID
	if id == "" {
		id = a.h.newID()
	} else if err := a.idFree(ctx, v, id, c.Kind, c.App, c.Team); err != nil {
		return Result{}, deploy.Change{}, err
	}
	var change deploy.Change
	for _, env := range envs {
		change.CreateLocks = append(change.CreateLocks, a.newLock(c.Kind, id, env, c.App, c.Team, c.Message, c.Lifetime))
	}
	return Result{Outcome: deploy.OutcomeDone, Targets: envs, Locked: &Locked{Target: c.Target, Locks: change.CreateLocks}}, change, nil
}

func (a *action) unlock(ctx context.Context, v deploy.View, c Unlock) (Result, deploy.Change, error) {
	a.app, a.env = c.App, deploy.Env(c.Target)
	var envs []deploy.Env // nil: every environment (a lock id, or a word that may be one)
	if c.Kind != "" {
		var err error
		if envs, err = a.h.targetEnvs(c.Target); err != nil {
			return Result{}, deploy.Change{}, err
		}
	}
	st, err := v.State(ctx, deploy.Query{Envs: envs, Apps: []deploy.App{}})
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	var remove []deploy.Lock
	match := func(keep func(l deploy.Lock) bool) {
		for _, l := range st.Locks {
			if keep(l) {
				remove = append(remove, l)
			}
		}
	}
	switch {
	case c.Kind != "" && c.ID != "":
		match(func(l deploy.Lock) bool {
			return l.ID == c.ID && l.Kind == c.Kind && l.App == c.App && l.Team == c.Team
		})
		if len(remove) == 0 {
			missing := deploy.Lock{Kind: c.Kind, ID: c.ID, App: c.App, Team: c.Team, Env: deploy.Env(c.Target)}
			return Result{Outcome: deploy.OutcomeNoop, Targets: envs, NoSuchLock: &missing}, deploy.Change{}, nil
		}
	case c.Kind == deploy.LockApp || c.Kind == deploy.LockTeam:
		match(func(l deploy.Lock) bool { return l.Kind == c.Kind && l.App == c.App && l.Team == c.Team })
		if len(remove) == 0 {
			probe := deploy.Lock{Kind: c.Kind, App: c.App, Team: c.Team, Env: deploy.Env(c.Target)}
			return Result{}, deploy.Change{}, deploy.NotFoundf("%s has no %s lock; locks there: %s", probe.Target(), c.Kind, lockSummary(st.Locks))
		}
	case c.Kind == deploy.LockEnv:
		match(func(l deploy.Lock) bool { return l.Kind == deploy.LockEnv })
		if len(remove) == 0 {
			return Result{}, deploy.Change{}, deploy.NotFoundf("%s has no environment lock; locks there: %s", c.Target, lockSummary(st.Locks))
		}
	case c.Target == "":
		match(func(l deploy.Lock) bool { return l.ID == c.ID })
		if len(remove) == 0 {
			return Result{}, deploy.Change{}, unknownLock(st.Locks, c.ID)
		}
	default:
		var choice *Choice
		if remove, choice, err = a.unlockWord(st, c.Target); err != nil || choice != nil {
			if errors.Is(err, deploy.ErrNotFound) {
				if _, isApp, aerr := v.App(ctx, deploy.App(c.Target)); aerr == nil && isApp {
					return Result{}, deploy.Change{}, deploy.NotFoundf("%s is an app: `unlock %s on <env|group>` removes its app locks there (`locks` lists them)", c.Target, c.Target)
				}
			}
			return Result{Outcome: deploy.OutcomeConfirm, Choice: choice}, deploy.Change{}, err
		}
	}
	return a.removeLocks(ctx, v, remove)
}

// unlockWord decides `unlock <word>`: the environment locks of an environment or group,
// or the locks with that id; when the word is both and both have locks, it asks which.
func (a *action) unlockWord(st deploy.State, word string) ([]deploy.Lock, *Choice, error) {
	var byID, onTarget, there []deploy.Lock
	targets, err := a.h.targetEnvs(word)
	isTarget := err == nil
	for _, l := range st.Locks {
		if l.ID == word {
			byID = append(byID, l)
		}
		if isTarget && containsEnv(targets, l.Env) {
			there = append(there, l)
			if l.Kind == deploy.LockEnv {
				onTarget = append(onTarget, l)
			}
		}
	}
	switch {
	case len(onTarget) > 0 && len(byID) > 0:
		options := []Option{
			{Command: Unlock{Kind: deploy.LockEnv, Target: word}, Kind: "environment", Locks: onTarget},
			{Command: Unlock{ID: word}, Kind: "lock id", Locks: byID},
		}
		for i := range options {
			options[i].CommandText = Format(options[i].Command)
		}
		return nil, &Choice{Name: word, Options: options}, nil
	case len(onTarget) > 0:
		return onTarget, nil, nil
	case len(byID) > 0:
		a.env = ""
		return byID, nil, nil
	case isTarget:
		return nil, nil, deploy.NotFoundf("%s has no environment lock; locks there: %s", word, lockSummary(there))
	}
	a.env = ""
	if s := suggest(word, a.h.targetNames()); s != "" && !strings.Contains(s, " ") {
		return nil, nil, deploy.NotFoundf("no lock, environment or group `%s`; did you mean `%s`? (`unlock %s` removes its environment locks)", word, s, s)
	}
	return nil, nil, unknownLock(st.Locks, word)
}

// removeLocks removes locks after checking DeleteLock for each of them, and says what is
// waiting on their environments now (unlocking never deploys).
func (a *action) removeLocks(ctx context.Context, v deploy.View, remove []deploy.Lock) (Result, deploy.Change, error) {
	st, err := v.State(ctx, deploy.Query{Envs: a.waitingEnvs(remove), Apps: nil})
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	deploy.SortLocks(remove)
	for _, l := range remove {
		if err := a.allowLock(policy.DeleteLock, l, st.TeamOf(l.App)); err != nil {
			return Result{}, deploy.Change{}, err
		}
	}
	change := deploy.Change{DeletedBy: a.req.Actor}
	var envs []deploy.Env
	for _, l := range remove {
		change.DeleteLocks = append(change.DeleteLocks, l.Key())
		envs = appendEnv(envs, l.Env)
	}
	change.Held = releasedHeld(st.Held, remove)
	if a.env == "" { // by lock id: the audit log names where the locks were
		a.env = a.lockTarget(envs)
	}
	after := st
	after.Locks = withoutLocks(st.Locks, remove)
	res := Result{Outcome: deploy.OutcomeDone, Targets: envs, Unlocked: remove}
	for _, env := range envs {
		res.Waiting = append(res.Waiting, EnvWaiting{Env: env, Apps: waitingOn(a.h.envs, after, env), EnvLocks: len(after.EnvLocks(env))})
	}
	return res, change, nil
}

// idFree checks that a chosen lock id names no lock of another kind, app or team: those
// would be removed together by `unlock <id>` without anyone meaning it. The same lock on
// other environments (a group's, or CI locking each environment with one id, as with
// Kuberpult's API) is fine; on the same environment it is replaced.
func (a *action) idFree(ctx context.Context, v deploy.View, id string, kind deploy.LockKind, app deploy.App, team deploy.Team) error {
	st, err := v.State(ctx, deploy.Query{Apps: []deploy.App{}})
	if err != nil {
		return err
	}
	for _, l := range st.Locks {
		if l.ID != id || (l.Kind == kind && l.App == app && l.Team == team) {
			continue
		}
		return deploy.Conflictf("lock id %s already names the %s by %s: choose another id, or remove that lock first (`%s`)",
			id, lockPhrase(l), l.Author.Display(), unlockCommand(l))
	}
	return nil
}

// lockPhrase names a lock: "environment lock on staging", "app lock of checkout on staging".
func lockPhrase(l deploy.Lock) string {
	switch l.Kind {
	case deploy.LockApp:
		return fmt.Sprintf("app lock of %s on %s", l.App, l.Env)
	case deploy.LockTeam:
		return fmt.Sprintf("team lock of %s on %s", l.Team, l.Env)
	}
	return fmt.Sprintf("environment lock on %s", l.Env)
}

func unlockCommand(l deploy.Lock) string {
	return Format(Unlock{Kind: l.Kind, Target: string(l.Env), App: l.App, Team: l.Team, ID: l.ID})
}

// releasedHeld are the held attempts that the removed locks held, without them. One that
// nothing holds any more waits for a person (unlocking never deploys) and says how.
func releasedHeld(held []deploy.Held, removed []deploy.Lock) []deploy.Held {
	gone := map[deploy.LockKey]bool{}
	for _, l := range removed {
		gone[l.Key()] = true
	}
	var out []deploy.Held
	for _, h := range held {
		var by []deploy.HeldBy
		changed := false
		for _, b := range h.By {
			if b.Kind == deploy.HeldByLock && b.Lock != nil && gone[*b.Lock] {
				changed = true
				continue
			}
			by = append(by, b)
		}
		if !changed {
			continue
		}
		h.By = by
		if len(by) == 0 {
			h.Reason = fmt.Sprintf("waiting — lock removed; deploy by hand: `deploy %s %s to %s`", h.App, h.Version, h.Env)
		}
		out = append(out, h)
	}
	return out
}

// waitingEnvs are the environments whose state tells what waits after removing locks:
// theirs and their upstreams.
func (a *action) waitingEnvs(locks []deploy.Lock) []deploy.Env {
	var out []deploy.Env
	for _, l := range locks {
		out = appendEnv(out, l.Env)
		if up := a.h.envs[l.Env].Upstream; up != nil && up.Environment != "" {
			out = appendEnv(out, up.Environment)
		}
	}
	return out
}

func appendEnv(envs []deploy.Env, e deploy.Env) []deploy.Env {
	if containsEnv(envs, e) {
		return envs
	}
	return append(envs, e)
}

func (a *action) locks(ctx context.Context, v deploy.View, c Locks) (Result, error) {
	a.env = deploy.Env(c.Target)
	envs := a.h.envs.Names()
	if c.Target != "" {
		var err error
		if envs, err = a.h.targetEnvs(c.Target); err != nil {
			return Result{}, err
		}
	}
	st, err := v.State(ctx, deploy.Query{Envs: envs, Apps: []deploy.App{}})
	if err != nil {
		return Result{}, err
	}
	ls := append([]deploy.Lock{}, st.Locks...)
	deploy.SortLocks(ls)
	return Result{Outcome: deploy.OutcomeDone, Targets: envs, Locks: ls}, nil
}

func lockSummary(ls []deploy.Lock) string {
	var ids []string
	for _, l := range ls {
		ids = append(ids, fmt.Sprintf("`%s` (%s)", l.ID, l.Target()))
	}
	if len(ids) == 0 {
		return "none"
	}
	sort.Strings(ids)
	return strings.Join(ids, ", ")
}

func unknownLock(ls []deploy.Lock, id string) error {
	ids := make([]string, 0, len(ls))
	for _, l := range ls {
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

// lockTarget names the environments of removed locks for the audit log: the environment,
// the group they make up, or "" for several that are not one group.
func (a *action) lockTarget(envs []deploy.Env) deploy.Env {
	if len(envs) == 1 {
		return envs[0]
	}
	if len(envs) == 0 {
		return ""
	}
	g := a.h.envs.GroupOf(envs[0])
	members := a.h.envs.Members(g)
	if len(members) != len(envs) {
		return ""
	}
	for _, e := range envs {
		if !containsEnv(members, e) {
			return ""
		}
	}
	return deploy.Env(g)
}
