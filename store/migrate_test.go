package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

// The outbox JSON of schema 0001: a full copy of each touched environment's files.
type (
	legacyChange struct {
		Message string        `json:"message"`
		Author  deploy.Actor  `json:"author"`
		Time    time.Time     `json:"time"`
		Envs    []legacyFiles `json:"envs"`
	}
	legacyFiles struct {
		Env       deploy.Env       `json:"env"`
		Config    deploy.EnvConfig `json:"config"`
		Manifests []legacyManifest `json:"manifests,omitempty"`
		Apps      []deploy.AppTeam `json:"apps"`
	}
	legacyManifest struct {
		App      deploy.App `json:"app"`
		Manifest string     `json:"manifest,omitempty"`
		Remove   bool       `json:"remove,omitempty"`
	}
)

// openSchema1 creates a database with the schema of migration 0001 only.
func openSchema1(t *testing.T, path string) *sql.DB {
	t.Helper()
	body, err := fs.ReadFile(migrations, "migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_txlock=immediate&_foreign_keys=1")
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(context.Background(), db, fstest.MapFS{"migrations/0001_init.sql": {Data: body}}); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestMigrateFromSchema1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old := openSchema1(t, path)
	exec := func(q string, vals ...any) {
		t.Helper()
		if _, err := old.Exec(q, vals...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	encode := func(c legacyChange) string {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	stagingCfg := deploy.EnvConfig{Upstream: &deploy.Upstream{Environment: "development"}, Group: "pre"}
	devCfg := deploy.EnvConfig{Upstream: &deploy.Upstream{Latest: true}}
	pushed := legacyChange{Message: "deploy checkout 1 to staging", Author: alice, Time: at(2),
		Envs: []legacyFiles{{Env: "staging", Config: stagingCfg, Manifests: []legacyManifest{{App: "checkout", Manifest: "v: 1\n"}},
			Apps: []deploy.AppTeam{{App: "checkout", Team: "payments"}}}}}
	deploy3 := legacyChange{Message: "deploy checkout 3 to staging\n\nby train", Author: alice, Time: at(4),
		Envs: []legacyFiles{
			{Env: "staging", Config: stagingCfg, Manifests: []legacyManifest{{App: "checkout", Manifest: "v: 3\n"}, {App: "cart", Manifest: "c: 4\n"}},
				Apps: []deploy.AppTeam{{App: "cart"}, {App: "checkout", Team: "checkout-team"}}},
			{Env: "development", Config: devCfg, Apps: []deploy.AppTeam{}},
		}}
	undeploy := legacyChange{Message: "undeploy cart from development", Author: alice, Time: at(5),
		Envs: []legacyFiles{{Env: "development", Config: devCfg, Manifests: []legacyManifest{{App: "cart", Remove: true}}}}}

	rel := `INSERT INTO releases (app, version, team, created_at, created_by_kind, created_by_id, created_by_name, created_by_email)
		VALUES (?, ?, ?, ?, 'api', 'ci', 'CI', 'ci@example.com')`
	exec(rel, "checkout", 1, "payments", fmtTime(at(1)))
	exec(rel, "checkout", 2, "checkout-team", fmtTime(at(1)))
	exec(rel, "checkout", 3, "", fmtTime(at(3)))
	exec(rel, "cart", 4, "", fmtTime(at(3)))
	exec(`INSERT INTO release_manifests (app, version, env, content) VALUES ('checkout', 3, 'staging', 'v: 3')`)
	exec(`INSERT INTO outbox (id, repo_change, created_at, done, commit_hash) VALUES (1, ?, ?, 1, 'c1'), (2, ?, ?, 0, ''), (3, ?, ?, 0, ''), (4, 'not json', ?, 0, ''), (5, ?, ?, 0, '')`,
		encode(pushed), fmtTime(at(2)), encode(deploy3), fmtTime(at(4)), encode(undeploy), fmtTime(at(5)), fmtTime(at(6)),
		encode(legacyChange{Message: "orphan", Time: at(6)}), fmtTime(at(6)))
	aud := `INSERT INTO audit (id, at, actor_kind, actor_id, actor_name, actor_email, via, command, env, app, outcome, outbox_id)
		VALUES (?, ?, 'user', 'U01ALICE', 'Alice', 'alice@example.com', 'console', ?, ?, 'checkout', 'done', ?)`
	exec(aud, 10, fmtTime(at(1)), "release", "", nil)
	exec(aud, 11, fmtTime(at(2)), "deploy checkout 1 to staging", "staging", 1)
	exec(aud, 12, fmtTime(at(3)), "status", "", nil)
	exec(aud, 13, fmtTime(at(4)), "train staging", "staging", 2)
	exec(aud, 14, fmtTime(at(5)), "undeploy", "development", 3)
	exec(aud, 15, fmtTime(at(6)), "broken", "", 4)
	dep := `INSERT INTO %s (env, app, version, how, actor_kind, actor_id, actor_name, actor_email, deployed_at, commit_hash, outbox_id)
		VALUES (?, ?, ?, 'manual', 'user', 'U01ALICE', 'Alice', 'alice@example.com', ?, ?, ?)`
	exec(fmt.Sprintf(dep, "deployment_history"), "staging", "checkout", 1, fmtTime(at(2)), "c1", 1)
	exec(fmt.Sprintf(dep, "deployment_history"), "staging", "checkout", 3, fmtTime(at(4)), "", 2)
	exec(fmt.Sprintf(dep, "deployment_history"), "staging", "cart", 4, fmtTime(at(4)), "", 2)
	exec(fmt.Sprintf(dep, "deployments"), "staging", "checkout", 3, fmtTime(at(4)), "", 2)
	exec(fmt.Sprintf(dep, "deployments"), "staging", "cart", 4, fmtTime(at(4)), "", 2)
	exec(fmt.Sprintf(dep, "deployments"), "production", "checkout", 1, fmtTime(at(0)), "c0", nil)
	lk := `INSERT INTO locks (kind, lock_id, env, app, team, message, author_kind, author_id, author_name, author_email, created_at)
		VALUES (?, ?, ?, ?, ?, 'm', 'user', 'U01ALICE', 'Alice', 'alice@example.com', ?)`
	exec(lk, "env", "freeze", "production", "", "", fmtTime(at(1)))
	exec(lk, "app", "broken", "production", "checkout", "", fmtTime(at(1)))
	exec(lk, "app", "broken", "production", "cart", "", fmtTime(at(1)))
	exec(lk, "team", "payday", "staging", "", "checkout-team", fmtTime(at(1)))
	exec(`INSERT INTO lock_history (kind, lock_id, env, app, team, message, author_kind, author_id, author_name, author_email, created_at)
		SELECT kind, lock_id, env, app, team, message, author_kind, author_id, author_name, author_email, created_at FROM locks`)
	hd := `INSERT INTO held (env, app, version, how, reason, lock_ids, held_at) VALUES (?, ?, 3, 'auto', 'held', ?, ?)`
	exec(hd, "production", "checkout", `["freeze","broken"]`, fmtTime(at(3)))
	exec(hd, "staging", "checkout", `["payday","gone"]`, fmtTime(at(3)))
	exec(hd, "development", "checkout", ``, fmtTime(at(3)))
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	db := openAt(t, path)
	if diff := cmp.Diff([]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, schemaVersions(t, db.read)); diff != "" {
		t.Errorf("schema versions (-want +got):\n%s", diff)
	}
	p, err := db.Pending(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantPending := []deploy.OutboxEntry{
		{ID: 13, Change: deploy.RepoChange{Message: deploy3.Message, Author: alice, Time: at(4),
			Manifests: []deploy.ManifestChange{
				{Env: "staging", App: "checkout", Version: 3, Manifest: "v: 3\n"},
				{Env: "staging", App: "cart", Version: 4, Manifest: "c: 4\n"},
			},
			Configs: []deploy.EnvConfigChange{{Env: "staging", Config: stagingCfg}, {Env: "development", Config: devCfg}},
		}},
		{ID: 14, Change: deploy.RepoChange{Message: undeploy.Message, Author: alice, Time: at(5),
			Manifests: []deploy.ManifestChange{{Env: "development", App: "cart", Remove: true}},
			Configs:   []deploy.EnvConfigChange{{Env: "development", Config: devCfg}},
		}},
		{ID: 15, Broken: "set"},
		// An entry without an audit entry gets one, behind the others.
		{ID: 16, Change: deploy.RepoChange{Message: "orphan", Time: at(6)}},
	}
	if len(p) == 4 && strings.HasPrefix(p[2].Broken, "outbox entry 15 cannot be read: ") {
		p[2].Broken = "set"
	}
	if diff := cmp.Diff(wantPending, p); diff != "" {
		t.Errorf("Pending (-want +got):\n%s", diff)
	}

	var (
		st    deploy.State
		hist  []deploy.Deployment
		audit []deploy.AuditEntry
		locks []deploy.LockRecord
		sum   deploy.OutboxSummary
	)
	mustView(t, db, func(ctx context.Context, v deploy.View) (err error) {
		if st, err = v.State(ctx, deploy.Everything); err != nil {
			return err
		}
		if hist, err = v.History(ctx, "checkout", "", 0); err != nil {
			return err
		}
		if audit, err = v.AuditLog(ctx, deploy.AuditFilter{}); err != nil {
			return err
		}
		if locks, err = v.LockHistory(ctx, "", 0); err != nil {
			return err
		}
		sum, err = v.Outbox(ctx)
		return err
	})
	if diff := cmp.Diff(map[deploy.App]deploy.AppInfo{
		"checkout": {App: "checkout", Team: "checkout-team", Latest: 3},
		"cart":     {App: "cart", Latest: 4},
	}, st.Apps); diff != "" {
		t.Errorf("apps (-want +got):\n%s", diff)
	}
	d := func(env deploy.Env, app deploy.App, v deploy.Version, minute int, commit string, action int64, pending bool) deploy.Deployment {
		return deploy.Deployment{Env: env, App: app, Version: v, How: deploy.HowManual, Actor: alice, Time: at(minute),
			Commit: commit, ActionID: action, Pending: pending}
	}
	if diff := cmp.Diff(map[deploy.Env]map[deploy.App]deploy.Deployment{
		"staging":    {"checkout": d("staging", "checkout", 3, 4, "", 13, true), "cart": d("staging", "cart", 4, 4, "", 13, true)},
		"production": {"checkout": d("production", "checkout", 1, 0, "c0", 0, false)},
	}, st.Deployments); diff != "" {
		t.Errorf("deployments (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]deploy.Deployment{d("staging", "checkout", 3, 4, "", 13, true), d("staging", "checkout", 1, 2, "c1", 11, false)}, hist); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	byLock := func(kind deploy.LockKind, id string, env deploy.Env, app deploy.App, team deploy.Team) deploy.HeldBy {
		return deploy.HeldBy{Kind: deploy.HeldByLock, Lock: &deploy.LockKey{Kind: kind, ID: id, Env: env, App: app, Team: team}}
	}
	h := func(env deploy.Env, by ...deploy.HeldBy) deploy.Held {
		return deploy.Held{Env: env, App: "checkout", Version: 3, How: deploy.HowAuto, Reason: "held", By: by, Time: at(3)}
	}
	if diff := cmp.Diff([]deploy.Held{
		h("development"),
		h("production", byLock(deploy.LockEnv, "freeze", "production", "", ""), byLock(deploy.LockApp, "broken", "production", "checkout", "")),
		h("staging", byLock(deploy.LockTeam, "payday", "staging", "", "checkout-team"), byLock(deploy.LockEnv, "gone", "staging", "", "")),
	}, st.Held); diff != "" {
		t.Errorf("held (-want +got):\n%s", diff)
	}
	if len(st.Locks) != 4 || len(locks) != 4 {
		t.Errorf("%d locks and %d lock history records, want 4 and 4", len(st.Locks), len(locks))
	}
	var commits []string
	var ids []int64
	for _, e := range audit {
		commits, ids = append(commits, e.Commit), append(ids, e.ID)
	}
	if diff := cmp.Diff([]int64{16, 15, 14, 13, 12, 11, 10}, ids); diff != "" {
		t.Errorf("audit ids (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"", "", "", "", "", "c1", ""}, commits); diff != "" {
		t.Errorf("audit commits (-want +got):\n%s", diff)
	}
	if sum.Pending != 4 || !sum.Oldest.Equal(at(4)) {
		t.Errorf("outbox summary = %+v, want 4 pending since %v", sum, at(4))
	}

	// The migrated store works on: new actions come after the migrated ones, and migrated
	// entries are pushed and pruned.
	id := mustAct(t, db, deploy.Change{Repo: &deploy.RepoChange{Message: "next", Time: at(7)}, Audit: deploy.AuditEntry{Time: at(7)}})
	if id != 17 {
		t.Errorf("new action id %d, want 17", id)
	}
	if err := db.MarkPushed(ctx, []deploy.Pushed{{ID: 13, Commit: "c13"}, {ID: 14, Commit: "c14"}}); err != nil {
		t.Fatalf("MarkPushed: %v", err)
	}
	if p, err := db.Pending(ctx, 0); err != nil || len(p) != 3 || p[0].ID != 15 || p[1].ID != 16 || p[2].ID != id {
		t.Errorf("Pending = %+v, %v; want entries 15, 16 and %d", p, err, id)
	}
	mustView(t, db, func(ctx context.Context, v deploy.View) error {
		st, err := v.State(ctx, deploy.Query{Envs: []deploy.Env{"staging"}})
		if err != nil {
			return err
		}
		if c := st.Deployments["staging"]["checkout"]; c.Commit != "c13" || c.Pending {
			t.Errorf("staging checkout after push = %+v", c)
		}
		log, err := v.AuditLog(ctx, deploy.AuditFilter{Limit: 5})
		if err != nil {
			return err
		}
		if len(log) != 5 || log[3].Commit != "c14" || log[4].Commit != "c13" {
			t.Errorf("audit after push = %+v", log)
		}
		return nil
	})
}
