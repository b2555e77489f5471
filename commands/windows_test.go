package commands_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/policy"
	"kuberpult/reply"
	"kuberpult/schedule"
	"kuberpult/train"
)

// The test windows are open from t0 (11:00 in Berlin) for an hour: a deny window on
// production-jp and a confirm window on development and staging.
func testWindows(t *testing.T) policy.Windows {
	t.Helper()
	at11, err := schedule.Parse("0 11 * * *", "Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return policy.Windows{
		{Name: "jp-freeze", Targets: []string{"production-jp"}, Start: at11, Duration: time.Hour, Override: policy.OverrideDeny},
		{Name: "peak", Targets: []string{"development", "staging"}, Start: at11, Duration: time.Hour, Override: policy.OverrideConfirm},
	}
}

func windowHandler(t *testing.T, f *fixture) {
	t.Helper()
	f.h = commands.New(commands.Options{Store: f.db, Environments: testEnvs(), Windows: testWindows(t), Trains: scheduledTrains(t),
		Notify: func() { f.notified++ }, Now: func() time.Time { return f.now }})
}

var windowEnd = t0.Add(time.Hour) // 12:00 in Berlin

// TestManualDeploysInWindows: a deny window refuses (saying until when) and changes nothing;
// a confirm window wants a reason (saying the exact command), then deploys and says so.
func TestManualDeploysInWindows(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	f.mustExec("deploy checkout 1 to staging")
	f.mustExec("deploy checkout 1 to production")
	f.mustRelease("checkout", "shop", 2)
	windowHandler(t, f)
	before := f.snapshot()
	tests := []struct {
		line string
		err  error
		text string
	}{
		{"deploy checkout 2 to production", deploy.ErrDenied, "production-jp is in window jp-freeze until Mon 2 Nov 12:00 CET: deployments wait until it closes"},
		{"rollback checkout on production-jp", deploy.ErrDenied, "window jp-freeze until Mon 2 Nov 12:00 CET"},
		{"deploy checkout 2 to staging", deploy.ErrInvalid, "staging is in window peak until Mon 2 Nov 12:00 CET: a deploy inside it needs a reason, e.g. `deploy checkout 2 to staging --reason \"<why it cannot wait>\"`"},
	}
	for _, tt := range tests {
		res := f.exec(tt.line)
		if !errors.Is(res.Err, tt.err) || !strings.Contains(reply.Text(res), tt.text) {
			t.Errorf("%s: %v %q\nwant %v with %q", tt.line, res.Err, reply.Text(res), tt.err, tt.text)
		}
	}
	nyc := f.h.Execute(context.Background(), commands.Request{Actor: alice, Via: deploy.ViaSlack, Zone: "America/New_York", Text: "deploy checkout 2 to production"})
	if !strings.Contains(reply.Text(nyc), "until Mon 2 Nov 06:00 EST") {
		t.Errorf("refusal for a viewer in New York: %s", reply.Text(nyc))
	}
	if after := f.snapshot(); after != before {
		t.Errorf("a refused deploy changed the state:\n%s\n%s", before, after)
	}
	res := f.exec(`deploy checkout 2 to staging --reason "hotfix INC-12"`)
	if res.Outcome != deploy.OutcomeDone || !strings.Contains(reply.Text(res), "⏰ Deployed inside (window peak until Mon 2 Nov 12:00 CET); reason: hotfix INC-12") {
		t.Errorf("deploy with a reason: %s %s", res.Outcome, reply.Text(res))
	}
	if d, _ := f.state().Deployed("staging", "checkout"); d.Version != 2 || d.Reason != "hotfix INC-12" {
		t.Errorf("staging: %+v", d)
	}
	f.now = windowEnd // end exclusive: closed
	if res := f.exec("deploy checkout 2 to production"); res.Outcome != deploy.OutcomeDone {
		t.Errorf("deploy after the window: %s", reply.Text(res))
	}
}

