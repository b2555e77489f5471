package commands

import (
	"fmt"
	"strings"
	"time"

	"kuberpult/deploy"
	"kuberpult/policy"
	"kuberpult/train"
)

// Result is what a command (or a release) did, as data. The handler returns it; each adapter
// renders it (the console and API messages as text, the API as JSON, Slack as Block Kit).
// It is stored with the request's idempotency key, so a repeated request gets it back.
type Result struct {
	Verb     string         `json:"verb"`
	Outcome  deploy.Outcome `json:"outcome"`
	ActionID int64          `json:"actionId,omitempty"` // the action's id (audit entry, outbox entry, commit events)
	At       time.Time      `json:"at"`                 // when it was decided
	Actor    deploy.Actor   `json:"actor"`
	// Replayed: this is the stored result of an earlier request with the same idempotency key;
	// nothing was done again.
	Replayed bool `json:"-"`
	// Err is the error of a refusal or failure, for errors.Is (deploy.ErrNotFound → 404 ...).
	Err error `json:"-"`

	// Problem is set when the command was refused or failed: invalid, denied, not found,
	// conflict, or an internal error (with a reference).
	Problem *Problem `json:"problem,omitempty"`

	// App and Label name the release a deploy or rollback is about ("42" or "42 (v1.4.2)").
	App   deploy.App `json:"app,omitempty"`
	Label string     `json:"label,omitempty"`
	// Targets are the environments the command named (a group's members).
	Targets []deploy.Env `json:"targets,omitempty"`

	Deployed []Deployed    `json:"deployed,omitempty"`
	Already  []deploy.Env  `json:"already,omitempty"`      // targets that run the release already
	Ignored  []deploy.Lock `json:"ignoredLocks,omitempty"` // locks a confirmed manual deployment went past
	// Windows are the windows a manual deployment went into, with its Reason.
	Windows  []policy.OpenWindow `json:"windows,omitempty"`
	Reason   string              `json:"reason,omitempty"`
	Held     []deploy.Held       `json:"held,omitempty"`     // automated deployments a lock held back
	Locked   *Locked             `json:"locked,omitempty"`   // locks created
	Unlocked []deploy.Lock       `json:"unlocked,omitempty"` // locks removed
	Removed  []deploy.Env        `json:"removed,omitempty"`  // undeploy --confirm, remove: where the app was taken off
	// NoSuchLock: an exact unlock found nothing to remove (kind, id and target of the lock).
	NoSuchLock *deploy.Lock  `json:"noSuchLock,omitempty"`
	Waiting    []EnvWaiting  `json:"waiting,omitempty"` // after an unlock: what automation would change
	RolledBack *RolledBack   `json:"rolledBack,omitempty"`
	Release    *ReleaseInfo  `json:"release,omitempty"`
	Confirm    *Confirmation `json:"confirm,omitempty"` // OutcomeConfirm: the question
	Choice     *Choice       `json:"choice,omitempty"`  // OutcomeConfirm: which of several was meant
	Stale      *Stale        `json:"stale,omitempty"`   // OutcomeStale: what changed meanwhile
	Train      *train.Plan   `json:"train,omitempty"`   // a train or its prognosis: deployed and skipped
	DryRun     bool          `json:"dryRun,omitempty"`  // a prognosis: nothing was done
	// Departure is the scheduled departure a hold, unhold, approve, announce or depart is
	// about, as it stands after the command.
	Departure *TrainDeparture `json:"departure,omitempty"`
	// Approval is the approval request a deploy became (OutcomePending), or the one an
	// approve or reject decided.
	Approval *deploy.Approval `json:"approval,omitempty"`

	// Answers to queries.
	State        *deploy.State         `json:"-"` // status
	Environments []EnvRow              `json:"-"` // envs
	History      []deploy.Deployment   `json:"-"` // history
	HistoryEnv   deploy.Env            `json:"-"`
	Locks        []deploy.Lock         `json:"-"` // locks
	AuditEntries []deploy.AuditEntry   `json:"-"` // audit
	Outbox       *deploy.OutboxSummary `json:"-"` // status: what waits for the env repo and what failed
	HelpVerb     string                `json:"-"` // help: one verb, or "" for all
	Trains       []TrainRow            `json:"-"` // trains
	WindowList   []WindowRow           `json:"-"` // windows
	ReleaseList  []deploy.Release      `json:"-"` // releases (newest first, without manifests)
	Rollouts     []deploy.Rollout      `json:"-"` // status <app>: Argo CD's rollouts, by environment
	Zone         string                `json:"-"` // the viewer's time zone, when known (Request.Zone)
}

// Problem is why a command was refused or failed. Message is written for people.
type Problem struct {
	Kind    ProblemKind `json:"kind"`
	Message string      `json:"message"`
}

// ProblemKind classifies refusals, so adapters can map them (HTTP status codes).
type ProblemKind string

const (
	ProblemInvalid  ProblemKind = "invalid"
	ProblemDenied   ProblemKind = "denied"
	ProblemNotFound ProblemKind = "not_found"
	ProblemConflict ProblemKind = "conflict"
	ProblemInternal ProblemKind = "internal"
)

// Deployed is one (env, app) a command deployed: From is what ran before (0: nothing).
type Deployed struct {
	Env  deploy.Env     `json:"env"`
	App  deploy.App     `json:"app"`
	From deploy.Version `json:"from,omitempty"`
	To   deploy.Version `json:"to"`
	How  deploy.How     `json:"how"`
}

