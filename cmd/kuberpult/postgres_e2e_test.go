package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// TestServeOnPostgres: serve with state.postgres.dsn takes CI's release and pushes it; a
// console on the same database (another process) sees it.
func TestServeOnPostgres(t *testing.T) {
	addr := freeAddr(t)
	cfgPath, bare := writeConfig(t, addr)
	usePostgres(t, cfgPath, postgresSchema(t))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	serveErr := make(chan error, 1)
	go func() { serveErr <- run(ctx, []string{"serve", "--config", cfgPath}, nil, io.Discard, &logs) }()
	base := "http://" + addr
	waitHealthy(t, base, serveErr)
	resp, err := http.DefaultClient.Do(kuberpultCLIRelease(t, base, "checkout", 1, "development", "staging"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("release: %d\n%s", resp.StatusCode, logs.String())
	}
	waitFor(t, "the release pushed", func() bool {
		out, err := exec.Command("git", "--git-dir", bare, "log", "-1", "--format=%s", "main").Output()
		return err == nil && strings.Contains(string(out), "deploy checkout 1 to development")
	})
	var out bytes.Buffer
	if err := run(context.Background(), []string{"console", "--config", cfgPath}, stdinFile(t, "status"), &out, io.Discard); err != nil {
		t.Fatalf("console: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "checkout  shop  1 ") {
		t.Errorf("the console's status:\n%s", out.String())
	}
	cancel()
	if err := <-serveErr; err != nil {
		t.Fatalf("serve: %v\n%s", err, logs.String())
	}
}

// postgresSchema creates a schema of its own on the server KUBERPULT_TEST_POSTGRES names
// (skipping the test without it), dropped when the test ends, and returns a DSN for it.
func postgresSchema(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("KUBERPULT_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("KUBERPULT_TEST_POSTGRES is not set: no PostgreSQL server to test against")
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "kp_e2e_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		admin.Close()
	})
	switch {
	case !strings.Contains(dsn, "://"): // key=value pairs
		return dsn + " search_path=" + schema
	case strings.Contains(dsn, "?"):
		return dsn + "&search_path=" + schema
	}
	return dsn + "?search_path=" + schema
}

// usePostgres switches the config at cfgPath from its SQLite file to the database dsn, read
// from the environment as a deployment would (${TEST_DATABASE_URL}).
func usePostgres(t *testing.T, cfgPath, dsn string) {
	t.Helper()
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "sqlite: ") {
			lines[i] = "  postgres: {dsn: '${TEST_DATABASE_URL}'}"
		}
	}
	if err := os.WriteFile(cfgPath, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_DATABASE_URL", dsn)
}
