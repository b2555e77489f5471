// Package storetest is the conformance suite of Kuberpult's state store. Every backend
// (SQLite today, PostgreSQL later) runs it through the Store interface only, so that the
// handler and the git writer can rely on the same semantics whichever backend they talk to.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

// Store is the state store as its users see it: every exported method of store.DB but Open.
type Store interface {
	Close() error
	Ping(ctx context.Context) error
	Act(ctx context.Context, key deploy.RequestKey,
		fn func(ctx context.Context, v deploy.View) (deploy.Decided, error)) (deploy.Recorded, bool, error)
	View(ctx context.Context, fn func(ctx context.Context, v deploy.View) error) error
	Audit(ctx context.Context, e deploy.AuditEntry) (int64, error)
	PruneRequests(ctx context.Context, before time.Time) (int, error)

	Pending(ctx context.Context, limit int) ([]deploy.OutboxEntry, error)
	// Waiting returns when the first pending entry with an id above after was accepted
	// (zero when there is none): what waits behind the batches the writer took.
	Waiting(ctx context.Context, after int64) (time.Time, error)
	RenderState(ctx context.Context) (deploy.RenderState, error)
	RecordBuilds(ctx context.Context, l deploy.Lease, builds []deploy.BuildRecord) error
	MarkPushed(ctx context.Context, pushed []deploy.Pushed) error
	MarkFailed(ctx context.Context, l deploy.Lease, id int64, reason string, now time.Time) error
	AcquireLease(ctx context.Context, name, holder string, priority int, now time.Time, ttl time.Duration) (deploy.Lease, bool, error)
	RenewLease(ctx context.Context, l deploy.Lease, now time.Time, ttl time.Duration) (deploy.Lease, error)
	ReleaseLease(ctx context.Context, l deploy.Lease) error
	Lease(ctx context.Context, name string) (deploy.Lease, bool, error)

	SaveCard(ctx context.Context, c deploy.Card) error
	Card(ctx context.Context, actionID int64) (deploy.Card, bool, error)
	ActionCommit(ctx context.Context, actionID int64) (string, error)
	Remind(ctx context.Context, name string, now time.Time) (bool, error)

	SaveRollouts(ctx context.Context, rs ...deploy.Rollout) error
	Rollouts(ctx context.Context) ([]deploy.Rollout, error)
	RolloutsInFlight(ctx context.Context) ([]deploy.Rollout, error)
	LastActionOfCommit(ctx context.Context, rev string) (int64, bool, error)
	UntrackedPushes(ctx context.Context, since time.Time) ([]deploy.PushEvent, error)

	SyncGitHubDeployments(ctx context.Context, since, now time.Time, followRollouts bool) (int, error)
	GitHubDeploymentsDue(ctx context.Context, now time.Time, limit int) ([]deploy.GitHubDeployment, error)
	SaveGitHubDeployment(ctx context.Context, d deploy.GitHubDeployment) error
}

type test struct {
	name string
	run  func(t *testing.T, s Store)
}

var tests = []test{
	{"ping", testPing},
	{"commit actions", testCommitActions},
	{"untracked pushes", testUntrackedPushes},
	{"github deployments", testGitHubDeployments},
	{"undeploy versions and removed deployments", testUndeploy},
	{"releases round trip", testReleases},
	{"apps from releases and owners", testApps},
	{"duplicate release conflicts and writes nothing", testDuplicateRelease},
	{"act decides on the state of its transaction", testActView},
	{"act fn error writes nothing", testActError},
	{"request keys", testRequestKeys},
	{"deployments current history and held clearing", testDeployments},
	{"held attempts", testHeld},
	{"locks create replace delete and history", testLocks},
	{"state queries", testStateQuery},
	{"audit log", testAuditLog},
	{"versions up to the maximum", testMaxVersion},
	{"times round trip", testTimes},
	{"outbox pending order and builds", testPending},
	{"outbox fencing", testFencing},
	{"mark pushed", testMarkPushed},
	{"failed entries", testFailed},
	{"render state", testRenderState},
	{"leases", testLeases},
	{"fenced actions", testFencedActs},
	{"cards", testCards},
	{"reminders once", testReminders},
	{"train departures", testDepartures},
	{"approvals", testApprovals},
	{"releases of a commit", testReleasesOfCommit},
	{"rollouts", testRollouts},
	{"concurrent acts", func(t *testing.T, s Store) { testConcurrentDeploys(t, []Store{s}) }},
	{"concurrent counter", func(t *testing.T, s Store) { testCounter(t, []Store{s}) }},
}

