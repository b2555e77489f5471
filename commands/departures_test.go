package commands_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/policy"
	"kuberpult/reply"
	"kuberpult/schedule"
	"kuberpult/store"
	"kuberpult/train"
)

const trainPolicy = `
p, role:developer, CreateLock, *:*, *, allow
p, role:developer, DeleteLock, *:*, *, allow
p, role:release-manager, DeployReleaseTrain, *:*, *, allow
g, alice@example.com, role:developer
g, bob@example.com, role:release-manager
`

// t0 is 11:00 in Berlin; the trains below leave at 11:30 there (10:30 UTC).
var slot0 = time.Date(2026, 11, 2, 10, 30, 0, 0, time.UTC)

func scheduledTrains(t *testing.T) []train.Scheduled {
	t.Helper()
	s, err := schedule.Parse("30 11 * * *", "Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return []train.Scheduled{
		{Name: "daily", Target: "production", Schedule: s, AnnounceBefore: 30 * time.Minute},
		{Name: "gated", Target: "staging", Schedule: s, AnnounceBefore: 30 * time.Minute, Approval: "role:release-manager"},
	}
}

// trainHandler is a handler on f's database with the scheduled trains (and a policy).
func trainHandler(t *testing.T, f *fixture, withPolicy bool) *commands.Handler {
	t.Helper()
	var p *policy.Policy
	if withPolicy {
		var err error
		if p, err = policy.New(policy.Config{Policy: trainPolicy}); err != nil {
			t.Fatal(err)
		}
	}
	return commands.New(commands.Options{Store: f.db, Environments: testEnvs(), Policy: p, Trains: scheduledTrains(t),
		Now: func() time.Time { return f.now }, NewID: func() string { f.ids++; return fmt.Sprintf("lk-%d", f.ids) },
		NewApprovalID: func() string { f.ids++; return fmt.Sprintf("ap%04d", f.ids) }})
}

func (f *fixture) as(actor deploy.Actor, line string) commands.Result {
	f.t.Helper()
	return f.h.Execute(context.Background(), commands.Request{Actor: actor, Via: deploy.ViaSlack, Text: line})
}

func (f *fixture) fire(kind train.EventKind, name string, slot time.Time) commands.Result {
	f.t.Helper()
	return f.h.Fire(context.Background(), train.Event{Kind: kind, Train: name, Slot: slot}, nil)
}

func (f *fixture) departure(name string, slot time.Time) (deploy.Departure, bool) {
	f.t.Helper()
	var d deploy.Departure
	var ok bool
	f.view(func(v deploy.View) error {
		var err error
		d, ok, err = v.Departure(context.Background(), name, slot)
		return err
	})
	return d, ok
}

