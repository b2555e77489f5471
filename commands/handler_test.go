package commands_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/reply"
	"kuberpult/store"
)

var update = flag.Bool("update", false, "rewrite golden files")

var t0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

func testEnvs() deploy.Environments {
	return deploy.Environments{
		"development":   {Upstream: &deploy.Upstream{Latest: true}},
		"staging":       {Upstream: &deploy.Upstream{Environment: "development"}},
		"production-de": {Upstream: &deploy.Upstream{Environment: "staging"}, Group: "production"},
		"production-jp": {Upstream: &deploy.Upstream{Environment: "staging"}, Group: "production"},
	}
}

type fixture struct {
	t        *testing.T
	db       *store.DB
	dbPath   string
	h        *commands.Handler
	now      time.Time
	ids      int
	notified int
}

var (
	alice = deploy.Actor{Kind: deploy.ActorUser, ID: "alice@example.com", Name: "Alice", Email: "alice@example.com"}
	ci    = deploy.Actor{Kind: deploy.ActorAPI, ID: "ci", Name: "CI", Email: "ci@example.com"}
)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "k.db")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{t: t, db: db, dbPath: path, now: t0}
	f.h = commands.New(commands.Options{
		Store: db, Environments: testEnvs(),
		Notify: func() { f.notified++ },
		Now:    func() time.Time { return f.now },
		NewID:  func() string { f.ids++; return fmt.Sprintf("lk-%d", f.ids) },
	})
	return f
}

func manifest(app string, env deploy.Env, v int) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\ndata:\n  version: \"%d\"\n", app, env, v)
}

func releaseReq(app, team string, v int, envs ...deploy.Env) commands.ReleaseRequest {
	if len(envs) == 0 {
		envs = testEnvs().Names()
	}
	req := commands.ReleaseRequest{Application: app, Version: fmt.Sprint(v), Team: team,
		SourceCommitID: fmt.Sprintf("%040d", v), SourceMessage: fmt.Sprintf("change %d", v), Manifests: map[string]string{}}
	for _, e := range envs {
		req.Manifests[string(e)] = manifest(app, e, v)
	}
	return req
}

func (f *fixture) release(app, team string, v int, envs ...deploy.Env) commands.Result {
	f.t.Helper()
	return f.h.CreateRelease(context.Background(), commands.Request{Actor: ci, Via: deploy.ViaAPI}, releaseReq(app, team, v, envs...))
}

func (f *fixture) mustRelease(app, team string, v int, envs ...deploy.Env) commands.Result {
	f.t.Helper()
	res := f.release(app, team, v, envs...)
	if !res.OK() {
		f.t.Fatalf("release %s %d: %s %s", app, v, res.Outcome, reply.Text(res))
	}
	return res
}

func (f *fixture) exec(line string) commands.Result {
	f.t.Helper()
	f.now = f.now.Add(time.Minute)
	return f.h.Execute(context.Background(), commands.Request{Actor: alice, Via: deploy.ViaConsole, Text: line})
}

func (f *fixture) mustExec(line string) commands.Result {
	f.t.Helper()
	res := f.exec(line)
	if !res.OK() {
		f.t.Fatalf("%s: %s (%s)", line, res.Outcome, reply.Text(res))
	}
	return res
}