// TestAutoDeploysHeldByAWindowCatchUp: a release into a windowed latest environment is held
// by the window, not lost; when the window closes one commit deploys what it held, except
// what a lock holds now, which stays held.
func TestAutoDeploysHeldByAWindowCatchUp(t *testing.T) {
	f := newFixture(t)
	windowHandler(t, f)
	f.mustRelease("checkout", "shop", 1)
	f.mustRelease("payments", "pay", 1)
	res := f.mustRelease("checkout", "shop", 2)
	if len(res.Held) != 1 || !strings.Contains(res.Held[0].Reason, "held by window peak until Mon 2 Nov 12:00 CET") {
		t.Fatalf("release in a window: held %+v", res.Held)
	}
	if got := f.versions("checkout")["development"]; got != 0 {
		t.Errorf("development runs checkout %d inside the window", got)
	}
	f.mustExec(`lock payments on development "broken"`)
	before := len(f.pending())
	f.now = windowEnd
	catch := f.h.Fire(context.Background(), train.Event{Kind: train.WindowClosed, Window: "peak", Slot: windowEnd}, nil)
	if catch.Outcome != deploy.OutcomeDone || len(catch.Deployed) != 1 || catch.Deployed[0].App != "checkout" || catch.Deployed[0].To != 2 {
		t.Fatalf("catch-up: %s %s", catch.Outcome, reply.Text(catch))
	}
	if !strings.Contains(reply.Text(catch), "Still held: auto-deploy of payments 1 to development held by app lock") {
		t.Errorf("catch-up text: %s", reply.Text(catch))
	}
	if got := len(f.pending()) - before; got != 1 {
		t.Errorf("%d commits for the catch-up, want 1", got)
	}
	st := f.state()
	if d, _ := st.Deployed("development", "checkout"); d.Version != 2 || d.How != deploy.HowAuto {
		t.Errorf("development checkout: %+v", d)
	}
	var held []string
	for _, h := range st.Held {
		held = append(held, string(h.App)+"@"+string(h.Env))
	}
	if strings.Join(held, ",") != "payments@development" {
		t.Errorf("held after the catch-up: %v", held)
	}
	again := f.h.Fire(context.Background(), train.Event{Kind: train.WindowClosed, Window: "peak", Slot: windowEnd}, nil)
	if !again.Replayed {
		t.Errorf("the same closing twice was not a replay: %s", again.Outcome)
	}
}

// TestTrainsSkipWindowedEnvironments: a train into a group skips the environment in a
// window (ENV_IN_WINDOW, until when) and deploys the others; a scheduled departure inside a
// window leaves when it closes.
func TestTrainsSkipWindowedEnvironments(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	f.mustExec("train staging")
	windowHandler(t, f)
	res := f.mustExec("train production")
	text := reply.Text(res)
	if len(res.Deployed) != 1 || res.Deployed[0].Env != "production-de" ||
		!strings.Contains(text, "production-jp: skipped, ENV_IN_WINDOW (window jp-freeze until Mon 2 Nov 12:00 CET)") {
		t.Errorf("train into a partly windowed group: %s", text)
	}

	// The daily train leaves at 11:30 Berlin, inside jp-freeze: it leaves at 12:00.
	f.mustRelease("checkout", "shop", 2)
	f.now = windowEnd
	f.mustExec(`deploy checkout 2 to staging`)
	f.now = slot0.Add(-30 * time.Minute)
	ann := f.fire(train.Announce, "daily", slot0)
	if !strings.Contains(reply.Text(ann), "⏰ A window is open on production then: it leaves when it closes, Mon 2 Nov 12:00 CET.") {
		t.Errorf("announcement: %s", reply.Text(ann))
	}
	f.now = slot0
	early := f.fire(train.Depart, "daily", slot0)
	if early.Departure == nil || early.Departure.State.Final() || len(early.Deployed) != 0 {
		t.Fatalf("departure inside the window: %s", reply.Text(early))
	}
	f.now = windowEnd
	late := f.fire(train.Depart, "daily", slot0)
	if late.Replayed || late.Departure.State != deploy.DepartureDeparted || len(late.Deployed) != 2 {
		t.Errorf("departure when the window closed: replayed %v, %s", late.Replayed, reply.Text(late))
	}
}

func TestWindowsListing(t *testing.T) {
	f := newFixture(t)
	windowHandler(t, f)
	text := reply.Text(f.mustExec("windows"))
	for _, want := range []string{
		"jp-freeze  production-jp         0 11 * * * for 1h Europe/Berlin  deny      ⏰ open until Mon 2 Nov 12:00 CET (in 59m)",
		"peak       development, staging  0 11 * * * for 1h Europe/Berlin  confirm",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("windows lacks %q:\n%s", want, text)
		}
	}
	f.now = windowEnd
	if text := reply.Text(f.mustExec("windows")); !strings.Contains(text, "next Tue 3 Nov 11:00 CET – Tue 3 Nov 12:00 CET") {
		t.Errorf("windows after the close:\n%s", text)
	}
}