// TestScheduledTrainTranscript: a day of the daily train: listed, announced with its
// prognosis, an app held out of it, the train held and let go, listed again, departed (the
// held app stays, its lock goes), and the gated train that nobody approved.
func TestScheduledTrainTranscript(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	f.mustRelease("payments", "pay", 1)
	f.mustExec("train staging")
	f.mustRelease("checkout", "shop", 2)
	f.mustExec("train staging")
	f.h = trainHandler(t, f, false)
	bob := user("bob@example.com")
	var b strings.Builder
	step := func(what string, res commands.Result) {
		fmt.Fprintf(&b, "> %s\n[%s]\n%s\n\n", what, res.Outcome, reply.Text(res))
	}
	step("trains", f.as(alice, "trains"))
	step("(scheduler) announce daily", f.fire(train.Announce, "daily", slot0))
	step("(scheduler) announce gated", f.fire(train.Announce, "gated", slot0))
	f.now = f.now.Add(5 * time.Minute)
	step(`bob: hold payments for train daily "migration pending"`, f.as(bob, `hold payments for train daily "migration pending"`))
	step(`alice: hold train daily "incident"`, f.as(alice, `hold train daily "incident"`))
	step(`bob: hold train daily`, f.as(bob, `hold train daily`))
	step(`alice: unhold train daily`, f.as(alice, `unhold train daily`))
	step("trains", f.as(alice, "trains"))
	f.now = slot0
	step("(scheduler) depart daily", f.fire(train.Depart, "daily", slot0))
	step("(scheduler) depart gated", f.fire(train.Depart, "gated", slot0))
	f.now = slot0.Add(time.Minute)
	step("trains", f.as(alice, "trains"))
	step("alice: hold train daily --slot 2026-11-02T10:30:00Z", f.as(alice, "hold train daily --slot 2026-11-02T10:30:00Z"))
	step("alice: hold train daily --slot 2026-11-03T10:31:00Z", f.as(alice, "hold train daily --slot 2026-11-03T10:31:00Z"))
	step("alice: hold train dayly", f.as(alice, "hold train dayly"))
	checkGolden(t, b.String(), "departures.golden")

	st := f.state()
	if d, _ := st.Deployed("production-de", "checkout"); d.Version != 2 || d.How != deploy.HowTrain || d.Actor.ID != "train:daily" {
		t.Errorf("checkout on production-de: %+v, want version 2 by the train", d)
	}
	if _, ok := st.Deployed("production-de", "payments"); ok {
		t.Error("payments was held out of the train, yet deployed")
	}
	if len(st.Locks) != 0 {
		t.Errorf("the hold-my-app locks outlived the departure: %+v", st.Locks)
	}
	if d, _ := f.departure("daily", slot0); d.State != deploy.DepartureDeparted || d.Announced == 0 || d.Action == 0 {
		t.Errorf("daily's departure: %+v", d)
	}
	if d, _ := f.departure("gated", slot0); d.State != deploy.DepartureNotRun {
		t.Errorf("gated's departure: %+v, want not run", d)
	}
	if d, _ := st.Deployed("staging", "checkout"); d.How == deploy.HowTrain && d.Actor.ID == "train:gated" {
		t.Error("the gated train ran without an approval")
	}
}

// TestDepartureRunsOnce: the departure's request key makes it run once, across handlers
// (processes) too; a second departure after it is final changes nothing.
func TestDepartureRunsOnce(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	f.mustExec("train staging")
	f.h = trainHandler(t, f, false)
	f.fire(train.Announce, "daily", slot0)
	f.now = slot0
	before := len(f.pending())
	first := f.fire(train.Depart, "daily", slot0)
	if first.Outcome != deploy.OutcomeDone || len(first.Deployed) != 2 {
		t.Fatalf("departure: %s\n%s", first.Outcome, reply.Text(first))
	}
	other := trainHandler(t, f, false) // a second process on the same database
	again := other.Fire(context.Background(), train.Event{Kind: train.Depart, Train: "daily", Slot: slot0}, nil)
	if !again.Replayed || again.ActionID != first.ActionID {
		t.Errorf("the second departure was not the first one's answer: replayed %v, action %d vs %d", again.Replayed, again.ActionID, first.ActionID)
	}
	// Another key for the same departure (an operator firing it by hand): it is over.
	res := other.Run(context.Background(), commands.Request{Actor: deploy.System, Via: deploy.ViaScheduler, Key: "other"},
		commands.Depart{Train: "daily", Slot: slot0})
	if res.Outcome != deploy.OutcomeNoop || res.Departure == nil || res.Departure.State != deploy.DepartureDeparted {
		t.Errorf("a departure that is over ran again: %s %+v", res.Outcome, res.Departure)
	}
	if got := len(f.pending()) - before; got != 1 {
		t.Errorf("%d commits queued, want 1", got)
	}
}

