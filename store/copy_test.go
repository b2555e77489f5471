package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/policy"
	"kuberpult/schedule"
	"kuberpult/train"
)

// TestCopyStateCoversEveryTable: the tables CopyState copies are exactly the tables of the
// SQLite schema (as sqlite_master lists them after every migration) and of the PostgreSQL
// migrations, and of a migrated PostgreSQL schema when a server is at hand: a table added to
// the schema and not to the copy fails here.
func TestCopyStateCoversEveryTable(t *testing.T) {
	want := StateTables()
	sort.Strings(want)

	db := openTemp(t)
	rows, err := db.read.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var sqlite []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		if !notState(name) {
			sqlite = append(sqlite, name)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	sort.Strings(sqlite)
	if diff := cmp.Diff(sqlite, want); diff != "" {
		t.Errorf("tables of the SQLite schema (-) and tables CopyState copies (+):\n%s", diff)
	}

	created := regexp.MustCompile(`(?i)CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)`)
	var pg []string
	err = fs.WalkDir(migrationsPostgres, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(migrationsPostgres, path)
		for _, m := range created.FindAllStringSubmatch(string(body), -1) {
			pg = append(pg, m[1])
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(pg)
	if diff := cmp.Diff(pg, want); diff != "" {
		t.Errorf("tables of the PostgreSQL migrations (-) and tables CopyState copies (+):\n%s", diff)
	}

	if os.Getenv(postgresEnv) == "" {
		t.Logf("%s is not set: the tables of a migrated PostgreSQL schema are not checked", postgresEnv)
		return
	}
	pdb := openPostgresTemp(t)
	prow, err := pdb.read.Query(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`)
	if err != nil {
		t.Fatal(err)
	}
	defer prow.Close()
	var migrated []string
	for prow.Next() {
		var name string
		if err := prow.Scan(&name); err != nil {
			t.Fatal(err)
		}
		if !notState(name) {
			migrated = append(migrated, name)
		}
	}
	if diff := cmp.Diff(migrated, want); diff != "" {
		t.Errorf("tables of the migrated PostgreSQL schema (-) and tables CopyState copies (+):\n%s", diff)
	}
}

func TestCopyStateNeedsSQLiteToPostgres(t *testing.T) {
	a, b := openTemp(t), openTemp(t)
	if _, err := CopyState(context.Background(), a, b); err == nil || !strings.Contains(err.Error(), "target must be a PostgreSQL store") {
		t.Errorf("SQLite to SQLite: %v", err)
	}
	if _, err := CopyState(context.Background(), nil, b); err == nil {
		t.Error("no source: no error")
	}
}

// copyBob approves in the window of copyWorld.
var copyBob = deploy.Actor{Kind: deploy.ActorUser, ID: "U02BOB", Name: "Bob", Email: "bob@example.com"}

// copyWorld is a store with rows in every table, made by real commands (releases from CI,
// deploys, locks and an unlock, a held automated deploy, an approval inside a window, a
// train's announcement, queries) and by the git writer's and the adapters' calls (builds,
// pushes, a failed entry, a card, a reminder, a rollout, GitHub deployments).
type copyWorld struct {
	t     *testing.T
	db    *DB
	now   time.Time
	plain *commands.Handler // no policy: CI and Alice
	gated *commands.Handler // the policy and the change-board window over production
	lease deploy.Lease
	keys  int
	// approvals are the ids of the approval requests made.
	approvals []string
}

func copyEnvs() deploy.Environments {
	return deploy.Environments{
		"development":   {Upstream: &deploy.Upstream{Latest: true}},
		"staging":       {Upstream: &deploy.Upstream{Environment: "development"}},
		"production-de": {Upstream: &deploy.Upstream{Environment: "staging"}, Group: "production"},
		"production-jp": {Upstream: &deploy.Upstream{Environment: "staging"}, Group: "production"},
	}
}

const copyPolicy = `
p, role:developer, DeployRelease, *:*, *, allow
p, role:developer, CreateLock, *:*, *, allow
p, role:release-manager, DeployReleaseTrain, *:*, *, allow
g, alice@example.com, role:developer
g, bob@example.com, role:developer
g, bob@example.com, role:release-manager
`

// newCopyWorld makes handlers on db; its clock starts on Monday 2 November 2026 at 10:00
// UTC (11:00 in Berlin, when the change-board window over production opens).
func newCopyWorld(t *testing.T, db *DB) *copyWorld {
	t.Helper()
	w := &copyWorld{t: t, db: db, now: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)}
	at11, err := schedule.Parse("0 11 * * *", "Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	at1130, err := schedule.Parse("30 11 * * *", "Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.New(policy.Config{Policy: copyPolicy})
	if err != nil {
		t.Fatal(err)
	}
	trains := []train.Scheduled{{Name: "daily", Target: "production", Schedule: at1130, AnnounceBefore: 30 * time.Minute}}
	n := 0
	opts := commands.Options{Store: db, Environments: copyEnvs(), Trains: trains,
		Now:           func() time.Time { return w.now },
		NewID:         func() string { n++; return fmt.Sprintf("lk-%d", n) },
		NewApprovalID: func() string { n++; return fmt.Sprintf("apr%03d", n) }}
	w.plain = commands.New(opts)
	opts.Policy = pol
	opts.Windows = policy.Windows{{Name: "change-board", Targets: []string{"production"}, Start: at11, Duration: time.Hour,
		Override: policy.OverrideApproval, Approvers: "role:release-manager"}}
	w.gated = commands.New(opts)
	return w
}

func (w *copyWorld) release(app deploy.App, team deploy.Team, v int) {
	w.t.Helper()
	req := commands.ReleaseRequest{Application: string(app), Version: fmt.Sprint(v), Team: string(team),
		SourceCommitID: fmt.Sprintf("%040x", 0xc0ffee00+v), SourceMessage: fmt.Sprintf("change %d", v),
		DisplayVersion: fmt.Sprintf("v1.%d", v), Manifests: map[string]string{}}
	for _, env := range copyEnvs().Names() {
		req.Manifests[string(env)] = fmt.Sprintf("kind: ConfigMap\nmetadata: {name: %s, namespace: %s}\ndata: {version: %q}\n", app, env, fmt.Sprint(v))
	}
	ci := deploy.Actor{Kind: deploy.ActorAPI, ID: "token:ci", Name: "CI", Email: "ci@example.com"}
	res := w.plain.CreateRelease(context.Background(), commands.Request{Actor: ci, Via: deploy.ViaAPI, Key: fmt.Sprintf("token:ci:%s-%d", app, v)}, req)
	if !res.OK() {
		w.t.Fatalf("release %s %d: %v", app, v, res.Err)
	}
	w.now = w.now.Add(time.Second)
}

// exec runs a command line with its own request key and returns its result.
func (w *copyWorld) exec(h *commands.Handler, who deploy.Actor, line string) commands.Result {
	w.t.Helper()
	w.keys++
	res := h.Execute(context.Background(), commands.Request{Actor: who, Via: deploy.ViaConsole, Text: line, Key: fmt.Sprintf("console:%d", w.keys)})
	w.now = w.now.Add(time.Second)
	return res
}

func (w *copyWorld) mustExec(h *commands.Handler, who deploy.Actor, line string) commands.Result {
	w.t.Helper()
	res := w.exec(h, who, line)
	if !res.OK() {
		w.t.Fatalf("%s: %s %v", line, res.Outcome, res.Err)
	}
	return res
}

// populate fills every table of the state.
func (w *copyWorld) populate() {
	t, ctx, db := w.t, context.Background(), w.db
	t.Helper()
	if err := w.plain.SyncEnvironments(ctx, deploy.ViaScheduler); err != nil {
		t.Fatal(err)
	}
	w.release("checkout", "shop", 1)
	w.release("checkout", "shop", 2)
	w.release("catalog", "web", 1)
	w.mustExec(w.plain, alice, "deploy checkout 1 to staging")
	w.mustExec(w.plain, alice, `lock development "tests" --id freeze`)
	w.release("checkout", "shop", 3) // held on development by the lock
	w.mustExec(w.plain, alice, `lock checkout on staging "pin" --id pin`)
	w.mustExec(w.plain, alice, "unlock pin")
	req := w.exec(w.gated, alice, `deploy checkout 1 to production --reason "INC-7"`)
	if req.Outcome != deploy.OutcomePending || req.Approval == nil {
		t.Fatalf("deploy inside the window: %s %v, want an approval request", req.Outcome, req.Err)
	}
	w.approvals = append(w.approvals, req.Approval.ID)
	w.mustExec(w.gated, copyBob, "approve "+req.Approval.ID)
	if res := w.plain.Fire(ctx, train.Event{Kind: train.Announce, Train: "daily", Slot: time.Date(2026, 11, 2, 10, 30, 0, 0, time.UTC)}, nil); !res.OK() {
		t.Fatalf("announce: %s %v", res.Outcome, res.Err)
	}
	w.mustExec(w.plain, alice, "status")
	w.mustExec(w.plain, alice, "history checkout")

	// The git writer: builds for every entry, all but two pushed, one of those failed.
	var ok bool
	var err error
	w.lease, ok, err = db.AcquireLease(ctx, "envrepo", "kuberpult serve on test (pid 1)", 1, w.now, 10*time.Second)
	if err != nil || !ok {
		t.Fatalf("acquire lease: %v %v", ok, err)
	}
	pending, err := db.Pending(ctx, 0)
	if err != nil || len(pending) < 4 {
		t.Fatalf("pending: %d entries, %v", len(pending), err)
	}
	var builds []deploy.BuildRecord
	var pushed []deploy.Pushed
	for i, e := range pending {
		commit := fmt.Sprintf("%040x", 0xe0000+i)
		builds = append(builds, deploy.BuildRecord{ID: e.ID, Build: deploy.Build{Commit: commit, Base: fmt.Sprintf("%040x", 0xe0000+i-1), Epoch: w.lease.Epoch}})
		if i < len(pending)-2 {
			pushed = append(pushed, deploy.Pushed{ID: e.ID, Commit: commit})
		}
	}
	if err := db.RecordBuilds(ctx, w.lease, builds); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkPushed(ctx, pushed); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkFailed(ctx, w.lease, pending[len(pending)-2].ID, "rejected by the remote", w.now); err != nil {
		t.Fatal(err)
	}

	// The adapters' rows: a card with a binary body, a reminder, a rollout, GitHub deployments.
	if err := db.SaveCard(ctx, deploy.Card{ActionID: pending[0].ID, Channel: "C0DEPLOY", TS: "1793613600.000100",
		Body: []byte{0, 0xff, 0xfe, '\\', 'x', '0', 0}, At: w.now}); err != nil {
		t.Fatal(err)
	}
	if first, err := db.Remind(ctx, "lock freeze on development, day 1", w.now); err != nil || !first {
		t.Fatalf("remind: %v %v", first, err)
	}
	if err := db.SaveRollouts(ctx, deploy.Rollout{Env: "development", App: "checkout", Version: 2, Commit: pushed[0].Commit,
		ActionID: pending[0].ID, State: deploy.RolloutState("progressing"), Pushed: w.now, Checked: w.now}); err != nil {
		t.Fatal(err)
	}
	if n, err := db.SyncGitHubDeployments(ctx, time.Time{}, w.now, true); err != nil || n == 0 {
		t.Fatalf("github deployments: %d, %v", n, err)
	}
}

// rowCounts counts the rows of every state table through db's own connection.
func rowCounts(t *testing.T, db *DB) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, table := range stateTables {
		var n int64
		if err := db.read.QueryRow(`SELECT count(*) FROM ` + quoteIdent(table)).Scan(&n); err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		out[table] = n
	}
	return out
}

// maxIDs is the highest id of every table with an id column.
func maxIDs(t *testing.T, db *DB) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, table := range []string{"audit", "deployment_history", "lock_history", "outbox_builds", "outbox"} {
		var n int64
		if err := db.read.QueryRow(`SELECT coalesce(max(id), 0) FROM ` + table).Scan(&n); err != nil {
			t.Fatalf("max id of %s: %v", table, err)
		}
		out[table] = n
	}
	return out
}

// stateDump is everything the store's read API returns of a state.
type stateDump struct {
	State       deploy.State
	Apps        map[deploy.App]deploy.AppInfo
	Releases    map[deploy.App][]deploy.Release // each with its manifests
	OfCommit    map[string][]deploy.Release
	History     map[deploy.App][]deploy.Deployment
	LockHistory []deploy.LockRecord
	Audit       []deploy.AuditEntry
	Outbox      deploy.OutboxSummary
	Departures  []deploy.Departure
	Approvals   map[string]deploy.Approval
	Rollouts    []deploy.Rollout
	InFlight    []deploy.Rollout
	Pending     []deploy.OutboxEntry
	Waiting     time.Time
	Render      deploy.RenderState
	Cards       map[int64]deploy.Card
	Commits     map[int64]string
	LastAction  map[string]int64
	GitHubDue   []deploy.GitHubDeployment
	Untracked   []deploy.PushEvent
	Lease       deploy.Lease
	Requests    map[string]deploy.Recorded
}

// dump reads the whole state of db through its read API. keys are the request keys (with
// their fingerprints) to replay, approvals the approval ids to read.
func dump(t *testing.T, db *DB, keys []deploy.RequestKey, approvals []string) stateDump {
	t.Helper()
	ctx := context.Background()
	d := stateDump{Releases: map[deploy.App][]deploy.Release{}, OfCommit: map[string][]deploy.Release{},
		History: map[deploy.App][]deploy.Deployment{}, Approvals: map[string]deploy.Approval{},
		Cards: map[int64]deploy.Card{}, Commits: map[int64]string{}, LastAction: map[string]int64{},
		Requests: map[string]deploy.Recorded{}}
	err := db.View(ctx, func(ctx context.Context, v deploy.View) error {
		var err error
		if d.State, err = v.State(ctx, deploy.Everything); err != nil {
			return err
		}
		if d.Apps, err = v.Apps(ctx); err != nil {
			return err
		}
		for app := range d.Apps {
			rels, err := v.Releases(ctx, app, 0)
			if err != nil {
				return err
			}
			for _, r := range rels {
				full, err := v.Release(ctx, app, r.Version)
				if err != nil {
					return err
				}
				d.Releases[app] = append(d.Releases[app], full)
				if d.OfCommit[r.SourceCommitID], err = v.ReleasesOfCommit(ctx, r.SourceCommitID); err != nil {
					return err
				}
			}
			if d.History[app], err = v.History(ctx, app, "", 0); err != nil {
				return err
			}
		}
		if d.LockHistory, err = v.LockHistory(ctx, "", 0); err != nil {
			return err
		}
		if d.Audit, err = v.AuditLog(ctx, deploy.AuditFilter{}); err != nil {
			return err
		}
		if d.Outbox, err = v.Outbox(ctx); err != nil {
			return err
		}
		if d.Departures, err = v.Departures(ctx, "", 0); err != nil {
			return err
		}
		for _, id := range approvals {
			a, ok, err := v.Approval(ctx, id)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("no approval %s", id)
			}
			d.Approvals[id] = a
		}
		d.Rollouts, err = v.Rollouts(ctx, "")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if d.InFlight, err = db.RolloutsInFlight(ctx); err != nil {
		t.Fatal(err)
	}
	if d.Pending, err = db.Pending(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if d.Waiting, err = db.Waiting(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if d.Render, err = db.RenderState(ctx); err != nil {
		t.Fatal(err)
	}
	for _, e := range d.Audit {
		c, ok, err := db.Card(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			d.Cards[e.ID] = c
		}
		if d.Commits[e.ID], err = db.ActionCommit(ctx, e.ID); err != nil {
			t.Fatal(err)
		}
		if e.Commit != "" {
			id, _, err := db.LastActionOfCommit(ctx, e.Commit)
			if err != nil {
				t.Fatal(err)
			}
			d.LastAction[e.Commit] = id
		}
	}
	if d.GitHubDue, err = db.GitHubDeploymentsDue(ctx, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), 1000); err != nil {
		t.Fatal(err)
	}
	if d.Untracked, err = db.UntrackedPushes(ctx, time.Time{}); err != nil {
		t.Fatal(err)
	}
	l, ok, err := db.Lease(ctx, "envrepo")
	if err != nil || !ok {
		t.Fatalf("lease: %v %v", ok, err)
	}
	d.Lease = l
	for _, k := range keys {
		rec, replayed, err := db.Act(ctx, k, func(context.Context, deploy.View) (deploy.Decided, error) {
			return deploy.Decided{}, errors.New("the request was not recorded")
		})
		if err != nil || !replayed {
			t.Fatalf("request %s: replayed %v, %v", k.Key, replayed, err)
		}
		d.Requests[k.Key] = rec
	}
	return d
}

// requestKeys lists the recorded request keys with their fingerprints.
func requestKeys(t *testing.T, db *DB) []deploy.RequestKey {
	t.Helper()
	rows, err := db.read.Query(`SELECT request_key, fingerprint FROM requests ORDER BY request_key`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []deploy.RequestKey
	for rows.Next() {
		var k deploy.RequestKey
		if err := rows.Scan(&k.Key, &k.Fingerprint); err != nil {
			t.Fatal(err)
		}
		out = append(out, k)
	}
	return out
}

// TestCopyState: a SQLite store with rows in every table, copied into PostgreSQL, reads the
// same through every read API of the store (the lease without its holder); the counts are
// the source's; a second copy into the same target is refused and changes nothing; and the
// same actions on both stores afterwards give the same ids and the same state. Once in the
// usual batches, once in batches of two rows (several INSERTs per table, the last one short).
func TestCopyState(t *testing.T) {
	for _, rows := range []int{copyBatchRows, 2} {
		t.Run(fmt.Sprintf("batches of %d rows", rows), func(t *testing.T) {
			defer func(n int) { copyBatchRows = n }(copyBatchRows)
			copyBatchRows = rows
			testCopyState(t)
		})
	}
}

func testCopyState(t *testing.T) {
	ctx := context.Background()
	dst := openPostgresTemp(t)
	src := openTemp(t)
	w := newCopyWorld(t, src)
	w.populate()
	srcCounts := rowCounts(t, src)
	for table, n := range srcCounts {
		if n == 0 {
			t.Errorf("the source has no row in %s: the test does not show that it is copied", table)
		}
	}
	counts, err := CopyState(ctx, src, dst)
	if err != nil {
		t.Fatalf("CopyState: %v", err)
	}
	if diff := cmp.Diff(srcCounts, counts); diff != "" {
		t.Errorf("counts CopyState reports (-source +reported):\n%s", diff)
	}
	if diff := cmp.Diff(srcCounts, rowCounts(t, dst)); diff != "" {
		t.Errorf("rows in the target (-source +target):\n%s", diff)
	}

	keys := requestKeys(t, src)
	approvals := w.approvals
	before := dump(t, src, keys, approvals)
	for what, n := range map[string]int{"approvals": len(before.Approvals), "requests": len(before.Requests), "cards": len(before.Cards),
		"pending entries": len(before.Pending), "failed entries": len(before.Outbox.Failed), "departures": len(before.Departures),
		"due GitHub deployments": len(before.GitHubDue), "held attempts": len(before.State.Held), "rollouts": len(before.Rollouts),
		"closed locks": len(before.LockHistory) - len(before.State.Locks)} {
		if n <= 0 {
			t.Errorf("the source has no %s: the comparison does not cover them", what)
		}
	}
	want := before
	want.Lease = deploy.Lease{Name: before.Lease.Name, Epoch: before.Lease.Epoch} // released: no holder, priority 0, expired
	copied := dump(t, dst, keys, approvals)
	if diff := cmp.Diff(want, copied); diff != "" {
		t.Errorf("the copy reads differently (-SQLite +PostgreSQL):\n%s", diff)
	}
	if copied.Lease.Holder != "" || copied.Lease.Epoch != w.lease.Epoch || w.lease.Holder == "" {
		t.Errorf("lease in the copy: %+v, want the epoch of %+v without a holder", copied.Lease, w.lease)
	}

	// Again into the same target: refused, naming a table, and nothing changes.
	if _, err := CopyState(ctx, src, dst); err == nil || !strings.Contains(err.Error(), "not empty") ||
		!strings.Contains(err.Error(), "releases") || !strings.Contains(err.Error(), "leases") {
		t.Errorf("second copy: %v, want a refusal naming the tables with rows", err)
	}
	if diff := cmp.Diff(copied, dump(t, dst, keys, approvals)); diff != "" {
		t.Errorf("the refused copy changed the target:\n%s", diff)
	}
	if diff := cmp.Diff(srcCounts, rowCounts(t, dst)); diff != "" {
		t.Errorf("the refused copy changed the row counts:\n%s", diff)
	}

	// The same actions on both: the ids continue alike (every sequence was set), and the
	// states stay equal. A new writer takes the lease over on both, with the same epoch.
	copiedIDs := maxIDs(t, src)
	wd := newCopyWorld(t, dst)
	then, keysUsed := w.now.Add(time.Hour), w.keys
	for _, x := range []*copyWorld{w, wd} {
		x.now, x.keys = then, keysUsed
		x.mustExec(x.plain, alice, "deploy checkout 2 to staging")
		x.mustExec(x.plain, alice, `lock production-jp "night" --id night`)
		x.mustExec(x.plain, copyBob, "audit")
		l, ok, err := x.db.AcquireLease(ctx, "envrepo", "kuberpult serve on the new host (pid 2)", 1, x.now, 10*time.Second)
		if err != nil || !ok || l.Epoch != w.lease.Epoch+1 {
			t.Fatalf("new writer: %+v %v %v, want epoch %d", l, ok, err, w.lease.Epoch+1)
		}
		p, err := x.db.Pending(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		var builds []deploy.BuildRecord
		for _, e := range p {
			builds = append(builds, deploy.BuildRecord{ID: e.ID, Build: deploy.Build{Commit: fmt.Sprintf("%040x", e.ID), Base: "", Epoch: l.Epoch}})
		}
		if err := x.db.RecordBuilds(ctx, l, builds); err != nil {
			t.Fatal(err)
		}
	}
	srcIDs, dstIDs := maxIDs(t, src), maxIDs(t, dst)
	if diff := cmp.Diff(srcIDs, dstIDs); diff != "" {
		t.Errorf("ids after the same actions (-SQLite +PostgreSQL):\n%s", diff)
	}
	for table, id := range srcIDs {
		if table != "outbox" && id <= copiedIDs[table] {
			t.Errorf("%s: no new row after the copy (highest id %d)", table, id)
		}
	}
	keys = requestKeys(t, src)
	if diff := cmp.Diff(dump(t, src, keys, approvals), dump(t, dst, keys, approvals)); diff != "" {
		t.Errorf("after the same actions (-SQLite +PostgreSQL):\n%s", diff)
	}
}

// TestCopyStateContinuesSQLiteCounters: an AUTOINCREMENT id SQLite handed out and whose row
// is gone is not handed out again by PostgreSQL either.
func TestCopyStateContinuesSQLiteCounters(t *testing.T) {
	ctx := context.Background()
	dst := openPostgresTemp(t)
	src := openTemp(t)
	for i := 0; i < 3; i++ {
		if _, err := src.Audit(ctx, deploy.AuditEntry{Time: at(i), Actor: alice, Via: deploy.ViaConsole, Command: fmt.Sprint("status ", i), Outcome: deploy.OutcomeDone}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := src.write.Exec(`DELETE FROM audit WHERE id = 3`); err != nil {
		t.Fatal(err)
	}
	if _, err := CopyState(ctx, src, dst); err != nil {
		t.Fatal(err)
	}
	for _, db := range []*DB{src, dst} {
		id, err := db.Audit(ctx, deploy.AuditEntry{Time: at(9), Actor: alice, Via: deploy.ViaConsole, Command: "status", Outcome: deploy.OutcomeDone})
		if err != nil || id != 4 {
			t.Errorf("postgres %v: next audit id %d, %v; want 4", db.postgres, id, err)
		}
	}
}

// TestCopyStateRefusesATargetWithAnyRow: one row in one table is enough to refuse, and the
// refusal names that table and writes nothing.
func TestCopyStateRefusesATargetWithAnyRow(t *testing.T) {
	ctx := context.Background()
	dst := openPostgresTemp(t)
	src := openTemp(t)
	newCopyWorld(t, src).release("checkout", "shop", 1)
	if _, err := dst.Remind(ctx, "something", t0); err != nil {
		t.Fatal(err)
	}
	_, err := CopyState(ctx, src, dst)
	if err == nil || !strings.Contains(err.Error(), "table reminders has rows") || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("CopyState into a target with a reminder: %v", err)
	}
	for table, n := range rowCounts(t, dst) {
		if want := map[bool]int64{true: 1}[table == "reminders"]; n != want {
			t.Errorf("%s has %d rows after the refusal, want %d", table, n, want)
		}
	}
}

// TestCopyStateVerifiesCounts: a target that loses rows (here a trigger that drops every
// reminder) fails the count check before the commit, and then keeps nothing of the copy.
func TestCopyStateVerifiesCounts(t *testing.T) {
	ctx := context.Background()
	dst := openPostgresTemp(t)
	src := openTemp(t)
	newCopyWorld(t, src).release("checkout", "shop", 1)
	if _, err := src.Remind(ctx, "something", t0); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE FUNCTION swallow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`,
		`CREATE TRIGGER swallow BEFORE INSERT ON reminders FOR EACH ROW EXECUTE FUNCTION swallow()`,
	} {
		if _, err := dst.write.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	_, err := CopyState(ctx, src, dst)
	if err == nil || !strings.Contains(err.Error(), "verify table reminders: 1 rows in the source, 1 copied, 0 in the target") {
		t.Fatalf("CopyState into a target that drops reminders: %v", err)
	}
	for table, n := range rowCounts(t, dst) {
		if n != 0 {
			t.Errorf("%s has %d rows after the failed copy, want none", table, n)
		}
	}
}
