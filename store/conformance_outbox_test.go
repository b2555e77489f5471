package store

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

func testOutbox(t *testing.T, db *DB) {
	ctx := context.Background()
	if id := mustApply(t, db, deploy.Change{Audit: audit("status", 0)}); id != 0 {
		t.Errorf("Apply without a repo change = %d, want 0", id)
	}

	d1 := deployment("staging", "checkout", 1, 1)
	repo1 := repoChange("deploy checkout 1 to staging", 1)
	a1 := audit("deploy checkout 1 to staging", 1)
	a1.Env, a1.App = "staging", "checkout"
	id1 := mustApply(t, db, deploy.Change{Deployments: []deploy.Deployment{d1}, Repo: repo1, Audit: a1})
	if id1 <= 0 {
		t.Fatalf("Apply with a repo change = %d, want a positive id", id1)
	}

	if diff := cmp.Diff([]deploy.OutboxEntry{{ID: id1, Change: *repo1}}, mustPending(t, db, 0)); diff != "" {
		t.Errorf("Pending (-want +got):\n%s", diff)
	}
	if n, err := db.OutboxLen(ctx); err != nil || n != 1 {
		t.Errorf("OutboxLen = %d, %v; want 1", n, err)
	}
	pending := d1
	pending.Pending = true
	if diff := cmp.Diff(pending, mustState(t, db).Deployments["staging"]["checkout"]); diff != "" {
		t.Errorf("deployment before push (-want +got):\n%s", diff)
	}

	// A second deployment of the same app supersedes the first before the first is pushed.
	d2 := deployment("staging", "checkout", 2, 2)
	repo2 := repoChange("deploy checkout 2 to staging", 2)
	id2 := mustApply(t, db, deploy.Change{Deployments: []deploy.Deployment{d2}, Repo: repo2, Audit: audit("deploy 2", 2)})
	if id2 <= id1 {
		t.Fatalf("second outbox id %d is not after the first %d", id2, id1)
	}

	if err := db.MarkPushed(ctx, []deploy.Pushed{{ID: id1, Commit: "c1"}}); err != nil {
		t.Fatalf("MarkPushed: %v", err)
	}
	// Marking a done entry again changes nothing.
	if err := db.MarkPushed(ctx, []deploy.Pushed{{ID: id1, Commit: "other"}}); err != nil {
		t.Fatalf("MarkPushed again: %v", err)
	}
	if diff := cmp.Diff([]deploy.OutboxEntry{{ID: id2, Change: *repo2}}, mustPending(t, db, 0)); diff != "" {
		t.Errorf("Pending after first push (-want +got):\n%s", diff)
	}
	pushed1, pending2 := d1, d2
	pushed1.Commit, pending2.Pending = "c1", true
	if diff := cmp.Diff([]deploy.Deployment{pending2, pushed1}, mustHistory(t, db, "checkout", "", 0)); diff != "" {
		t.Errorf("History after first push (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(pending2, mustState(t, db).Deployments["staging"]["checkout"]); diff != "" {
		t.Errorf("current deployment after first push (-want +got):\n%s", diff)
	}

	// The repo already held the content: no commit, but done.
	if err := db.MarkPushed(ctx, []deploy.Pushed{{ID: id2, Commit: ""}}); err != nil {
		t.Fatalf("MarkPushed: %v", err)
	}
	if n, err := db.OutboxLen(ctx); err != nil || n != 0 {
		t.Errorf("OutboxLen = %d, %v; want 0", n, err)
	}
	if diff := cmp.Diff(d2, mustState(t, db).Deployments["staging"]["checkout"]); diff != "" {
		t.Errorf("current deployment after second push (-want +got):\n%s", diff)
	}

	log := mustAuditLog(t, db, AuditFilter{})
	a1.Commit = "c1"
	wantLog := []deploy.AuditEntry{audit("deploy 2", 2), a1, audit("status", 0)}
	if diff := cmp.Diff(wantLog, withoutIDs(log)); diff != "" {
		t.Errorf("AuditLog (-want +got):\n%s", diff)
	}
}

func testOutboxOrder(t *testing.T, db *DB) {
	ctx := context.Background()
	var want []deploy.OutboxEntry
	for i := range 3 {
		rc := repoChange("change", i)
		id := mustApply(t, db, deploy.Change{Repo: rc, Audit: audit("change", i)})
		want = append(want, deploy.OutboxEntry{ID: id, Change: *rc})
	}
	if diff := cmp.Diff(want[:2], mustPending(t, db, 2)); diff != "" {
		t.Errorf("Pending(2) (-want +got):\n%s", diff)
	}

	// An unknown id fails the whole call: the known entry stays pending too.
	err := db.MarkPushed(ctx, []deploy.Pushed{{ID: want[0].ID, Commit: "c"}, {ID: 999, Commit: "x"}})
	if !errors.Is(err, deploy.ErrNotFound) {
		t.Errorf("MarkPushed(unknown) error = %v, want one wrapping ErrNotFound", err)
	}
	if diff := cmp.Diff(want, mustPending(t, db, 0)); diff != "" {
		t.Errorf("Pending after failed MarkPushed (-want +got):\n%s", diff)
	}

	if err := db.MarkPushed(ctx, []deploy.Pushed{{ID: want[1].ID, Commit: "b"}, {ID: want[0].ID, Commit: "a"}}); err != nil {
		t.Fatalf("MarkPushed: %v", err)
	}
	if diff := cmp.Diff(want[2:], mustPending(t, db, 0)); diff != "" {
		t.Errorf("Pending after MarkPushed (-want +got):\n%s", diff)
	}
}

func testAuditLog(t *testing.T, db *DB) {
	ctx := context.Background()
	e := func(cmd string, minute int, actor deploy.Actor, env deploy.Env) deploy.AuditEntry {
		return deploy.AuditEntry{Time: at(minute), Actor: actor, Via: deploy.ViaSlack, Command: cmd,
			Env: env, App: "checkout", Outcome: deploy.OutcomeDenied, Detail: "not allowed"}
	}
	entries := []deploy.AuditEntry{
		e("one", 1, alice, "staging"),
		e("two", 2, bob, "production"),
		e("three", 3, alice, "production"),
		e("four", 4, ci, ""),
	}
	for _, entry := range entries {
		if err := db.Audit(ctx, entry); err != nil {
			t.Fatalf("Audit: %v", err)
		}
	}
	one, two, three, four := entries[0], entries[1], entries[2], entries[3]

	tests := []struct {
		name   string
		filter AuditFilter
		want   []deploy.AuditEntry
	}{
		{"all", AuditFilter{}, []deploy.AuditEntry{four, three, two, one}},
		{"limit", AuditFilter{Limit: 2}, []deploy.AuditEntry{four, three}},
		{"since is inclusive", AuditFilter{Since: at(3)}, []deploy.AuditEntry{four, three}},
		{"since in another zone", AuditFilter{Since: at(2).UTC()}, []deploy.AuditEntry{four, three, two}},
		{"actor id", AuditFilter{Actor: "U01ALICE"}, []deploy.AuditEntry{three, one}},
		{"actor name ignores case", AuditFilter{Actor: "bob"}, []deploy.AuditEntry{two}},
		{"actor email", AuditFilter{Actor: "CI@example.com"}, []deploy.AuditEntry{four}},
		{"unknown actor", AuditFilter{Actor: "mallory"}, nil},
		{"env", AuditFilter{Env: "production"}, []deploy.AuditEntry{three, two}},
		{"all together", AuditFilter{Since: at(2), Actor: "alice@example.com", Env: "production", Limit: 5},
			[]deploy.AuditEntry{three}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mustAuditLog(t, db, tc.filter)
			for i := 1; i < len(got); i++ {
				if got[i].ID >= got[i-1].ID {
					t.Errorf("ids not descending: %d then %d", got[i-1].ID, got[i].ID)
				}
			}
			if diff := cmp.Diff(tc.want, withoutIDs(got)); diff != "" {
				t.Errorf("AuditLog(%+v) (-want +got):\n%s", tc.filter, diff)
			}
		})
	}
}