// TestMissedDepartures: a departure that is due when Kuberpult was down leaves while it is
// within announce_before of its time, else it is reported as missed (and never runs);
// a train with nothing recorded before (a first start) is not reported as missed.
func TestMissedDepartures(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	f.mustExec("train staging")
	f.h = trainHandler(t, f, false)

	f.now = slot0.Add(-24*time.Hour + 2*time.Hour) // yesterday's, two hours late, first start
	if res := f.fire(train.Depart, "daily", slot0.Add(-24*time.Hour)); res.Outcome != deploy.OutcomeNoop || res.Departure != nil {
		t.Errorf("first start: %s %+v, want nothing", res.Outcome, res.Departure)
	}
	if _, ok := f.departure("daily", slot0.Add(-24*time.Hour)); ok {
		t.Error("a first start recorded a missed departure")
	}

	f.now = slot0.Add(-30 * time.Minute)
	f.fire(train.Announce, "daily", slot0)
	f.now = slot0.Add(29 * time.Minute) // down at 11:30, back up at 11:59: it leaves
	if res := f.fire(train.Depart, "daily", slot0); res.Departure.State != deploy.DepartureDeparted {
		t.Errorf("late departure within announce_before: %s", reply.Text(res))
	}
	next := slot0.Add(24 * time.Hour)
	f.now = next.Add(-30 * time.Minute)
	f.fire(train.Announce, "daily", next)
	f.mustRelease("checkout", "shop", 2)
	f.mustExec("train staging")
	f.now = next.Add(31 * time.Minute) // back up after the catch-up window
	res := f.fire(train.Depart, "daily", next)
	if res.Departure == nil || res.Departure.State != deploy.DepartureMissed || len(res.Deployed) != 0 {
		t.Fatalf("departure after the window: %s", reply.Text(res))
	}
	if !strings.Contains(reply.Text(res), "was missed: Kuberpult was not running at Tue 3 Nov 11:30 CET") {
		t.Errorf("missed text: %s", reply.Text(res))
	}
	if d, _ := f.state().Deployed("production-de", "checkout"); d.Version != 1 {
		t.Errorf("a missed train deployed: %+v", d)
	}
}

// TestTrainHoldsSurviveARestart: a hold and an approval given before a restart are what
// the departure after it goes by: they are in the database, not in a process.
func TestTrainHoldsSurviveARestart(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	f.h = trainHandler(t, f, true)
	f.fire(train.Announce, "daily", slot0)
	f.fire(train.Announce, "gated", slot0)
	if res := f.as(user("bob@example.com"), "approve train gated"); res.Outcome != deploy.OutcomeDone {
		t.Fatalf("approve: %s", reply.Text(res))
	}
	if res := f.as(alice, `hold train daily "release freeze"`); res.Outcome != deploy.OutcomeDone {
		t.Fatalf("hold: %s", reply.Text(res))
	}
	path := f.dbPath
	if err := f.db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f.db = db
	f.h = trainHandler(t, f, true)
	f.now = slot0
	if res := f.fire(train.Depart, "daily", slot0); res.Departure.State != deploy.DepartureNotRun || !strings.Contains(res.Departure.Note, "release freeze") {
		t.Errorf("held daily after a restart: %s", reply.Text(res))
	}
	if res := f.fire(train.Depart, "gated", slot0); res.Departure.State != deploy.DepartureDeparted || len(res.Deployed) != 1 {
		t.Errorf("approved gated after a restart: %s", reply.Text(res))
	}
}