// Locked is the lock a command created: one per environment of the target.
type Locked struct {
	Target string        `json:"target"` // as named: an environment or a group
	Locks  []deploy.Lock `json:"locks"`
}

// EnvWaiting lists, for one environment, the apps automation or a release train would
// change (unlocking never deploys).
type EnvWaiting struct {
	Env      deploy.Env `json:"env"`
	Apps     []Waiting  `json:"apps,omitempty"`
	EnvLocks int        `json:"envLocks,omitempty"` // environment locks still in force
}

// Waiting is an app whose upstream has a newer version than what runs: From is 0 when it
// does not run there yet.
type Waiting struct {
	App  deploy.App     `json:"app"`
	From deploy.Version `json:"from,omitempty"`
	To   deploy.Version `json:"to"`
}

// RolledBack is what a rollback did.
type RolledBack struct {
	Env  deploy.Env     `json:"env"`
	From deploy.Version `json:"from"`
	To   deploy.Version `json:"to"`
	Lock deploy.Lock    `json:"lock"` // the app lock it created
}

// ReleaseInfo is what a release request did.
type ReleaseInfo struct {
	Outcome ReleaseOutcome `json:"outcome"`
	Release deploy.Release `json:"release"` // without manifests
	// Deployed are the environments the release went to at once (upstream latest).
	Deployed []deploy.Env `json:"deployed,omitempty"`
}

// Confirmation asks the actor to confirm an action that locks stand in the way of. Nothing
// was done; running Command (the same action with --force and the state it was asked
// about as its precondition) does it.
type Confirmation struct {
	Locks   []deploy.Lock `json:"locks"`
	Envs    []deploy.Env  `json:"envs"` // where it would deploy
	Command Command       `json:"-"`
	// CommandText is Command in the command language; it survives storage.
	CommandText string `json:"command"`
}

// Choice asks which of several commands was meant.
type Choice struct {
	Name    string   `json:"name"`    // the ambiguous word
	Options []Option `json:"options"` // in the order to offer them
}

// Option is one command a Choice offers, with the locks it would remove.
type Option struct {
	Command     Command       `json:"-"`
	CommandText string        `json:"command"`
	Kind        string        `json:"kind"` // "environment" or "lock id"
	Locks       []deploy.Lock `json:"locks"`
}

// Stale says that what a request was made for changed meanwhile: App on Env was expected
// to run Expected (0: nothing) and now runs Now.Version (0: nothing), by Now's actor.
type Stale struct {
	Env      deploy.Env        `json:"env"`
	App      deploy.App        `json:"app"`
	Expected deploy.Version    `json:"expected"`
	Now      deploy.Deployment `json:"now"`
}

// EnvRow is one environment in the envs listing.
type EnvRow struct {
	Env      deploy.Env   `json:"env"`
	Upstream string       `json:"upstream"` // "latest", an environment, or "none"
	Group    deploy.Group `json:"group"`
	Apps     int          `json:"apps"`
	Locks    int          `json:"locks"`
}

// OK reports whether the command did what was asked (or there was nothing to do).
func (r Result) OK() bool {
	return r.Outcome == deploy.OutcomeDone || r.Outcome == deploy.OutcomeNoop
}

// Summary is a one-line account of the result, for the audit log.
func (r Result) Summary() string {
	var parts []string
	add := func(format string, args ...any) { parts = append(parts, fmt.Sprintf(format, args...)) }
	if r.Problem != nil {
		return r.Problem.Message
	}
	if r.Train != nil {
		add("train to %s: %d deployed", r.Train.Target, len(r.Train.Deploys()))
	} else {
		for _, d := range r.Deployed {
			add("deployed %s %s to %s (was %s)", d.App, d.To, d.Env, versionOrNone(d.From))
		}
	}
	if r.Release != nil {
		add("release %s of %s %s", r.Release.Release.Version, r.Release.Release.App, r.Release.Outcome)
	}
	for _, h := range r.Held {
		add("%s", h.Reason)
	}
	if r.Locked != nil && len(r.Locked.Locks) > 0 {
		add("locked %s (lock %s)", r.Locked.Target, r.Locked.Locks[0].ID)
	}
	if len(r.Unlocked) > 0 {
		add("removed %d lock(s): %s", len(r.Unlocked), lockIDs(r.Unlocked))
	}
	if len(r.Ignored) > 0 {
		add("ignored locks: %s", lockIDs(r.Ignored))
	}
	if r.Confirm != nil {
		add("asked to confirm (locks %s)", lockIDs(r.Confirm.Locks))
	}
	if r.Choice != nil {
		add("asked which %q was meant", r.Choice.Name)
	}
	if s := r.Stale; s != nil {
		add("stale: %s on %s runs %s, expected %s", s.App, s.Env, versionOrNone(s.Now.Version), versionOrNone(s.Expected))
	}
	if r.NoSuchLock != nil {
		add("no %s lock %s", r.NoSuchLock.Kind, r.NoSuchLock.ID)
	}
	if len(parts) == 0 && r.Outcome == deploy.OutcomeNoop && r.App != "" {
		add("%s %s already runs on %s", r.App, r.Label, joinEnvs(r.Already))
	}
	return strings.Join(parts, "; ")
}

func versionOrNone(v deploy.Version) string {
	if v == 0 {
		return "none"
	}
	return v.String()
}

func lockIDs(ls []deploy.Lock) string {
	seen := map[string]bool{}
	var ids []string
	for _, l := range ls {
		if !seen[l.ID] {
			seen[l.ID] = true
			ids = append(ids, l.ID)
		}
	}
	return strings.Join(ids, ", ")
}