func testState(t *testing.T, db *DB) {
	empty := deploy.State{Apps: map[deploy.App]deploy.AppInfo{}, Deployments: map[deploy.Env]map[deploy.App]deploy.Deployment{}}
	if diff := cmp.Diff(empty, mustState(t, db)); diff != "" {
		t.Errorf("State of an empty store (-want +got):\n%s", diff)
	}

	mustApply(t, db, deploy.Change{
		Releases: []deploy.Release{
			release("checkout", 1, "payments", nil),
			release("checkout", 2, "checkout-team", nil),
			release("checkout", 3, "", nil), // names no team: the team stays
			release("cart", 4, "", nil),
			release("search", 10, "discovery", nil),
			release("search", 9, "old-team", nil),
		},
		Audit: audit("releases", 1),
	})
	d := deployment("staging", "checkout", 3, 2)
	mustApply(t, db, deploy.Change{
		Deployments: []deploy.Deployment{d},
		CreateLocks: []deploy.Lock{lock(deploy.LockTeam, "t1", "staging", 2), lock(deploy.LockEnv, "e1", "staging", 2)},
		Held:        []deploy.Held{{Env: "production", App: "search", Version: 10, How: deploy.HowAuto, Time: at(2)}},
		Repo:        repoChange("deploy", 2),
		Audit:       audit("deploy", 2),
	})
	d.Pending = true
	want := deploy.State{
		Apps: map[deploy.App]deploy.AppInfo{
			"checkout": {App: "checkout", Team: "checkout-team", Latest: 3},
			"cart":     {App: "cart", Latest: 4},
			"search":   {App: "search", Team: "discovery", Latest: 10},
		},
		Deployments: map[deploy.Env]map[deploy.App]deploy.Deployment{"staging": {"checkout": d}},
		Locks:       []deploy.Lock{lock(deploy.LockEnv, "e1", "staging", 2), lock(deploy.LockTeam, "t1", "staging", 2)},
		Held:        []deploy.Held{{Env: "production", App: "search", Version: 10, How: deploy.HowAuto, Time: at(2)}},
	}
	if diff := cmp.Diff(want, mustState(t, db)); diff != "" {
		t.Errorf("State (-want +got):\n%s", diff)
	}
}
