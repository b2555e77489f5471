package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"kuberpult/deploy"
	"kuberpult/store" // also registers the "pgx" driver of database/sql
)

// pgSchema is the PostgreSQL schema of one setup (-postgres): a new one per setup, so that
// runs never see each other's state, dropped at the end unless -keep.
type pgSchema struct {
	admin *sql.DB // on the DSN as given, for creating, measuring and dropping the schema
	name  string  // kp_bench_<12 hex digits>
	dsn   string  // the DSN with search_path=name (and application_name=name): what serve gets
}

// newSchema creates a new schema on the server of dsn.
func newSchema(ctx context.Context, dsn string) (*pgSchema, error) {
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("-postgres: %w", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	s := &pgSchema{admin: admin, name: "kp_bench_" + hex.EncodeToString(b[:])}
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+s.name); err != nil {
		admin.Close()
		return nil, fmt.Errorf("-postgres: create schema: %w", err)
	}
	// application_name tells the benchmark's backends apart from others on the server, so
	// that their CPU time can be read (backendCPU).
	s.dsn, err = withParams(dsn, map[string]string{"search_path": s.name, "application_name": s.name})
	if err != nil {
		_ = s.drop(ctx)
		return nil, err
	}
	return s, nil
}

// withParams adds connection parameters to a DSN, a URL (postgres://…?k=v) or a key=value
// string as pgx takes both; a parameter the DSN has already is replaced.
func withParams(dsn string, params map[string]string) (string, error) {
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("-postgres: %w", err)
		}
		q := u.Query()
		for k, v := range params {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	out := strings.TrimSpace(dsn)
	for _, k := range []string{"search_path", "application_name"} { // a fixed order
		if v, ok := params[k]; ok {
			out += " " + k + "=" + v // pgx: the last of a repeated key wins
		}
	}
	return strings.TrimSpace(out), nil
}

// drop removes the schema with everything in it.
func (s *pgSchema) drop(ctx context.Context) error {
	defer s.admin.Close()
	if _, err := s.admin.ExecContext(context.WithoutCancel(ctx), `DROP SCHEMA `+s.name+` CASCADE`); err != nil {
		return fmt.Errorf("drop schema %s: %w", s.name, err)
	}
	return nil
}

// analyze gathers the planner's statistics of the schema's tables, as autovacuum would
// after the seed's bulk load. Without them (a fresh schema; autovacuum off, as on the CI
// server, or not yet run) PostgreSQL plans every query of a run on guesses.
func (s *pgSchema) analyze(ctx context.Context) error {
	rows, err := s.admin.QueryContext(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1`, s.name)
	if err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return fmt.Errorf("analyze: %w", err)
		}
		tables = append(tables, t)
	}
	rows.Close()
	for _, t := range tables {
		if _, err := s.admin.ExecContext(ctx, `ANALYZE `+s.name+`.`+t); err != nil {
			return fmt.Errorf("analyze %s: %w", t, err)
		}
	}
	return nil
}

// sizeMB is the size of the schema's tables with their indexes and TOAST.
func (s *pgSchema) sizeMB(ctx context.Context) float64 {
	var n int64
	_ = s.admin.QueryRowContext(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
		FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
		WHERE ns.nspname = $1 AND c.relkind IN ('r', 'm')`, s.name).Scan(&n)
	return float64(n) / (1 << 20)
}

// backendCPU is the CPU time, in seconds, of each PostgreSQL backend serving a connection of
// the benchmark or its replicas (application_name = the schema), by pid, from /proc: it works
// when the server runs on this machine, and is empty otherwise.
func (s *pgSchema) backendCPU(ctx context.Context) map[int]float64 {
	rows, err := s.admin.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, s.name)
	if err != nil {
		return nil
	}
	defer rows.Close()
	cpu := map[int]float64{}
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) == nil {
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
				self, _ := procCPU(pid)
				cpu[pid] = self
			}
		}
	}
	return cpu
}

// cpuSince is how much CPU the backends used since before (backendCPU); a backend that
// started since counts whole.
func cpuSince(before, now map[int]float64) float64 {
	var d float64
	for pid, c := range now {
		d += c - before[pid]
	}
	return d
}

// openStore opens the setup's database in the benchmark's process: the seed, the end-state
// checks and the outbox backlog read it directly (store.OpenPostgres with the schema's DSN).
func (s *pgSchema) openStore(ctx context.Context) (*store.DB, error) {
	return store.OpenPostgres(ctx, s.dsn)
}

// dbDeployed reads from the store what runs where and how many deployments wait for the env
// repo: the database's side of the end-state check, the same figures GET /api/applications
// shows.
func dbDeployed(ctx context.Context, db *store.DB) (deployedState, []deploy.FailedEntry, error) {
	st := deployedState{versions: map[deploy.App]map[deploy.Env]deploy.Version{}}
	var failed []deploy.FailedEntry
	err := db.View(ctx, func(ctx context.Context, v deploy.View) error {
		s, err := v.State(ctx, deploy.Everything)
		if err != nil {
			return err
		}
		for app := range s.Apps {
			st.versions[app] = map[deploy.Env]deploy.Version{}
		}
		for env, apps := range s.Deployments {
			for app, d := range apps {
				if st.versions[app] == nil {
					st.versions[app] = map[deploy.Env]deploy.Version{}
				}
				if d.Version != 0 {
					st.versions[app][env] = d.Version
				}
				if d.Pending {
					st.pending++
				}
			}
		}
		ob, err := v.Outbox(ctx)
		failed = ob.Failed
		return err
	})
	if err != nil {
		return deployedState{}, nil, fmt.Errorf("read the store: %w", err)
	}
	return st, failed, nil
}

// dbPending is the outbox backlog as the store says it.
func dbPending(ctx context.Context, db *store.DB) (int, error) {
	var n int
	err := db.View(ctx, func(ctx context.Context, v deploy.View) error {
		ob, err := v.Outbox(ctx)
		n = ob.Pending
		return err
	})
	return n, err
}

// sameState compares what a replica's API shows with the store's state and names the first
// difference; "" when they agree.
func sameState(api, db deployedState) string {
	for app, envs := range db.versions {
		got, ok := api.versions[app]
		if !ok {
			return fmt.Sprintf("no app %s", app)
		}
		for env, v := range envs {
			if got[env] != v {
				return fmt.Sprintf("%s on %s: %s, the store says %s", app, env, got[env], v)
			}
		}
		if len(got) != len(envs) {
			return fmt.Sprintf("%s on %d environments, the store says %d", app, len(got), len(envs))
		}
	}
	if len(api.versions) != len(db.versions) {
		return fmt.Sprintf("%d apps, the store says %d", len(api.versions), len(db.versions))
	}
	return ""
}

var errReplicasNeedPostgres = errors.New("-replicas > 1 needs -postgres: replicas share one PostgreSQL database")
