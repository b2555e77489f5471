package deploy

import (
	"context"
	"time"
)

// View is the state an action reads to decide. An action's view is inside its write
// transaction, so nothing changes between reading and writing; a query's view is a
// consistent read-only snapshot. Every method reads only what it is asked for, so the cost
// of an action does not grow with the history or the number of apps.
type View interface {
	// App returns what is known of one app; false when it has no release.
	App(ctx context.Context, app App) (AppInfo, bool, error)
	// Apps returns every app.
	Apps(ctx context.Context) (map[App]AppInfo, error)
	// Release returns one release with its manifests; an error wrapping ErrNotFound when
	// there is none.
	Release(ctx context.Context, app App, v Version) (Release, error)
	// Releases returns up to limit releases of app (0 for all), newest first, without
	// their manifests.
	Releases(ctx context.Context, app App, limit int) ([]Release, error)
	// ReleasesOfCommit returns the releases built from a source commit (its full id or a
	// prefix of at least 7 hex digits), without their manifests, by app and version.
	ReleasesOfCommit(ctx context.Context, commit string) ([]Release, error)
	// State returns the part of the state q selects.
	State(ctx context.Context, q Query) (State, error)
	// History returns up to limit deployments of app (0 for all), newest first, on env or
	// on every environment when env is "".
	History(ctx context.Context, app App, env Env, limit int) ([]Deployment, error)
	// LockHistory returns up to limit locks created on env (every environment when env is
	// ""), newest first, with who deleted or replaced them and when.
	LockHistory(ctx context.Context, env Env, limit int) ([]LockRecord, error)
	// AuditLog returns the audit entries f selects, newest first.
	AuditLog(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
	// Departure returns the departure of a train at a slot; false when nothing is recorded.
	Departure(ctx context.Context, train string, slot time.Time) (Departure, bool, error)
	// Departures returns up to limit departures of a train (every train when train is ""),
	// latest slot first.
	Departures(ctx context.Context, train string, limit int) ([]Departure, error)
	// Approval returns an approval request; false when there is none with that id.
	Approval(ctx context.Context, id string) (Approval, bool, error)
	// Rollouts returns the latest Argo CD rollout of each (environment, app) of app (every
	// app when app is "").
	Rollouts(ctx context.Context, app App) ([]Rollout, error)
	// Outbox summarises the git outbox: how much waits, and what failed.
	Outbox(ctx context.Context) (OutboxSummary, error)
}

// Query selects part of the state. A nil list selects everything; an empty one nothing.
type Query struct {
	Envs []Env // deployments, held attempts and locks of these environments
	Apps []App // the infos, deployments and held attempts of these apps
}

// Everything is the query for the whole state.
var Everything = Query{}

// RequestKey makes a request idempotent. A request whose Key was seen before gets the
// result stored the first time, and nothing else happens; when its Fingerprint (what was
// asked) differs from the first one, it is refused as a conflict. An empty Key means the
// request is not idempotent by key (it may still be idempotent by its own semantics).
type RequestKey struct {
	Key         string
	Fingerprint string
}

// Decided is what an action's decision writes: the change (always with its audit entry),
// and the typed result to store with the request key, encoded by the caller.
type Decided struct {
	Change Change
	Result []byte
}

// Recorded is the stored outcome of an action.
type Recorded struct {
	ActionID int64
	Result   []byte
	Time     time.Time // when it was decided
}
