package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"strings"
	"testing"

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
		{"app IN (SELECT value FROM json_each(?))", "app IN (SELECT jsonb_array_elements_text(CAST($1 AS jsonb)))"},
		{"SET latest = max(latest, excluded.latest)", "SET latest = GREATEST(apps.latest, excluded.latest)"},
	} {
		if got := postgresSQL(tt.in); got != tt.want {
			t.Errorf("postgresSQL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
