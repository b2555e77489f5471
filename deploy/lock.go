package deploy

import "time"

// LockKind is what a lock covers.
type LockKind string

const (
	LockEnv  LockKind = "env"  // every app of an environment (a group lock is one per env)
	LockApp  LockKind = "app"  // one app on one environment
	LockTeam LockKind = "team" // a team's apps on one environment
)

// Lock stops automated deployments. Locks never stop a person deploying by hand.
type Lock struct {
	Kind              LockKind  `json:"kind"`
	ID                string    `json:"id"`
	Env               Env       `json:"env"`
	App               App       `json:"app,omitempty"`  // app locks only
	Team              Team      `json:"team,omitempty"` // team locks only
	Message           string    `json:"message"`
	SuggestedLifetime string    `json:"suggestedLifetime,omitempty"`
	Author            Actor     `json:"author"`
	CreatedAt         time.Time `json:"createdAt"`
}

// Key identifies a lock: the same id may exist on several envs and kinds.
type LockKey struct {
	Kind LockKind `json:"kind"`
	ID   string   `json:"id"`
	Env  Env      `json:"env"`
	App  App      `json:"app,omitempty"`
	Team Team     `json:"team,omitempty"`
}

// Key returns the lock's key.
func (l Lock) Key() LockKey {
	return LockKey{Kind: l.Kind, ID: l.ID, Env: l.Env, App: l.App, Team: l.Team}
}

// Target describes what the lock covers, e.g. "production-de", "checkout on staging",
// "team payments on staging".
func (l Lock) Target() string {
	switch l.Kind {
	case LockApp:
		return string(l.App) + " on " + string(l.Env)
	case LockTeam:
		return "team " + string(l.Team) + " on " + string(l.Env)
	}
	return string(l.Env)
}

// Applies reports whether the lock stops automated deployments of app (owned by team) on env.
func (l Lock) Applies(env Env, app App, team Team) bool {
	if l.Env != env {
		return false
	}
	switch l.Kind {
	case LockEnv:
		return true
	case LockApp:
		return l.App == app
	case LockTeam:
		return team != "" && l.Team == team
	}
	return false
}

// LockRecord is a lock in the lock history: created, and perhaps deleted.
type LockRecord struct {
	Lock
	DeletedBy *Actor    `json:"deletedBy,omitempty"`
	DeletedAt time.Time `json:"deletedAt,omitempty"`
}
