package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"kuberpult/config"
)

// TestParseFlagsReplicas checks -postgres and -replicas: several replicas need a database
// they can share.
func TestParseFlagsReplicas(t *testing.T) {
	const dsn = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	tests := []struct {
		name     string
		args     []string
		postgres string
		replicas int
		err      string
	}{
		{"default: SQLite, one serve", nil, "", 1, ""},
		{"PostgreSQL, one serve", []string{"-postgres", dsn}, dsn, 1, ""},
		{"PostgreSQL, two replicas", []string{"-postgres", dsn, "-replicas", "2"}, dsn, 2, ""},
		{"two replicas on SQLite", []string{"-replicas", "2"}, "", 0, errReplicasNeedPostgres.Error()},
		{"no replica", []string{"-postgres", dsn, "-replicas", "0"}, "", 0, "-replicas 0: want at least 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args, io.Discard)
			if got := errText(err); got != tc.err {
				t.Fatalf("error %q, want %q", got, tc.err)
			}
			if err == nil && (o.postgres != tc.postgres || o.replicas != tc.replicas) {
				t.Errorf("postgres %q, replicas %d; want %q, %d", o.postgres, o.replicas, tc.postgres, tc.replicas)
			}
		})
	}
}

// TestWithParams checks the DSN every replica of a setup gets: its schema first on the
// search path, in both of pgx's DSN forms.
func TestWithParams(t *testing.T) {
	p := map[string]string{"search_path": "kp_bench_1", "application_name": "kp_bench_1"}
	tests := []struct{ in, want string }{
		{"postgres://u@h:5432/db", "postgres://u@h:5432/db?application_name=kp_bench_1&search_path=kp_bench_1"},
		{"postgres://u@h/db?sslmode=disable&search_path=other", "postgres://u@h/db?application_name=kp_bench_1&search_path=kp_bench_1&sslmode=disable"},
		{"host=h user=u dbname=db", "host=h user=u dbname=db search_path=kp_bench_1 application_name=kp_bench_1"},
	}
	for _, tc := range tests {
		got, err := withParams(tc.in, p)
		if err != nil || got != tc.want {
			t.Errorf("withParams(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestConfigPostgres checks that a replica's config file names the DSN as written, however
// many characters YAML would otherwise read differently it has.
func TestConfigPostgres(t *testing.T) {
	w := newWorld(3, 4, 1)
	dir := t.TempDir()
	path := filepath.Join(dir, "config-2.yaml")
	const dsn = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable&search_path=kp_bench_1#x: y"
	if err := writeConfigState(path, stateConfig{postgres: dsn}, filepath.Join(dir, "remote.git"), "127.0.0.1:4242", w); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path)
	if err != nil {
		b, _ := os.ReadFile(path)
		t.Fatalf("%v\n%s", err, b)
	}
	if c.State.Postgres.DSN != dsn || c.State.SQLite != "" || c.API.Listen != "127.0.0.1:4242" {
		t.Errorf("state %+v, listen %q", c.State, c.API.Listen)
	}
}