func (f *fixture) state() deploy.State {
	f.t.Helper()
	st, err := f.h.State(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

// view runs fn on a read-only snapshot of the store.
func (f *fixture) view(fn func(v deploy.View) error) {
	f.t.Helper()
	if err := f.db.View(context.Background(), func(_ context.Context, v deploy.View) error { return fn(v) }); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) auditLog(filter deploy.AuditFilter) []deploy.AuditEntry {
	f.t.Helper()
	var out []deploy.AuditEntry
	f.view(func(v deploy.View) error {
		var err error
		out, err = v.AuditLog(context.Background(), filter)
		return err
	})
	return out
}

// versions returns "env=version" for every deployment of app.
func (f *fixture) versions(app deploy.App) map[deploy.Env]deploy.Version {
	out := map[deploy.Env]deploy.Version{}
	for env, apps := range f.state().Deployments {
		if d, ok := apps[app]; ok {
			out[env] = d.Version
		}
	}
	return out
}

func (f *fixture) pending() []deploy.OutboxEntry {
	f.t.Helper()
	p, err := f.db.Pending(context.Background(), 0)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func TestReleaseAutoDeploysToLatestEnvironments(t *testing.T) {
	f := newFixture(t)
	res := f.mustRelease("checkout", "shop", 1)
	if diff := cmp.Diff([]deploy.Env{"development"}, res.Release.Deployed); diff != "" {
		t.Errorf("deployed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[deploy.Env]deploy.Version{"development": 1}, f.versions("checkout")); diff != "" {
		t.Errorf("versions (-want +got):\n%s", diff)
	}
	d, _ := f.state().Deployed("development", "checkout")
	if d.How != deploy.HowAuto || d.Actor != ci || !d.Pending {
		t.Errorf("deployment = %+v, want auto by CI, pending", d)
	}
	p := f.pending()
	if len(p) != 1 {
		t.Fatalf("outbox has %d entries, want 1", len(p))
	}
	rc := p[0].Change
	if !strings.HasPrefix(rc.Message, "deploy checkout 1 to development\n") || rc.Author != ci {
		t.Errorf("repo change message %q author %+v", rc.Message, rc.Author)
	}
	// A delta: the manifest it sets, never the environment's list of apps.
	want := []deploy.ManifestChange{{Env: "development", App: "checkout", Version: 1, Manifest: manifest("checkout", "development", 1)}}
	if diff := cmp.Diff(want, rc.Manifests); diff != "" || len(rc.Configs) != 0 || len(rc.Teams) != 0 {
		t.Errorf("repo change (-want +got):\n%s\nconfigs %v teams %v", diff, rc.Configs, rc.Teams)
	}
	if p[0].ID != res.ActionID || res.ActionID == 0 {
		t.Errorf("outbox entry %d, result action %d: want the action's id", p[0].ID, res.ActionID)
	}
	if f.notified != 1 {
		t.Errorf("git writer notified %d times, want 1", f.notified)
	}

	// A release without a manifest for development is stored but deploys nowhere.
	res = f.mustRelease("catalog", "shop", 1, "staging")
	if len(res.Deployed) != 0 || len(f.versions("catalog")) != 0 {
		t.Errorf("catalog deployed to %v", f.versions("catalog"))
	}
	// An older version than the newest is stored but not deployed.
	f.mustRelease("checkout", "shop", 5)
	f.mustRelease("checkout", "shop", 3)
	if got := f.versions("checkout")["development"]; got != 5 {
		t.Errorf("development runs checkout %d, want 5", got)
	}
}

func TestReleaseIdempotency(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	before := len(f.pending())

	res := f.mustRelease("checkout", "shop", 1)
	if res.Release.Outcome != commands.ReleaseExists || res.Outcome != deploy.OutcomeNoop {
		t.Errorf("outcome = %s/%s, want already_exists", res.Release.Outcome, res.Outcome)
	}
	// Formatting differences do not count.
	req := commands.ReleaseRequest{Application: "checkout", Version: "1", Manifests: map[string]string{}}
	for _, e := range testEnvs().Names() {
		req.Manifests[string(e)] = "# reformatted\n" + strings.ReplaceAll(manifest("checkout", e, 1), "  ", "    ")
	}
	res = f.h.CreateRelease(context.Background(), commands.Request{Actor: ci, Via: deploy.ViaAPI}, req)
	if res.Release == nil || res.Release.Outcome != commands.ReleaseExists {
		t.Errorf("reformatted release: %s %s; want already_exists", res.Outcome, reply.Text(res))
	}

	conflicts := []struct {
		name  string
		mod   func(*commands.ReleaseRequest)
		field string
	}{
		{"commit", func(r *commands.ReleaseRequest) { r.SourceCommitID = strings.Repeat("a", 40) }, "source_commit_id"},
		{"team", func(r *commands.ReleaseRequest) { r.Team = "payments" }, "team"},
		{"manifest", func(r *commands.ReleaseRequest) { r.Manifests["staging"] = "kind: Other\n" }, "manifests[staging]"},
		{"missing env", func(r *commands.ReleaseRequest) { delete(r.Manifests, "production-jp") }, "manifests[production-jp]"},
	}
	for _, c := range conflicts {
		t.Run(c.name, func(t *testing.T) {
			r := commands.ReleaseRequest{Application: "checkout", Version: "1", Manifests: map[string]string{}}
			for _, e := range testEnvs().Names() {
				r.Manifests[string(e)] = manifest("checkout", e, 1)
			}
			c.mod(&r)
			res := f.h.CreateRelease(context.Background(), commands.Request{Actor: ci, Via: deploy.ViaAPI}, r)
			if !errors.Is(res.Err, deploy.ErrConflict) || !strings.Contains(reply.Text(res), c.field) {
				t.Errorf("result = %s %q, want a conflict naming %s", res.Outcome, reply.Text(res), c.field)
			}
		})
	}
	if got := len(f.pending()); got != before {
		t.Errorf("outbox grew from %d to %d on repeated releases", before, got)
	}
}

func TestReleaseValidation(t *testing.T) {
	long := strings.Repeat("x", 1001)
	tests := []struct {
		name string
		mod  func(*commands.ReleaseRequest)
		want string
	}{
		{"bad app", func(r *commands.ReleaseRequest) { r.Application = "Check_out" }, "application: application name \"Check_out\" is not valid"},
		{"long app", func(r *commands.ReleaseRequest) { r.Application = strings.Repeat("a", 40) }, "at most 39"},
		{"no version", func(r *commands.ReleaseRequest) { r.Version = "" }, "version: version \"\" is not a positive integer"},
		{"zero version", func(r *commands.ReleaseRequest) { r.Version = "0" }, "not a positive integer"},
		{"version 2^63", func(r *commands.ReleaseRequest) { r.Version = "9223372036854775808" }, "version 9223372036854775808 is too large: versions go from 1 to 9223372036854775807"},
		{"version 2^64", func(r *commands.ReleaseRequest) { r.Version = "18446744073709551616" }, "too large"},
		{"bad team", func(r *commands.ReleaseRequest) { r.Team = "Team A" }, "team: team name"},
		{"bad commit", func(r *commands.ReleaseRequest) { r.SourceCommitID = "abc" }, "source_commit_id \"abc\" is not a commit id (7 to 40 hex digits)"},
		{"long display", func(r *commands.ReleaseRequest) { r.DisplayVersion = "1234567890123456" }, "display_version is 16 characters long; at most 15"},
		{"long message", func(r *commands.ReleaseRequest) { r.SourceMessage = long }, "source_message is 1001 characters"},
		{"long author", func(r *commands.ReleaseRequest) { r.SourceAuthor = long }, "source_author is 1001 characters"},
		{"no manifests", func(r *commands.ReleaseRequest) { r.Manifests = nil }, "at least one manifest"},
		{"unknown env", func(r *commands.ReleaseRequest) { r.Manifests = map[string]string{"stagin": "a: 1"} }, "manifests[stagin]: no environment or group `stagin`; did you mean `staging`?"},
		{"path env", func(r *commands.ReleaseRequest) { r.Manifests = map[string]string{"../x": "a: 1"} }, "no environment or group `../x`"},
		{"bad yaml", func(r *commands.ReleaseRequest) { r.Manifests = map[string]string{"staging": "a: [1"} }, "manifests[staging] is not valid YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			r := commands.ReleaseRequest{Application: "checkout", Version: "1", Manifests: map[string]string{"development": "a: 1"}}
			tt.mod(&r)
			res := f.h.CreateRelease(context.Background(), commands.Request{Actor: ci, Via: deploy.ViaAPI}, r)
			if !errors.Is(res.Err, deploy.ErrInvalid) {
				t.Fatalf("result = %s %v, want ErrInvalid", res.Outcome, res.Err)
			}
			if !strings.Contains(reply.Text(res), tt.want) {
				t.Errorf("reply = %q, want it to contain %q", reply.Text(res), tt.want)
			}
			if st := f.state(); len(st.Apps) != 0 || len(f.pending()) != 0 {
				t.Errorf("invalid release changed state: apps %v", st.Apps)
			}
			if log := f.auditLog(deploy.AuditFilter{}); len(log) != 1 || log[0].Outcome != deploy.OutcomeInvalid {
				t.Errorf("audit = %+v; want one invalid entry", log)
			}
		})
	}
}

func TestLockHoldsAutoDeployAndUnlockNeverDeploys(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	f.mustExec(`lock development "integration tests running"`)
	res := f.mustRelease("checkout", "shop", 2)
	if len(res.Deployed) != 0 || len(res.Held) != 1 {
		t.Fatalf("deployed %v held %v; want held only", res.Deployed, res.Held)
	}
	held, ok := f.state().HeldOn("development", "checkout")
	if !ok || held.Version != 2 || held.LockIDs()[0] != "lk-1" || held.By[0].Kind != deploy.HeldByLock {
		t.Errorf("held = %+v, %v", held, ok)
	}
	if got := f.versions("checkout")["development"]; got != 1 {
		t.Errorf("development runs %d, want 1 (held)", got)
	}
	if rep := f.mustExec("status"); !strings.Contains(reply.Text(rep), "✋ checkout 2 on development") {
		t.Errorf("status does not show the held deployment:\n%s", reply.Text(rep))
	}
	rep := f.mustExec("unlock development")
	if text := reply.Text(rep); !strings.Contains(text, "Nothing was deployed") || !strings.Contains(text, "1 app has a newer version waiting: checkout 1 → 2") {
		t.Errorf("unlock reply:\n%s", text)
	}
	if got := f.versions("checkout")["development"]; got != 1 {
		t.Errorf("unlock deployed: development runs %d", got)
	}
	// A team lock holds too; app locks hold only their app.
	f.mustRelease("payments", "pay", 1)
	f.mustExec(`lock team shop on development "shop freeze"`)
	f.mustExec(`lock payments on development "not this one"`)
	f.mustRelease("catalog", "shop", 1)
	f.mustRelease("payments", "pay", 2)
	f.mustRelease("search", "search", 1)
	got := f.state()
	for app, want := range map[deploy.App]struct {
		held     bool
		deployed deploy.Version
	}{"catalog": {true, 0}, "payments": {true, 1}, "search": {false, 1}} {
		_, held := got.HeldOn("development", app)
		d := got.Deployments["development"][app]
		if held != want.held || d.Version != want.deployed {
			t.Errorf("%s: held %v, runs %d; want held %v, runs %d", app, held, d.Version, want.held, want.deployed)
		}
	}
}

func TestDeployAsksWhenLockedAndForceDeploys(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	f.mustRelease("checkout", "shop", 2)
	f.mustExec("deploy checkout 1 to production")
	if diff := cmp.Diff(map[deploy.Env]deploy.Version{"development": 2, "production-de": 1, "production-jp": 1}, f.versions("checkout")); diff != "" {
		t.Fatalf("versions (-want +got):\n%s", diff)
	}
	f.mustExec(`lock production-jp "peak hours"`)
	outboxBefore := len(f.pending())
	rep := f.exec("deploy checkout to production")
	if rep.Outcome != deploy.OutcomeConfirm || rep.Confirm == nil || !strings.Contains(reply.Text(rep), "peak hours") {
		t.Fatalf("reply = %+v, want a confirmation naming the lock", rep)
	}
	if len(f.pending()) != outboxBefore || f.versions("checkout")["production-de"] != 1 {
		t.Fatal("a deploy waiting for confirmation changed something")
	}
	// The confirmed command carries the state it was asked about.
	if got, want := commands.Format(rep.Confirm.Command), "deploy checkout 2 to production --force --from production-de=1,production-jp=1"; got != want {
		t.Errorf("confirmed command = %q, want %q", got, want)
	}
	done := f.h.Run(context.Background(), commands.Request{Actor: alice, Via: deploy.ViaConsole}, rep.Confirm.Command)
	if done.Outcome != deploy.OutcomeDone || !strings.Contains(reply.Text(done), "Ignored locks") {
		t.Fatalf("confirmed deploy: %+v", done)
	}
	if diff := cmp.Diff(map[deploy.Env]deploy.Version{"development": 2, "production-de": 2, "production-jp": 2}, f.versions("checkout")); diff != "" {
		t.Errorf("versions (-want +got):\n%s", diff)
	}
	p := f.pending()
	last := p[len(p)-1].Change
	if len(last.Envs()) != 2 || last.Author != alice || !strings.HasPrefix(last.Message, "deploy checkout 2 to production-de, production-jp\n") {
		t.Errorf("group deploy must be one commit for both envs by alice; got %q with envs %v", last.Message, last.Envs())
	}
	// Deploying what already runs is a no-op.
	if rep := f.exec("deploy checkout 2 to production"); rep.Outcome != deploy.OutcomeNoop {
		t.Errorf("redeploy: %+v", rep)
	}
}

func TestDeployAndLock(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	f.mustRelease("checkout", "shop", 2)
	f.mustExec(`deploy checkout 1 to production --lock "pinned for the audit" --reason "customer request"`)
	st := f.state()
	var locks []string
	for _, l := range st.Locks {
		locks = append(locks, fmt.Sprintf("%s %s %s %s %q", l.ID, l.Kind, l.Env, l.App, l.Message))
	}
	want := []string{`lk-1 app production-de checkout "pinned for the audit"`, `lk-1 app production-jp checkout "pinned for the audit"`}
	if diff := cmp.Diff(want, locks); diff != "" {
		t.Errorf("locks (-want +got):\n%s", diff)
	}
	d, _ := st.Deployed("production-de", "checkout")
	if d.Reason != "customer request" || d.How != deploy.HowManual {
		t.Errorf("deployment = %+v", d)
	}
}

func TestRollback(t *testing.T) {
	f := newFixture(t)
	for v := 1; v <= 3; v++ {
		f.mustRelease("checkout", "shop", v)
	}
	f.mustRelease("catalog", "shop", 1)
	f.mustExec("deploy checkout 2 to staging")
	f.mustExec("deploy checkout 3 to staging")
	rep := f.mustExec(`rollback checkout on staging --reason "500s in cart"`)
	if !strings.Contains(reply.Text(rep), "back from 3 to 2") {
		t.Errorf("reply: %s", reply.Text(rep))
	}
	st := f.state()
	d, _ := st.Deployed("staging", "checkout")
	if d.Version != 2 || d.How != deploy.HowRollback {
		t.Errorf("staging runs %+v, want 2 by rollback", d)
	}
	ls := st.LocksFor("staging", "checkout")
	if len(ls) != 1 || ls[0].Kind != deploy.LockApp || ls[0].Message != "rolled back from 3 to 2: 500s in cart" {
		t.Errorf("locks = %+v", ls)
	}
	// The lock of the first rollback stands in the way of a second: it is shown and asked
	// about, like a deploy; --force goes ahead.
	ask := f.exec("rollback checkout on staging to 1")
	if ask.Outcome != deploy.OutcomeConfirm || !strings.Contains(reply.Text(ask), "Roll checkout on staging back to 1 anyway?") || f.versions("checkout")["staging"] != 2 {
		t.Errorf("rollback past a lock: %s %s", ask.Outcome, reply.Text(ask))
	}
	f.mustExec("rollback checkout on staging to 1 --force")
	if got := f.versions("checkout")["staging"]; got != 1 {
		t.Errorf("staging runs %d, want 1", got)
	}
	for line, want := range map[string]string{
		"rollback checkout on production-de": "not deployed on production-de",
		"rollback checkout on production":    "`production` is a group",
		"rollback checkout on staging to 1":  "already runs 1",
		"rollback checkout on staging to 9":  "has no release 9",
		"rollback catalog on development":    "has run only version 1 on development",
		"rollback checkout on staging to 3":  "a rollback goes back: checkout runs 1 on staging; to take the newer 3 there, `deploy checkout 3 to staging`",
	} {
		if rep := f.exec(line); rep.Outcome != deploy.OutcomeInvalid || !strings.Contains(reply.Text(rep), want) {
			t.Errorf("%s: %s %q, want invalid containing %q", line, rep.Outcome, reply.Text(rep), want)
		}
	}
}

func TestLocksAndUnlock(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	f.mustExec(`lock production "release freeze" --for 2d`)
	f.mustExec(`lock checkout on staging "flaky"`)
	f.mustExec(`lock team shop on production-de "shop audit"`)
	st := f.state()
	if len(st.Locks) != 4 {
		t.Fatalf("locks = %+v, want 4 (group lock on two envs, app, team)", st.Locks)
	}
	if ls := st.EnvLocks("production-jp"); len(ls) != 1 || ls[0].ID != "lk-1" || ls[0].SuggestedLifetime != "2d" || ls[0].Author != alice {
		t.Errorf("group lock on production-jp = %+v", ls)
	}
	rep := f.mustExec("locks production")
	if strings.Count(reply.Text(rep), "•") != 3 {
		t.Errorf("locks production lists:\n%s", reply.Text(rep))
	}
	f.mustExec("unlock lk-1")
	if got := len(f.state().Locks); got != 2 {
		t.Errorf("after unlock lk-1 %d locks remain, want 2", got)
	}
	f.mustExec("unlock team shop on production")
	f.mustExec("unlock checkout on staging")
	if got := len(f.state().Locks); got != 0 {
		t.Errorf("%d locks remain", got)
	}
	var hist []deploy.LockRecord
	f.view(func(v deploy.View) error {
		var err error
		hist, err = v.LockHistory(context.Background(), "", 0)
		return err
	})
	for _, r := range hist {
		if r.DeletedBy == nil || *r.DeletedBy != alice {
			t.Errorf("lock history %s on %s: deleted by %v, want alice", r.ID, r.Env, r.DeletedBy)
		}
	}
	for line, want := range map[string]string{
		"unlock lk-99":                  "no lock, environment or group `lk-99`",
		"unlock stagng":                 "no lock, environment or group `stagng`; did you mean `staging`?",
		"status production":             "`production` is an environment group, and `status` takes an app",
		"unlock checkout":               "checkout is an app: `unlock checkout on <env|group>` removes its app locks there",
		"unlock staging":                "staging has no environment lock",
		`lock prodution "x"`:            "did you mean `production`?",
		`lock chekout on staging "x"`:   "no app `chekout`; did you mean `checkout`?",
		`lock team shp on staging "x"`:  "no team `shp`; did you mean `shop`?",
		"deploy checkout 1 to stagin":   "did you mean `staging`? Environments: development, production-de, production-jp, staging; groups: production",
		"deploy checkout 7 to staging":  "checkout has no release 7; the newest is 1",
		"unlock checkout on production": "checkout on production has no app lock",
	} {
		if rep := f.exec(line); rep.OK() || !strings.Contains(reply.Text(rep), want) {
			t.Errorf("%s: %s %q, want failure containing %q", line, rep.Outcome, reply.Text(rep), want)
		}
	}
}

func TestEveryCommandIsAudited(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	lines := []string{"status", `lock staging "x"`, "deploy checkout to staging", "deploy checkout to staging --force", "frobnicate", "history checkout"}
	for _, l := range lines {
		f.exec(l)
	}
	log := f.auditLog(deploy.AuditFilter{})
	var got []string
	for i := len(log) - 1; i >= 0; i-- {
		got = append(got, fmt.Sprintf("%s %s %s", log[i].Via, log[i].Outcome, log[i].Command))
	}
	want := []string{
		"api done release checkout 1",
		"console done status",
		`console done lock staging "x"`,
		"console confirm deploy checkout to staging",
		"console done deploy checkout to staging --force",
		"console invalid frobnicate",
		"console done history checkout",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit log (-want +got):\n%s", diff)
	}
}
