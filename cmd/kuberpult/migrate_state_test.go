package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"kuberpult/deploy"
	"kuberpult/store"
)

// migrateConsole runs a console script on the configuration and returns what it printed;
// every command must succeed.
func migrateConsole(t *testing.T, cfgPath, script string) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"console", "--config", cfgPath}, stdinFile(t, script), &out, io.Discard); err != nil {
		t.Fatalf("console %q: %v\n%s", script, err, out.String())
	}
	return out.String()
}

// TestMigrateStateToPostgres: a SQLite state made by serve (CI's releases, pushed) and a
// console (deploys, locks, an unlock) is copied with `kuberpult migrate-state` into
// PostgreSQL. A console on PostgreSQL then prints what one on the SQLite file prints, the
// audit log included, and a new action on PostgreSQL works and continues the ids.
func TestMigrateStateToPostgres(t *testing.T) {
	dsn := postgresSchema(t)
	addr := freeAddr(t)
	cfgPath, bare := writeConfig(t, addr)
	dbPath := filepath.Join(filepath.Dir(cfgPath), "k.db")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	serveErr := make(chan error, 1)
	go func() { serveErr <- run(ctx, []string{"serve", "--config", cfgPath}, nil, io.Discard, &logs) }()
	base := "http://" + addr
	waitHealthy(t, base, serveErr)
	for v := 1; v <= 2; v++ {
		resp, err := http.DefaultClient.Do(kuberpultCLIRelease(t, base, "checkout", v, "development", "staging", "production-de", "production-jp"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("release %d: %d\n%s", v, resp.StatusCode, logs.String())
		}
	}
	waitFor(t, "the releases pushed", func() bool {
		out, err := exec.Command("git", "--git-dir", bare, "log", "-1", "--format=%s", "main").Output()
		return err == nil && strings.Contains(string(out), "deploy checkout 2 to development")
	})
	// While serve writes the file, the copy is refused (what serve writes would be lost).
	err := run(context.Background(), []string{"migrate-state", "--from", dbPath, "--to", dsn}, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "holds the env-repo writer lease") || !strings.Contains(err.Error(), "kuberpult serve") {
		t.Errorf("migrate-state while serve runs: %v, want a refusal", err)
	}
	cancel()
	if err := <-serveErr; err != nil {
		t.Fatalf("serve: %v\n%s", err, logs.String())
	}

	migrateConsole(t, cfgPath, strings.Join([]string{
		"deploy checkout 1 to staging",
		`lock production "peak hours"`,
		"deploy checkout 1 to production --force",
		`lock checkout on staging "pin" --id pin`,
		`lock development "tests" --id tests`,
		"unlock pin",
		"history checkout on production-de",
	}, "\n"))
	// What a console prints of the state. audit comes first: it lists every entry made
	// before this session, so two stores with the same history print the same log.
	observe := strings.Join([]string{"audit", "status", "locks", "history checkout", "releases checkout"}, "\n")
	firstLook := migrateConsole(t, cfgPath, observe)

	var out bytes.Buffer
	if err := run(context.Background(), []string{"migrate-state", "--from", dbPath, "--to", dsn}, nil, &out, io.Discard); err != nil {
		t.Fatalf("migrate-state: %v\n%s", err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	tables := store.StateTables()
	if len(lines) != len(tables)+1 {
		t.Fatalf("migrate-state printed %d lines, want one per table (%d) and a summary:\n%s", len(lines), len(tables), out.String())
	}
	var total int64
	for i, table := range tables {
		var name string
		var n int64
		if _, err := fmt.Sscanf(lines[i], "%s %d", &name, &n); err != nil || name != table {
			t.Errorf("line %d: %q, want table %s and its rows", i+1, lines[i], table)
		}
		total += n
	}
	if want := fmt.Sprintf("copied %d rows from %s to PostgreSQL; verified", total, dbPath); lines[len(lines)-1] != want || total == 0 {
		t.Errorf("last line %q, want %q", lines[len(lines)-1], want)
	}
	for _, table := range []string{"releases", "release_manifests", "deployments", "deployment_history", "locks", "lock_history", "audit", "requests", "env_configs", "leases"} {
		if !regexp.MustCompile(`(?m)^` + table + ` +[1-9]\d*$`).MatchString(out.String()) {
			t.Errorf("no rows copied of %s:\n%s", table, out.String())
		}
	}

	pgCfg := filepath.Join(filepath.Dir(cfgPath), "postgres.yaml")
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	pgData := regexp.MustCompile(`(?m)^  sqlite: .*$`).ReplaceAllString(string(data), "  postgres: {dsn: '$${TEST_MIGRATE_DATABASE_URL}'}")
	if pgData == string(data) {
		t.Fatal("the config has no state.sqlite line to replace")
	}
	if err := os.WriteFile(pgCfg, []byte(pgData), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_MIGRATE_DATABASE_URL", dsn)

	// The same session on both stores, whose histories are now the same.
	onSQLite := migrateConsole(t, cfgPath, observe)
	onPostgres := migrateConsole(t, pgCfg, observe)
	if onSQLite != onPostgres {
		t.Errorf("a console on SQLite and one on PostgreSQL print differently:\n--- SQLite\n%s\n--- PostgreSQL\n%s", onSQLite, onPostgres)
	}
	for _, want := range []string{
		`15 audit entries, newest first`,
		`console +Olga Ops +done +releases checkout +\n`, // the first look's own entries are in the copy
		`console +Olga Ops +done +lock development "tests" --id tests +\n`,
		`console +Olga Ops +done +unlock pin +\n`,
		`api +Jane Doe \(anonymous\) +done +release checkout 2 +commit [0-9a-f]{7}\n`,
		"`tests` env lock on development",
		`staging +1 +manual +Olga Ops +commit [0-9a-f]{7}\n`,
	} {
		if !regexp.MustCompile(want).MatchString(onPostgres) {
			t.Errorf("the console on PostgreSQL lacks %q:\n%s", want, onPostgres)
		}
	}
	if firstLook == onPostgres {
		t.Error("the first look and the later ones are the same: the audit log should have grown by the first look's entries")
	}

	// The copy refuses a second run: the target is not empty any more.
	err = run(context.Background(), []string{"migrate-state", "--from", dbPath, "--to", dsn}, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "not empty") || !strings.Contains(err.Error(), "releases") {
		t.Errorf("second migrate-state: %v, want a refusal naming the tables with rows", err)
	}

	// A new action on PostgreSQL: recorded with the next ids, pushed to the env repo.
	after := migrateConsole(t, pgCfg, "deploy checkout 2 to staging\nunlock tests")
	if !strings.Contains(after, "✅ Deployed checkout 2 (v1.2) to staging") {
		t.Errorf("deploy on PostgreSQL:\n%s", after)
	}
	if got := git(t, bare, "log", "-1", "--format=%an|%s", "main"); got != "Olga Ops|deploy checkout 2 to staging" {
		t.Errorf("last commit %q, want the deploy made on PostgreSQL", got)
	}
	pg, err := store.OpenPostgres(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	var entries []deploy.AuditEntry
	var history []deploy.Deployment
	err = pg.View(context.Background(), func(ctx context.Context, v deploy.View) error {
		var err error
		if entries, err = v.AuditLog(ctx, deploy.AuditFilter{}); err != nil {
			return err
		}
		history, err = v.History(ctx, "checkout", "staging", 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// SQLite numbers actions 1, 2, … without gaps; PostgreSQL went on from the last.
	for i, e := range entries {
		if want := int64(len(entries) - i); e.ID != want {
			t.Fatalf("audit entry %d (%s) has id %d, want %d: the ids do not continue", i, e.Command, e.ID, want)
		}
	}
	if len(entries) < 2 || entries[1].Command != "deploy checkout 2 to staging" || history[0].Version != 2 || history[0].ActionID != entries[1].ID || history[0].Commit == "" {
		t.Errorf("newest audit entries %+v, staging history %+v: want the deploy on PostgreSQL, pushed", entries[:2], history)
	}
}

// TestMigrateStateFlags: both flags are needed, --from must be a SQLite file, and -h says
// what the command does and exits 0.
func TestMigrateStateFlags(t *testing.T) {
	notSQLite := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notSQLite, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing.db")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "migrate-state needs --from FILE (the SQLite file to copy from) and --to DSN (the PostgreSQL database to copy into)"},
		{[]string{"--from", "k.db"}, "migrate-state needs --to DSN"},
		{[]string{"--to", "postgres://db/k"}, "migrate-state needs --from FILE"},
		{[]string{"--from", missing, "--to", "postgres://db/k"}, "--from " + missing + ": no such file"},
		{[]string{"--from", notSQLite, "--to", "postgres://db/k"}, "is not a SQLite database"},
		{[]string{"--from", notSQLite, "--to", "postgres://db/k", "extra"}, `unexpected argument "extra"`},
	} {
		err := run(context.Background(), append([]string{"migrate-state"}, tc.args...), nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("migrate-state %v: %v, want %q", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("migrate-state created the missing --from file: %v", err)
	}
}

// TestHelpOfMigrateState: `kuberpult migrate-state -h` (of the binary) exits 0, says what the
// command does and how to give the password.
func TestHelpOfMigrateState(t *testing.T) {
	out, err := exec.Command(binary(t), "migrate-state", "-h").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "kuberpult migrate-state: "+commandAbout["migrate-state"]) {
		t.Errorf("migrate-state -h: %v\n%s", err, out)
	}
	for _, want := range []string{"-from FILE", "-to DSN", "PGPASSWORD", "empty", "Stop every kuberpult serve"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("migrate-state -h lacks %q:\n%s", want, out)
		}
	}
	usage, err := exec.Command(binary(t), "help").CombinedOutput()
	if err != nil || !strings.Contains(string(usage), "kuberpult migrate-state --from FILE --to DSN") {
		t.Errorf("kuberpult help: %v\n%s", err, usage)
	}
}