// Run runs the conformance suite. open returns a new, empty store for each test and closes it
// when the test ends.
func Run(t *testing.T, open func(t *testing.T) Store) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
	}
}

// RunShared runs the tests that need several handles on one store, as several processes
// (a serve and a console, or replicas) have them. open returns n handles on one new, empty
// store and closes them when the test ends.
func RunShared(t *testing.T, open func(t *testing.T, n int) []Store) {
	t.Run("concurrent acts", func(t *testing.T) { testConcurrentDeploys(t, open(t, 2)) })
	t.Run("concurrent counter", func(t *testing.T) { testCounter(t, open(t, 2)) })
}

// T0 has nanoseconds and a non-UTC zone, so the tests see whether times round-trip exactly.
var T0 = time.Date(2025, 3, 4, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))

// at returns T0 plus n minutes.
func at(n int) time.Time { return T0.Add(time.Duration(n) * time.Minute) }

var (
	alice = deploy.Actor{Kind: deploy.ActorUser, ID: "U01ALICE", Name: "Alice", Email: "alice@example.com"}
	bob   = deploy.Actor{Kind: deploy.ActorUser, ID: "U02BOB", Name: "Bob", Email: "bob@example.com"}
	ci    = deploy.Actor{Kind: deploy.ActorAPI, ID: "ci", Name: "CI", Email: "ci@example.com"}
)

func release(app deploy.App, v deploy.Version, team deploy.Team, manifests map[deploy.Env]string) deploy.Release {
	return deploy.Release{
		App: app, Version: v, Team: team,
		DisplayVersion: "v1." + v.String(),
		SourceCommitID: "0123456789abcdef0123456789abcdef01234567",
		SourceAuthor:   "Dev <dev@example.com>",
		SourceMessage:  "change " + v.String(),
		CILink:         "https://ci.example.com/" + v.String(),
		Manifests:      manifests,
		CreatedAt:      at(int(v % 1000)),
		CreatedBy:      ci,
	}
}

func deployment(env deploy.Env, app deploy.App, v deploy.Version, minute int) deploy.Deployment {
	return deploy.Deployment{Env: env, App: app, Version: v, How: deploy.HowManual, Actor: alice,
		Time: at(minute), Reason: "because"}
}

func lock(kind deploy.LockKind, id string, env deploy.Env, minute int) deploy.Lock {
	l := deploy.Lock{Kind: kind, ID: id, Env: env, Message: "lock " + id, SuggestedLifetime: "4h",
		Author: alice, CreatedAt: at(minute)}
	switch kind {
	case deploy.LockApp:
		l.App = "checkout"
	case deploy.LockTeam:
		l.Team = "payments"
	}
	return l
}

func held(env deploy.Env, app deploy.App, v deploy.Version, minute int, ls ...deploy.Lock) deploy.Held {
	return deploy.HeldByLocks(env, app, v, deploy.HowAuto, ls, at(minute))
}

func auditEntry(cmd string, minute int) deploy.AuditEntry {
	return deploy.AuditEntry{Time: at(minute), Actor: alice, Via: deploy.ViaConsole, Command: cmd,
		Outcome: deploy.OutcomeDone}
}

func repoChange(msg string, minute int) *deploy.RepoChange {
	return &deploy.RepoChange{
		Message: msg, Author: alice, Time: at(minute),
		Manifests: []deploy.ManifestChange{
			{Env: "staging", App: "checkout", Version: 1, Manifest: "kind: Deployment\n"},
			{Env: "development", App: "cart", Remove: true},
		},
		Configs: []deploy.EnvConfigChange{{Env: "staging", Config: deploy.EnvConfig{
			Upstream: &deploy.Upstream{Environment: "development"}, Group: "pre-prod"}}},
		Teams: []deploy.AppTeam{{App: "checkout", Team: "payments"}},
	}
}

// decide returns an action that decides c whatever it sees.
func decide(c deploy.Change) func(context.Context, deploy.View) (deploy.Decided, error) {
	return func(context.Context, deploy.View) (deploy.Decided, error) {
		return deploy.Decided{Change: c}, nil
	}
}