// TestApprovalNeedsTheRole: only a person with the train's role approves; nobody approves a
// train that needs no approval; the refusals change nothing.
func TestApprovalNeedsTheRole(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	f.h = trainHandler(t, f, true)
	tests := []struct {
		actor deploy.Actor
		line  string
		want  error
		text  string
	}{
		{alice, "approve train gated", deploy.ErrDenied, "approving a departure of train gated needs role role:release-manager"},
		{ci, "approve train gated", deploy.ErrDenied, "approved by a person"},
		{user("bob@example.com"), "approve train daily", deploy.ErrInvalid, "departs without an approval"},
		{user("bob@example.com"), "approve payments for train gated", deploy.ErrInvalid, "approved as a whole"},
		{user("bob@example.com"), "hold train gated", deploy.ErrDenied, "you need CreateLock"},
	}
	for _, tt := range tests {
		res := f.as(tt.actor, tt.line)
		if !errors.Is(res.Err, tt.want) || !strings.Contains(reply.Text(res), tt.text) {
			t.Errorf("%s by %s: %v %q, want %v with %q", tt.line, tt.actor.Email, res.Err, reply.Text(res), tt.want, tt.text)
		}
	}
	if _, ok := f.departure("gated", slot0); ok {
		t.Error("a refused approval recorded the departure")
	}
	res := f.as(user("bob@example.com"), "approve train gated")
	if res.Outcome != deploy.OutcomeDone || res.Departure.ApprovedBy == nil || res.Departure.ApprovedBy.Email != "bob@example.com" {
		t.Errorf("bob's approval: %s", reply.Text(res))
	}
	if d, ok := f.departure("gated", slot0); !ok || d.State != deploy.DepartureScheduled || d.ApprovedBy == nil {
		t.Errorf("an approval before the announcement: %+v", d)
	}
	// The announcement keeps what was done before it.
	if res := f.fire(train.Announce, "gated", slot0); res.Departure.ApprovedBy == nil || res.Departure.State != deploy.DepartureAnnounced {
		t.Errorf("announcement after an early approval: %+v", res.Departure)
	}
}

func TestTrainCommandsParse(t *testing.T) {
	slot := time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC)
	tests := []struct {
		line string
		want commands.Command
	}{
		{"trains", commands.Trains{}},
		{"hold train daily", commands.Hold{Train: "daily"}},
		{`hold train daily "db migration" --slot 2026-12-01T11:30:00+01:00`, commands.Hold{Train: "daily", Reason: "db migration", Slot: slot}},
		{"hold checkout for train daily", commands.Hold{Train: "daily", App: "checkout"}},
		{`hold "train" for train daily`, commands.Hold{Train: "daily", App: "train"}},
		{"unhold train daily", commands.Unhold{Train: "daily"}},
		{"unhold checkout for train daily --slot 2026-12-01T10:30:00Z", commands.Unhold{Train: "daily", App: "checkout", Slot: slot}},
		{"approve train daily", commands.Approve{Train: "daily"}},
	}
	for _, tt := range tests {
		got, err := commands.Parse(tt.line)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.line, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Parse(%q) (-want +got):\n%s", tt.line, diff)
		}
		again, err := commands.Parse(commands.Format(got))
		if err != nil || !cmp.Equal(got, again) {
			t.Errorf("Format(%q) = %q does not parse back: %v", tt.line, commands.Format(got), err)
		}
	}
	for _, bad := range []string{"hold", "hold train", "hold daily", "hold train Daily!", "hold train daily --slot tomorrow",
		"unhold train daily extra", "approve train", "trains now", "hold checkout for train"} {
		if _, err := commands.Parse(bad); !errors.Is(err, deploy.ErrInvalid) {
			t.Errorf("Parse(%q) = %v, want invalid", bad, err)
		}
	}
}

