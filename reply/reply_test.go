package reply

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/commands"
	"kuberpult/deploy"
)

var at = time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)

func TestStatusShowsFailedChanges(t *testing.T) {
	st := deploy.State{
		Apps: map[deploy.App]deploy.AppInfo{"checkout": {App: "checkout", Team: "shop", Latest: 5}},
		Deployments: map[deploy.Env]map[deploy.App]deploy.Deployment{
			"development": {"checkout": {Env: "development", App: "checkout", Version: 5, Failed: true}},
			"staging":     {"checkout": {Env: "staging", App: "checkout", Version: 4, Commit: "0123456789abcdef"}},
		},
	}
	ob := deploy.OutboxSummary{Failed: []deploy.FailedEntry{{ID: 42, Message: "deploy checkout 5 to development",
		Reason: "tree conflict: environments/development/applications/checkout is a file, not a directory"}}}
	got := Text(commands.Result{Verb: "status", Outcome: deploy.OutcomeDone, At: at, State: &st, Outbox: &ob,
		Targets: []deploy.Env{"development", "staging"}})
	want := `app       team  development  staging
checkout  shop  5❌          4
🔒 locked  ✋ held auto-deploy  ⏳ not yet in the env repo  ❌ the env-repo change failed
❌ 1 env-repo change could not be written; the changes after them went on:
  • action 42 "deploy checkout 5 to development": tree conflict: environments/development/applications/checkout is a file, not a directory`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	app := Text(commands.Result{Verb: "status", Outcome: deploy.OutcomeDone, At: at, State: &st, App: "checkout",
		Targets: []deploy.Env{"development", "staging"}})
	if !strings.Contains(app, "development  5  ") || !strings.Contains(app, "❌ the env-repo change failed") || !strings.Contains(app, "commit 0123456") {
		t.Errorf("status checkout:\n%s", app)
	}
}

func TestReplayedAnswerSaysSo(t *testing.T) {
	res := commands.Result{Verb: "lock", Outcome: deploy.OutcomeDone, At: at, ActionID: 7, Replayed: true,
		Locked: &commands.Locked{Target: "staging", Locks: []deploy.Lock{{Kind: deploy.LockEnv, ID: "freeze", Env: "staging", Message: "tests", CreatedAt: at}}}}
	want := "🔒 Locked staging: \"tests\" — lock `freeze`.\nAutomated deployments stop here; manual deploys show the lock and ask for confirmation.\n" +
		"↩ This request was answered before, at 2026-12-01 09:30:00 UTC (action 7); nothing was done again."
	if diff := cmp.Diff(want, Text(res)); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}
	res.Replayed = false
	if strings.Contains(Text(res), "answered before") {
		t.Errorf("a first answer says it was answered before")
	}
}
