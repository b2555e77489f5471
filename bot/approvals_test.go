package bot_test

import (
	"strings"
	"testing"
	"time"

	"kuberpult/bot/slackfake"
	"kuberpult/policy"
	"kuberpult/schedule"
)

// TestApprovalInSlack: a deploy inside a window with override approval becomes a card with
// Approve and Reject; the requester and someone without the role are refused (to them
// alone); a release manager's click runs it under the requester's name, closes the card
// naming the approver, and the deploy's card in the thread turns ✅ when pushed.
func TestApprovalInSlack(t *testing.T) {
	hs := prepare(t)
	always, err := schedule.Parse("* * * * *", "UTC")
	if err != nil {
		t.Fatal(err)
	}
	hs.windows = policy.Windows{{Name: "change-board", Targets: []string{"production"}, Start: always, Duration: time.Hour,
		Override: policy.OverrideApproval, Approvers: "role:release-manager"}}
	hs.run()
	hs.release("checkout", 1, "development", "staging", "production")
	hs.slash("UBOB", "deploy checkout 1 to production")
	req := hs.card("inside window change-board")
	approve := buttons(t, req, "Approve")
	if len(approve) != 1 || len(buttons(t, req, "Reject")) != 1 {
		t.Fatalf("request card buttons: %s", req.Blocks)
	}
	hs.click("UBOB", req, approve[0])
	hs.ephemeral("UBOB", "yourself; someone else with role role:release-manager approves it")
	hs.click("UMALLORY", req, approve[0])
	hs.ephemeral("UMALLORY", "needs role role:release-manager")
	if hs.running("production", "checkout") != 0 {
		t.Fatal("a refused approval deployed")
	}
	hs.click("UALICE", req, approve[0])
	hs.waitMessage(req.TS, "the request closed, naming alice", func(m slackfake.Message) bool {
		return strings.Contains(string(m.Blocks), "Approved by alice") && len(buttons(t, m, "Approve")) == 0
	})
	done := hs.thread(req.TS, "approved request")
	hs.waitMessage(done.TS, "the approved deploy pushed", func(m slackfake.Message) bool {
		return strings.Contains(string(m.Blocks), "pushed to the env repo as")
	})
	if hs.running("production", "checkout") != 1 {
		t.Error("the approved deploy did not run")
	}
	if got := hs.git("log", "-1", "--format=%an|%b", "main"); !strings.HasPrefix(got, "bob|") || !strings.Contains(got, "approved by alice") {
		t.Errorf("commit: %q", got)
	}
	// App Home shows the environment's open window.
	hs.slack.AppHomeOpened("UALICE")
	hs.slack.WaitCall(t, "views.publish", nil)
	if views := hs.slack.Views("UALICE"); len(views) == 0 || !strings.Contains(string(views[0].Blocks), "window *change-board* (approval) open until") {
		t.Errorf("App Home lacks the window: %+v", views)
	}
}

// TestReasonOnTheCard: a deploy inside a window that wants a reason is refused to the asker
// without one, and with one its card names the window and the reason.
func TestReasonOnTheCard(t *testing.T) {
	hs := prepare(t)
	always, err := schedule.Parse("* * * * *", "UTC")
	if err != nil {
		t.Fatal(err)
	}
	hs.windows = policy.Windows{{Name: "peak", Targets: []string{"staging"}, Start: always, Duration: time.Hour, Override: policy.OverrideConfirm}}
	hs.run()
	hs.release("checkout", 1, "development", "staging", "production")
	hs.slash("UALICE", "deploy checkout 1 to staging")
	hs.ephemeral("UALICE", "a deploy inside it needs a reason")
	hs.slash("UALICE", `deploy checkout 1 to staging --reason "customer demo"`)
	c := hs.card("⏰ Inside window peak (until")
	if !strings.Contains(string(c.Blocks), "reason: customer demo") || hs.running("staging", "checkout") != 1 {
		t.Errorf("card: %s", c.Blocks)
	}
}
