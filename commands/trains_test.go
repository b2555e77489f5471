package commands_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/store"
)

// TestTrainTranscript: prognoses and trains into an environment and a group (past a locked
// environment), a second train that has nothing to do, a team filter.
func TestTrainTranscript(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	f.mustRelease("checkout", "shop", 2)
	f.mustRelease("payments", "pay", 1)
	f.mustRelease("search", "", 1, "development")
	script := []string{
		"train staging --dry-run", "train staging", "train staging",
		`lock production-jp "peak hours"`, `lock payments on production-de "audit"`,
		"train production --dry-run", "train production", "train production --team shop",
		"history checkout on production-de", "train nowhere",
	}
	checkTranscript(t, f, script, "train.golden")
}

// TestTrainOneCommit: a train into a group is one outbox entry (one commit) carrying every
// environment; the prognosis before it is the plan it ran; a second train changes nothing
// and queues no commit.
func TestTrainOneCommit(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	f.mustRelease("payments", "pay", 1)
	f.mustExec("train staging")
	before := len(f.pending())
	prog := f.mustExec("train production --dry-run")
	run := f.mustExec("train production")
	if diff := cmp.Diff(prog.Train, run.Train); diff != "" {
		t.Errorf("prognosis and run differ (-prognosis +run):\n%s", diff)
	}
	p := f.pending()
	if len(p) != before+1 {
		t.Fatalf("%d outbox entries after the train, want %d", len(p), before+1)
	}
	last := p[len(p)-1]
	if got := len(last.Change.Manifests); got != 4 {
		t.Errorf("the train's commit carries %d manifests, want 4 (2 apps × 2 envs)", got)
	}
	if !strings.HasPrefix(last.Change.Message, "Release train to production: 4 deployment(s)") {
		t.Errorf("commit message: %q", last.Change.Message)
	}
	again := f.mustExec("train production")
	if again.Outcome != deploy.OutcomeNoop || len(f.pending()) != len(p) {
		t.Errorf("second train: %s, %d entries", again.Outcome, len(f.pending()))
	}
	d, _ := f.state().Deployed("production-de", "checkout")
	if d.How != deploy.HowTrain || d.ActionID != run.ActionID || !strings.Contains(d.Reason, "release train to production") {
		t.Errorf("deployment: %+v", d)
	}
	if _, err := commands.Parse("train production --dry-run --team shop"); err != nil {
		t.Error(err)
	}
}

// TestTrainTwoUpstreams: the environments of a group take their versions from different
// upstreams; each gets its own version's manifest.
func TestTrainTwoUpstreams(t *testing.T) {
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	envs := deploy.Environments{
		"dev": {Upstream: &deploy.Upstream{Latest: true}},
		"qa":  {Upstream: &deploy.Upstream{Environment: "dev"}},
		"p1":  {Upstream: &deploy.Upstream{Environment: "dev"}, Group: "prod"},
		"p2":  {Upstream: &deploy.Upstream{Environment: "qa"}, Group: "prod"},
	}
	h := commands.New(commands.Options{Store: db, Environments: envs})
	r := commands.Request{Actor: deploy.Actor{Kind: deploy.ActorUser, ID: "U1", Name: "alice"}, Via: deploy.ViaConsole}
	rel := func(v int) {
		req := releaseReq("checkout", "shop", v, "dev", "qa", "p1", "p2")
		if res := h.CreateRelease(t.Context(), r, req); !res.OK() {
			t.Fatalf("release %d: %v", v, res.Problem)
		}
	}
	rel(1)
	h.Execute(t.Context(), commands.Request{Actor: r.Actor, Via: r.Via, Text: "train qa"})
	rel(2)
	res := h.Execute(t.Context(), commands.Request{Actor: r.Actor, Via: r.Via, Text: "train prod"})
	if res.Outcome != deploy.OutcomeDone {
		t.Fatalf("train prod: %s %v", res.Outcome, res.Problem)
	}
	p, err := db.Pending(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[deploy.Env]string{}
	for _, m := range p[len(p)-1].Change.Manifests {
		got[m.Env] = m.Manifest
	}
	want := map[deploy.Env]string{"p1": manifest("checkout", "p1", 2), "p2": manifest("checkout", "p2", 1)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("manifests of the train (-want +got):\n%s", diff)
	}
}
