package commands_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/policy"
	"kuberpult/reply"
	"kuberpult/schedule"
	"kuberpult/store"
)

const approvalPolicy = `
p, role:developer, DeployRelease, *:*, *, allow
p, role:developer, CreateLock, *:*, *, allow
p, role:release-manager, DeployReleaseTrain, *:*, *, allow
g, alice@example.com, role:developer
g, bob@example.com, role:developer
g, bob@example.com, role:release-manager
g, carol@example.com, role:release-manager
`

var (
	bob   = user("bob@example.com")
	carol = user("carol@example.com")
)

// approvalHandler: production is inside window change-board (11:00–12:00 Berlin, from t0),
// where a deploy needs an approval by a release manager; requests expire after 30 minutes.
func approvalHandler(t *testing.T, f *fixture) {
	t.Helper()
	at11, err := schedule.Parse("0 11 * * *", "Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.New(policy.Config{Policy: approvalPolicy})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	f.h = commands.New(commands.Options{Store: f.db, Environments: testEnvs(), Policy: p,
		Windows: policy.Windows{{Name: "change-board", Targets: []string{"production"}, Start: at11, Duration: time.Hour,
			Override: policy.OverrideApproval, Approvers: "role:release-manager"}},
		ApprovalExpiry: 30 * time.Minute,
		NewApprovalID:  func() string { n++; return fmt.Sprintf("apr%03d", n) },
		Now:            func() time.Time { return f.now }})
}

// TestApprovalRequests: a deploy inside the window becomes a request naming its id and the
// command to approve it; the requester, someone without the role and an API token cannot
// approve it; a release manager can, once: it runs under the requester's name with the
// approver recorded.
func TestApprovalRequests(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	f.mustRelease("checkout", "shop", 2)
	approvalHandler(t, f)
	before := len(f.pending())
	req := f.as(user("alice@example.com"), `deploy checkout 2 to production --reason "INC-7"`)
	if req.Outcome != deploy.OutcomePending || req.Approval == nil || req.Approval.ID != "apr001" {
		t.Fatalf("deploy inside the window: %s %s", req.Outcome, reply.Text(req))
	}
	wantText := "⏳ production is inside window change-board (until Mon 2 Nov 11:00 UTC): `deploy checkout 2 to production --reason INC-7 --from production-de=none,production-jp=none` needs an approval by someone with role role:release-manager other than you.\n" +
		"Approval request apr001 (expires Mon 2 Nov 10:30 UTC): `approve apr001` or `reject apr001`."
	if got := reply.Text(req); got != wantText {
		t.Errorf("request text:\n%s\nwant:\n%s", got, wantText)
	}
	if len(f.pending()) != before || f.versions("checkout")["production-de"] != 0 {
		t.Fatal("a request deployed something")
	}
	for _, tt := range []struct {
		who  deploy.Actor
		err  error
		text string
	}{
		{user("alice@example.com"), deploy.ErrDenied, "you asked for apr001 yourself; someone else with role role:release-manager approves it"},
		{user("mallory@example.com"), deploy.ErrDenied, "approving request apr001 needs role role:release-manager"},
		{ci, deploy.ErrDenied, "request apr001 is approved by a person with role role:release-manager"},
	} {
		res := f.as(tt.who, "approve apr001")
		if !errors.Is(res.Err, tt.err) || !strings.Contains(reply.Text(res), tt.text) {
			t.Errorf("approve by %s: %v %q, want %q", tt.who.Email, res.Err, reply.Text(res), tt.text)
		}
	}
	f.now = f.now.Add(5 * time.Minute)
	res := f.as(bob, "approve apr001")
	if res.Outcome != deploy.OutcomeDone || len(res.Deployed) != 2 ||
		!strings.HasPrefix(reply.Text(res), "✅ bob approved request apr001 (`deploy checkout 2 to production") {
		t.Fatalf("bob's approval: %s %s", res.Outcome, reply.Text(res))
	}
	d, _ := f.state().Deployed("production-de", "checkout")
	if d.Version != 2 || d.Actor.Email != "alice@example.com" || d.Reason != "INC-7 (approved by bob)" {
		t.Errorf("deployment: %+v", d)
	}
	p := f.pending()
	if got := p[len(p)-1].Change; got.Author.Email != "alice@example.com" || !strings.Contains(got.Message, "Reason: INC-7 (approved by bob)") {
		t.Errorf("commit: %+v", got)
	}
	if again := f.as(carol, "approve apr001"); !errors.Is(again.Err, deploy.ErrConflict) || !strings.Contains(reply.Text(again), "approved already, by bob") {
		t.Errorf("second approval: %v %s", again.Err, reply.Text(again))
	}
	audit := f.auditLog(deploy.AuditFilter{})
	if audit[0].Actor.Email != "carol@example.com" || audit[1].Actor.Email != "bob@example.com" || audit[1].Command != "approve apr001" {
		t.Errorf("audit: %+v / %+v", audit[0], audit[1])
	}
}

