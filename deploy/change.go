package deploy

import "time"

// Change is everything one accepted action commits, in one transaction: new rows, the
// env-repo change for the git outbox, and the audit entry.
type Change struct {
	Releases    []Release
	Deployments []Deployment // each also clears a held attempt of its (env, app)
	Held        []Held       // replaces an earlier held attempt of the same (env, app)
	CreateLocks []Lock       // an existing lock with the same key is replaced
	DeleteLocks []LockKey
	DeletedBy   Actor       // recorded in the lock history for DeleteLocks
	Repo        *RepoChange // nil when the action changes nothing in the env repo
	Audit       AuditEntry
}

// RepoChange is one commit to the environment repo, as stored in the outbox. It holds the
// full content of what it changes, so applying it again (after a crash, or on a tip that
// somebody else moved) gives the same result and never duplicates anything.
type RepoChange struct {
	Message string     `json:"message"`
	Author  Actor      `json:"author"`
	Time    time.Time  `json:"time"`
	Envs    []EnvFiles `json:"envs"`
}

// EnvFiles is what a RepoChange writes for one environment.
type EnvFiles struct {
	Env    Env       `json:"env"`
	Config EnvConfig `json:"config"` // written to config.json and rendered into the AppProject
	// Manifests are the apps whose manifests.yaml changes; Remove deletes the app's directory.
	Manifests []AppManifest `json:"manifests,omitempty"`
	// Apps lists every app deployed on the environment after the change, sorted by name:
	// one Argo CD Application each in argocd/v1alpha1/<env>.yaml.
	Apps []ArgoApp `json:"apps"`
}

// AppManifest is the manifest of one app on one environment.
type AppManifest struct {
	App      App    `json:"app"`
	Manifest string `json:"manifest,omitempty"`
	Remove   bool   `json:"remove,omitempty"`
}

// ArgoApp is an app deployed on an environment, as the Argo CD files need it.
type ArgoApp struct {
	App  App  `json:"app"`
	Team Team `json:"team,omitempty"`
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
)

// AuditEntry records one command, click or API call and its outcome.
type AuditEntry struct {
	ID      int64     `json:"id"`
	Time    time.Time `json:"time"`
	Actor   Actor     `json:"actor"`
	Via     Via       `json:"via"`
	Command string    `json:"command"`       // the command text or "POST /api/release checkout 42"
	Env     Env       `json:"env,omitempty"` // the main target, for filtering
	App     App       `json:"app,omitempty"` // the main app, if any
	Outcome Outcome   `json:"outcome"`
	Detail  string    `json:"detail,omitempty"` // the reply or the error shown
	Commit  string    `json:"commit,omitempty"` // the env-repo commit it produced, once pushed
}

// OutboxEntry is a RepoChange waiting for the git writer.
type OutboxEntry struct {
	ID     int64
	Change RepoChange
}

// Pushed tells the store which commit carried an outbox entry ("" when the repo already
// held the content and no commit was needed).
type Pushed struct {
	ID     int64
	Commit string
}

// AuditFilter selects audit entries. Zero fields select everything.
type AuditFilter struct {
	Since time.Time // entries at or after this time
	Actor string    // matches the actor's id, or its name or email (ignoring case)
	Env   Env       // the entry's main target
	Limit int       // at most this many; 0 for all
}