// TestDepartureApprovalRequest: the announcement of a train that needs an approval records
// an approval request like any other; `approve <id>` approves the departure (checked like
// `approve train`), once; a request nobody decided ends with the departure.
func TestDepartureApprovalRequest(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	f.h = trainHandler(t, f, true)
	ann := f.fire(train.Announce, "gated", slot0)
	id := ann.Departure.Departure.Approval
	if id == "" || !strings.Contains(reply.Text(ann), "(approval request "+id+": `approve "+id+"`)") {
		t.Fatalf("announcement: %s", reply.Text(ann))
	}
	if res := f.as(alice, "approve "+id); !errors.Is(res.Err, deploy.ErrDenied) {
		t.Errorf("approve %s by alice: %s", id, reply.Text(res))
	}
	res := f.as(user("bob@example.com"), "approve "+id)
	if res.Outcome != deploy.OutcomeDone || res.Departure == nil || res.Departure.ApprovedBy == nil {
		t.Fatalf("approve %s by bob: %s", id, reply.Text(res))
	}
	if res := f.as(user("bob@example.com"), "approve "+id); !errors.Is(res.Err, deploy.ErrConflict) {
		t.Errorf("second approval of %s: %s", id, reply.Text(res))
	}
	if res := f.as(user("bob@example.com"), "approve train gated"); res.Outcome != deploy.OutcomeNoop {
		t.Errorf("approve train after approve %s: %s", id, reply.Text(res))
	}

	next := slot0.Add(24 * time.Hour)
	f.now = next.Add(-30 * time.Minute)
	later := f.fire(train.Announce, "gated", next).Departure.Departure.Approval
	f.now = next
	if res := f.fire(train.Depart, "gated", next); res.Departure.State != deploy.DepartureNotRun {
		t.Errorf("unapproved departure: %s", reply.Text(res))
	}
	if res := f.as(user("bob@example.com"), "approve "+later); !errors.Is(res.Err, deploy.ErrConflict) || !strings.Contains(reply.Text(res), "expired") {
		t.Errorf("approving after the departure: %s", reply.Text(res))
	}
}

// TestDeposedLeaderDepartsNot: a departure fired by a replica whose lease was taken over
// writes nothing (no departure, no commit, no audit entry, no request key); the new
// leader's departure of the same slot then runs as the only one.
func TestDeposedLeaderDepartsNot(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	f.mustExec("train staging")
	f.h = trainHandler(t, f, false)
	ctx := context.Background()
	old, ok, err := f.db.AcquireLease(ctx, "envrepo", "replica-1", 1, slot0.Add(-time.Hour), 10*time.Second)
	if err != nil || !ok {
		t.Fatalf("lease: %v %v", ok, err)
	}
	f.h.Fire(ctx, train.Event{Kind: train.Announce, Train: "daily", Slot: slot0}, &old)
	f.now = slot0
	next, ok, err := f.db.AcquireLease(ctx, "envrepo", "replica-2", 1, slot0, 10*time.Second) // old expired
	if err != nil || !ok {
		t.Fatalf("take-over: %v %v", ok, err)
	}
	pending, audit := len(f.pending()), len(f.auditLog(deploy.AuditFilter{}))
	res := f.h.Fire(ctx, train.Event{Kind: train.Depart, Train: "daily", Slot: slot0}, &old)
	if res.Outcome != deploy.OutcomeFailed || !errors.Is(res.Err, deploy.ErrLeaseLost) {
		t.Errorf("the deposed leader's departure: %s, %v; want failed with ErrLeaseLost", res.Outcome, res.Err)
	}
	if d, _ := f.departure("daily", slot0); d.State == deploy.DepartureDeparted {
		t.Errorf("the deposed leader's departure was recorded: %+v", d)
	}
	if len(f.pending()) != pending || len(f.auditLog(deploy.AuditFilter{})) != audit {
		t.Errorf("the deposed leader wrote: %d commits and %d audit entries more", len(f.pending())-pending, len(f.auditLog(deploy.AuditFilter{}))-audit)
	}
	res = f.h.Fire(ctx, train.Event{Kind: train.Depart, Train: "daily", Slot: slot0}, &next)
	if res.Outcome != deploy.OutcomeDone || res.Replayed || len(res.Deployed) != 2 {
		t.Errorf("the new leader's departure: %s replayed %v, %d deployed\n%s", res.Outcome, res.Replayed, len(res.Deployed), reply.Text(res))
	}
	if got := len(f.pending()) - pending; got != 1 {
		t.Errorf("%d commits queued, want 1", got)
	}
}
