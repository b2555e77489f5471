package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"kuberpult/deploy"
)

// TestSQLite runs the conformance suite against SQLite files in temporary directories.
func TestSQLite(t *testing.T) {
	testStore(t, openTemp)
}

func openTemp(t *testing.T) *DB {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "state.db"))
}

func openAt(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// t0 has nanoseconds and a non-UTC zone, so the tests see whether times round-trip exactly.
var t0 = time.Date(2025, 3, 4, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))

// at returns t0 plus n minutes.
func at(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }

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
		CreatedAt:      at(int(v)),
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

func audit(cmd string, minute int) deploy.AuditEntry {
	return deploy.AuditEntry{Time: at(minute), Actor: alice, Via: deploy.ViaConsole, Command: cmd,
		Outcome: deploy.OutcomeDone}
}

func repoChange(msg string, minute int) *deploy.RepoChange {
	return &deploy.RepoChange{
		Message: msg, Author: alice, Time: at(minute),
		Envs: []deploy.EnvFiles{{
			Env:       "staging",
			Config:    deploy.EnvConfig{Upstream: &deploy.Upstream{Environment: "development"}},
			Manifests: []deploy.AppManifest{{App: "checkout", Manifest: "kind: Deployment\n"}},
			Apps:      []deploy.ArgoApp{{App: "checkout", Team: "payments"}},
		}},
	}
}

func mustApply(t *testing.T, db *DB, c deploy.Change) int64 {
	t.Helper()
	id, err := db.Apply(context.Background(), c)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return id
}

func mustState(t *testing.T, db *DB) deploy.State {
	t.Helper()
	st, err := db.State(context.Background())
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	return st
}

func mustHistory(t *testing.T, db *DB, app deploy.App, env deploy.Env, limit int) []deploy.Deployment {
	t.Helper()
	h, err := db.History(context.Background(), app, env, limit)
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	return h
}

func mustLockHistory(t *testing.T, db *DB, env deploy.Env, limit int) []deploy.LockRecord {
	t.Helper()
	h, err := db.LockHistory(context.Background(), env, limit)
	if err != nil {
		t.Fatalf("LockHistory: %v", err)
	}
	return h
}

func mustPending(t *testing.T, db *DB, limit int) []deploy.OutboxEntry {
	t.Helper()
	p, err := db.Pending(context.Background(), limit)
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	return p
}

func mustAuditLog(t *testing.T, db *DB, f AuditFilter) []deploy.AuditEntry {
	t.Helper()
	l, err := db.AuditLog(context.Background(), f)
	if err != nil {
		t.Fatalf("AuditLog: %v", err)
	}
	return l
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
