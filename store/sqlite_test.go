package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

func TestOpenCreatesDirectoryAndEscapesPath(t *testing.T) {
	for _, name := range []string{"a/b/state.db", "odd?name#1%20.db"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			db := openAt(t, path)
			mustApply(t, db, deploy.Change{Releases: []deploy.Release{release("checkout", 1, "", nil)}, Audit: audit("r", 1)})
			if _, err := db.Release(context.Background(), "checkout", 1); err != nil {
				t.Errorf("Release: %v", err)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("no database file at the given path: %v", err)
			}
		})
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	rel := release("checkout", 1, "payments", map[deploy.Env]string{"staging": "a: 1\n"})
	mustApply(t, db, deploy.Change{
		Releases:    []deploy.Release{rel},
		Deployments: []deploy.Deployment{deployment("staging", "checkout", 1, 1)},
		Held:        []deploy.Held{{Env: "production", App: "checkout", Version: 1, How: deploy.HowAuto, LockIDs: []string{"x"}, Time: at(1)}},
		CreateLocks: []deploy.Lock{lock(deploy.LockEnv, "freeze", "production", 1), lock(deploy.LockApp, "gone", "staging", 1)},
		Repo:        repoChange("deploy", 1),
		Audit:       audit("deploy", 1),
	})
	mustApply(t, db, deploy.Change{DeleteLocks: []deploy.LockKey{lock(deploy.LockApp, "gone", "staging", 1).Key()}, Audit: audit("unlock", 2)})
	type snapshot struct {
		State       deploy.State
		Release     deploy.Release
		History     []deploy.Deployment
		LockHistory []deploy.LockRecord
		Pending     []deploy.OutboxEntry
		Audit       []deploy.AuditEntry
		Versions    []int
	}
	take := func(db *DB) snapshot {
		r, err := db.Release(ctx, "checkout", 1)
		if err != nil {
			t.Fatalf("Release: %v", err)
		}
		return snapshot{
			State: mustState(t, db), Release: r,
			History:     mustHistory(t, db, "checkout", "", 0),
			LockHistory: mustLockHistory(t, db, "", 0),
			Pending:     mustPending(t, db, 0),
			Audit:       mustAuditLog(t, db, AuditFilter{}),
			Versions:    schemaVersions(t, db.read),
		}
	}
	before := take(db)
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	ms, err := loadMigrations(migrations)
	if err != nil {
		t.Fatal(err)
	}
	if len(before.Versions) != len(ms) {
		t.Errorf("schema versions %v, want %d migrations", before.Versions, len(ms))
	}
	// Reopening would fail if a migration ran again (its CREATE TABLEs exist).
	after := take(openAt(t, path))
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("after reopen (-want +got):\n%s", diff)
	}
}

func schemaVersions(t *testing.T, db *sql.DB) []int {
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

// TestConcurrentApply writes from many goroutines through two handles on one file (as two
// processes would) while others read: nothing fails with "database is locked".
func TestConcurrentApply(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	dbs := []*DB{openAt(t, path), openAt(t, path)}
	const writers, perWriter = 8, 10

	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter+writers)
	for w := range writers {
		db := dbs[w%len(dbs)]
		wg.Go(func() {
			for i := range perWriter {
				app := deploy.App(fmt.Sprintf("app-%d", w))
				v := deploy.Version(i + 1)
				_, err := db.Apply(ctx, deploy.Change{
					Releases:    []deploy.Release{release(app, v, "team", map[deploy.Env]string{"development": "a: 1\n"})},
					Deployments: []deploy.Deployment{deployment("development", app, v, i)},
					CreateLocks: []deploy.Lock{lock(deploy.LockEnv, fmt.Sprintf("l-%d-%d", w, i), "staging", i)},
					Repo:        repoChange("deploy", i),
					Audit:       audit("deploy", i),
				})
				if err != nil {
					errs <- fmt.Errorf("writer %d, apply %d: %w", w, i, err)
				}
			}
		})
		wg.Go(func() {
			for range perWriter {
				if _, err := db.State(ctx); err != nil {
					errs <- fmt.Errorf("reader %d: %w", w, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	st := mustState(t, dbs[0])
	if len(st.Apps) != writers || len(st.Deployments["development"]) != writers || len(st.Locks) != writers*perWriter {
		t.Errorf("state has %d apps, %d deployments, %d locks; want %d, %d, %d",
			len(st.Apps), len(st.Deployments["development"]), len(st.Locks), writers, writers, writers*perWriter)
	}
	if n, err := dbs[1].OutboxLen(ctx); err != nil || n != writers*perWriter {
		t.Errorf("OutboxLen = %d, %v; want %d", n, err, writers*perWriter)
	}
}
