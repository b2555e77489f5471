package deploy

import "time"

// Change is everything one accepted action writes, in the one transaction that also decided
// it: new rows, the env-repo change for the git outbox, and the audit entry. Every action
// has an audit entry; its id is the action's id.
type Change struct {
	Releases    []Release
	Deployments []Deployment // each also clears a held attempt of its (env, app)
	// RemoveDeployments deletes the current deployment (and held attempt) of each (env,
	// app); the history stays.
	RemoveDeployments []EnvApp
	// DropManifests deletes the manifest of each (env, app) from all the app's releases, so
	// that no train or auto-deploy brings the app back there (a newer release with a
	// manifest for it does).
	DropManifests []EnvApp
	Held          []Held // replaces an earlier held attempt of the same (env, app)
	CreateLocks   []Lock // an existing lock with the same key is replaced
	DeleteLocks   []LockKey
	DeletedBy     Actor // recorded in the lock history for DeleteLocks; default Audit.Actor
	// Owners moves apps to another team (a release naming a new team, after the checks).
	Owners []AppTeam
	// EnvConfigs records the configuration of environments, as the git writer renders
	// their Argo CD files.
	EnvConfigs []EnvConfigChange
	// Departures records scheduled train departures (replacing what was recorded of the
	// same train and slot).
	Departures []Departure
	// Approvals records approval requests and what became of them (replacing what was
	// recorded of the same id).
	Approvals []Approval
	Repo      *RepoChange // nil when the action changes nothing in the env repo
	Audit     AuditEntry
	// Fence, when set, makes the change conditional on that lease being in force (same
	// holder and epoch), checked in the same transaction: the leader's scheduler acts only
	// while it leads, and a deposed leader's departure writes nothing (an error wrapping
	// ErrLeaseLost).
	Fence *Lease
}

// RepoChange is one commit to the environment repo, as stored in the outbox: a delta saying
// what changes, never a copy of an environment's app list. The git writer derives each
// environment's Argo CD Applications from the tree it holds (the app directories under
// environments/<env>/applications) and the apps' teams, so no stale snapshot can drop one.
// Applying a RepoChange again on a tree that holds it already changes nothing.
type RepoChange struct {
	Message string    `json:"message"`
	Author  Actor     `json:"author"`
	Time    time.Time `json:"time"`
	// Manifests sets or removes the manifest of an app on an environment.
	Manifests []ManifestChange `json:"manifests,omitempty"`
	// Configs writes environments' config.json (and their Argo CD AppProject).
	Configs []EnvConfigChange `json:"configs,omitempty"`
	// Teams are apps whose team changed: their Argo CD Applications are rendered again.
	Teams []AppTeam `json:"teams,omitempty"`
}

// EnvApp names an app on an environment.
type EnvApp struct {
	Env Env `json:"env"`
	App App `json:"app"`
}

// ManifestChange sets the manifest of App on Env to the one of release Version, or, with
// Remove, deletes the app's directory on Env (Version is then the undeploy version that
// removed it, or 0).
type ManifestChange struct {
	Env      Env     `json:"env"`
	App      App     `json:"app"`
	Version  Version `json:"version,omitempty"` // 0 with Remove
	Manifest string  `json:"manifest,omitempty"`
	Remove   bool    `json:"remove,omitempty"`
}

// EnvConfigChange is the configuration of one environment.
type EnvConfigChange struct {
	Env    Env       `json:"env"`
	Config EnvConfig `json:"config"`
}

// AppTeam says which team owns an app ("" for none).
type AppTeam struct {
	App  App  `json:"app"`
	Team Team `json:"team,omitempty"`
}

// Envs returns the environments the change touches, sorted, each once.
func (rc RepoChange) Envs() []Env {
	seen := map[Env]bool{}
	for _, m := range rc.Manifests {
		seen[m.Env] = true
	}
	for _, c := range rc.Configs {
		seen[c.Env] = true
	}
	out := make([]Env, 0, len(seen))
	for e := range seen {
		out = append(out, e)
	}
	sortEnvs(out)
	return out
}

// Via is the entry point an action came through.
type Via string

const (
	ViaConsole   Via = "console"
	ViaAPI       Via = "api"
	ViaSlack     Via = "slack"
	ViaScheduler Via = "scheduler"
)

// Outcome is how an action ended.
type Outcome string

const (
	OutcomeDone    Outcome = "done"
	OutcomeDenied  Outcome = "denied"
	OutcomeInvalid Outcome = "invalid"
	OutcomeFailed  Outcome = "failed"
	// OutcomeNoop: accepted, nothing to change (same release again, already deployed).
	OutcomeNoop Outcome = "noop"
	// OutcomeConfirm: nothing done yet, the actor is asked to confirm (a lock stands in the way).
	OutcomeConfirm Outcome = "confirm"
	// OutcomeStale: nothing done, because the state the request was made for changed
	// meanwhile (a button whose precondition no longer holds).
	OutcomeStale Outcome = "stale"
	// OutcomePending: nothing done yet; it waits for an approval (Approval).
	OutcomePending Outcome = "pending"
)

// AuditEntry records one command, click or API call and its outcome. Its ID is the id of
// the action: results, outbox entries and push events carry it.
type AuditEntry struct {
	ID      int64     `json:"id"`
	Time    time.Time `json:"time"`
	Actor   Actor     `json:"actor"`
	Via     Via       `json:"via"`
	Command string    `json:"command"`       // the command text or "POST /api/release checkout 42"
	Env     Env       `json:"env,omitempty"` // the main target, for filtering
	App     App       `json:"app,omitempty"` // the main app, if any
	Outcome Outcome   `json:"outcome"`
	Detail  string    `json:"detail,omitempty"` // a one-line summary of the result or the error shown
	Commit  string    `json:"commit,omitempty"` // the env-repo commit it produced, once pushed
}

// AuditFilter selects audit entries. Zero fields select everything.
type AuditFilter struct {
	Since time.Time // entries at or after this time
	Actor string    // matches the actor's id, or its name or email (ignoring case)
	Envs  []Env     // the entry's main target is one of these; nil: any, empty: none
	Limit int       // at most this many; 0 for all
}
