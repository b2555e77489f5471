package deploy

import "sort"

// State is what Kuberpult knows now, or the part of it a Query selected: apps, current
// deployments, locks and held attempts. Decisions are computed from it.
type State struct {
	Apps        map[App]AppInfo
	Deployments map[Env]map[App]Deployment
	Locks       []Lock
	Held        []Held
}

// Deployed returns the current deployment of app on env.
func (s State) Deployed(env Env, app App) (Deployment, bool) {
	d, ok := s.Deployments[env][app]
	return d, ok
}

// Deleted reports whether app was undeployed: its newest release is its undeploy version
// and it runs nowhere in s (a state of every environment).
func (s State) Deleted(app App) bool {
	if !s.Apps[app].Undeploying {
		return false
	}
	for _, apps := range s.Deployments {
		if _, ok := apps[app]; ok {
			return false
		}
	}
	return true
}

// TeamOf returns the owning team of an app ("" if none).
func (s State) TeamOf(app App) Team { return s.Apps[app].Team }

// LocksFor returns the locks that stop automated deployments of app on env, env locks first,
// then app locks, then team locks, each sorted by id.
func (s State) LocksFor(env Env, app App) []Lock {
	team := s.TeamOf(app)
	var out []Lock
	for _, l := range s.Locks {
		if l.Applies(env, app, team) {
			out = append(out, l)
		}
	}
	SortLocks(out)
	return out
}

// EnvLocks returns the environment locks of env.
func (s State) EnvLocks(env Env) []Lock {
	var out []Lock
	for _, l := range s.Locks {
		if l.Kind == LockEnv && l.Env == env {
			out = append(out, l)
		}
	}
	SortLocks(out)
	return out
}

// HeldOn returns the held attempt of app on env, if any.
func (s State) HeldOn(env Env, app App) (Held, bool) {
	for _, h := range s.Held {
		if h.Env == env && h.App == app {
			return h, true
		}
	}
	return Held{}, false
}

func sortEnvs(es []Env) { sort.Slice(es, func(i, j int) bool { return es[i] < es[j] }) }

var kindOrder = map[LockKind]int{LockEnv: 0, LockApp: 1, LockTeam: 2}

// SortLocks orders locks by env, kind (env, app, team), app, team and id.
func SortLocks(ls []Lock) {
	sort.SliceStable(ls, func(i, j int) bool {
		a, b := ls[i], ls[j]
		if a.Env != b.Env {
			return a.Env < b.Env
		}
		if a.Kind != b.Kind {
			return kindOrder[a.Kind] < kindOrder[b.Kind]
		}
		if a.App != b.App {
			return a.App < b.App
		}
		if a.Team != b.Team {
			return a.Team < b.Team
		}
		return a.ID < b.ID
	})
}