// TestApprovalExpiresRejectsAndSurvivesARestart: an expired request does nothing; a
// rejected or withdrawn one neither; one made before a restart is approved after it.
func TestApprovalExpiresRejectsAndSurvivesARestart(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	approvalHandler(t, f)
	alice := user("alice@example.com")
	for i := 0; i < 3; i++ {
		if res := f.as(alice, "deploy checkout 1 to production-de"); res.Outcome != deploy.OutcomePending {
			t.Fatalf("request %d: %s", i, reply.Text(res))
		}
	}
	if res := f.as(carol, "reject apr001"); res.Outcome != deploy.OutcomeDone || !strings.HasPrefix(reply.Text(res), "🚫 Rejected approval request apr001") {
		t.Errorf("reject: %s", reply.Text(res))
	}
	if res := f.as(alice, "reject apr002"); !strings.HasPrefix(reply.Text(res), "↩ Withdrew approval request apr002") {
		t.Errorf("withdraw: %s", reply.Text(res))
	}
	if res := f.as(user("mallory@example.com"), "reject apr003"); !errors.Is(res.Err, deploy.ErrDenied) {
		t.Errorf("reject by mallory: %s", reply.Text(res))
	}
	for _, id := range []string{"apr001", "apr002"} {
		if res := f.as(bob, "approve "+id); !errors.Is(res.Err, deploy.ErrConflict) || !strings.Contains(reply.Text(res), "was rejected") {
			t.Errorf("approve %s after its rejection: %s", id, reply.Text(res))
		}
	}

	if err := f.db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), f.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f.db = db
	approvalHandler(t, f)
	if res := f.as(bob, "approve apr003"); res.Outcome != deploy.OutcomeDone || f.versions("checkout")["production-de"] != 1 {
		t.Errorf("approval after a restart: %s", reply.Text(res))
	}

	// The new handler's ids start again: a request never takes the id of an earlier one.
	if res := f.as(alice, "deploy checkout 1 to production-jp"); res.Approval == nil || res.Approval.ID != "apr004" {
		t.Fatalf("request: %s", reply.Text(res))
	}
	if res := f.as(bob, "approve apr001"); !strings.Contains(reply.Text(res), "was rejected") {
		t.Errorf("the rejected request was replaced: %s", reply.Text(res))
	}
}

func TestApprovalExpiry(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	approvalHandler(t, f)
	f.as(user("alice@example.com"), "deploy checkout 1 to production")
	f.now = f.now.Add(31 * time.Minute)
	res := f.as(bob, "approve apr001")
	if res.Outcome != deploy.OutcomeNoop || !strings.HasPrefix(reply.Text(res), "⌛ Approval request apr001") {
		t.Errorf("approval after the expiry: %s %s", res.Outcome, reply.Text(res))
	}
	if f.versions("checkout")["production-de"] != 0 {
		t.Error("an expired request deployed")
	}
	if res := f.as(bob, "approve apr001"); !errors.Is(res.Err, deploy.ErrConflict) || !strings.Contains(reply.Text(res), "expired at") {
		t.Errorf("again: %s", reply.Text(res))
	}
}