// act writes c as an action without a request key and returns its action id.
func act(t *testing.T, s Store, c deploy.Change) int64 {
	t.Helper()
	rec, replayed, err := s.Act(t.Context(), deploy.RequestKey{}, decide(c))
	if err != nil {
		t.Fatalf("Act: %v", err)
	}
	if replayed || rec.ActionID <= 0 {
		t.Fatalf("Act = %+v, replayed %v; want a new action", rec, replayed)
	}
	return rec.ActionID
}

// read runs fn on a View, failing the test on an error.
func read(t *testing.T, s Store, fn func(ctx context.Context, v deploy.View) error) {
	t.Helper()
	if err := s.View(t.Context(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

func state(t *testing.T, s Store, q deploy.Query) deploy.State {
	t.Helper()
	var st deploy.State
	read(t, s, func(ctx context.Context, v deploy.View) (err error) { st, err = v.State(ctx, q); return })
	return st
}

func history(t *testing.T, s Store, app deploy.App, env deploy.Env, limit int) []deploy.Deployment {
	t.Helper()
	var h []deploy.Deployment
	read(t, s, func(ctx context.Context, v deploy.View) (err error) { h, err = v.History(ctx, app, env, limit); return })
	return h
}

func lockHistory(t *testing.T, s Store, env deploy.Env, limit int) []deploy.LockRecord {
	t.Helper()
	var h []deploy.LockRecord
	read(t, s, func(ctx context.Context, v deploy.View) (err error) { h, err = v.LockHistory(ctx, env, limit); return })
	return h
}

func auditLog(t *testing.T, s Store, f deploy.AuditFilter) []deploy.AuditEntry {
	t.Helper()
	var l []deploy.AuditEntry
	read(t, s, func(ctx context.Context, v deploy.View) (err error) { l, err = v.AuditLog(ctx, f); return })
	return l
}

func outbox(t *testing.T, s Store) deploy.OutboxSummary {
	t.Helper()
	var o deploy.OutboxSummary
	read(t, s, func(ctx context.Context, v deploy.View) (err error) { o, err = v.Outbox(ctx); return })
	return o
}

func pending(t *testing.T, s Store, limit int) []deploy.OutboxEntry {
	t.Helper()
	p, err := s.Pending(t.Context(), limit)
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	return p
}

// withoutIDs clears the ids the store assigns to audit entries.
func withoutIDs(es []deploy.AuditEntry) []deploy.AuditEntry {
	var out []deploy.AuditEntry
	for _, e := range es {
		e.ID = 0
		out = append(out, e)
	}
	return out
}

// dump is everything the suite can observe of a store, to check that nothing was written.
type dump struct {
	State       deploy.State
	Releases    map[deploy.App][]deploy.Release
	History     map[deploy.App][]deploy.Deployment
	LockHistory []deploy.LockRecord
	Audit       []deploy.AuditEntry
	Outbox      deploy.OutboxSummary
	Pending     []deploy.OutboxEntry
	Render      deploy.RenderState
}

func take(t *testing.T, s Store, apps ...deploy.App) dump {
	t.Helper()
	d := dump{Releases: map[deploy.App][]deploy.Release{}, History: map[deploy.App][]deploy.Deployment{}}
	read(t, s, func(ctx context.Context, v deploy.View) error {
		var err error
		if d.State, err = v.State(ctx, deploy.Everything); err != nil {
			return err
		}
		for _, app := range apps {
			if d.Releases[app], err = v.Releases(ctx, app, 0); err != nil {
				return err
			}
			if d.History[app], err = v.History(ctx, app, "", 0); err != nil {
				return err
			}
		}
		if d.LockHistory, err = v.LockHistory(ctx, "", 0); err != nil {
			return err
		}
		if d.Audit, err = v.AuditLog(ctx, deploy.AuditFilter{}); err != nil {
			return err
		}
		d.Outbox, err = v.Outbox(ctx)
		return err
	})
	d.Pending = pending(t, s, 0)
	var err error
	if d.Render, err = s.RenderState(t.Context()); err != nil {
		t.Fatalf("RenderState: %v", err)
	}
	return d
}

// unchanged fails the test if the store differs from before.
func unchanged(t *testing.T, s Store, before dump, apps ...deploy.App) {
	t.Helper()
	if diff := cmp.Diff(before, take(t, s, apps...)); diff != "" {
		t.Errorf("the store changed (-before +after):\n%s", diff)
	}
}
