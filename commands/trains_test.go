package commands_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"kuberpult/commands"
	"kuberpult/deploy"
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
