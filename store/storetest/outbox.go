package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

const ttl = 30 * time.Second

func mustAcquire(t *testing.T, s Store, name, holder string, priority int, now time.Time) deploy.Lease {
	t.Helper()
	l, ok, err := s.AcquireLease(t.Context(), name, holder, priority, now, ttl)
	if err != nil || !ok {
		t.Fatalf("AcquireLease(%s, %s) = %+v, %v, %v; want it", name, holder, l, ok, err)
	}
	return l
}

// deployWithRepo acts a deployment of checkout version v to staging with an outbox entry.
func deployWithRepo(t *testing.T, s Store, v deploy.Version, minute int) (int64, deploy.Deployment, deploy.RepoChange) {
	t.Helper()
	d := deployment("staging", "checkout", v, minute)
	rc := repoChange("deploy checkout "+v.String()+" to staging\n\nbecause", minute)
	rc.Manifests[0].Version = v
	a := auditEntry("deploy checkout "+v.String()+" to staging", minute)
	a.Env, a.App = "staging", "checkout"
	id := act(t, s, deploy.Change{Deployments: []deploy.Deployment{d}, Repo: rc, Audit: a})
	d.ActionID = id
	return id, d, *rc
}

func testPending(t *testing.T, s Store) {
	ctx := t.Context()
	if p := pending(t, s, 0); len(p) != 0 {
		t.Errorf("Pending of an empty store = %v", p)
	}
	if o := outbox(t, s); o.Pending != 0 || !o.Oldest.IsZero() || o.Failed != nil {
		t.Errorf("Outbox of an empty store = %+v", o)
	}
	act(t, s, deploy.Change{Audit: auditEntry("status", 0)}) // no repo change: no entry
	var want []deploy.OutboxEntry
	for i := range 3 {
		id, _, rc := deployWithRepo(t, s, deploy.Version(i+1), 10-i)
		want = append(want, deploy.OutboxEntry{ID: id, Change: rc})
	}
	// Without a time of its own the entry is as old as its action.
	noTime := repoChange("config", 0)
	noTime.Time = time.Time{}
	id := act(t, s, deploy.Change{Repo: noTime, Audit: auditEntry("config", 5)})
	want = append(want, deploy.OutboxEntry{ID: id, Change: *noTime})

	if diff := cmp.Diff(want, pending(t, s, 0)); diff != "" {
		t.Errorf("Pending (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[:2], pending(t, s, 2)); diff != "" {
		t.Errorf("Pending(2) (-want +got):\n%s", diff)
	}
	// What waits behind the first two entries: the third, accepted at minute 8.
	if got, err := s.Waiting(ctx, want[1].ID); err != nil || !got.Equal(at(8)) {
		t.Errorf("Waiting(after the second) = %v, %v; want %v", got, err, at(8))
	}
	if got, err := s.Waiting(ctx, want[3].ID); err != nil || !got.IsZero() {
		t.Errorf("Waiting(after the last) = %v, %v; want zero", got, err)
	}
	// Oldest is when the first entry in line (the lowest id) was accepted: here minute 10.
	if diff := cmp.Diff(deploy.OutboxSummary{Pending: 4, Oldest: at(10)}, outbox(t, s)); diff != "" {
		t.Errorf("Outbox (-want +got):\n%s", diff)
	}

	// Builds come back with their entries, oldest first; builds of entries that are not
	// pending are dropped.
	lease := mustAcquire(t, s, "envrepo", "serve", 1, at(0))
	b := func(c string) deploy.Build { return deploy.Build{Commit: c, Base: "base-" + c, Epoch: lease.Epoch} }
	if err := s.RecordBuilds(ctx, lease, []deploy.BuildRecord{
		{ID: want[0].ID, Build: b("a1")}, {ID: want[2].ID, Build: b("c1")}, {ID: 9999, Build: b("x")},
	}); err != nil {
		t.Fatalf("RecordBuilds: %v", err)
	}
	if err := s.RecordBuilds(ctx, lease, []deploy.BuildRecord{{ID: want[0].ID, Build: deploy.Build{Commit: "a2", Epoch: lease.Epoch}}}); err != nil {
		t.Fatalf("RecordBuilds: %v", err)
	}
	if err := s.MarkPushed(ctx, []deploy.Pushed{{ID: want[1].ID, Commit: "b"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordBuilds(ctx, lease, []deploy.BuildRecord{{ID: want[1].ID, Build: b("late")}}); err != nil {
		t.Fatalf("RecordBuilds: %v", err)
	}
	want[0].Builds = []deploy.Build{b("a1"), {Commit: "a2", Epoch: lease.Epoch}}
	want[2].Builds = []deploy.Build{b("c1")}
	want = append(want[:1], want[2:]...)
	if diff := cmp.Diff(want, pending(t, s, 0)); diff != "" {
		t.Errorf("Pending with builds (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[1:2], pending(t, s, 2)[1:]); diff != "" {
		t.Errorf("Pending(2) with builds (-want +got):\n%s", diff)
	}
}

func testFencing(t *testing.T, s Store) {
	ctx := t.Context()
	id, _, rc := deployWithRepo(t, s, 1, 1)
	old := mustAcquire(t, s, "envrepo", "console", 0, at(0))
	cur := mustAcquire(t, s, "envrepo", "serve", 1, at(0)) // takes over: lower priority
	if cur.Epoch != old.Epoch+1 {
		t.Fatalf("epochs %d then %d", old.Epoch, cur.Epoch)
	}
	build := []deploy.BuildRecord{{ID: id, Build: deploy.Build{Commit: "c", Base: "b", Epoch: old.Epoch}}}
	for name, l := range map[string]deploy.Lease{
		"stale epoch":              old,
		"other holder":             {Name: "envrepo", Holder: "console", Epoch: cur.Epoch},
		"same holder, stale epoch": {Name: "envrepo", Holder: "serve", Epoch: old.Epoch},
		"other name":               {Name: "other", Holder: "serve", Epoch: cur.Epoch},
	} {
		if err := s.RecordBuilds(ctx, l, build); !errors.Is(err, deploy.ErrLeaseLost) {
			t.Errorf("RecordBuilds with %s: error %v, want one wrapping ErrLeaseLost", name, err)
		}
		if err := s.MarkFailed(ctx, l, id, "cannot render", at(9)); !errors.Is(err, deploy.ErrLeaseLost) {
			t.Errorf("MarkFailed with %s: error %v, want one wrapping ErrLeaseLost", name, err)
		}
	}
	if diff := cmp.Diff([]deploy.OutboxEntry{{ID: id, Change: rc}}, pending(t, s, 0)); diff != "" {
		t.Errorf("Pending after fenced calls: nothing recorded, still pending (-want +got):\n%s", diff)
	}
	// An expired lease that nobody took over still fences in its holder's favour.
	expired := cur
	expired.Expires = at(60)
	if err := s.RecordBuilds(ctx, expired, build); err != nil {
		t.Errorf("RecordBuilds with an expired lease nobody took: %v", err)
	}
	if p := pending(t, s, 0); len(p) != 1 || len(p[0].Builds) != 1 {
		t.Errorf("Pending = %+v, want the entry with one build", p)
	}
}

func testMarkPushed(t *testing.T, s Store) {
	ctx := t.Context()
	id1, d1, _ := deployWithRepo(t, s, 1, 1)
	id2, d2, rc2 := deployWithRepo(t, s, 2, 2) // supersedes d1 before d1 is pushed
	lease := mustAcquire(t, s, "envrepo", "serve", 1, at(0))
	if err := s.RecordBuilds(ctx, lease, []deploy.BuildRecord{{ID: id1, Build: deploy.Build{Commit: "c1", Epoch: 1}}}); err != nil {
		t.Fatal(err)
	}
	d1.Pending, d2.Pending = true, true
	if diff := cmp.Diff([]deploy.Deployment{d2, d1}, history(t, s, "checkout", "", 0)); diff != "" {
		t.Errorf("History before push (-want +got):\n%s", diff)
	}

	if err := s.MarkPushed(ctx, []deploy.Pushed{{ID: id1, Commit: "c1"}, {ID: 424242, Commit: "unknown"}}); err != nil {
		t.Fatalf("MarkPushed: %v", err)
	}
	// Marking again changes nothing, also with another commit.
	if err := s.MarkPushed(ctx, []deploy.Pushed{{ID: id1, Commit: "other"}}); err != nil {
		t.Fatalf("MarkPushed again: %v", err)
	}
	if diff := cmp.Diff([]deploy.OutboxEntry{{ID: id2, Change: rc2}}, pending(t, s, 0)); diff != "" {
		t.Errorf("Pending after the first push (-want +got):\n%s", diff)
	}
	d1.Pending, d1.Commit = false, "c1"
	if diff := cmp.Diff([]deploy.Deployment{d2, d1}, history(t, s, "checkout", "", 0)); diff != "" {
		t.Errorf("History after the first push (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(d2, state(t, s, deploy.Everything).Deployments["staging"]["checkout"]); diff != "" {
		t.Errorf("current deployment after the first push: still the second, pending (-want +got):\n%s", diff)
	}

	// An empty commit is refused, and nothing of the call is marked.
	if err := s.MarkPushed(ctx, []deploy.Pushed{{ID: id2, Commit: "c2"}, {ID: id2, Commit: ""}}); err == nil {
		t.Error("MarkPushed with an empty commit succeeded")
	}
	if p := pending(t, s, 0); len(p) != 1 {
		t.Errorf("Pending = %v, want the second entry still", p)
	}
	if err := s.MarkPushed(ctx, []deploy.Pushed{{ID: id2, Commit: "c2"}}); err != nil {
		t.Fatal(err)
	}
	d2.Pending, d2.Commit = false, "c2"
	if diff := cmp.Diff(d2, state(t, s, deploy.Everything).Deployments["staging"]["checkout"]); diff != "" {
		t.Errorf("current deployment after the second push (-want +got):\n%s", diff)
	}
	if o := outbox(t, s); o.Pending != 0 {
		t.Errorf("Outbox = %+v, want nothing pending", o)
	}
	// A build recorded for a pruned entry is dropped, so Pending stays empty.
	if err := s.RecordBuilds(ctx, lease, []deploy.BuildRecord{{ID: id1, Build: deploy.Build{Commit: "c1"}}}); err != nil {
		t.Fatal(err)
	}
	if p := pending(t, s, 0); len(p) != 0 {
		t.Errorf("Pending = %v, want none", p)
	}
	var commits []string
	for _, e := range auditLog(t, s, deploy.AuditFilter{}) {
		commits = append(commits, e.Commit)
	}
	if diff := cmp.Diff([]string{"c2", "c1"}, commits); diff != "" {
		t.Errorf("audit commits (-want +got):\n%s", diff)
	}
}

func testFailed(t *testing.T, s Store) {
	ctx := t.Context()
	id1, _, _ := deployWithRepo(t, s, 1, 1)
	dev := deployment("development", "checkout", 1, 1)
	devChange := repoChange("deploy checkout 1 to development", 1)
	idDev := act(t, s, deploy.Change{Deployments: []deploy.Deployment{dev}, Repo: devChange, Audit: auditEntry("deploy", 1)})
	dev.ActionID, dev.Pending = idDev, true
	id2, _, _ := deployWithRepo(t, s, 2, 2)
	lease := mustAcquire(t, s, "envrepo", "serve", 1, at(0))
	if err := s.MarkFailed(ctx, lease, id1, "env \"../x\" is not valid", at(11)); err != nil {
		t.Fatalf("MarkFailed: %v", err)
	}
	// Marking again, or an entry that is not pending, changes nothing.
	if err := s.MarkFailed(ctx, lease, id1, "again", at(12)); err != nil {
		t.Fatalf("MarkFailed again: %v", err)
	}
	if err := s.MarkFailed(ctx, lease, 424242, "unknown", at(12)); err != nil {
		t.Fatalf("MarkFailed(unknown): %v", err)
	}
	p := pending(t, s, 0)
	if len(p) != 2 || p[0].ID != idDev || p[1].ID != id2 {
		t.Errorf("Pending = %+v, want entries %d and %d: a failed entry is not pending and the ones behind go on", p, idDev, id2)
	}
	sum := outbox(t, s)
	// The first time it was set aside counts; marking it again changes nothing.
	want := deploy.OutboxSummary{Pending: 2, Oldest: at(1), Failed: []deploy.FailedEntry{
		{ID: id1, Message: "deploy checkout 1 to staging", Reason: "env \"../x\" is not valid", Time: at(11)},
	}}
	if diff := cmp.Diff(want, sum); diff != "" {
		t.Errorf("Outbox (-want +got):\n%s", diff)
	}
	st := state(t, s, deploy.Everything)
	if d := st.Deployments["staging"]["checkout"]; !d.Pending || d.Failed || d.ActionID != id2 {
		t.Errorf("staging deployment = %+v, want the second one, pending", d)
	}
	if diff := cmp.Diff(dev, st.Deployments["development"]["checkout"]); diff != "" {
		t.Errorf("development deployment (-want +got):\n%s", diff)
	}
	h := history(t, s, "checkout", "staging", 0)
	if len(h) != 2 || !h[1].Failed || h[1].Pending || h[0].Failed || !h[0].Pending {
		t.Errorf("History = %+v, want the first failed, the second pending", h)
	}

	// A failed entry whose push is reported anyway is marked pushed: the push is a fact.
	if err := s.MarkPushed(ctx, []deploy.Pushed{{ID: id1, Commit: "c1"}, {ID: id2, Commit: "c2"}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(deploy.OutboxSummary{Pending: 1, Oldest: at(1)}, outbox(t, s)); diff != "" {
		t.Errorf("Outbox after MarkPushed (-want +got):\n%s", diff)
	}
	if err := s.MarkFailed(ctx, lease, id2, "too late", at(13)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]deploy.OutboxEntry{{ID: idDev, Change: *devChange}}, pending(t, s, 0)); diff != "" {
		t.Errorf("Pending (-want +got):\n%s", diff)
	}
	if h := history(t, s, "checkout", "staging", 0); len(h) != 2 || h[0].Commit != "c2" || h[1].Commit != "c1" || h[0].Failed || h[1].Failed {
		t.Errorf("History = %+v, want both pushed", h)
	}
}

func testRenderState(t *testing.T, s Store) {
	ctx := t.Context()
	cfg := func(group deploy.Group) deploy.EnvConfig {
		return deploy.EnvConfig{Upstream: &deploy.Upstream{Latest: true}, Group: group, ArgoCD: &deploy.ArgoCD{
			Destination: deploy.Destination{Name: "c", Server: "https://k8s", Namespace: "ns"},
			SyncWindows: []deploy.SyncWindow{{Kind: "deny", Schedule: "0 12 * * *", Duration: "1h", Applications: []string{"*"}}},
		}}
	}
	empty := deploy.RenderState{Teams: map[deploy.App]deploy.Team{}, Envs: deploy.Environments{}}
	if got, err := s.RenderState(ctx); err != nil || !cmp.Equal(empty, got) {
		t.Errorf("RenderState of an empty store = %+v, %v", got, err)
	}
	act(t, s, deploy.Change{
		Releases:   []deploy.Release{release("checkout", 1, "payments", nil), release("cart", 1, "", nil)},
		EnvConfigs: []deploy.EnvConfigChange{{Env: "staging", Config: cfg("pre")}, {Env: "development", Config: deploy.EnvConfig{}}},
		Audit:      auditEntry("setup", 1),
	})
	act(t, s, deploy.Change{
		Owners:     []deploy.AppTeam{{App: "cart", Team: "shop"}},
		EnvConfigs: []deploy.EnvConfigChange{{Env: "staging", Config: cfg("pre-prod")}},
		Audit:      auditEntry("config", 2),
	})
	want := deploy.RenderState{
		Teams: map[deploy.App]deploy.Team{"checkout": "payments", "cart": "shop"},
		Envs:  deploy.Environments{"staging": cfg("pre-prod"), "development": {}},
	}
	got, err := s.RenderState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RenderState (-want +got):\n%s", diff)
	}
}
