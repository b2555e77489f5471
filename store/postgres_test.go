package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"kuberpult/store/storetest"
)

// postgresEnv names the PostgreSQL server the tests use (a DSN whose user may create
// schemas); without it the PostgreSQL tests are skipped. .ci/run sets it.
const postgresEnv = "KUBERPULT_TEST_POSTGRES"

// openPostgresTemp opens a store on a new schema of the test server, dropped at the end.
func openPostgresTemp(t testing.TB) *DB {
	t.Helper()
	dsn := os.Getenv(postgresEnv)
	if dsn == "" {
		t.Skipf("%s is not set: no PostgreSQL server to test against", postgresEnv)
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "kp_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", dsn)
		if err == nil {
			_, _ = a.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
			a.Close()
		}
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	if !strings.Contains(dsn, "://") {
		sep = " "
	}
	withSchema := dsn + sep + "search_path=" + schema
	if sep == " " {
		withSchema = dsn + " search_path=" + schema
	}
	db, err := OpenPostgres(context.Background(), withSchema)
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// TestPostgres runs the conformance suite against PostgreSQL, a new schema per test.
func TestPostgres(t *testing.T) {
	if os.Getenv(postgresEnv) == "" {
		t.Skipf("%s is not set: no PostgreSQL server to test against", postgresEnv)
	}
	storetest.Run(t, func(t *testing.T) storetest.Store { return openPostgresTemp(t) })
}

// TestPostgresShared runs the tests of several handles on one database, as replicas have.
func TestPostgresShared(t *testing.T) {
	if os.Getenv(postgresEnv) == "" {
		t.Skipf("%s is not set: no PostgreSQL server to test against", postgresEnv)
	}
	storetest.RunShared(t, func(t *testing.T, n int) []storetest.Store {
		first := openPostgresTemp(t)
		out := []storetest.Store{first}
		for range n - 1 {
			db, err := OpenPostgres(context.Background(), first.dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			out = append(out, db)
		}
		return out
	})
}

func TestPostgresSQL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"SELECT a FROM t WHERE x = ? AND y = ?", "SELECT a FROM t WHERE x = $1 AND y = $2"},
		{"SELECT ?1 OR (?2 AND ?1)", "SELECT $1 OR ($2 AND $1)"},
		{"SELECT '?' , ?", "SELECT '?' , $1"},
		{"app IN (SELECT value FROM json_each(?))", "app = ANY(ARRAY(SELECT jsonb_array_elements_text(CAST($1 AS jsonb))))"},
		{"SET latest = max(latest, excluded.latest)", "SET latest = GREATEST(apps.latest, excluded.latest)"},
	} {
		if got := postgresSQL(tt.in); got != tt.want {
			t.Errorf("postgresSQL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestPostgresStalledWriterIsCutOff: a process that stops in the middle of a write
// transaction (paused, cut off the network) holds the write lock; the server ends its
// session after idle_in_transaction_session_timeout (10 s unless the DSN sets it; 1 s
// here), so that another replica's writes go on and its stalled transaction commits
// nothing.
func TestPostgresStalledWriterIsCutOff(t *testing.T) {
	first := openPostgresTemp(t)
	var setting string
	if err := first.read.QueryRow(`SHOW idle_in_transaction_session_timeout`).Scan(&setting); err != nil || setting != idleInTransaction {
		t.Errorf("idle_in_transaction_session_timeout = %q, %v; want %s", setting, err, idleInTransaction)
	}
	param := "&idle_in_transaction_session_timeout=1s"
	if !strings.Contains(first.dsn, "://") {
		param = " idle_in_transaction_session_timeout=1s"
	}
	stalled, err := OpenPostgres(context.Background(), first.dsn+param)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	ctx := context.Background()
	tx, err := stalled.write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`SELECT pg_advisory_xact_lock($1)`, writeLock); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO leases (name, holder, priority, epoch, expires_at) VALUES ('stalled', 'x', 0, 1, '')`); err != nil {
		t.Fatal(err)
	}
	// The stalled process does nothing more; another one writes.
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, ok, err := first.AcquireLease(wctx, "envrepo", "replica-2", 1, time.Now(), time.Minute); err != nil || !ok {
		t.Fatalf("a write behind the stalled transaction: %v, %v", ok, err)
	}
	if err := tx.Commit(); err == nil {
		t.Errorf("the stalled transaction committed after its session was ended")
	}
	if _, ok, err := first.Lease(ctx, "stalled"); ok || err != nil {
		t.Errorf("the stalled transaction's row is there: %v, %v", ok, err)
	}
}
