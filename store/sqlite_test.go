package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
	"kuberpult/store/storetest"
)

// TestSQLite runs the conformance suite against SQLite files in temporary directories.
func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return openTemp(t) })
}

// TestSQLiteShared runs the tests of several handles on one file, as two processes have.
func TestSQLiteShared(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T, n int) []storetest.Store {
		path := filepath.Join(t.TempDir(), "state.db")
		var out []storetest.Store
		for range n {
			out = append(out, openAt(t, path))
		}
		return out
	})
}

func openTemp(t testing.TB) *DB {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "state.db"))
}

func openAt(t testing.TB, path string) *DB {
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

var (
	t0    = storetest.T0
	alice = deploy.Actor{Kind: deploy.ActorUser, ID: "U01ALICE", Name: "Alice", Email: "alice@example.com"}
)

func at(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }

// mustAct writes c as one action and returns its id.
func mustAct(t testing.TB, db *DB, c deploy.Change) int64 {
	t.Helper()
	rec, _, err := db.Act(context.Background(), deploy.RequestKey{}, func(context.Context, deploy.View) (deploy.Decided, error) {
		return deploy.Decided{Change: c}, nil
	})
	if err != nil {
		t.Fatalf("Act: %v", err)
	}
	return rec.ActionID
}

func mustView(t testing.TB, db *DB, fn func(ctx context.Context, v deploy.View) error) {
	t.Helper()
	if err := db.View(context.Background(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

func TestOpenCreatesDirectoryAndEscapesPath(t *testing.T) {
	for _, name := range []string{"a/b/state.db", "odd?name#1%20.db"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			db := openAt(t, path)
			mustAct(t, db, deploy.Change{Releases: []deploy.Release{{App: "checkout", Version: 1, CreatedAt: at(1)}},
				Audit: deploy.AuditEntry{Time: at(1)}})
			mustView(t, db, func(ctx context.Context, v deploy.View) error {
				_, err := v.Release(ctx, "checkout", 1)
				return err
			})
			if _, err := os.Stat(path); err != nil {
				t.Errorf("no database file at the given path: %v", err)
			}
		})
	}
}

func TestOpenUsesWAL(t *testing.T) {
	db := openTemp(t)
	for name, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1"} {
		var got string
		if err := db.write.QueryRow(`PRAGMA ` + name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", name, got, want)
		}
	}
	if _, err := db.read.Exec(`DELETE FROM apps`); err == nil {
		t.Error("the read pool can write")
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	mustAct(t, db, deploy.Change{
		Releases:    []deploy.Release{{App: "checkout", Version: 1, Team: "payments", CreatedAt: at(1), Manifests: map[deploy.Env]string{"staging": "a: 1\n"}}},
		Deployments: []deploy.Deployment{{Env: "staging", App: "checkout", Version: 1, How: deploy.HowAuto, Time: at(1)}},
		CreateLocks: []deploy.Lock{{Kind: deploy.LockEnv, ID: "freeze", Env: "production", CreatedAt: at(1)}},
		EnvConfigs:  []deploy.EnvConfigChange{{Env: "staging", Config: deploy.EnvConfig{Group: "pre"}}},
		Repo:        &deploy.RepoChange{Message: "deploy", Time: at(1), Manifests: []deploy.ManifestChange{{Env: "staging", App: "checkout", Version: 1}}},
		Audit:       deploy.AuditEntry{Time: at(1), Actor: alice},
	})
	type snapshot struct {
		State    deploy.State
		Pending  []deploy.OutboxEntry
		Render   deploy.RenderState
		Audit    []deploy.AuditEntry
		Versions []int
	}
	take := func(db *DB) snapshot {
		var s snapshot
		mustView(t, db, func(ctx context.Context, v deploy.View) (err error) {
			if s.State, err = v.State(ctx, deploy.Everything); err != nil {
				return err
			}
			s.Audit, err = v.AuditLog(ctx, deploy.AuditFilter{})
			return err
		})
		if s.Pending, err = db.Pending(ctx, 0); err != nil {
			t.Fatal(err)
		}
		if s.Render, err = db.RenderState(ctx); err != nil {
			t.Fatal(err)
		}
		s.Versions = schemaVersions(t, db.read)
		return s
	}
	before := take(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ms, err := loadMigrations(migrations)
	if err != nil {
		t.Fatal(err)
	}
	if len(before.Versions) != len(ms) {
		t.Errorf("schema versions %v, want %d migrations", before.Versions, len(ms))
	}
	// Reopening would fail if a migration ran again (its CREATE TABLEs exist).
	if diff := cmp.Diff(before, take(openAt(t, path))); diff != "" {
		t.Errorf("after reopen (-want +got):\n%s", diff)
	}
}

func schemaVersions(t testing.TB, db *sql.DB) []int {
	t.Helper()
	rows, err := db.Query(`SELECT version FROM schema_version ORDER BY version`)
	if err != nil {
		t.Fatalf("read schema_version: %v", err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "m.db")+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	fsys := fstest.MapFS{
		"migrations/0002_rows.sql":  {Data: []byte("INSERT INTO extra (n) VALUES (1);\nINSERT INTO extra (n) VALUES (2);")},
		"migrations/0001_table.sql": {Data: []byte("CREATE TABLE extra (n INTEGER NOT NULL);")},
	}
	for range 2 {
		if err := migrate(ctx, db, fsys); err != nil {
			t.Fatalf("migrate: %v", err)
		}
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM extra`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("extra has %d rows, want 2: migrations ran more than once", n)
	}

	// A failing migration leaves nothing behind.
	fsys["migrations/0003_bad.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE half (n INTEGER);\nNOT SQL;")}
	if err := migrate(ctx, db, fsys); err == nil {
		t.Fatal("migrate with a broken migration succeeded")
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name = 'half'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Error("table of the failed migration exists")
	}
	if diff := cmp.Diff([]int{1, 2}, schemaVersions(t, db)); diff != "" {
		t.Errorf("schema versions (-want +got):\n%s", diff)
	}

	bad := map[string]fstest.MapFS{
		"no number":      {"migrations/init.sql": {Data: []byte("SELECT 1;")}},
		"same number":    {"migrations/0001_a.sql": {Data: []byte("SELECT 1;")}, "migrations/1_b.sql": {Data: []byte("SELECT 1;")}},
		"number is zero": {"migrations/0000_a.sql": {Data: []byte("SELECT 1;")}},
	}
	for name, fsys := range bad {
		if _, err := loadMigrations(fsys); err == nil {
			t.Errorf("%s: loadMigrations succeeded", name)
		}
	}
}

// TestBrokenEntries: an entry that cannot be read comes back with the reason instead of
// failing Pending, and the entries around it are read as usual.
func TestBrokenEntries(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	repo := func(msg string) *deploy.RepoChange { return &deploy.RepoChange{Message: msg, Time: at(1)} }
	var ids []int64
	for _, msg := range []string{"good 1", "not json", "unknown field", "good 2"} {
		ids = append(ids, mustAct(t, db, deploy.Change{Repo: repo(msg), Audit: deploy.AuditEntry{Time: at(1)}}))
	}
	for id, body := range map[int64]string{ids[1]: `{"message": "trunc`, ids[2]: `{"message":"x","envs":[]}`} {
		if _, err := db.write.Exec(`UPDATE outbox SET repo_change = ? WHERE id = ?`, body, id); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Pending(ctx, 0)
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	if len(got) != 4 {
		t.Fatalf("Pending = %+v, want 4 entries", got)
	}
	for i, e := range got {
		broken := i == 1 || i == 2
		if e.ID != ids[i] || (e.Broken != "") != broken {
			t.Errorf("entry %d = %+v, want id %d, broken %v", i, e, ids[i], broken)
		}
	}
	if got[0].Change.Message != "good 1" || got[3].Change.Message != "good 2" {
		t.Errorf("good entries = %+v, %+v", got[0].Change, got[3].Change)
	}
	lease, _, err := db.AcquireLease(ctx, "envrepo", "w", 1, at(0), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.MarkFailed(ctx, lease, ids[1], got[1].Broken, at(7)); err != nil {
		t.Fatal(err)
	}
	var sum deploy.OutboxSummary
	mustView(t, db, func(ctx context.Context, v deploy.View) (err error) { sum, err = v.Outbox(ctx); return })
	want := deploy.OutboxSummary{Pending: 3, Oldest: at(1), Failed: []deploy.FailedEntry{{ID: ids[1], Reason: got[1].Broken, Time: at(7)}}}
	if diff := cmp.Diff(want, sum); diff != "" {
		t.Errorf("Outbox (-want +got):\n%s", diff)
	}
}

// TestMarkPushedPrunes: pushed entries leave no rows behind, neither their builds.
func TestMarkPushedPrunes(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	lease, _, err := db.AcquireLease(ctx, "envrepo", "w", 1, at(0), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var pushed []deploy.Pushed
	for i := range 3 {
		id := mustAct(t, db, deploy.Change{Repo: &deploy.RepoChange{Message: "m", Time: at(i)}, Audit: deploy.AuditEntry{Time: at(i)}})
		if err := db.RecordBuilds(ctx, lease, []deploy.BuildRecord{{ID: id, Build: deploy.Build{Commit: "c", Epoch: lease.Epoch}}}); err != nil {
			t.Fatal(err)
		}
		pushed = append(pushed, deploy.Pushed{ID: id, Commit: "c"})
	}
	if err := db.MarkFailed(ctx, lease, pushed[2].ID, "bad", t0); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkPushed(ctx, pushed); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"outbox", "outbox_builds"} {
		var n int
		if err := db.read.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s has %d rows after every entry was pushed, want 0", table, n)
		}
	}
}
